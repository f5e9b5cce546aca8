-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: rounding a sensitive wage does not make it a group key (not a group_by column)
SELECT round(monthly_wage / 1000) AS k, count(*) FROM social_insurance GROUP BY round(monthly_wage / 1000)
