-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a join to a VALUES list of citizen IDs: a lookup of chosen people
SELECT avg(s.monthly_wage) FROM social_insurance s JOIN (VALUES ('230502195403120017'), ('230503196001010022')) v(id) ON s.citizen_id = v.id
