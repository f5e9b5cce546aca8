-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: real_estate is licensed to nobody: it reads as not found
SELECT district, avg(assessed_value) FROM real_estate GROUP BY district
