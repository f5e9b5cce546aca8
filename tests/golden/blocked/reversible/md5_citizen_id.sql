-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: md5 of a low-entropy identifier is reversed by enumerating all IDs
SELECT md5(citizen_id) AS h FROM residents
