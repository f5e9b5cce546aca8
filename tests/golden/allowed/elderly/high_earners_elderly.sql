-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: WHERE on a sensitive wage and a quasi date against literals, counted per district
SELECT r.district, count(DISTINCT r.citizen_id) AS people, avg(s.contribution_months) AS avg_months
FROM residents r JOIN social_insurance s ON r.citizen_id = s.citizen_id
WHERE s.monthly_wage > 5000 AND r.birth_date < DATE '1966-01-01'
GROUP BY r.district
