-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: an IN-subquery semijoin on citizen_id is a join on the identifier, not a lookup
SELECT district, count(*) AS retired_residents
FROM residents
WHERE citizen_id IN (SELECT citizen_id FROM social_insurance WHERE pension_status = '退休')
GROUP BY district
