-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: uuid() is volatile
SELECT district, count(*) AS n FROM residents WHERE uuid() <> '' GROUP BY district
