-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: a decade bucket of founded_on
SELECT floor(date_part('year', founded_on) / 10) * 10 AS decade, industry, count(*) AS n FROM enterprises GROUP BY 1, 2
