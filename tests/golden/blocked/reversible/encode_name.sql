-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: encode(name, 'base64') is an encoding, fully reversible
SELECT encode(name, 'base64') AS e FROM residents
