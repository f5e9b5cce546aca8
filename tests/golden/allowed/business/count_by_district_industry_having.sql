-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: two quasi keys with HAVING count(*) > 20
SELECT district, industry, count(*) AS n FROM enterprises GROUP BY district, industry HAVING count(*) > 20
