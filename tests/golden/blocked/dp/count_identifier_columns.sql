-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: under DP, COUNT(DISTINCT col) counts privacy units only; distinct names have no bounded sensitivity
SELECT district, count(phone) AS with_phone, count(DISTINCT name) AS distinct_names, count(DISTINCT citizen_id) AS people
FROM residents
GROUP BY district
