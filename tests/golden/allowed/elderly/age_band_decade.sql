-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a ten-year age band computed from birth_date is a legitimate group key
SELECT floor((2026 - date_part('year', birth_date)) / 10) * 10 AS age_band, gender, count(*) AS n
FROM residents
GROUP BY floor((2026 - date_part('year', birth_date)) / 10) * 10, gender
