-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: last_value over a window copies another record's wage
SELECT industry, count(*) AS n, max(avg_wage) AS m FROM (SELECT e.industry, last_value(s.monthly_wage) OVER (PARTITION BY e.industry ORDER BY s.monthly_wage) AS avg_wage FROM enterprises e JOIN social_insurance s ON e.uscc = s.employer_uscc) t GROUP BY industry
