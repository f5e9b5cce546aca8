-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: uncorrelated EXISTS over raw records: the total-or-suppressed count answers 'does anyone earn more than X' (bisection finds the top wage)
SELECT count(*) AS n FROM residents WHERE EXISTS (SELECT 1 FROM social_insurance WHERE monthly_wage > 1000000)
