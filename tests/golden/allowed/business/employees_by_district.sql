-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: SUM and AVG of employee_count per district
SELECT district, sum(employee_count) AS employees, avg(employee_count) AS avg_size FROM enterprises GROUP BY district ORDER BY employees DESC
