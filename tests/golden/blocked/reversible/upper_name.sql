-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: upper(name) is the name itself
SELECT upper(name) AS n FROM residents
