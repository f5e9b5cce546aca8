-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: MIN of an identifier returns one enterprise's USCC
SELECT industry, min(uscc) AS first_code FROM enterprises GROUP BY industry
