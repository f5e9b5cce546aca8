-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: concat of identifiers at row level
SELECT concat(name, '-', phone) AS contact FROM residents
