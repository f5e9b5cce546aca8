-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: ROLLUP subtotals of enterprise counts
SELECT industry, district, count(*) AS n, sum(employee_count) AS employees FROM enterprises GROUP BY ROLLUP(industry, district)
