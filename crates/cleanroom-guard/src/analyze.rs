//! The static walk: one pass over the logical plan as written (before optimisation) that computes,
//! for every column of every node, which base columns it derives from and how, checks every use
//! against the catalog, and decides. The same walk yields the column lineage.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cleanroom_policy::decision::{Decision, RuleId, Violation};
use cleanroom_policy::{ColumnClass, Use, Uses};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::logical_expr::expr::{
    AggregateFunction, Exists, InList, InSubquery, SetComparison, WindowFunction,
    WindowFunctionDefinition,
};
use datafusion::logical_expr::utils::{grouping_set_to_exprlist, split_conjunction};
use datafusion::logical_expr::{
    Between, BinaryExpr, Case, Distinct, Expr, JoinType, Like, LogicalPlan, Operator, Subquery,
    Volatility,
};

use crate::GuardContext;
use crate::functions::{
    AggregateClass, ScalarClass, WindowClass, aggregate_class, scalar_class, window_class,
};
use crate::lineage::{ColumnLineage, Indirect};

/// A base column of a licensed dataset.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Src {
    pub dataset: Arc<str>,
    pub column: Arc<str>,
}

/// How a value derives from a base column, ordered from least to most changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Xf {
    /// The value itself (casts included).
    Identity,
    /// A coarsened value: a year, a short prefix, a rounded number.
    Generalised,
    /// Any other non-aggregating chain: arithmetic, string functions, hashes, windows.
    Transformed,
    /// The input of an N→1 aggregate.
    Aggregated,
}

/// What the walk knows about one column of one plan node.
#[derive(Clone, Debug, Default)]
pub struct Val {
    /// Base columns the value is computed from, and how.
    pub direct: BTreeMap<Src, Xf>,
    /// Base columns that decide the value without being part of it (CASE conditions).
    pub indirect: BTreeSet<Src>,
    /// True while the value is per record; false once it is an aggregate or a group key.
    pub row: bool,
    /// The first hash or encoding function applied, for reasons.
    pub hashed: Option<String>,
    /// The first guest (WASM) function applied: opaque, its result may only feed an aggregate.
    pub guest: Option<String>,
    /// The value may come from a literal of the query (directly, or through a UNION branch or a
    /// function of one): compared with an identifier, it singles out a given person.
    pub literal: bool,
}

impl Val {
    fn merge(&mut self, other: Val) {
        for (s, x) in other.direct {
            let e = self.direct.entry(s).or_insert(x);
            *e = (*e).max(x);
        }
        self.indirect.extend(other.indirect);
        self.row |= other.row;
        self.literal |= other.literal;
        if self.hashed.is_none() {
            self.hashed = other.hashed;
        }
        if self.guest.is_none() {
            self.guest = other.guest;
        }
    }

    fn transformed(mut self, xf: Xf) -> Val {
        for v in self.direct.values_mut() {
            if *v < xf && *v != Xf::Aggregated {
                *v = xf;
            }
        }
        self
    }

    /// No base column at all: a literal or an expression of literals.
    fn is_const(&self) -> bool {
        self.direct.is_empty() && self.indirect.is_empty()
    }

    /// Base columns read per record (the ones whose uses must be checked).
    fn row_sources(&self) -> impl Iterator<Item = (&Src, Xf)> {
        let row = self.row;
        self.direct
            .iter()
            .filter(move |(_, x)| row && **x != Xf::Aggregated)
            .map(|(s, x)| (s, *x))
    }
}

/// What the walk knows about a plan node's output.
#[derive(Clone, Debug, Default)]
pub struct Rel {
    pub cols: Vec<Val>,
    /// True when output rows are records (or join products of records), not thresholded groups.
    pub row_level: bool,
    /// Protected datasets whose records are present at row level.
    pub raw: BTreeSet<Arc<str>>,
}

/// The result of the static analysis.
#[derive(Clone, Debug)]
pub struct Analysis {
    pub decision: Decision,
    pub lineage: ColumnLineage,
    /// Output column names, in order.
    pub columns: Vec<String>,
    /// Datasets the plan reads.
    pub datasets: BTreeSet<String>,
}

/// Analyses a plan as written and decides.
pub fn analyze(plan: &LogicalPlan, ctx: &GuardContext) -> Analysis {
    analyze_with(plan, ctx, Mode::Release)
}

/// Analyses the input query of a WASM job: rows go to a component, not to a person, so they may
/// be row-level, but every column must derive only from columns with an `aggregate`, `group_by`
/// or `output` use, and never from an identifier. Every other rule (tables, plan nodes,
/// functions, filters, joins) is the same as for a released query.
pub fn analyze_input(plan: &LogicalPlan, ctx: &GuardContext) -> Analysis {
    analyze_with(plan, ctx, Mode::Input)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Release,
    Input,
}

fn analyze_with(plan: &LogicalPlan, ctx: &GuardContext, mode: Mode) -> Analysis {
    let mut w = Walker {
        ctx,
        decision: Decision::default(),
        lineage: ColumnLineage::default(),
        outer: Vec::new(),
        datasets: BTreeSet::new(),
    };
    let rel = w.rel(plan);
    let schema = plan.schema();
    // Output names come from the SQL and may carry an operator's literal: reports use masked names.
    let columns: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| crate::scrub::mask_values(f.name()))
        .collect();
    match mode {
        Mode::Release => w.check_output(&rel, &columns),
        Mode::Input => w.check_input(&rel, &columns),
    }
    for (name, val) in columns.iter().zip(&rel.cols) {
        w.lineage.add_field(name, val);
    }
    w.decision.dedup();
    w.lineage.finish();
    Analysis {
        decision: w.decision,
        lineage: w.lineage,
        columns,
        datasets: w.datasets,
    }
}

struct Walker<'a> {
    ctx: &'a GuardContext,
    decision: Decision,
    lineage: ColumnLineage,
    /// Enclosing relations, for correlated subqueries.
    outer: Vec<(Arc<DFSchema>, Rel)>,
    datasets: BTreeSet<String>,
}

/// Renders an expression for a report with every literal replaced by `?`: an operator's typed
/// literal may itself be a raw value (a citizen ID being looked up), and reports leave the sandbox.
pub fn describe(expr: &Expr) -> String {
    let masked = expr
        .clone()
        .transform_up(|e| match e {
            Expr::Literal(..) => Ok(Transformed::yes(Expr::Column(Column::new_unqualified("?")))),
            Expr::Alias(a) => Ok(Transformed::yes(*a.expr)),
            e => Ok(Transformed::no(e)),
        })
        .map(|t| t.data)
        .unwrap_or_else(|_| Expr::Column(Column::new_unqualified("expression")));
    crate::scrub::mask_values(&masked.to_string())
}

