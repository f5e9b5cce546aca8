-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: UNNEST expands arrays into rows
SELECT unnest(named_struct('d', district, 'g', gender)) FROM residents
