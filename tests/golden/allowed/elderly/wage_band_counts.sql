-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a CASE bucket of a sensitive wage is a group key that reveals only the band
SELECT CASE WHEN monthly_wage < 3000 THEN 'low'
            WHEN monthly_wage < 8000 THEN 'middle'
            ELSE 'high' END AS wage_band,
       count(DISTINCT citizen_id) AS people
FROM social_insurance
GROUP BY 1
