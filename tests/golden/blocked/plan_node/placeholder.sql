-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a placeholder $1 hides the compared value from the guard
SELECT district, count(*) FROM residents WHERE birth_date < $1 GROUP BY district
