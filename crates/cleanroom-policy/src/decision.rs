//! The shared vocabulary of decisions: stable rule ids, violations and the verdict.
//!
//! Decisions are values, not errors: a blocked job is a normal outcome that carries every
//! violation found, each with a stable rule id, the output column, expression, table or licence
//! it concerns, a reason a non-programmer understands and, where one exists, a suggestion.
//! Reasons and suggestions name ids, columns and counts only, never a data value.

use serde::{Deserialize, Serialize};

/// A stable rule id. Serialised as its dotted name (`licence.scope`, `threshold.group`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleId {
    LicenceScope,
    LicenceScenario,
    LicenceExpired,
    LicenceSuspended,
    LicenceRate,
    StmtSingleSelect,
    ScopeTable,
    ColumnUse,
    OutputReversible,
    AggregateValueRevealing,
    OutputRowLevel,
    FilterTargeting,
    JoinKey,
    DpRequired,
    BudgetExhausted,
    PlanNode,
    FunctionNotAllowed,
    ThresholdGroup,
    DominanceNk,
    DominancePRatio,
    DlpIdentifier,
    EchoRawValue,
    LimitRows,
    LimitBytes,
}

impl RuleId {
    /// The stable dotted name used in reports, logs and golden files.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::LicenceScope => "licence.scope",
            RuleId::LicenceScenario => "licence.scenario",
            RuleId::LicenceExpired => "licence.expired",
            RuleId::LicenceSuspended => "licence.suspended",
            RuleId::LicenceRate => "licence.rate",
            RuleId::StmtSingleSelect => "stmt.single_select",
            RuleId::ScopeTable => "scope.table",
            RuleId::ColumnUse => "column.use",
            RuleId::OutputReversible => "output.reversible",
            RuleId::AggregateValueRevealing => "aggregate.value_revealing",
            RuleId::OutputRowLevel => "output.row_level",
            RuleId::FilterTargeting => "filter.targeting",
            RuleId::JoinKey => "join.key",
            RuleId::DpRequired => "dp.required",
            RuleId::BudgetExhausted => "budget.exhausted",
            RuleId::PlanNode => "plan.node",
            RuleId::FunctionNotAllowed => "function.not_allowed",
            RuleId::ThresholdGroup => "threshold.group",
            RuleId::DominanceNk => "dominance.nk",
            RuleId::DominancePRatio => "dominance.p_ratio",
            RuleId::DlpIdentifier => "dlp.identifier",
            RuleId::EchoRawValue => "echo.raw_value",
            RuleId::LimitRows => "limit.rows",
            RuleId::LimitBytes => "limit.bytes",
        }
    }

    /// Every rule id, in declaration order.
    pub fn all() -> &'static [RuleId] {
        &[
            RuleId::LicenceScope,
            RuleId::LicenceScenario,
            RuleId::LicenceExpired,
            RuleId::LicenceSuspended,
            RuleId::LicenceRate,
            RuleId::StmtSingleSelect,
            RuleId::ScopeTable,
            RuleId::ColumnUse,
            RuleId::OutputReversible,
            RuleId::AggregateValueRevealing,
            RuleId::OutputRowLevel,
            RuleId::FilterTargeting,
            RuleId::JoinKey,
            RuleId::DpRequired,
            RuleId::BudgetExhausted,
            RuleId::PlanNode,
            RuleId::FunctionNotAllowed,
            RuleId::ThresholdGroup,
            RuleId::DominanceNk,
            RuleId::DominancePRatio,
            RuleId::DlpIdentifier,
            RuleId::EchoRawValue,
            RuleId::LimitRows,
            RuleId::LimitBytes,
        ]
    }

    /// The rule id with this dotted name.
    pub fn parse(s: &str) -> Option<RuleId> {
        RuleId::all().iter().copied().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        RuleId::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format_args!("unknown rule id `{s}`")))
    }
}

/// One reason a job is blocked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    pub rule: RuleId,
    /// The output column, expression, table or licence id the violation concerns.
    pub target: String,
    /// A sentence a non-programmer understands; never a data value.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

impl Violation {
    pub fn new(rule: RuleId, target: impl Into<String>, reason: impl Into<String>) -> Self {
        Violation {
            rule,
            target: target.into(),
            reason: reason.into(),
            suggestion: None,
        }
    }

    pub fn with_suggestion(mut self, suggestion: impl Into<String>) -> Self {
        self.suggestion = Some(suggestion.into());
        self
    }
}

/// The outcome of a decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allowed,
    Blocked,
}

/// Every violation found for a job; allowed iff there is none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub violations: Vec<Violation>,
}

impl Decision {
    /// Blocked iff any violation was found.
    pub fn verdict(&self) -> Verdict {
        if self.violations.is_empty() {
            Verdict::Allowed
        } else {
            Verdict::Blocked
        }
    }

    pub fn is_allowed(&self) -> bool {
        self.violations.is_empty()
    }

    pub fn push(&mut self, violation: Violation) {
        self.violations.push(violation);
    }

    pub fn extend(&mut self, violations: impl IntoIterator<Item = Violation>) {
        self.violations.extend(violations);
    }

    /// Removes exact duplicates, keeping the first occurrence and the order.
    pub fn dedup(&mut self) {
        let mut kept: Vec<Violation> = Vec::with_capacity(self.violations.len());
        for v in self.violations.drain(..) {
            if !kept.contains(&v) {
                kept.push(v);
            }
        }
        self.violations = kept;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_round_trip_and_are_unique() {
        let mut names: Vec<&str> = RuleId::all().iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), 24);
        for r in RuleId::all() {
            assert_eq!(RuleId::parse(r.as_str()), Some(*r));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 24);
        assert_eq!(RuleId::parse("no.such_rule"), None);
    }

    #[test]
    fn decision_serialises_rule_as_dotted_name() {
        let mut d = Decision::default();
        assert_eq!(d.verdict(), Verdict::Allowed);
        let v = Violation::new(RuleId::ThresholdGroup, "n", "too few people");
        d.push(v.clone());
        d.push(v.clone().with_suggestion("coarsen the groups"));
        d.extend([v.clone()]);
        d.dedup();
        assert_eq!(d.violations.len(), 2);
        assert_eq!(d.verdict(), Verdict::Blocked);
        assert!(!d.is_allowed());
        // serde_json is not a dependency of this crate: serialise through a toml value instead.
        let value = toml::Value::try_from(&d.violations[0]).unwrap();
        let table = value.as_table().unwrap();
        assert_eq!(table["rule"].as_str(), Some("threshold.group"));
        assert!(!table.contains_key("suggestion"));
        let value = toml::Value::try_from(&d.violations[1]).unwrap();
        assert_eq!(value["suggestion"].as_str(), Some("coarsen the groups"));
    }
}