fn is_comparison(op: &Operator) -> bool {
    matches!(
        op,
        Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
            | Operator::IsDistinctFrom
            | Operator::IsNotDistinctFrom
            | Operator::LikeMatch
            | Operator::ILikeMatch
            | Operator::NotLikeMatch
            | Operator::NotILikeMatch
            | Operator::RegexMatch
            | Operator::RegexIMatch
            | Operator::RegexNotMatch
            | Operator::RegexNotIMatch
    )
}

fn contains_comparison(expr: &Expr) -> bool {
    let mut found = false;
    let _ = expr.apply(|e| {
        found |= match e {
            Expr::BinaryExpr(b) => is_comparison(&b.op),
            Expr::Like(_)
            | Expr::SimilarTo(_)
            | Expr::InList(_)
            | Expr::Between(_)
            | Expr::InSubquery(_)
            | Expr::SetComparison(_)
            | Expr::Exists(_) => true,
            Expr::ScalarFunction(f) => COMPARING_FUNCTIONS.contains(&f.func.name()),
            _ => false,
        };
        Ok(if found {
            datafusion::common::tree_node::TreeNodeRecursion::Stop
        } else {
            datafusion::common::tree_node::TreeNodeRecursion::Continue
        })
    });
    found
}

/// Scalar functions whose second argument is matched against the first.
const COMPARING_FUNCTIONS: &[&str] = &[
    "starts_with",
    "ends_with",
    "strpos",
    "instr",
    "position",
    "contains",
    "find_in_set",
    "levenshtein",
];

const GENERALISING_PARTS: &[&str] = &[
    "year",
    "isoyear",
    "quarter",
    "month",
    "decade",
    "century",
    "millennium",
];

