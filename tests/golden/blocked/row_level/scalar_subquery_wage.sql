-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a row-level value laundered through a scalar subquery
SELECT (SELECT monthly_wage FROM social_insurance LIMIT 1) AS w
