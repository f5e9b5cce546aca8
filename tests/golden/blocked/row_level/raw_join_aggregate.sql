-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a raw table joined to an aggregate is still one row per record
SELECT r.district, a.n FROM residents r JOIN (SELECT district, count(*) AS n FROM residents GROUP BY district) a ON r.district = a.district
