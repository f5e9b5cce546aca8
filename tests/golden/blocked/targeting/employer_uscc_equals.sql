-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: average wage of one named employer
SELECT avg(monthly_wage) AS avg_wage FROM social_insurance WHERE employer_uscc = '91230500MA1BX2YL3K'
