-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: row_number() ordered by wage releases each record's wage rank
SELECT row_number() OVER (ORDER BY monthly_wage) AS rn FROM social_insurance
