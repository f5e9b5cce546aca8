-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: EXCEPT of identifier sets, only counted: residents without any insurance record
SELECT count(*) AS uninsured FROM (SELECT citizen_id FROM residents EXCEPT SELECT citizen_id FROM social_insurance) t
