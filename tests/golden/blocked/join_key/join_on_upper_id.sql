-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a join on a function of the identifier
SELECT r.district, count(*) FROM residents r JOIN social_insurance s ON upper(r.citizen_id) = s.citizen_id GROUP BY r.district
