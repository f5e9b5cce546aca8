-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: AVG of a CASE that keeps only one citizen's wage
SELECT avg(CASE WHEN citizen_id = '230502195403120017' THEN monthly_wage END) AS w FROM social_insurance
