-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: CASE wage bands as a group key with industry
SELECT e.industry,
       CASE WHEN s.monthly_wage < 3000 THEN 'low' WHEN s.monthly_wage < 8000 THEN 'middle' ELSE 'high' END AS wage_band,
       count(DISTINCT s.citizen_id) AS people
FROM enterprises e JOIN social_insurance s ON e.uscc = s.employer_uscc
GROUP BY 1, 2
