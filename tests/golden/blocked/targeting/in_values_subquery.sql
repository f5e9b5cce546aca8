-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: IN (SELECT ... FROM VALUES) with literal IDs
SELECT avg(monthly_wage) FROM social_insurance WHERE citizen_id IN (SELECT column1 FROM (VALUES ('230502195403120017')) v)
