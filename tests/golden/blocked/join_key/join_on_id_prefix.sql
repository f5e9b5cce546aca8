-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a join on a substr of the identifier (area + birth date) links people fuzzily
SELECT r.district, count(*) FROM residents r JOIN social_insurance s ON substr(r.citizen_id, 1, 14) = substr(s.citizen_id, 1, 14) GROUP BY r.district
