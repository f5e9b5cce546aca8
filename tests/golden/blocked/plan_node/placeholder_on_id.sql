-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a placeholder compared to the identifier: a parameterised lookup
SELECT count(*) FROM residents WHERE citizen_id = $1
