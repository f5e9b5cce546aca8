-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: a sensitive value joined to an identifier
SELECT e.industry, count(*) FROM enterprises e JOIN social_insurance s ON e.uscc = CAST(s.monthly_wage AS VARCHAR) GROUP BY e.industry
