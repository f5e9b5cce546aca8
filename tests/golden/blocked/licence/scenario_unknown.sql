-- licence: LIC-ELDER-2026
-- scenario: marketing
-- why: a scenario no licence names (marketing use of population data)
SELECT gender, count(*) FROM residents GROUP BY gender
