-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: random() makes results nondeterministic (repeat-and-average attacks)
SELECT district, count(*) FROM residents WHERE random() < 0.5 GROUP BY district
