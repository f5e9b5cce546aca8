-- licence: LIC-OLD-2024
-- scenario: elderly-care-planning
-- why: LIC-OLD-2024 expired on 2024-12-31: even a harmless count runs nothing
SELECT district, count(*) FROM residents GROUP BY district
