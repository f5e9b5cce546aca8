-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a transformed name laundered through a subquery in FROM
SELECT x FROM (SELECT lower(upper(name)) AS x FROM residents) sub
