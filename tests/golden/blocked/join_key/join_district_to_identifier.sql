-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a join of a quasi column to an identifier
SELECT r.gender, count(*) FROM residents r JOIN social_insurance s ON r.district = s.citizen_id GROUP BY r.gender
