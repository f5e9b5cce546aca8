-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: enterprises joined to social_insurance on uscc = employer_uscc, people counted distinct
SELECT e.industry, count(DISTINCT s.citizen_id) AS insured_people, count(DISTINCT e.uscc) AS employers
FROM enterprises e JOIN social_insurance s ON e.uscc = s.employer_uscc
GROUP BY e.industry
