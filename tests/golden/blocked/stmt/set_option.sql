-- licence: LIC-ELDER-2026
-- scenario: elderly-care-planning
-- why: SET changes session options (here: turning recursive CTEs back on)
SET datafusion.execution.enable_recursive_ctes = true
