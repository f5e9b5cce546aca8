-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: birth dates of a district, record by record
SELECT birth_date FROM residents WHERE district = '饶河县'
