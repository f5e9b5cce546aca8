-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a scalar subquery MAX compared in WHERE (who earns the top wage)
SELECT count(*) FROM social_insurance WHERE monthly_wage = (SELECT max(monthly_wage) FROM social_insurance)
