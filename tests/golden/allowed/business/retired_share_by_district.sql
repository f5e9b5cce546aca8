-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: a conditional count (SUM of CASE) per district over the join
SELECT e.district,
       sum(CASE WHEN s.pension_status = '退休' THEN 1 ELSE 0 END) AS retired_records,
       count(*) AS records,
       avg(s.contribution_months) AS avg_months
FROM enterprises e JOIN social_insurance s ON e.uscc = s.employer_uscc
GROUP BY e.district
