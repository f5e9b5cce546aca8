-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: AVG of a function of an identifier (name length) is not an allowed use
SELECT district, avg(length(name)) AS avg_len FROM residents GROUP BY district
