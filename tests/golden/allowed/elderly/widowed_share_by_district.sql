-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a sensitive column compared inside a CASE summed per group: a count, not a value
SELECT district,
       sum(CASE WHEN marital_status = '丧偶' THEN 1 ELSE 0 END) AS widowed,
       count(*) AS total
FROM residents
WHERE birth_date < DATE '1956-01-01'
GROUP BY district
