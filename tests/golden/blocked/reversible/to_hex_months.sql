-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: to_hex of a sensitive integer per record
SELECT to_hex(contribution_months) AS hx FROM social_insurance
