-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: date_part('year', founded_on) as a group key
SELECT date_part('year', founded_on) AS founded_year, count(*) AS n FROM enterprises WHERE founded_on >= DATE '2000-01-01' GROUP BY date_part('year', founded_on)
