-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: CREATE EXTERNAL TABLE reads an arbitrary file
CREATE EXTERNAL TABLE leak STORED AS CSV LOCATION '/etc/passwd'
