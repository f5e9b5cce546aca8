-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: per-enterprise industry and founding date
SELECT industry, founded_on FROM enterprises
