-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: under DP, a CASE whose results are literals is bounded by them: SUM of it is a noisy count
SELECT district, sum(CASE WHEN gender = '女' THEN 1 ELSE 0 END) AS women, avg(CASE WHEN marital_status = '丧偶' THEN 1.0 ELSE 0.0 END) AS widowed_share
FROM residents GROUP BY district
