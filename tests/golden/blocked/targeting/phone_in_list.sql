-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: phone IN (...) targets specific people
SELECT count(*) FROM residents WHERE phone IN ('13812345678', '13987654321')
