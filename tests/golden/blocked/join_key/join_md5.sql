-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: a join on hashes of the keys
SELECT e.industry, count(*) FROM enterprises e JOIN social_insurance s ON md5(e.uscc) = md5(s.employer_uscc) GROUP BY e.industry