impl Walker<'_> {
    fn violate(&mut self, v: Violation) {
        self.decision.push(v);
    }

    fn uses(&self, src: &Src) -> Uses {
        self.ctx
            .column(src)
            .map(|c| c.effective_uses())
            .unwrap_or(Uses::NONE)
    }

    fn is_identifier(&self, src: &Src) -> bool {
        let Some(c) = self.ctx.column(src) else {
            return true;
        };
        let uses = c.effective_uses();
        c.class == Some(ColumnClass::Identifier)
            || self
                .ctx
                .dataset(&src.dataset)
                .is_some_and(|d| d.privacy_unit == *src.column)
            || (uses.contains(Use::Join) && !uses.contains(Use::Compare))
    }

    fn is_protected(&self, src: &Src) -> bool {
        !self.uses(src).contains(Use::Output)
    }

    fn col_name(src: &Src) -> String {
        format!("{}.{}", src.dataset, src.column)
    }

    // ----- relations -------------------------------------------------------------------------

    fn rel(&mut self, plan: &LogicalPlan) -> Rel {
        let width = plan.schema().fields().len();
        let rel = match plan {
            LogicalPlan::TableScan(scan) => self.table_scan(scan),
            LogicalPlan::Projection(p) => {
                let input = self.rel(&p.input);
                let cols = p
                    .expr
                    .iter()
                    .map(|e| self.eval(e, &input, p.input.schema()))
                    .collect();
                Rel { cols, ..input }
            }
            LogicalPlan::Filter(f) => {
                let input = self.rel(&f.input);
                self.predicate(&f.predicate, &input, f.input.schema(), Indirect::Filter);
                input
            }
            LogicalPlan::Aggregate(a) => {
                let input = self.rel(&a.input);
                let schema = a.input.schema();
                let grouping_set = matches!(a.group_expr.as_slice(), [Expr::GroupingSet(_)]);
                let group_exprs = grouping_set_to_exprlist(&a.group_expr).unwrap_or_default();
                let keys: Vec<(Expr, Val)> = group_exprs
                    .into_iter()
                    .map(|g| (g.clone(), self.eval(g, &input, schema)))
                    .collect();
                let aggs: Vec<Val> = a
                    .aggr_expr
                    .iter()
                    .map(|e| self.eval(e, &input, schema))
                    .collect();
                self.grouping(&input, keys, grouping_set, aggs)
            }
            LogicalPlan::Distinct(Distinct::All(input)) => {
                let rel = self.rel(input);
                let keys: Vec<(Expr, Val)> = rel
                    .cols
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        (
                            Expr::Column(Column::from(input.schema().qualified_field(i))),
                            v.clone(),
                        )
                    })
                    .collect();
                self.grouping(&rel, keys, false, Vec::new())
            }
            LogicalPlan::Sort(s) => {
                let input = self.rel(&s.input);
                for e in &s.expr {
                    let v = self.eval(&e.expr, &input, s.input.schema());
                    self.require(&v, Use::Compare, &e.expr, "sort by");
                    self.lineage_indirect(&v, Indirect::Sort);
                }
                input
            }
            LogicalPlan::Limit(l) => self.rel(&l.input),
            LogicalPlan::SubqueryAlias(s) => self.rel(&s.input),
            LogicalPlan::Subquery(s) => self.rel(&s.subquery),
            LogicalPlan::Repartition(r) => self.rel(&r.input),
            LogicalPlan::Join(j) => {
                let left = self.rel(&j.left);
                let right = self.rel(&j.right);
                for (l, r) in &j.on {
                    let lv = self.eval(l, &left, j.left.schema());
                    let rv = self.eval(r, &right, j.right.schema());
                    self.join_pair(l, &lv, r, &rv);
                    self.lineage_indirect(&lv, Indirect::Join);
                    self.lineage_indirect(&rv, Indirect::Join);
                }
                let both_schema = j.left.schema().join(j.right.schema()).map(Arc::new);
                let mut both = Rel {
                    cols: left.cols.iter().chain(&right.cols).cloned().collect(),
                    row_level: left.row_level || right.row_level,
                    raw: left.raw.union(&right.raw).cloned().collect(),
                };
                if let (Some(f), Ok(schema)) = (&j.filter, &both_schema) {
                    self.join_filter(f, &both, schema);
                }
                both.cols = match j.join_type {
                    JoinType::LeftSemi | JoinType::LeftAnti => left.cols,
                    JoinType::RightSemi | JoinType::RightAnti => right.cols,
                    JoinType::LeftMark => {
                        let mut c = left.cols;
                        c.push(Val::default());
                        c
                    }
                    JoinType::RightMark => {
                        let mut c = right.cols;
                        c.push(Val::default());
                        c
                    }
                    _ => both.cols,
                };
                both
            }
            LogicalPlan::Union(u) => {
                let mut out = Rel {
                    cols: vec![Val::default(); width],
                    row_level: false,
                    raw: BTreeSet::new(),
                };
                for input in &u.inputs {
                    let r = self.rel(input);
                    for (o, v) in out.cols.iter_mut().zip(r.cols) {
                        o.merge(v);
                    }
                    out.row_level |= r.row_level;
                    out.raw.extend(r.raw);
                }
                out
            }
            LogicalPlan::Window(w) => {
                let input = self.rel(&w.input);
                let mut out = input.clone();
                for e in &w.window_expr {
                    out.cols.push(self.eval(e, &input, w.input.schema()));
                }
                out
            }
            LogicalPlan::EmptyRelation(_) => Rel {
                cols: vec![Val::default(); width],
                row_level: false,
                raw: BTreeSet::new(),
            },
            LogicalPlan::Values(v) => {
                let empty = Rel::default();
                let schema = Arc::new(DFSchema::empty());
                let mut cols = vec![Val::default(); width];
                for row in &v.values {
                    for (c, e) in cols.iter_mut().zip(row) {
                        let val = self.eval(e, &empty, &schema);
                        c.merge(val);
                    }
                }
                Rel {
                    cols,
                    row_level: false,
                    raw: BTreeSet::new(),
                }
            }
            other => {
                self.violate(
                    Violation::new(RuleId::PlanNode, node_name(other), format!("a `{}` step is not allowed in the sandbox: only SELECT queries over licensed datasets run", node_name(other)))
                        .with_suggestion("submit one plain SELECT statement"),
                );
                Rel {
                    cols: vec![Val::default(); width],
                    row_level: true,
                    raw: BTreeSet::new(),
                }
            }
        };
        debug_assert_eq!(
            rel.cols.len(),
            width,
            "walk lost track of columns at {}",
            plan.display()
        );
        let mut rel = rel;
        rel.cols.resize_with(width, Val::default);
        rel
    }

    fn table_scan(&mut self, scan: &datafusion::logical_expr::TableScan) -> Rel {
        let table = scan.table_name.table().to_string();
        let Some(dataset) = self.ctx.dataset(&table) else {
            self.violate(Violation::new(
                RuleId::ScopeTable,
                table.clone(),
                format!("table `{table}` not found"),
            ));
            return Rel {
                cols: vec![Val::default(); scan.projected_schema.fields().len()],
                row_level: true,
                raw: BTreeSet::new(),
            };
        };
        self.datasets.insert(table.clone());
        let ds: Arc<str> = Arc::from(table.as_str());
        let cols: Vec<Val> = scan
            .projected_schema
            .fields()
            .iter()
            .map(|f| {
                let src = Src {
                    dataset: ds.clone(),
                    column: Arc::from(f.name().as_str()),
                };
                Val {
                    direct: BTreeMap::from([(src, Xf::Identity)]),
                    row: true,
                    ..Val::default()
                }
            })
            .collect();
        let mut raw = BTreeSet::new();
        if dataset.is_protected() {
            raw.insert(ds);
        }
        let rel = Rel {
            cols,
            row_level: true,
            raw,
        };
        for f in &scan.filters {
            self.predicate(f, &rel, &scan.projected_schema, Indirect::Filter);
        }
        rel
    }

    // ----- checks ----------------------------------------------------------------------------

    /// Every per-record base column of `v` must allow `usage`.
    fn require(&mut self, v: &Val, usage: Use, expr: &Expr, doing: &str) {
        let missing: Vec<Src> = v
            .row_sources()
            .map(|(s, _)| s.clone())
            .filter(|s| !self.uses(s).contains(usage))
            .collect();
        for s in missing {
            let col = Self::col_name(&s);
            let uses = self.uses(&s);
            let allowed: Vec<&str> = uses.iter().map(use_name).collect();
            let reason = if allowed.is_empty() {
                format!("column `{col}` may not be used at all")
            } else {
                format!(
                    "column `{col}` may not be used to {doing}; it may only be used to {}",
                    allowed.join(", ")
                )
            };
            let mut viol = Violation::new(RuleId::ColumnUse, describe(expr), reason);
            if let Some(s) = self.suggest_for(&s, usage) {
                viol = viol.with_suggestion(s);
            }
            self.violate(viol);
        }
    }

    fn suggest_for(&self, src: &Src, usage: Use) -> Option<String> {
        let col = &*src.column;
        let c = self.ctx.column(src)?;
        match (c.class, usage) {
            (Some(ColumnClass::Sensitive), Use::GroupBy) if c.data_type == "utf8" => Some(format!(
                "bucket it with CASE WHEN {col} = '…' THEN '…' ELSE '…' END, or filter on it in WHERE"
            )),
            (Some(ColumnClass::Sensitive), Use::GroupBy) => Some(format!(
                "aggregate `{col}` with AVG or SUM, or bucket it with CASE WHEN {col} < … THEN '…' END"
            )),
            (Some(ColumnClass::Identifier), Use::GroupBy | Use::Aggregate) => Some(format!(
                "count people with COUNT(DISTINCT {col}); identifiers may only join datasets"
            )),
            _ => None,
        }
    }

    /// The privacy unit a grouping key is, if it is one as such.
    fn unit_key(&self, v: &Val) -> Option<Arc<str>> {
        let mut it = v.direct.iter();
        let (s, x) = it.next()?;
        let unit = &self.ctx.dataset(&s.dataset)?.privacy_unit;
        (it.next().is_none() && *x == Xf::Identity && v.row && *unit == *s.column)
            .then(|| s.dataset.clone())
    }

    /// GROUP BY or DISTINCT. Grouping by the privacy unit of every dataset read is a per-person
    /// (or per-company) pre-aggregation: its rows are still records, not groups, so nothing is
    /// released and the outer query must aggregate again. Any other grouping makes groups that
    /// the threshold protects.
    fn grouping(
        &mut self,
        input: &Rel,
        keys: Vec<(Expr, Val)>,
        grouping_set: bool,
        aggs: Vec<Val>,
    ) -> Rel {
        if grouping_set && self.ctx.dp_on() && !input.raw.is_empty() {
            self.violate(
                Violation::new(RuleId::DpRequired, "GROUPING SETS", "under DP a person may count in one group of an aggregate only; grouping sets (ROLLUP, CUBE) count everyone in several")
                    .with_suggestion("run one query per grouping and add up the released numbers"),
            );
        }
        let grouped_units: BTreeSet<Arc<str>> =
            keys.iter().filter_map(|(_, v)| self.unit_key(v)).collect();
        let per_unit = !grouping_set
            && input.row_level
            && !input.raw.is_empty()
            && input.raw.iter().all(|d| grouped_units.contains(d));
        let mut cols = Vec::with_capacity(keys.len() + aggs.len() + 1);
        for (g, v) in keys {
            if per_unit && self.unit_key(&v).is_some() {
                self.lineage_indirect(&v, Indirect::GroupBy);
                cols.push(v);
            } else {
                self.group_key(&g, &v);
                cols.push(Val { row: per_unit, ..v });
            }
        }
        if grouping_set {
            cols.push(Val::default());
        }
        for v in aggs {
            if per_unit {
                // One person's total is that person's value: per record, not thresholded.
                let mut v = v;
                v.direct.values_mut().for_each(|x| *x = Xf::Transformed);
                v.row = true;
                cols.push(v);
            } else {
                cols.push(v);
            }
        }
        Rel {
            cols,
            row_level: per_unit,
            raw: if per_unit {
                input.raw.clone()
            } else {
                BTreeSet::new()
            },
        }
    }

    fn group_key(&mut self, expr: &Expr, v: &Val) {
        self.require(v, Use::GroupBy, expr, "group by");
        self.guest_rule(expr, v, "group key");
        self.lineage_indirect(v, Indirect::GroupBy);
    }

    /// A guest function's result on protected row-level data may only feed an aggregate or an
    /// `output` column: as a group key or inside a filter it would select rows by whatever the
    /// opaque code computes (one person's record, a differencing attack).
    fn guest_rule(&mut self, expr: &Expr, v: &Val, what: &str) {
        let Some(f) = &v.guest else { return };
        let protected: Vec<Src> = v
            .row_sources()
            .map(|(s, _)| s.clone())
            .filter(|s| self.is_protected(s))
            .collect();
        for s in protected {
            let col = Self::col_name(&s);
            self.violate(
                Violation::new(RuleId::OutputReversible, describe(expr), format!("{what} computed by guest function `{f}` from protected column `{col}`: a guest function is opaque, so its result may only feed an aggregate or an `output` column"))
                    .with_suggestion(self.aggregate_suggestion(&s)),
            );
        }
    }

    fn lineage_indirect(&mut self, v: &Val, kind: Indirect) {
        for s in v.direct.keys().chain(&v.indirect) {
            self.lineage.add_dataset(s, kind);
        }
    }

    /// A filter-like predicate: WHERE, HAVING, ON filters, pushed-down scan filters.
    fn predicate(&mut self, pred: &Expr, rel: &Rel, schema: &Arc<DFSchema>, kind: Indirect) {
        for conj in split_conjunction(pred) {
            let v = self.eval(conj, rel, schema);
            self.guest_rule(conj, &v, "filter");
            if !contains_comparison(conj) {
                // A bare boolean column or expression: its value decides the row.
                self.compare_one(&v, conj, true);
            }
            self.lineage_indirect(&v, kind);
        }
    }

    /// One side of a comparison against a constant.
    fn compare_one(&mut self, v: &Val, expr: &Expr, against_const: bool) {
        let ids: Vec<Src> = v
            .row_sources()
            .map(|(s, _)| s.clone())
            .filter(|s| self.is_identifier(s))
            .collect();
        if against_const && !ids.is_empty() {
            for s in &ids {
                let col = Self::col_name(s);
                self.violate(
                    Violation::new(RuleId::FilterTargeting, describe(expr), format!("comparing identifier `{col}` with a given value singles out a person"))
                        .with_suggestion("filter on groups (district, age band, industry) instead of on a person's identifier"),
                );
            }
            let rest = Val {
                direct: v
                    .direct
                    .iter()
                    .filter(|(s, _)| !ids.contains(s))
                    .map(|(s, x)| (s.clone(), *x))
                    .collect(),
                ..v.clone()
            };
            self.require(&rest, Use::Compare, expr, "compare");
        } else {
            self.require(v, Use::Compare, expr, "compare");
        }
    }

    /// A comparison between two values (`=`, `<`, LIKE, IN ...).
    fn compare(&mut self, l: &Val, r: &Val, expr: &Expr, equality: bool) {
        let has_id = |w: &Self, v: &Val| v.row_sources().any(|(s, _)| w.is_identifier(s));
        // A literal smuggled into a column (a UNION branch, a coalesce) still singles out a person.
        if (!l.is_const() && !r.is_const())
            && ((has_id(self, l) && r.literal) || (has_id(self, r) && l.literal))
        {
            let target = if has_id(self, l) { l } else { r };
            self.compare_one(target, expr, true);
            return;
        }
        match (l.is_const(), r.is_const()) {
            (true, true) => {}
            (false, true) => self.compare_one(l, expr, true),
            (true, false) => self.compare_one(r, expr, true),
            (false, false) => {
                let plain = |v: &Val| v.row_sources().all(|(_, x)| x == Xf::Identity);
                let all_join = l
                    .row_sources()
                    .chain(r.row_sources())
                    .all(|(s, _)| self.uses(s).contains(Use::Join));
                if !(equality && plain(l) && plain(r) && all_join) {
                    self.require(l, Use::Compare, expr, "compare");
                    self.require(r, Use::Compare, expr, "compare");
                }
            }
        }
    }

    /// The ON clause as written (the planner keeps it whole until optimisation): equalities
    /// between the two sides are key pairs, other conditions on identifiers are not joins.
    fn join_filter(&mut self, f: &Expr, both: &Rel, schema: &Arc<DFSchema>) {
        for conj in split_conjunction(f) {
            if let Expr::BinaryExpr(BinaryExpr { left, op, right }) = conj
                && is_comparison(op)
            {
                let l = self.eval(left, both, schema);
                let r = self.eval(right, both, schema);
                if !l.is_const() && !r.is_const() {
                    self.lineage_indirect(&l, Indirect::Join);
                    self.lineage_indirect(&r, Indirect::Join);
                    if matches!(op, Operator::Eq) && !l.literal && !r.literal {
                        self.join_pair(left, &l, right, &r);
                        continue;
                    }
                    let ids: Vec<String> = l
                        .row_sources()
                        .chain(r.row_sources())
                        .filter(|(s, _)| self.is_identifier(s))
                        .map(|(s, _)| format!("`{}`", Self::col_name(s)))
                        .collect();
                    if !ids.is_empty() {
                        self.violate(
                            Violation::new(RuleId::JoinKey, describe(conj), format!("{} may only join by equality", ids.join(", ")))
                                .with_suggestion("join on identifier columns with plain equality, e.g. ON r.citizen_id = s.citizen_id"),
                        );
                        continue;
                    }
                }
            }
            self.predicate(conj, both, schema, Indirect::Join);
        }
    }

    /// An equi-join key pair: both sides must be join-use columns themselves, or both comparable.
    fn join_pair(&mut self, le: &Expr, l: &Val, re: &Expr, r: &Val) {
        let plain = |v: &Val| v.row_sources().all(|(_, x)| x == Xf::Identity);
        let has = |w: &Self, v: &Val, u: Use| v.row_sources().all(|(s, _)| w.uses(s).contains(u));
        let joinable = plain(l) && plain(r) && has(self, l, Use::Join) && has(self, r, Use::Join);
        let comparable = has(self, l, Use::Compare) && has(self, r, Use::Compare);
        if !(joinable || comparable) {
            let target = format!("{} = {}", describe(le), describe(re));
            let transformed = !(plain(l) && plain(r));
            let reason = if transformed {
                "datasets may only be joined on their key columns themselves, not on values computed from them".to_string()
            } else {
                let cols: Vec<String> = l
                    .row_sources()
                    .chain(r.row_sources())
                    .filter(|(s, _)| !self.uses(s).contains(Use::Join))
                    .map(|(s, _)| format!("`{}`", Self::col_name(s)))
                    .collect();
                format!("{} may not be used as a join key", cols.join(", "))
            };
            self.violate(Violation::new(RuleId::JoinKey, target, reason).with_suggestion("join on identifier columns with plain equality, e.g. ON r.citizen_id = s.citizen_id"));
        }
    }

    // ----- the output ------------------------------------------------------------------------

    fn check_output(&mut self, rel: &Rel, columns: &[String]) {
        let mut any = false;
        for (name, v) in columns.iter().zip(&rel.cols) {
            let target = crate::scrub::mask_values(name);
            let row = v.row || rel.row_level;
            if !row {
                continue;
            }
            for (s, x) in v.direct.iter().filter(|(_, x)| **x != Xf::Aggregated) {
                if !self.is_protected(s) {
                    continue;
                }
                any = true;
                let col = Self::col_name(s);
                let viol = if x == &Xf::Transformed || v.hashed.is_some() {
                    let how = v
                        .hashed
                        .as_deref()
                        .map(|h| format!(" (through `{h}`)"))
                        .unwrap_or_default();
                    let why = if self.is_identifier(s) {
                        "; identifiers have few possible values, so hashes and encodings of them are reversed by trying them all"
                    } else {
                        ""
                    };
                    Violation::new(RuleId::OutputReversible, target.clone(), format!("column `{target}` is computed record by record from protected column `{col}`{how}, so the original values can be restored{why}"))
                        .with_suggestion(self.aggregate_suggestion(s))
                } else {
                    Violation::new(RuleId::OutputRowLevel, target.clone(), format!("column `{target}` shows protected column `{col}` record by record; only aggregates over groups may be released"))
                        .with_suggestion(self.aggregate_suggestion(s))
                };
                self.violate(viol);
            }
            for s in &v.indirect {
                if self.is_protected(s) {
                    any = true;
                    let col = Self::col_name(s);
                    self.violate(Violation::new(RuleId::OutputRowLevel, target.clone(), format!("column `{target}` shows, record by record, a condition on protected column `{col}`")).with_suggestion(self.aggregate_suggestion(s)));
                }
            }
        }
        if rel.row_level && !rel.raw.is_empty() && !any {
            let ds: Vec<String> = rel.raw.iter().map(|d| format!("`{d}`")).collect();
            self.violate(
                Violation::new(RuleId::OutputRowLevel, "*", format!("the result has one row per record of {}; only aggregates over groups may be released", ds.join(", ")))
                    .with_suggestion("aggregate it: SELECT district, COUNT(*) FROM … GROUP BY district"),
            );
        }
    }

    fn check_input(&mut self, rel: &Rel, columns: &[String]) {
        for (name, v) in columns.iter().zip(&rel.cols) {
            let target = crate::scrub::mask_values(name);
            let sources = v.direct.keys().chain(&v.indirect);
            let mut seen = BTreeSet::new();
            for s in sources {
                if !seen.insert(s.clone()) {
                    continue;
                }
                let col = Self::col_name(s);
                let uses = self.uses(s);
                let reason = if self.is_identifier(s) {
                    format!(
                        "column `{target}` brings identifier `{col}` into the component; identifiers never enter guest code (the host keeps each row's privacy unit aside itself)"
                    )
                } else if ![Use::Aggregate, Use::GroupBy, Use::Output]
                    .iter()
                    .any(|u| uses.contains(*u))
                {
                    format!(
                        "column `{target}` derives from `{col}`, whose uses allow neither aggregate, group_by nor output, so it may not enter the component"
                    )
                } else {
                    continue;
                };
                self.violate(
                    Violation::new(RuleId::ColumnUse, target.clone(), reason)
                        .with_suggestion("select only columns the catalog allows to be aggregated, grouped by or output"),
                );
            }
        }
    }

    fn aggregate_suggestion(&self, s: &Src) -> String {
        let col = &*s.column;
        match self.ctx.column(s).and_then(|c| c.class) {
            Some(ColumnClass::Identifier) => format!("count people instead: COUNT(DISTINCT {col})"),
            Some(ColumnClass::Sensitive) => {
                format!("release an aggregate such as AVG({col}) per group")
            }
            _ if self
                .ctx
                .column(s)
                .is_some_and(|c| c.data_type.starts_with("date")) =>
            {
                format!("group {col} by year with date_part('year', {col}) and count per group")
            }
            _ => format!("group by it and count: SELECT {col}, COUNT(*) … GROUP BY {col}"),
        }
    }

    // ----- expressions -----------------------------------------------------------------------

    fn lookup(&self, c: &Column, rel: &Rel, schema: &DFSchema) -> Val {
        if let Some(i) = schema.maybe_index_of_column(c) {
            return rel.cols.get(i).cloned().unwrap_or_default();
        }
        for (s, r) in self.outer.iter().rev() {
            if let Some(i) = s.maybe_index_of_column(c) {
                return r.cols.get(i).cloned().unwrap_or_default();
            }
        }
        Val::default()
    }

    fn subquery(&mut self, sq: &Subquery, rel: &Rel, schema: &Arc<DFSchema>) -> Rel {
        self.outer.push((schema.clone(), rel.clone()));
        let r = self.rel(&sq.subquery);
        self.outer.pop();
        r
    }

    fn eval(&mut self, e: &Expr, rel: &Rel, schema: &Arc<DFSchema>) -> Val {
        match e {
            Expr::Column(c) => self.lookup(c, rel, schema),
            Expr::OuterReferenceColumn(_, c) => self.lookup(c, rel, schema),
            Expr::Literal(..) => Val {
                literal: true,
                ..Val::default()
            },
            Expr::Alias(a) => self.eval(&a.expr, rel, schema),
            // A cast changes the representation, not the information: reversible.
            Expr::Cast(c) => self.eval(&c.expr, rel, schema).transformed(Xf::Transformed),
            Expr::TryCast(c) => self.eval(&c.expr, rel, schema).transformed(Xf::Transformed),
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                let l = self.eval(left, rel, schema);
                let r = self.eval(right, rel, schema);
                if is_comparison(op) {
                    let eq = matches!(op, Operator::Eq | Operator::IsNotDistinctFrom);
                    self.compare(&l, &r, e, eq);
                }
                let mut v = l;
                v.merge(r);
                if matches!(op, Operator::And | Operator::Or) {
                    v
                } else {
                    v.transformed(Xf::Transformed)
                }
            }
            Expr::Like(Like { expr, pattern, .. })
            | Expr::SimilarTo(Like { expr, pattern, .. }) => {
                let l = self.eval(expr, rel, schema);
                let r = self.eval(pattern, rel, schema);
                self.compare(&l, &r, e, false);
                let mut v = l;
                v.merge(r);
                v.transformed(Xf::Transformed)
            }
            Expr::Between(Between {
                expr, low, high, ..
            }) => {
                let v0 = self.eval(expr, rel, schema);
                let lo = self.eval(low, rel, schema);
                let hi = self.eval(high, rel, schema);
                self.compare(&v0, &lo, e, false);
                self.compare(&v0, &hi, e, false);
                let mut v = v0;
                v.merge(lo);
                v.merge(hi);
                v.transformed(Xf::Transformed)
            }
            Expr::InList(InList { expr, list, .. }) => {
                let v0 = self.eval(expr, rel, schema);
                let mut v = v0.clone();
                for item in list {
                    let iv = self.eval(item, rel, schema);
                    self.compare(&v0, &iv, e, true);
                    v.merge(iv);
                }
                v.transformed(Xf::Transformed)
            }
            Expr::Not(x)
            | Expr::IsNotNull(x)
            | Expr::IsNull(x)
            | Expr::IsTrue(x)
            | Expr::IsFalse(x)
            | Expr::IsUnknown(x)
            | Expr::IsNotTrue(x)
            | Expr::IsNotFalse(x)
            | Expr::IsNotUnknown(x)
            | Expr::Negative(x) => self.eval(x, rel, schema).transformed(Xf::Transformed),
            Expr::Case(Case {
                expr,
                when_then_expr,
                else_expr,
            }) => {
                let base = expr.as_ref().map(|b| self.eval(b, rel, schema));
                let mut out = Val::default();
                let mut cond = Val::default();
                for (w, t) in when_then_expr {
                    let wv = self.eval(w, rel, schema);
                    match &base {
                        Some(b) => self.compare(b, &wv, e, true),
                        None if !contains_comparison(w) => self.compare_one(&wv, w, true),
                        None => {}
                    }
                    cond.merge(wv);
                    let tv = self.eval(t, rel, schema);
                    out.merge(tv);
                }
                if let Some(b) = base {
                    cond.merge(b);
                }
                if let Some(el) = else_expr {
                    let ev = self.eval(el, rel, schema);
                    out.merge(ev);
                }
                // The condition's columns decide which branch a record gets: that is disclosed
                // too, but only as a bucket (a literal), never as the value itself.
                out.indirect
                    .extend(cond.row_sources().map(|(s, _)| s.clone()));
                out.indirect.extend(cond.indirect);
                out.row |= cond.row;
                out
            }
            Expr::ScalarFunction(f) => {
                let name = f.func.name().to_string();
                // A guest function computes anything from its arguments: a transformation. It is
                // asked first, so that a guest name can never pass for a built-in's class.
                let class = if self.ctx.is_guest_function(&name) {
                    Some(ScalarClass::Transform)
                } else {
                    scalar_class(&name)
                };
                let volatile = f.func.signature().volatility == Volatility::Volatile;
                if class.is_none() || volatile {
                    let why = if volatile {
                        "random and other nondeterministic functions are not allowed"
                    } else {
                        "this function is not on the sandbox's list of allowed functions"
                    };
                    self.violate(Violation::new(
                        RuleId::FunctionNotAllowed,
                        format!("{name}()"),
                        format!("function `{name}`: {why}"),
                    ));
                }
                let args: Vec<Val> = f.args.iter().map(|a| self.eval(a, rel, schema)).collect();
                if COMPARING_FUNCTIONS.contains(&name.as_str()) && args.len() >= 2 {
                    self.compare(&args[0], &args[1], e, true);
                }
                let mut v = Val::default();
                for a in args {
                    v.merge(a);
                }
                match class {
                    Some(ScalarClass::Generalising) if self.generalises(&name, &f.args) => {
                        v.transformed(Xf::Generalised)
                    }
                    Some(ScalarClass::Hash) => {
                        let mut v = v.transformed(Xf::Transformed);
                        if v.hashed.is_none() && v.row_sources().next().is_some() {
                            v.hashed = Some(name);
                        }
                        v
                    }
                    _ if self.ctx.is_guest_function(&name) => {
                        let mut v = v.transformed(Xf::Transformed);
                        v.guest.get_or_insert(name.clone());
                        if v.hashed.is_none() && v.row_sources().next().is_some() {
                            // Named in the reasons: "computed ... (through `f`)".
                            v.hashed = Some(name);
                        }
                        v
                    }
                    _ => v.transformed(Xf::Transformed),
                }
            }
            Expr::AggregateFunction(af) => self.aggregate(af, rel, schema),
            Expr::WindowFunction(wf) => self.window(wf, rel, schema),
            Expr::Exists(Exists { subquery, .. }) => {
                let r = self.subquery(subquery, rel, schema);
                if subquery.outer_ref_columns.is_empty() && r.row_level && !r.raw.is_empty() {
                    // Not a semijoin: one yes/no over raw records, without any threshold. It
                    // answers "is there one person such that ..." (and bisects a MAX).
                    let ds: Vec<String> = r.raw.iter().map(|d| format!("`{d}`")).collect();
                    self.violate(
                        Violation::new(RuleId::AggregateValueRevealing, describe(e), format!("an EXISTS that is not tied to the outer query tells whether a single record of {} meets its condition", ds.join(", ")))
                            .with_suggestion("count the records that meet the condition per group instead"),
                    );
                }
                let mut v = Val::default();
                for c in r.cols {
                    v.indirect.extend(c.row_sources().map(|(s, _)| s.clone()));
                }
                v
            }
            Expr::InSubquery(InSubquery { expr, subquery, .. })
            | Expr::SetComparison(SetComparison { expr, subquery, .. }) => {
                let l = self.eval(expr, rel, schema);
                let r = self.subquery(subquery, rel, schema);
                let rv = r.cols.into_iter().next().unwrap_or_default();
                let eq = matches!(e, Expr::InSubquery(_));
                self.compare(&l, &rv, e, eq);
                let mut v = l;
                v.merge(rv);
                v.transformed(Xf::Transformed)
            }
            Expr::ScalarSubquery(sq) => {
                let r = self.subquery(sq, rel, schema);
                let mut v = r.cols.into_iter().next().unwrap_or_default();
                v.row |= r.row_level && !r.raw.is_empty();
                if !sq.outer_ref_columns.is_empty() {
                    // Correlated: an aggregate over the records tied to *this* outer record (one
                    // person's wages, say), not over a thresholded group. It stays per record.
                    for x in v.direct.values_mut() {
                        *x = Xf::Transformed;
                    }
                    v.row = true;
                }
                v
            }
            Expr::GroupingSet(gs) => {
                let mut v = Val::default();
                for x in gs.distinct_expr() {
                    let xv = self.eval(x, rel, schema);
                    v.merge(xv);
                }
                v
            }
            Expr::Placeholder(_) | Expr::ScalarVariable(..) => {
                self.violate(Violation::new(
                    RuleId::PlanNode,
                    describe(e),
                    "placeholders and variables are not allowed; write the query with its values",
                ));
                Val::default()
            }
            other => {
                self.violate(Violation::new(
                    RuleId::PlanNode,
                    describe(other),
                    "this kind of expression is not allowed in the sandbox",
                ));
                Val::default()
            }
        }
    }

    /// Whether a call of a generalising function really coarsens (year or month, a short prefix).
    fn generalises(&self, name: &str, args: &[Expr]) -> bool {
        let lit_str = |e: &Expr| match e {
            Expr::Literal(
                ScalarValue::Utf8(Some(s))
                | ScalarValue::Utf8View(Some(s))
                | ScalarValue::LargeUtf8(Some(s)),
                _,
            ) => Some(s.to_ascii_lowercase()),
            _ => None,
        };
        let lit_int = |e: &Expr| match e {
            Expr::Literal(ScalarValue::Int64(Some(n)), _) => Some(*n),
            Expr::Literal(ScalarValue::Int32(Some(n)), _) => Some(i64::from(*n)),
            _ => None,
        };
        match name {
            "date_part" | "datepart" | "extract" | "date_trunc" | "datetrunc" => args
                .first()
                .and_then(lit_str)
                .is_some_and(|p| GENERALISING_PARTS.contains(&p.as_str())),
            "substr" | "substring" => {
                args.get(1).and_then(lit_int) == Some(1)
                    && args
                        .get(2)
                        .and_then(lit_int)
                        .is_some_and(|n| n >= 0 && n <= i64::from(self.ctx.rules.max_substr_prefix))
            }
            "left" => args
                .get(1)
                .and_then(lit_int)
                .is_some_and(|n| n >= 0 && n <= i64::from(self.ctx.rules.max_substr_prefix)),
            "floor" | "ceil" | "round" | "trunc" => true,
            _ => false,
        }
    }

    fn aggregate(&mut self, af: &AggregateFunction, rel: &Rel, schema: &Arc<DFSchema>) -> Val {
        let name = af.func.name().to_string();
        let class = aggregate_class(&name);
        let mut v = Val::default();
        let args: Vec<(Expr, Val)> = af
            .params
            .args
            .iter()
            .map(|a| (a.clone(), self.eval(a, rel, schema)))
            .collect();
        if let Some(f) = &af.params.filter {
            self.predicate(f, rel, schema, Indirect::Filter);
        }
        for s in &af.params.order_by {
            let _ = self.eval(&s.expr, rel, schema);
        }
        let target = describe(&Expr::AggregateFunction(af.clone()));
        match class {
            None => self.violate(Violation::new(
                RuleId::FunctionNotAllowed,
                target.clone(),
                format!(
                    "aggregate function `{name}` is not on the sandbox's list of allowed functions"
                ),
            )),
            Some(AggregateClass::Count) => {
                for (e, a) in &args {
                    let none: Vec<Src> = a
                        .row_sources()
                        .filter(|(s, _)| self.uses(s).is_empty())
                        .map(|(s, _)| s.clone())
                        .collect();
                    if !none.is_empty() {
                        self.require(a, Use::Aggregate, e, "count");
                    }
                }
            }
            Some(AggregateClass::Statistic) => {
                for (e, a) in &args {
                    self.require(a, Use::Aggregate, e, "aggregate");
                }
            }
            Some(AggregateClass::ValueRevealing) => {
                for (_, a) in &args {
                    let prot: Vec<Src> = a
                        .row_sources()
                        .filter(|(s, _)| self.is_protected(s))
                        .map(|(s, _)| s.clone())
                        .collect();
                    for s in prot {
                        let col = Self::col_name(&s);
                        self.violate(
                            Violation::new(RuleId::AggregateValueRevealing, target.clone(), format!("`{}` returns one record's own value of protected column `{col}`", name.to_uppercase()))
                                .with_suggestion(format!("use AVG({c}) or SUM({c}) (checked for dominance), or count records in bands with CASE WHEN {c} < … THEN '…' END", c = s.column)),
                        );
                    }
                }
            }
        }
        if self.ctx.dp_on() && !rel.raw.is_empty() {
            self.dp_rule(af, &name, &args, &target);
        }
        for (_, a) in args {
            v.merge(a);
        }
        for x in v.direct.values_mut() {
            *x = Xf::Aggregated;
        }
        v.row = false;
        v.hashed = None;
        v
    }

    /// `dp.required`: under DP every aggregate over protected records needs a mechanism: COUNT,
    /// COUNT(DISTINCT unit), or SUM/AVG/VAR/STDDEV of one column with declared bounds.
    fn dp_rule(&mut self, af: &AggregateFunction, name: &str, args: &[(Expr, Val)], target: &str) {
        let lname = name.to_ascii_lowercase();
        if lname == "grouping" {
            return;
        }
        let first = args.first().map(|(_, v)| v);
        let why = match crate::dp::mechanism_for(&lname, af.params.distinct) {
            None => Some(format!(
                "`{}` has no differential-privacy mechanism; under DP only COUNT, COUNT(DISTINCT privacy unit), SUM, AVG, VAR and STDDEV are released",
                name.to_uppercase()
            )),
            Some(_) if af.params.distinct => match first {
                Some(v) if self.unit_key(v).is_some() => None,
                _ => Some("under DP, COUNT(DISTINCT …) counts privacy units only: the number of distinct other values has no bounded sensitivity".to_owned()),
            },
            Some(true) if args.first().is_some_and(|(e, _)| crate::dp::literal_bounds(e).is_some()) => None,
            Some(true) => {
                let srcs: Vec<(Src, Xf)> = first
                    .map(|v| v.row_sources().map(|(s, x)| (s.clone(), x)).collect())
                    .unwrap_or_default();
                match srcs.as_slice() {
                    [(s, Xf::Identity)]
                        if self.ctx.column(s).is_some_and(|c| c.bounds.is_some()) =>
                    {
                        None
                    }
                    [(s, Xf::Identity)] => Some(format!(
                        "column `{}` declares no bounds, so what one person adds to `{}` is unbounded",
                        Self::col_name(s),
                        name.to_uppercase()
                    )),
                    _ => Some(format!(
                        "under DP, `{}` takes one column as it is (bounds are declared per column), not an expression of columns",
                        name.to_uppercase()
                    )),
                }
            }
            Some(false) => None,
        };
        if let Some(why) = why {
            self.violate(
                Violation::new(RuleId::DpRequired, target.to_owned(), why).with_suggestion(
                    "aggregate a bounded column with COUNT, SUM, AVG, VAR or STDDEV and compute ratios or differences from the released numbers",
                ),
            );
        }
    }

    fn window(&mut self, wf: &WindowFunction, rel: &Rel, schema: &Arc<DFSchema>) -> Val {
        let name = wf.fun.name().to_string();
        let target = describe(&Expr::WindowFunction(Box::new(wf.clone())));
        let args: Vec<(Expr, Val)> = wf
            .params
            .args
            .iter()
            .map(|a| (a.clone(), self.eval(a, rel, schema)))
            .collect();
        let mut v = Val::default();
        for p in &wf.params.partition_by {
            let pv = self.eval(p, rel, schema);
            self.require(&pv, Use::GroupBy, p, "partition by");
            self.lineage_indirect(&pv, Indirect::Window);
        }
        let mut order = Val::default();
        for s in &wf.params.order_by {
            let ov = self.eval(&s.expr, rel, schema);
            self.require(&ov, Use::Compare, &s.expr, "sort by");
            self.lineage_indirect(&ov, Indirect::Window);
            order.merge(ov);
        }
        if let Some(f) = &wf.params.filter {
            self.predicate(f, rel, schema, Indirect::Filter);
        }
        let revealing = match &wf.fun {
            WindowFunctionDefinition::AggregateUDF(f) => match aggregate_class(f.name()) {
                None => {
                    self.violate(Violation::new(
                        RuleId::FunctionNotAllowed,
                        target.clone(),
                        format!("window function `{name}` is not allowed"),
                    ));
                    false
                }
                Some(AggregateClass::ValueRevealing) => true,
                Some(AggregateClass::Statistic) => {
                    for (e, a) in &args {
                        self.require(a, Use::Aggregate, e, "aggregate");
                    }
                    false
                }
                Some(AggregateClass::Count) => false,
            },
            WindowFunctionDefinition::WindowUDF(f) => match window_class(f.name()) {
                None => {
                    self.violate(Violation::new(
                        RuleId::FunctionNotAllowed,
                        target.clone(),
                        format!("window function `{name}` is not allowed"),
                    ));
                    false
                }
                Some(WindowClass::Rank) => {
                    // A rank is derived from the order: it discloses the ordering columns.
                    v.merge(order.clone());
                    false
                }
                Some(WindowClass::ValueRevealing) => true,
            },
        };
        if revealing {
            for (_, a) in &args {
                let prot: Vec<Src> = a
                    .row_sources()
                    .filter(|(s, _)| self.is_protected(s))
                    .map(|(s, _)| s.clone())
                    .collect();
                for s in prot {
                    let col = Self::col_name(&s);
                    self.violate(Violation::new(RuleId::AggregateValueRevealing, target.clone(), format!("window function `{name}` copies a record's own value of protected column `{col}`")));
                }
            }
        }
        for (_, a) in args {
            v.merge(a);
        }
        // A window value is computed per record and is not thresholded: it stays row-level.
        let mut v = v.transformed(Xf::Transformed);
        v.row = true;
        v
    }
}

