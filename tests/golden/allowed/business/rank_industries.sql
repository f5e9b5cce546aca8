-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: dense_rank over an aggregate ranks groups by their total
SELECT industry, sum(employee_count) AS employees, dense_rank() OVER (ORDER BY sum(employee_count) DESC) AS rk
FROM enterprises
GROUP BY industry
