-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: COUNT(*) without GROUP BY, filtered on a sensitive column
SELECT count(*) AS large_enterprises FROM enterprises WHERE employee_count > 100 AND registered_capital > 5000
