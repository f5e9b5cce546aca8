-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: UNNEST expands arrays into rows
SELECT unnest(make_array(1, 2, 3)) AS x
