-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: ordering a window by the identifier
SELECT district, count(*) AS n, max(rk) AS m FROM (SELECT district, rank() OVER (ORDER BY citizen_id) AS rk FROM residents) t GROUP BY district
