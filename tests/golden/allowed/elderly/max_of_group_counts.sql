-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: MAX over already aggregated group counts reveals no person's value
SELECT max(n) AS largest_district, min(n) AS smallest_district
FROM (SELECT district, count(*) AS n FROM residents GROUP BY district) t
