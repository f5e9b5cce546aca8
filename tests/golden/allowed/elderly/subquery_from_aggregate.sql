-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a subquery in FROM that aggregates; the outer query only reads group results
SELECT t.hukou_type, t.n, t.avg_wage
FROM (
  SELECT r.hukou_type, count(DISTINCT r.citizen_id) AS n, avg(s.monthly_wage) AS avg_wage
  FROM residents r JOIN social_insurance s ON r.citizen_id = s.citizen_id
  GROUP BY r.hukou_type
) t
