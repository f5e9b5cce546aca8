-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: SUM, AVG and STDDEV of sensitive columns per pension status, with a ratio of aggregates
SELECT pension_status,
       sum(contribution_months) AS months,
       avg(contribution_months) AS avg_months,
       stddev(monthly_wage) AS sd_wage,
       count(*) * 1.0 / count(DISTINCT citizen_id) AS records_per_person
FROM social_insurance
GROUP BY pension_status
