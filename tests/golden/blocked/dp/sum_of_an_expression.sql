-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: under DP, SUM takes one bounded column as it is; an expression of it has no declared bounds
SELECT pension_status, sum(monthly_wage * contribution_months) AS paid FROM social_insurance GROUP BY pension_status
