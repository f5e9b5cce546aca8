-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: a subquery in FROM aggregating the join; the outer query filters group results
SELECT t.district, t.avg_wage
FROM (
  SELECT e.district, avg(s.monthly_wage) AS avg_wage, count(*) AS n
  FROM enterprises e JOIN social_insurance s ON e.uscc = s.employer_uscc
  GROUP BY e.district
) t
WHERE t.n > 50
