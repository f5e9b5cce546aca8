-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: regexp_like exists in DataFusion but is not on the allow-list
SELECT industry, avg(employee_count) FROM enterprises WHERE regexp_like(industry, '^采') GROUP BY industry
