-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: the generate_series table function (enumeration source) is not a licensed dataset
SELECT count(*) FROM generate_series(1, 10)
