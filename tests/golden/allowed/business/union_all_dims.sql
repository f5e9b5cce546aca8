-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: UNION ALL of counts per industry and per district
SELECT 'industry' AS dimension, industry AS value, count(*) AS n FROM enterprises GROUP BY industry
UNION ALL
SELECT 'district' AS dimension, district AS value, count(*) AS n FROM enterprises GROUP BY district
