-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: under DP, COUNT(DISTINCT name) is refused: only distinct privacy units are counted
SELECT district, count(DISTINCT name) AS distinct_names, count(uscc) AS n FROM enterprises GROUP BY district
