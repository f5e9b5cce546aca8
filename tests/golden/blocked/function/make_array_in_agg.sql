-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: make_array is not on the allow-list
SELECT industry, count(make_array(district, industry)) FROM enterprises GROUP BY industry
