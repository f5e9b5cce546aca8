-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a hash smuggled into the second branch of a UNION ALL
SELECT district AS v FROM residents GROUP BY district
UNION ALL
SELECT md5(phone) AS v FROM residents
