-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: approx_percentile_cont ... WITHIN GROUP (ORDER BY wage): the column sits in the ORDER BY
SELECT pension_status, approx_percentile_cont(0.99) WITHIN GROUP (ORDER BY monthly_wage) AS p99 FROM social_insurance GROUP BY pension_status
