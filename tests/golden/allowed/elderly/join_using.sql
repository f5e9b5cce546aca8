-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: JOIN ... USING (citizen_id) is the same equality join
SELECT hukou_type, pension_status, count(DISTINCT citizen_id) AS people
FROM residents JOIN social_insurance USING (citizen_id)
GROUP BY hukou_type, pension_status
