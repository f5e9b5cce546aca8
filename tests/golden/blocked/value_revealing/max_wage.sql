-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: MAX of a wage returns the top earner's exact wage
SELECT r.district, max(s.monthly_wage) AS top FROM residents r JOIN social_insurance s ON r.citizen_id = s.citizen_id GROUP BY r.district
