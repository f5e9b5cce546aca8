-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: FIRST_VALUE (as an aggregate) with ORDER BY returns the highest wage
SELECT pension_status, first_value(monthly_wage ORDER BY monthly_wage DESC) AS top FROM social_insurance GROUP BY pension_status
