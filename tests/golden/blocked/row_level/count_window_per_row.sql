-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: count(*) OVER () next to a per-record column
SELECT district, count(*) OVER (PARTITION BY district) AS n FROM residents
