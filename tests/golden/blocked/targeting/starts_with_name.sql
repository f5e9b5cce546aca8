-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: starts_with(name, '王') is a LIKE in disguise
SELECT gender, count(*) FROM residents WHERE starts_with(name, '王') GROUP BY gender
