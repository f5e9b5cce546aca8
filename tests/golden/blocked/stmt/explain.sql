-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: EXPLAIN shows the plan, statistics and pushed-down literals: not a SELECT
EXPLAIN SELECT district, count(*) FROM residents GROUP BY district
