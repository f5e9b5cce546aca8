-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a CTE that aggregates, filtered and sorted by its aggregate afterwards
WITH per_district AS (
  SELECT district, count(*) AS n FROM residents WHERE birth_date < DATE '1960-01-01' GROUP BY district
)
SELECT district, n FROM per_district WHERE n > 100 ORDER BY n DESC
