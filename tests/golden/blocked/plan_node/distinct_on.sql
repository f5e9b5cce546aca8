-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: DISTINCT ON keeps one whole record per key
SELECT DISTINCT ON (district) district, gender FROM residents ORDER BY district, birth_date
