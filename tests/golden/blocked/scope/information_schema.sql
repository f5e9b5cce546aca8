-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: information_schema is not in the session
SELECT count(*) FROM information_schema.tables
