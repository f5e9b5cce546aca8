-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a wage membership test in the select list with no FROM: unthresholded
SELECT 123456.0 IN (SELECT monthly_wage FROM social_insurance) AS someone_earns_it
