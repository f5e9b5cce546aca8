-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a window over groups must see only groups that survive suppression (LAG would copy a small cell's count into its neighbour)
SELECT district, date_part('year', birth_date) AS y, count(*) AS n, lag(count(*)) OVER (ORDER BY district, date_part('year', birth_date)) AS previous_n FROM residents GROUP BY district, date_part('year', birth_date)
