-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: the basic head count per district is a thresholded aggregate
SELECT district, count(*) AS residents FROM residents GROUP BY district
