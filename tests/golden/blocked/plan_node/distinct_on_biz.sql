-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: DISTINCT ON picks one enterprise per industry
SELECT DISTINCT ON (industry) industry, district FROM enterprises ORDER BY industry, founded_on
