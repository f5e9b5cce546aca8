-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a table that does not exist reads exactly like an unlicensed one
SELECT count(*) FROM hospital_visits
