-- licence: LIC-OLD-2024
-- scenario: elderly-care-planning
-- why: an expired licence is refused before the query is even looked at
SELECT citizen_id, name FROM residents
