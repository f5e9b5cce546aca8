-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a WHERE on a quasi date against a literal, then counted per district
SELECT district, count(*) AS over_65 FROM residents WHERE birth_date < DATE '1961-07-01' GROUP BY district ORDER BY over_65 DESC
