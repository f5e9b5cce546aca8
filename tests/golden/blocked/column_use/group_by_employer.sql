-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: grouping by employer_uscc yields one group per enterprise
SELECT employer_uscc, avg(monthly_wage) FROM social_insurance GROUP BY employer_uscc
