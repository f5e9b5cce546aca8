-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: a window SUM per row is computed record by record and never thresholded
SELECT industry, registered_capital - avg(registered_capital) OVER (PARTITION BY industry) AS delta FROM enterprises
