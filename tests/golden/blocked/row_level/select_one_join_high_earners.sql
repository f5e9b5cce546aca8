-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: SELECT 1 per matching record counts high earners exactly (no threshold)
SELECT 1 AS hit FROM residents r JOIN social_insurance s ON r.citizen_id = s.citizen_id WHERE s.monthly_wage > 50000
