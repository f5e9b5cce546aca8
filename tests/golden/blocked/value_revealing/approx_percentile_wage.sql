-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: approx_percentile_cont at 0.99 of wages approximates the top earners' values
SELECT pension_status, approx_percentile_cont(monthly_wage, 0.99) AS p99 FROM social_insurance GROUP BY pension_status
