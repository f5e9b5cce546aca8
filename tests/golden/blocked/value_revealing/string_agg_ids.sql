-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: STRING_AGG of citizen IDs concatenates the identifiers
SELECT district, string_agg(citizen_id, ',') AS ids FROM residents GROUP BY district
