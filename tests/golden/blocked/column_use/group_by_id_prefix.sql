-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: a prefix of citizen_id (area code + birth date) as group key: identifiers are join-only
SELECT substr(citizen_id, 1, 6) AS area, count(*) FROM residents GROUP BY substr(citizen_id, 1, 6)
