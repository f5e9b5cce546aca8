-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: enterprises is not in LIC-ELDER-2026
SELECT industry, count(*) FROM enterprises GROUP BY industry
