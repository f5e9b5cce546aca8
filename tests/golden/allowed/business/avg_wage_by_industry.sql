-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: AVG of a sensitive wage per industry over the join
SELECT e.industry, avg(s.monthly_wage) AS avg_wage, count(DISTINCT s.citizen_id) AS people
FROM enterprises e JOIN social_insurance s ON e.uscc = s.employer_uscc
WHERE s.pension_status = '在职'
GROUP BY e.industry
HAVING count(DISTINCT s.citizen_id) > 20
ORDER BY avg_wage DESC
