-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: HAVING count(*) > 20, ORDER BY an aggregate and LIMIT on a grouped result
SELECT district, count(*) AS n
FROM residents
WHERE birth_date < DATE '1966-01-01'
GROUP BY district
HAVING count(*) > 20
ORDER BY n DESC
LIMIT 5
