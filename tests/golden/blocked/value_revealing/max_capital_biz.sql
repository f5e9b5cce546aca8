-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: MAX registered capital per industry returns one company's value
SELECT industry, max(registered_capital) AS biggest FROM enterprises GROUP BY industry
