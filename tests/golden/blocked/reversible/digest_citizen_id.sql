-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: digest(citizen_id, 'sha512') is just another hash
SELECT digest(citizen_id, 'sha512') AS h FROM residents
