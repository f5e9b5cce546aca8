-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: CASE buckets with literals over birth_date as the group key
SELECT CASE WHEN birth_date < DATE '1946-07-01' THEN '80+'
            WHEN birth_date < DATE '1956-07-01' THEN '70-79'
            WHEN birth_date < DATE '1966-07-01' THEN '60-69'
            ELSE 'under 60' END AS age_group,
       district, count(*) AS n
FROM residents
GROUP BY 1, 2
