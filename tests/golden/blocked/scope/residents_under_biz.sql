-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: residents is not in LIC-BIZ-2026 (joining staff to their household data)
SELECT r.district, count(*) FROM residents r JOIN social_insurance s ON r.citizen_id = s.citizen_id GROUP BY r.district
