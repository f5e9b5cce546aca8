-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: ARRAY_AGG of names lists everyone in the group
SELECT district, array_agg(name) AS names FROM residents GROUP BY district
