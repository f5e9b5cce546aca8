-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: MEDIAN returns one record's wage
SELECT pension_status, median(monthly_wage) FROM social_insurance GROUP BY pension_status
