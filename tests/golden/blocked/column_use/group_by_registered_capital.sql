-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: grouping by the exact registered capital of each company
SELECT registered_capital, count(*) FROM enterprises GROUP BY registered_capital
