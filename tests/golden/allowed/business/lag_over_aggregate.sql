-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: lag() over a grouped yearly series compares group totals, not records
SELECT date_part('year', founded_on) AS y, count(*) AS n, count(*) - lag(count(*)) OVER (ORDER BY date_part('year', founded_on)) AS change
FROM enterprises
GROUP BY date_part('year', founded_on)
