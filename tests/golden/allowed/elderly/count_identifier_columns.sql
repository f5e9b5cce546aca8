-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: COUNT(col) and COUNT(DISTINCT col) reveal cardinality only, allowed on identifier columns
SELECT district, count(phone) AS with_phone, count(DISTINCT name) AS distinct_names, count(DISTINCT citizen_id) AS people
FROM residents
GROUP BY district
