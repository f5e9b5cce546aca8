-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: COUNT(*) without GROUP BY is one aggregate over the whole filtered population
SELECT count(*) AS over_80 FROM residents WHERE birth_date < DATE '1946-01-01'
