-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: marital_status is sensitive: compare and aggregate, not a group key
SELECT marital_status, count(*) FROM residents GROUP BY marital_status
