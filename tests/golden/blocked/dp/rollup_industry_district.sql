-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: under DP, ROLLUP subtotals count each enterprise in several groups
SELECT industry, district, count(*) AS n, sum(employee_count) AS employees FROM enterprises GROUP BY ROLLUP(industry, district)
