-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: enterprises counted per industry
SELECT industry, count(*) AS enterprises FROM enterprises GROUP BY industry
