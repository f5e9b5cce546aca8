-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a hash laundered through a CTE alias
WITH t AS (SELECT md5(citizen_id) AS h FROM residents)
SELECT h FROM t
