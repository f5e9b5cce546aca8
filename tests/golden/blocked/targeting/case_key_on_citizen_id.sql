-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a CASE group key that isolates one citizen_id (differencing attack)
SELECT CASE WHEN citizen_id = '230502195403120017' THEN 'target' ELSE 'others' END AS who, avg(s.monthly_wage) FROM social_insurance s GROUP BY 1
