-- licence: LIC-ELDER-2026
-- scenario: enterprise-employment
-- why: LIC-ELDER-2026 used for a scenario it does not cover
SELECT district, count(*) FROM residents GROUP BY district
