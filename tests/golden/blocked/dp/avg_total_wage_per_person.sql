-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: under DP, a per-person total has no declared bounds (one person can move the average without limit)
SELECT r.district, avg(p.total_wage) AS avg_total_wage, count(*) AS people
FROM residents r
JOIN (SELECT citizen_id, sum(monthly_wage) AS total_wage FROM social_insurance GROUP BY citizen_id) p ON r.citizen_id = p.citizen_id
GROUP BY r.district
