-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: regexp_replace is not on the allow-list (and here masks an ID per row)
SELECT district, count(*) FROM residents GROUP BY district HAVING count(DISTINCT regexp_replace(name, '.', 'x')) > 0
