-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: AVG and STDDEV of a sensitive column per quasi group over the join
SELECT r.district, r.gender, avg(s.monthly_wage) AS avg_wage, stddev(s.monthly_wage) AS sd_wage, count(DISTINCT r.citizen_id) AS people
FROM residents r JOIN social_insurance s ON r.citizen_id = s.citizen_id
GROUP BY r.district, r.gender
HAVING count(DISTINCT r.citizen_id) > 20
