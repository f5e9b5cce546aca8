-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: replace/lpad/split_part chains over the ID at row level
SELECT lpad(replace(citizen_id, 'X', '0'), 20, '*') AS x FROM residents
