-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: a CTE that aggregates, then ORDER BY + LIMIT
WITH by_industry AS (
  SELECT industry, sum(employee_count) AS employees, count(*) AS n FROM enterprises GROUP BY industry
)
SELECT industry, employees, n FROM by_industry ORDER BY employees DESC LIMIT 5
