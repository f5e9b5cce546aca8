-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: MIN of birth_date returns the oldest person's birth date
SELECT district, min(birth_date) AS oldest FROM residents GROUP BY district
