-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: DML: INSERT into a licensed dataset
INSERT INTO residents VALUES ('230502195001010011', '张三', '13800000000', '男', DATE '1950-01-01', '尖山区', '城镇', '已婚')
