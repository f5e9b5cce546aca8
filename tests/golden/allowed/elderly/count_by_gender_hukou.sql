-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: two quasi-identifiers as group keys, counted
SELECT gender, hukou_type, count(*) AS n FROM residents GROUP BY gender, hukou_type
