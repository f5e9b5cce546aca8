-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: DESCRIBE is a metadata statement, not a SELECT
DESCRIBE residents
