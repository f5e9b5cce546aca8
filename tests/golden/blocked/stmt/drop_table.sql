-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: DDL: DROP TABLE
DROP TABLE residents
