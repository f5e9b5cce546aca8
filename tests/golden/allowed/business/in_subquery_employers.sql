-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: an IN-subquery semijoin on uscc = employer_uscc with a wage filter
SELECT industry, count(*) AS employers_with_high_earners
FROM enterprises
WHERE uscc IN (SELECT employer_uscc FROM social_insurance WHERE monthly_wage > 10000)
GROUP BY industry
