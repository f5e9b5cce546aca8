-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: grouping by an exact sensitive value releases every distinct wage
SELECT monthly_wage, count(*) AS n FROM social_insurance GROUP BY monthly_wage
