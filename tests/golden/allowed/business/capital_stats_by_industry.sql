-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: AVG, SUM and STDDEV of a sensitive column per industry
SELECT industry, avg(registered_capital) AS avg_capital, sum(registered_capital) AS total_capital, stddev(registered_capital) AS sd_capital
FROM enterprises
GROUP BY industry
