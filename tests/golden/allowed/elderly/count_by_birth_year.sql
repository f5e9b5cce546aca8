-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: date_part('year', birth_date) generalises a quasi column into a group key
SELECT date_part('year', birth_date) AS birth_year, count(*) AS n FROM residents GROUP BY date_part('year', birth_date) ORDER BY birth_year
