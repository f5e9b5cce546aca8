-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: district IN (...) and hukou_type = literal are comparisons on quasi columns
SELECT district, hukou_type, count(*) AS n
FROM residents
WHERE district IN ('集贤县', '友谊县', '宝清县', '饶河县') AND birth_date < DATE '1960-01-01'
GROUP BY district, hukou_type
