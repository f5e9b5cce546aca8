-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: SELECT * dumps the register
SELECT * FROM residents
