-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a non-equality join on identifiers (range join) is not a key join
SELECT r.district, count(*) FROM residents r JOIN social_insurance s ON r.citizen_id < s.citizen_id GROUP BY r.district
