-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: name LIKE '张%' singles out people by name
SELECT district, count(*) FROM residents WHERE name LIKE '张%' GROUP BY district
