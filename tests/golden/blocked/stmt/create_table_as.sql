-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: CREATE TABLE AS would materialise raw rows in the session
CREATE TABLE copy_of_residents AS SELECT * FROM residents
