-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: two statements in one job
SELECT 1; SELECT 2
