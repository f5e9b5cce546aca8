-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: sha256 of a phone number: 11 digits are enumerable
SELECT sha256(phone) AS h FROM residents
