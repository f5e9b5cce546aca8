-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: COPY writes raw rows out to a file
COPY residents TO '/tmp/residents.csv'
