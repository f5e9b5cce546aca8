-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: CASE whose THEN branch is a function of the identifier
SELECT CASE WHEN gender = '男' THEN reverse(citizen_id) ELSE concat('F', phone) END AS x FROM residents
