-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: EXPLAIN ANALYZE executes and prints exact intermediate row counts (bypasses suppression)
EXPLAIN ANALYZE SELECT count(*) FROM residents WHERE birth_date = DATE '1950-03-12'
