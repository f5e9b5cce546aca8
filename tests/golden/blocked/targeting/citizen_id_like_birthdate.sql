-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: citizen_id LIKE with a birth-date fragment targets a handful of people
SELECT count(*) FROM residents WHERE citizen_id LIKE '2305021954%'
