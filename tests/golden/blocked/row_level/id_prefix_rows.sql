-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a generalised prefix of the ID, but released per record
SELECT substr(citizen_id, 1, 6) AS area FROM residents
