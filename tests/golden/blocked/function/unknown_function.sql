-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a function that does not exist
SELECT district, count(*) FROM residents WHERE my_decrypt(citizen_id) = 'x' GROUP BY district
