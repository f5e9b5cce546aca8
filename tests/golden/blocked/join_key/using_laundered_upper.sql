-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: JOIN USING on a column that is really upper(citizen_id) under an alias
SELECT r.district, count(*) FROM residents r JOIN (SELECT upper(citizen_id) AS citizen_id, monthly_wage FROM social_insurance) s USING (citizen_id) GROUP BY r.district
