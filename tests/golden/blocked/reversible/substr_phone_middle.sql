-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a middle substring of the phone is not a generalising prefix
SELECT substr(phone, 4, 4) AS mid FROM residents
