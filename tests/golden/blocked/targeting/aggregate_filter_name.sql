-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a FILTER clause on a name inside an aggregate
SELECT district, count(*) FILTER (WHERE name = '张伟') AS n FROM residents GROUP BY district
