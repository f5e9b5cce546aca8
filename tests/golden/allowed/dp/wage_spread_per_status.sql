-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: under DP, VAR and STDDEV of a bounded column are released with noise on count, sum and sum of squares
SELECT pension_status, stddev(monthly_wage) AS sd, var_pop(contribution_months) AS v, count(DISTINCT citizen_id) AS people
FROM social_insurance GROUP BY pension_status
