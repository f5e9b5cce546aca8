-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: MAX of the wage laundered through a CTE alias
WITH w AS (SELECT monthly_wage AS pay FROM social_insurance)
SELECT max(pay) AS top FROM w
