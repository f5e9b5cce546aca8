-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: date_trunc('month', insured_since) over the join with an industry filter
SELECT date_trunc('month', s.insured_since) AS month, count(DISTINCT s.citizen_id) AS new_insured
FROM enterprises e JOIN social_insurance s ON e.uscc = s.employer_uscc
WHERE e.industry IN ('采矿业', '制造业') AND s.insured_since >= DATE '2024-01-01'
GROUP BY 1
ORDER BY 1
