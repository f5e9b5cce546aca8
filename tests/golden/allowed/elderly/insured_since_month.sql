-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: date_trunc('month', insured_since) generalises a quasi date into a group key
SELECT date_trunc('month', insured_since) AS month, count(*) AS new_records
FROM social_insurance
WHERE insured_since >= DATE '2020-01-01'
GROUP BY date_trunc('month', insured_since)
ORDER BY month
