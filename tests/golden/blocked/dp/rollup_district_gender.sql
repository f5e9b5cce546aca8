-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: under DP, ROLLUP would count each person in several groups of one aggregate
SELECT district, gender, count(*) AS n FROM residents GROUP BY ROLLUP(district, gender)
