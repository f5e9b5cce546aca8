-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: grouping by the identifier yields one group per person
SELECT citizen_id, count(*) AS n FROM residents GROUP BY citizen_id
