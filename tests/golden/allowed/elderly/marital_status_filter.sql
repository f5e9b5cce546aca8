-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a sensitive column compared with a literal in WHERE (compare use)
SELECT district, gender, count(*) AS living_alone_candidates
FROM residents
WHERE marital_status IN ('丧偶', '离异', '未婚') AND birth_date < DATE '1956-01-01'
GROUP BY district, gender
