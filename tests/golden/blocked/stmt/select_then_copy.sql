-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a harmless SELECT followed by a COPY in the same job
SELECT count(*) FROM residents; COPY residents TO '/tmp/r.parquet'
