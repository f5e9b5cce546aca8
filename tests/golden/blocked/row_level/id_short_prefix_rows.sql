-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a generalised 4-character prefix of the ID is still one row per record
SELECT substr(citizen_id, 1, 4) AS area FROM residents
