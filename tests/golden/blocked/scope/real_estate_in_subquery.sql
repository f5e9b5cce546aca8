-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: an unlicensed table hidden in an IN-subquery
SELECT district, count(*) FROM residents WHERE citizen_id IN (SELECT owner_citizen_id FROM real_estate) GROUP BY district