fn use_name(u: Use) -> &'static str {
    match u {
        Use::Output => "output",
        Use::GroupBy => "group by",
        Use::Aggregate => "aggregate",
        Use::Compare => "compare",
        Use::Join => "join",
    }
}

fn node_name(plan: &LogicalPlan) -> &'static str {
    match plan {
        LogicalPlan::Explain(_) => "EXPLAIN",
        LogicalPlan::Analyze(_) => "EXPLAIN ANALYZE",
        LogicalPlan::DescribeTable(_) => "DESCRIBE",
        LogicalPlan::RecursiveQuery(_) => "recursive query",
        LogicalPlan::Extension(_) => "extension",
        LogicalPlan::Ddl(_) => "DDL",
        LogicalPlan::Dml(_) => "DML",
        LogicalPlan::Copy(_) => "COPY",
        LogicalPlan::Statement(_) => "statement",
        LogicalPlan::Unnest(_) => "UNNEST",
        LogicalPlan::Distinct(Distinct::On(_)) => "DISTINCT ON",
        _ => "unsupported",
    }
}

/// The per-record base columns an expression over `input` reads (used by the rewrite to find
/// SUM/AVG of sensitive columns through aliases and subqueries).
pub fn expr_sources(expr: &Expr, input: &LogicalPlan, ctx: &GuardContext) -> Vec<Src> {
    let mut w = Walker {
        ctx,
        decision: Decision::default(),
        lineage: ColumnLineage::default(),
        outer: Vec::new(),
        datasets: BTreeSet::new(),
    };
    let rel = w.rel(input);
    let v = w.eval(expr, &rel, input.schema());
    v.row_sources().map(|(s, _)| s.clone()).collect()
}
