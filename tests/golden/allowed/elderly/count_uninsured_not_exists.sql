-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: NOT EXISTS anti-join on citizen_id, counted per district
SELECT r.district, count(*) AS uninsured
FROM residents r
WHERE NOT EXISTS (SELECT 1 FROM social_insurance s WHERE s.citizen_id = r.citizen_id)
GROUP BY r.district
