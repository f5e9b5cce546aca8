-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: looking up one person's wage by citizen_id
SELECT avg(s.monthly_wage) FROM social_insurance s WHERE s.citizen_id = '230502195403120017'
