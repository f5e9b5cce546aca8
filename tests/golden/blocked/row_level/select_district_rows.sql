-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: one row per resident, even of a quasi column
SELECT district FROM residents
