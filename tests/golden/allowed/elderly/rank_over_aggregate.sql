-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a window (rank) over an aggregated result ranks groups, not people
SELECT district, count(*) AS n, rank() OVER (ORDER BY count(*) DESC) AS rk
FROM residents
GROUP BY district
