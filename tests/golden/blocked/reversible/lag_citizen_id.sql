-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: lag(citizen_id) OVER () copies a neighbour's identifier into each row
SELECT lag(citizen_id) OVER () AS prev FROM residents
