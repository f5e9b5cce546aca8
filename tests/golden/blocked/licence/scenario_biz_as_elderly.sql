-- licence: LIC-BIZ-2026
-- scenario: elderly-care-planning
-- why: LIC-BIZ-2026 used for the elderly-care scenario
SELECT industry, count(*) FROM enterprises GROUP BY industry
