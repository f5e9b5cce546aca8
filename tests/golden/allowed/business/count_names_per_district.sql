-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: COUNT(DISTINCT name) on an identifier column reveals cardinality only
SELECT district, count(DISTINCT name) AS distinct_names, count(uscc) AS n FROM enterprises GROUP BY district
