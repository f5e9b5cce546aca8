-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: CASE buckets of registered_capital as the group key
SELECT CASE WHEN registered_capital < 100 THEN 'micro'
            WHEN registered_capital < 1000 THEN 'small'
            WHEN registered_capital < 10000 THEN 'medium'
            ELSE 'large' END AS capital_band,
       count(*) AS n, avg(employee_count) AS avg_employees
FROM enterprises
GROUP BY 1
