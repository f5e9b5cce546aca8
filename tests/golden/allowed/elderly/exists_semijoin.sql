-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a correlated EXISTS on citizen_id equality is a semijoin
SELECT r.hukou_type, count(*) AS insured
FROM residents r
WHERE EXISTS (SELECT 1 FROM social_insurance s WHERE s.citizen_id = r.citizen_id AND s.monthly_wage > 5000)
GROUP BY r.hukou_type
