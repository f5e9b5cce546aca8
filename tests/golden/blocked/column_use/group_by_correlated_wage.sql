-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a per-person wage (correlated scalar subquery) used as a group key: GROUP BY monthly_wage laundered
SELECT (SELECT avg(s.monthly_wage) FROM social_insurance s WHERE s.citizen_id = r.citizen_id) AS w, count(*) AS n
FROM residents r
GROUP BY 1
