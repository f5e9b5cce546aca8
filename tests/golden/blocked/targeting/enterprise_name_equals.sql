-- licence: LIC-BIZ-2026
-- scenario: enterprise-employment
-- why: targeting an enterprise by name
SELECT avg(employee_count) FROM enterprises WHERE name = '双鸭山市宏达煤业有限公司'
