-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a cast of a sensitive wage to text at row level
SELECT CAST(monthly_wage AS VARCHAR) AS w FROM social_insurance
