-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a 6-character ID prefix is longer than the policy's generalising prefix (4): a transformation, released per record
SELECT substr(citizen_id, 1, 6) AS area FROM residents
