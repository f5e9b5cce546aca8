-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: CASE with a plain identifier in THEN at row level
SELECT CASE WHEN gender = '男' THEN citizen_id ELSE name END AS who FROM residents
