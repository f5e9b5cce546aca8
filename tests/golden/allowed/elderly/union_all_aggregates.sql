-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: UNION ALL of two grouped counts is still only group results
SELECT 'gender' AS dimension, gender AS value, count(*) AS n FROM residents GROUP BY gender
UNION ALL
SELECT 'hukou' AS dimension, hukou_type AS value, count(*) AS n FROM residents GROUP BY hukou_type
