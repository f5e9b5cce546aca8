-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: ROLLUP produces subtotals that are themselves thresholded groups
SELECT district, gender, count(*) AS n FROM residents GROUP BY ROLLUP(district, gender)
