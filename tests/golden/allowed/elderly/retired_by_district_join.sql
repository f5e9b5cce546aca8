-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: residents joined to social_insurance on citizen_id, people counted with COUNT(DISTINCT)
SELECT r.district, count(DISTINCT r.citizen_id) AS retired
FROM residents r JOIN social_insurance s ON r.citizen_id = s.citizen_id
WHERE s.pension_status = '退休'
GROUP BY r.district
