-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a bare EXISTS over raw records is a non-aggregated, unthresholded answer about one person
SELECT EXISTS (SELECT 1 FROM residents r JOIN social_insurance s ON r.citizen_id = s.citizen_id WHERE r.birth_date = DATE '1954-03-12' AND r.district = '饶河县' AND r.gender = '男' AND s.monthly_wage > 8000) AS hit
