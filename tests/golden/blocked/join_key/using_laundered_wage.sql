-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: JOIN USING on a wage renamed uscc: a sensitive value as a join key
SELECT e.industry, count(*) FROM enterprises e JOIN (SELECT CAST(monthly_wage AS VARCHAR) AS uscc FROM social_insurance) s USING (uscc) GROUP BY e.industry
