-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: aggregating an identifier (SUM of a cast citizen_id) is not an allowed use
SELECT district, sum(CAST(citizen_id AS BIGINT)) AS s FROM residents GROUP BY district
