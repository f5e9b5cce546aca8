-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: row-level arithmetic on the wage (annual salary) is the wage in disguise
SELECT monthly_wage * 12 + 0.5 AS annual FROM social_insurance
