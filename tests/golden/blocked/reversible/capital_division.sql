-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: registered_capital divided by employee_count per enterprise
SELECT registered_capital / employee_count AS capital_per_head FROM enterprises
