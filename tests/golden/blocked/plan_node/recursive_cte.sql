-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: WITH RECURSIVE can enumerate candidate IDs
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
SELECT count(*) FROM n
