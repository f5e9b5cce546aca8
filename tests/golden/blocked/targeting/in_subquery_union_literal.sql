-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a literal ID laundered through UNION ALL inside an IN-subquery: a lookup of one person
SELECT avg(monthly_wage) FROM social_insurance
WHERE citizen_id IN (SELECT citizen_id FROM residents WHERE false UNION ALL SELECT '230502195403120017')
