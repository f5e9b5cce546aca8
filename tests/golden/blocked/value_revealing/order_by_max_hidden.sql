-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: MAX hidden in ORDER BY of a grouped query sorts districts by their oldest resident
SELECT district, count(*) AS n FROM residents GROUP BY district ORDER BY max(birth_date)
