//! The plan rewrite for the dynamic rules.
//!
//! Every aggregate over records of a protected dataset gets a hidden count of distinct privacy
//! units per scanned dataset instance (`threshold.group`); the unit column is threaded up from
//! the scan through projections, aliases, joins and unions. The aggregate whose groups are the
//! output rows (the *release* aggregate) also gets dominance helpers for SUM/AVG of sensitive
//! columns and carries its hidden columns to the output, where [`crate::dynamic`] suppresses
//! groups and counts them; a LIMIT at the root is peeled off and applied after suppression, so
//! that suppression never shortens a "top 10". Aggregates below the release one (in subqueries,
//! union branches, joins) are filtered in place.

use std::sync::Arc;

use cleanroom_policy::ColumnClass;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema, Result, ScalarValue, plan_datafusion_err};
use datafusion::functions_aggregate::expr_fn::{count, count_distinct};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{
    Aggregate, AggregateUDF, Distinct, Expr, FetchType, JoinType, LogicalPlan, Projection,
    SkipType, SubqueryAlias, TableScan, TableScanBuilder, Union, cast, lit,
};

use crate::GuardContext;
use crate::analyze::expr_sources;
use crate::dp::{DpPlan, DpReport, Measurement, Reach, Stat, dp_udaf};
use crate::udaf;

/// Names of the hidden columns of the release aggregate, as they appear in the output.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hidden {
    /// Distinct privacy units per group, one column per protected dataset instance (Int64).
    pub units: Vec<String>,
    /// The least value of each `units` column a group needs (k, or the noisy threshold τ).
    pub thresholds: Vec<i64>,
    /// Dominance helpers, one per SUM/AVG of a sensitive column.
    pub dominance: Vec<DominanceCols>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DominanceCols {
    /// The aggregate's output column, for reports.
    pub target: String,
    /// `{top1, top2, total}`: the two largest contributions per unit and the total (struct of
    /// Float64, see [`udaf::top2_type`]).
    pub top: String,
}

/// The rewritten plan and what the dynamic phase needs to know about it.
#[derive(Clone, Debug)]
pub struct Rewritten {
    pub plan: LogicalPlan,
    pub hidden: Hidden,
    /// OFFSET and LIMIT peeled from the root, applied after suppression.
    pub skip: usize,
    pub fetch: Option<usize>,
    /// What differential privacy did, when it applies.
    pub dp: Option<DpReport>,
}

const PREFIX: &str = "__cr_";

/// True for a column the rewrite added.
pub fn is_hidden(name: &str) -> bool {
    name.starts_with(PREFIX)
}

#[derive(Clone, Debug)]
struct Unit {
    id: usize,
    /// The datasets whose units this column counts: more than one after an inner equi-join of
    /// two unit columns, where both hold the same value on every row.
    datasets: Vec<Arc<str>>,
    col: Column,
    /// One row per unit, and no join below that could repeat a row (only inner joins by the
    /// other side's own unique unit): COUNT is the distinct count.
    unique: bool,
    /// The most rows one unit has here, where known (from the data, and no join or union
    /// below that could multiply them).
    rows: Option<u64>,
}

impl Unit {
    /// No unit has more rows here than DP's per-unit limit: weighting them would change
    /// nothing.
    fn within(&self, limit: u32) -> bool {
        self.unique || self.rows.is_some_and(|n| n <= u64::from(limit))
    }
}

struct Rewriter<'a> {
    ctx: &'a GuardContext,
    next_id: usize,
    k: i64,
    dp: Option<DpState>,
}

/// The DP of one rewrite: the shared parameters and the measurements made so far.
struct DpState {
    plan: DpPlan,
    /// The highest noisy threshold applied (it grows with the distinct-unit counts' noise).
    threshold: i64,
    measurements: Vec<Measurement>,
    /// The units DP protects (`dataset.column`), and those that only the exact threshold and
    /// the dominance rules protect (another kind of unit in the same aggregate).
    protected: Vec<String>,
    unprotected: Vec<String>,
}

/// Rewrites a plan that the static analysis allowed. Under DP the plan is rewritten twice: once
/// to count its noisy measurements and their ε shares, then with the job's ε split over them.
pub fn rewrite(plan: &LogicalPlan, ctx: &GuardContext) -> Result<Rewritten> {
    if !ctx.dp_on() {
        return rewrite_with(plan, ctx, None);
    }
    let source = |n| ctx.noise_source(n).map_err(|e| plan_datafusion_err!("{e}"));
    let key = ctx.noise_key();
    let dry = DpPlan::new(&ctx.rules, 1, 1, source(0)?, key);
    let counted = rewrite_with(plan, ctx, Some(dry))?;
    let measurements = counted.dp.map(|d| d.measurements).unwrap_or_default();
    let shares = measurements.iter().map(|m| m.shares).sum();
    let plan_dp = DpPlan::new(&ctx.rules, measurements.len(), shares, source(1)?, key);
    rewrite_with(plan, ctx, Some(plan_dp))
}

fn rewrite_with(plan: &LogicalPlan, ctx: &GuardContext, dp: Option<DpPlan>) -> Result<Rewritten> {
    let k = i64::from(ctx.rules.k);
    let mut rw = Rewriter {
        ctx,
        next_id: 0,
        k,
        dp: dp.map(|plan| DpState {
            threshold: plan.threshold(ctx.rules.k, Reach::Unique),
            plan,
            measurements: Vec::new(),
            protected: Vec::new(),
            unprotected: Vec::new(),
        }),
    };
    let (mut skip, mut fetch) = (0usize, None);
    let mut root = plan;
    if let LogicalPlan::Limit(l) = root {
        let (SkipType::Literal(s), FetchType::Literal(f)) =
            (l.get_skip_type()?, l.get_fetch_type()?)
        else {
            return Err(plan_datafusion_err!("LIMIT and OFFSET must be constants"));
        };
        skip = s;
        fetch = f;
        root = &l.input;
    }
    let (plan, _units, hidden) = rw.node(root, true)?;
    let dp = rw.dp.map(|d| DpReport {
        epsilon: d.plan.epsilon,
        delta: d.plan.delta,
        threshold: d.threshold,
        max_rows_per_unit: d.plan.max_rows,
        measurements: d.measurements,
        protected_units: d.protected,
        other_units: d.unprotected,
    });
    Ok(Rewritten {
        plan,
        hidden: hidden.unwrap_or_default(),
        skip,
        fetch,
        dp,
    })
}

fn find(schema: &DFSchema, name: &str) -> Result<Column> {
    schema
        .columns()
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| plan_datafusion_err!("internal: hidden column {name} lost"))
}

fn passthrough(schema: &DFSchema) -> Vec<Expr> {
    (0..schema.fields().len())
        .map(|i| Expr::Column(Column::from(schema.qualified_field(i))))
        .collect()
}

impl Rewriter<'_> {
    fn id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }

    /// Rewrites `plan`; `release` is true while on the root chain. Returns the new plan, the
    /// privacy-unit columns it carries and, on the root chain, the release aggregate's hidden
    /// columns.
    fn node(
        &mut self,
        plan: &LogicalPlan,
        release: bool,
    ) -> Result<(LogicalPlan, Vec<Unit>, Option<Hidden>)> {
        match plan {
            LogicalPlan::TableScan(scan) => self.scan(scan),
            LogicalPlan::Projection(p) => {
                let (input, units, hidden) = self.node(&p.input, release)?;
                let mut exprs: Vec<Expr> = p
                    .expr
                    .iter()
                    .map(|e| self.subqueries(e))
                    .collect::<Result<_>>()?;
                let mut out_units = Vec::new();
                for u in units {
                    let name = format!("{PREFIX}u{}", u.id);
                    exprs.push(Expr::Column(u.col.clone()).alias(&name));
                    out_units.push(Unit {
                        col: Column::new_unqualified(name),
                        ..u
                    });
                }
                let mut hidden = hidden;
                if let Some(h) = &mut hidden {
                    // A helper that is one of the query's own columns goes on under a hidden
                    // name, so that it neither clashes with nor is dropped as a visible column.
                    let names = h
                        .units
                        .iter_mut()
                        .chain(h.dominance.iter_mut().map(|d| &mut d.top));
                    for name in names {
                        let c = Expr::Column(find(input.schema(), name)?);
                        if is_hidden(name) {
                            exprs.push(c);
                        } else {
                            self.next_id += 1;
                            let alias = format!("{PREFIX}r{}", self.next_id);
                            exprs.push(c.alias(&alias));
                            *name = alias;
                        }
                    }
                }
                let plan = LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(input))?);
                Ok((plan, out_units, hidden))
            }
            LogicalPlan::SubqueryAlias(s) => {
                let (input, units, hidden) = self.node(&s.input, release)?;
                let alias = s.alias.clone();
                let units = units
                    .into_iter()
                    .map(|u| Unit {
                        col: Column::new(Some(alias.clone()), u.col.name.clone()),
                        ..u
                    })
                    .collect();
                let plan =
                    LogicalPlan::SubqueryAlias(SubqueryAlias::try_new(Arc::new(input), alias)?);
                Ok((plan, units, hidden))
            }
            LogicalPlan::Filter(_)
            | LogicalPlan::Sort(_)
            | LogicalPlan::Limit(_)
            | LogicalPlan::Repartition(_) => {
                let child = plan.inputs()[0];
                // A LIMIT below the release aggregate's output would cut before suppression; only
                // the root limit is peeled, so a limit here ends the release chain.
                let keep_release = release && !matches!(plan, LogicalPlan::Limit(_));
                let (input, units, hidden) = self.node(child, keep_release)?;
                let exprs = plan
                    .expressions()
                    .iter()
                    .map(|e| self.subqueries(e))
                    .collect::<Result<Vec<_>>>()?;
                let plan = plan.with_new_exprs(exprs, vec![input])?;
                Ok((plan, units, hidden))
            }
            LogicalPlan::Window(_) => {
                // A window over groups copies values between rows (LAG of a count): groups must
                // be suppressed before it, so the chain of release ends here.
                let (input, units, hidden) = self.node(plan.inputs()[0], false)?;
                let exprs = plan.expressions();
                Ok((plan.with_new_exprs(exprs, vec![input])?, units, hidden))
            }
            LogicalPlan::Subquery(s) => {
                let (input, units, _) = self.node(&s.subquery, false)?;
                Ok((
                    plan.with_new_exprs(plan.expressions(), vec![input])?,
                    units,
                    None,
                ))
            }
            LogicalPlan::Join(j) => {
                let (l, lu, _) = self.node(&j.left, false)?;
                let (r, ru, _) = self.node(&j.right, false)?;
                let exprs = plan
                    .expressions()
                    .iter()
                    .map(|e| self.subqueries(e))
                    .collect::<Result<Vec<_>>>()?;
                let plan = plan.with_new_exprs(exprs, vec![l, r])?;
                // A side joined by its own unit column, one row per unit, matches each row of
                // the other side at most once: the other side's rows are not multiplied, so its
                // units keep their row bound (and, in an inner join, their one row per unit).
                let pairs = equal_columns(j);
                let (left_kept, right_kept) = (
                    keyed_by_unique_unit(&ru, &j.left, &pairs),
                    keyed_by_unique_unit(&lu, &j.right, &pairs),
                );
                let inner = j.join_type == JoinType::Inner;
                let keep = |units: Vec<Unit>, kept: bool| {
                    units.into_iter().map(move |u| Unit {
                        unique: u.unique && kept && inner,
                        rows: if kept { u.rows } else { None },
                        ..u
                    })
                };
                let mut units: Vec<Unit> = match j.join_type {
                    JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => {
                        keep(lu, true).collect()
                    }
                    JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => {
                        keep(ru, true).collect()
                    }
                    _ => keep(lu, left_kept).chain(keep(ru, right_kept)).collect(),
                };
                if inner {
                    merge_equal_units(&mut units, j);
                }
                Ok((plan, units, None))
            }
            LogicalPlan::Union(u) => self.union(u),
            LogicalPlan::Distinct(Distinct::All(input)) => {
                let group = passthrough(input.schema());
                let agg = LogicalPlan::Aggregate(Aggregate::try_new(input.clone(), group, vec![])?);
                self.node(&agg, release)
            }
            LogicalPlan::Aggregate(a) => self.aggregate(a, release),
            LogicalPlan::EmptyRelation(_) | LogicalPlan::Values(_) => {
                Ok((plan.clone(), vec![], None))
            }
            other => Err(plan_datafusion_err!(
                "internal: rewrite reached a `{}` step",
                other.display()
            )),
        }
    }

    fn scan(&mut self, scan: &TableScan) -> Result<(LogicalPlan, Vec<Unit>, Option<Hidden>)> {
        let table = scan.table_name.table();
        let Some(ds) = self.ctx.dataset(table).filter(|d| d.is_protected()) else {
            return Ok((LogicalPlan::TableScan(scan.clone()), vec![], None));
        };
        let source_schema = scan.source.schema();
        let unit_idx = source_schema.index_of(&ds.privacy_unit)?;
        let mut plan = LogicalPlan::TableScan(scan.clone());
        if let Some(proj) = &scan.projection
            && !proj.contains(&unit_idx)
        {
            let mut proj = proj.clone();
            proj.push(unit_idx);
            plan = LogicalPlan::TableScan(
                TableScanBuilder::new(scan.table_name.clone(), scan.source.clone())
                    .with_projection(Some(proj))
                    .with_filters(scan.filters.clone())
                    .with_fetch(scan.fetch)
                    .build()?,
            );
        }
        let unit = Unit {
            id: self.id(),
            datasets: vec![Arc::from(table)],
            col: Column::new(Some(scan.table_name.clone()), ds.privacy_unit.clone()),
            unique: ds.unit_unique_per_row,
            rows: if ds.unit_unique_per_row {
                Some(1)
            } else {
                self.ctx.unit_rows(table)
            },
        };
        Ok((plan, vec![unit], None))
    }

    fn union(&mut self, u: &Union) -> Result<(LogicalPlan, Vec<Unit>, Option<Hidden>)> {
        let mut branches = Vec::new();
        for input in &u.inputs {
            let (p, units, _) = self.node(input, false)?;
            branches.push((p, units));
        }
        let all: Vec<Unit> = branches.iter().flat_map(|(_, us)| us.clone()).collect();
        if all.is_empty() {
            let inputs = branches.into_iter().map(|(p, _)| Arc::new(p)).collect();
            return Ok((
                LogicalPlan::Union(Union::try_new_with_loose_types(inputs)?),
                vec![],
                None,
            ));
        }
        let mut inputs = Vec::new();
        for ((p, units), original) in branches.into_iter().zip(&u.inputs) {
            let width = original.schema().fields().len();
            let mut exprs: Vec<Expr> = passthrough(p.schema()).into_iter().take(width).collect();
            for a in &all {
                let name = format!("{PREFIX}u{}", a.id);
                let e = match units.iter().find(|x| x.id == a.id) {
                    Some(own) => Expr::Column(own.col.clone()),
                    None => cast(lit(ScalarValue::Utf8(None)), DataType::Utf8View),
                };
                exprs.push(cast(e, DataType::Utf8View).alias(name));
            }
            inputs.push(Arc::new(LogicalPlan::Projection(Projection::try_new(
                exprs,
                Arc::new(p),
            )?)));
        }
        let plan = LogicalPlan::Union(Union::try_new_with_loose_types(inputs)?);
        let units = all
            .into_iter()
            .map(|a| Unit {
                col: Column::new_unqualified(format!("{PREFIX}u{}", a.id)),
                unique: false,
                rows: None,
                ..a
            })
            .collect();
        Ok((plan, units, None))
    }

    fn aggregate(
        &mut self,
        a: &Aggregate,
        release: bool,
    ) -> Result<(LogicalPlan, Vec<Unit>, Option<Hidden>)> {
        let (input, mut units, _) = self.node(&a.input, false)?;
        if self.dp.is_some() {
            self.protect_first(&mut units);
        }
        let input = Arc::new(input);
        let group_expr: Vec<Expr> = a
            .group_expr
            .iter()
            .map(|e| self.subqueries(e))
            .collect::<Result<_>>()?;
        let mut aggr_expr: Vec<Expr> = a
            .aggr_expr
            .iter()
            .map(|e| self.subqueries(e))
            .collect::<Result<_>>()?;
        if units.is_empty() {
            let plan = LogicalPlan::Aggregate(Aggregate::try_new(input, group_expr, aggr_expr)?);
            return Ok((plan, vec![], None));
        }
        // Grouping by every unit read is a per-person pre-aggregation (the analysis treats its
        // rows as records): no threshold here; the units go on up as the group keys.
        let key_of = |u: &Unit| {
            group_expr.iter().position(|g| {
                let g = match g {
                    Expr::Alias(al) => al.expr.as_ref(),
                    g => g,
                };
                *g == Expr::Column(u.col.clone())
            })
        };
        let grouping_set = matches!(group_expr.as_slice(), [Expr::GroupingSet(_)]);
        if !grouping_set && units.iter().all(|u| key_of(u).is_some()) {
            let unique = group_expr.len() == 1 && units.len() == 1;
            let positions: Vec<usize> = units.iter().filter_map(key_of).collect();
            let plan = Aggregate::try_new(input, group_expr, aggr_expr)?;
            let out_units = units
                .into_iter()
                .zip(positions)
                .map(|(u, i)| Unit {
                    col: Column::from(plan.schema.qualified_field(i)),
                    unique,
                    rows: unique.then_some(1),
                    ..u
                })
                .collect();
            return Ok((LogicalPlan::Aggregate(plan), out_units, None));
        }
        // Under DP, a unit that may own more rows across groups than the limit L has its rows
        // counted, so that each row can weigh min(1, L/n) (see `dp`).
        let weighted = match (&self.dp, units.first()) {
            (Some(d), Some(u)) if !u.within(d.plan.max_rows) && !group_expr.is_empty() => {
                Some(format!("{PREFIX}w{}", u.id))
            }
            _ => None,
        };
        let input = match (&weighted, units.first()) {
            (Some(name), Some(u)) => count_unit_rows(input, u, name)?,
            _ => input,
        };
        let mut hidden = Hidden::default();
        if self.dp.is_some() {
            self.dp_aggregates(a, &units, weighted.as_deref(), &mut aggr_expr, &mut hidden)?;
        }
        for u in units.iter().skip(usize::from(self.dp.is_some())) {
            let name = format!("{PREFIX}n{}", u.id);
            let c = Expr::Column(u.col.clone());
            // Unique per row (a declared key, non-null) and nothing fans rows out: the number of
            // rows is the number of units, and COUNT(*) does not even read the unit column.
            // Otherwise the query's own COUNT(DISTINCT unit) serves, if it has one; failing both,
            // a distinct count that stops at k, which is all the threshold asks.
            let own = if u.unique {
                count(lit(1i64))
            } else {
                count_distinct(c.clone())
            };
            let group_width = a.schema.fields().len() - a.aggr_expr.len();
            hidden.thresholds.push(self.k);
            match a.aggr_expr.iter().position(|x| x == &own) {
                Some(i) if self.dp.is_none() => hidden
                    .units
                    .push(a.schema.field(group_width + i).name().clone()),
                _ => {
                    let e = if u.unique {
                        own
                    } else {
                        Arc::new(udaf::units_udaf(self.ctx.rules.k)).call(vec![c])
                    };
                    aggr_expr.push(e.alias(&name));
                    hidden.units.push(name);
                }
            }
        }
        // Dominance helpers for the values of every unit DP does not protect (see `dominance`).
        if release {
            self.dominance(a, &input, &units, &mut aggr_expr, &mut hidden)?;
        }
        let original_width = a.schema.fields().len();
        let plan = LogicalPlan::Aggregate(Aggregate::try_new(input, group_expr, aggr_expr)?);
        if release {
            return Ok((plan, vec![], Some(hidden)));
        }
        // Below the release aggregate: drop small groups here and hide the helpers.
        let schema = plan.schema().clone();
        let mut keep: Option<Expr> = None;
        for (name, t) in hidden.units.iter().zip(&hidden.thresholds) {
            let cond = Expr::Column(find(&schema, name)?).gt_eq(lit(*t));
            keep = Some(match keep {
                Some(k) => k.and(cond),
                None => cond,
            });
        }
        let mut plan = plan;
        if let Some(keep) = keep {
            plan = datafusion::logical_expr::LogicalPlanBuilder::from(plan)
                .filter(keep)?
                .build()?;
        }
        let visible: Vec<Expr> = passthrough(&schema)
            .into_iter()
            .take(original_width)
            .collect();
        let plan = LogicalPlan::Projection(Projection::try_new(visible, Arc::new(plan))?);
        Ok((plan, vec![], None))
    }

    /// Under DP, puts first the unit that DP protects where an aggregate reads several kinds
    /// (persons and companies, through a join): the unit of the highest-graded dataset, then the
    /// first dataset by name, so that the order in which a query names its tables never
    /// chooses. The others keep the exact k-threshold and the dominance rules. Records which
    /// units DP protects and which it does not, for the report.
    fn protect_first(&mut self, units: &mut [Unit]) {
        let rank = |u: &Unit| {
            let grade = u
                .datasets
                .iter()
                .filter_map(|d| self.ctx.dataset(d))
                .map(|d| d.grade)
                .max();
            let name = u.datasets.iter().min().cloned();
            (std::cmp::Reverse(grade), name)
        };
        units.sort_by_cached_key(rank);
        let name = |u: &Unit| {
            let ds: Vec<&str> = u.datasets.iter().map(|d| &**d).collect();
            format!("{}.{}", ds.join("+"), u.col.name)
        };
        let Some(d) = self.dp.as_mut() else { return };
        for (i, u) in units.iter().enumerate() {
            let list = if i == 0 {
                &mut d.protected
            } else {
                &mut d.unprotected
            };
            let n = name(u);
            if !list.contains(&n) {
                list.push(n);
            }
        }
    }

    /// Under DP: the noisy unit count of the first unit (the one DP protects) as the threshold's
    /// count, and every aggregate replaced by its DP counterpart under the same output name.
    fn dp_aggregates(
        &mut self,
        a: &Aggregate,
        units: &[Unit],
        weighted: Option<&str>,
        aggr_expr: &mut Vec<Expr>,
        hidden: &mut Hidden,
    ) -> Result<()> {
        let Some(unit) = units.first() else {
            return Ok(());
        };
        let unit_col = Expr::Column(unit.col.clone());
        let (reach, unit_rows) = match weighted {
            Some(name) => (
                Reach::Weighted,
                cast(
                    Expr::Column(Column::new_unqualified(name)),
                    DataType::Float64,
                ),
            ),
            None if unit.unique => (Reach::Unique, lit(1.0f64)),
            // No unit has more rows than the limit: every weight would be 1, and a unit still
            // reaches up to L groups.
            None if !a.group_expr.is_empty() => (Reach::Bounded, lit(1.0f64)),
            None => (Reach::OneGroup, lit(1.0f64)),
        };
        let names: Vec<String> = a.schema.fields().iter().map(|f| f.name().clone()).collect();
        let group_width = names.len() - a.aggr_expr.len();
        let name = format!("{PREFIX}n{}", unit.id);
        // Where rows are weighted, the threshold counts their weights rather than distinct units:
        // the same sensitivity (L over all groups) and noise, no per-unit state, and τ allows
        // for the L that one unit can add to one group.
        let threshold_stat = if matches!(reach, Reach::Weighted | Reach::Bounded) {
            Stat::Count
        } else {
            Stat::Units
        };
        let e = self.dp_call(
            threshold_stat,
            reach,
            None,
            DataType::Int64,
            "threshold",
            |udaf| Arc::new(udaf).call(vec![unit_col.clone(), unit_col.clone(), unit_rows.clone()]),
        )?;
        let threshold_expr = e.alias(&name);
        for (i, af, fname) in aggregate_functions(a) {
            let stat = Stat::of(&fname, af.params.distinct)
                .ok_or_else(|| plan_datafusion_err!("internal: `{fname}` has no DP mechanism"))?;
            let arg = af.params.args.first().cloned().unwrap_or_else(|| lit(1i64));
            let (value, bounds) = match stat {
                Stat::Units | Stat::Count => (self.subqueries(&arg)?, None),
                _ => {
                    let bounds = crate::dp::literal_bounds(&arg)
                        .or_else(|| {
                            expr_sources(&arg, &a.input, self.ctx)
                                .first()
                                .and_then(|s| self.ctx.column(s))
                                .and_then(|c| c.bounds)
                        })
                        .ok_or_else(|| {
                            plan_datafusion_err!("internal: DP aggregate without bounds")
                        })?;
                    (
                        cast(self.subqueries(&arg)?, DataType::Float64),
                        Some(bounds),
                    )
                }
            };
            let target = names.get(group_width + i).cloned().unwrap_or_default();
            let shown = crate::scrub::mask_values(&target.replace("Int64(1)", "*"));
            let out = a.schema.field(group_width + i).data_type().clone();
            let filter = af.params.filter.clone();
            let unit_expr = Expr::Column(unit.col.clone());
            let rows = unit_rows.clone();
            let new = self.dp_call(stat, reach, bounds, out, &shown, |udaf| {
                Expr::AggregateFunction(AggregateFunction::new_udf(
                    Arc::new(udaf),
                    vec![unit_expr, value, rows],
                    false,
                    filter,
                    vec![],
                    None,
                ))
            })?;
            if let Some(slot) = aggr_expr.get_mut(i) {
                *slot = new.alias(target);
            }
        }
        // The threshold's count goes after the query's own aggregates; its τ follows the
        // count's noise.
        aggr_expr.push(threshold_expr);
        hidden.units.push(name);
        let k = self.ctx.rules.k;
        let tau = match self.dp.as_mut() {
            Some(d) => {
                let t = d.plan.threshold(k, reach);
                d.threshold = d.threshold.max(t);
                t
            }
            None => self.k,
        };
        hidden.thresholds.push(tau);
        Ok(())
    }

    fn dp_call(
        &mut self,
        stat: Stat,
        reach: Reach,
        bounds: Option<(f64, f64)>,
        out: DataType,
        target: &str,
        call: impl FnOnce(AggregateUDF) -> Expr,
    ) -> Result<Expr> {
        let id = self.id();
        let dp = self
            .dp
            .as_mut()
            .ok_or_else(|| plan_datafusion_err!("internal: DP is off"))?;
        let (udaf, measurements) = dp_udaf(id, &dp.plan, stat, reach, bounds, out, target);
        dp.measurements.extend(measurements);
        Ok(call(udaf))
    }

    /// Adds SUM and top-2 contribution helpers for every SUM/AVG over a sensitive column.
    fn dominance(
        &mut self,
        a: &Aggregate,
        input: &Arc<LogicalPlan>,
        units: &[Unit],
        aggr_expr: &mut Vec<Expr>,
        hidden: &mut Hidden,
    ) -> Result<()> {
        let names: Vec<String> = a.schema.fields().iter().map(|f| f.name().clone()).collect();
        let group_width = names.len() - a.aggr_expr.len();
        for (i, af, fname) in aggregate_functions(a) {
            if !matches!(fname.as_str(), "sum" | "avg" | "mean") || af.params.distinct {
                continue;
            }
            let Some(arg) = af.params.args.first() else {
                continue;
            };
            let sensitive: Vec<_> = expr_sources(arg, &a.input, self.ctx)
                .into_iter()
                .filter(|s| {
                    self.ctx
                        .column(s)
                        .is_some_and(|c| c.class == Some(ColumnClass::Sensitive))
                })
                .collect();
            let Some(first) = sensitive.first() else {
                continue;
            };
            // Contributions are per unit of the dataset that owns the sensitive column. Under DP,
            // clamping and noise bound what one unit of the protected kind (the first) can move a
            // cell by: the dominance rules, an exact and data-dependent suppression, would undo
            // that guarantee. Values owned by another kind of unit (a company's capital in a join
            // with persons) keep the dominance rules.
            let Some(unit) = units.iter().find(|u| u.datasets.contains(&first.dataset)) else {
                continue;
            };
            if self.dp.is_some() && units.first().is_some_and(|p| p.id == unit.id) {
                continue;
            }
            let value = cast(self.subqueries(arg)?, DataType::Float64);
            let n = self.id();
            let top = format!("{PREFIX}d{n}");
            let top_expr = if unit.unique {
                Arc::new(udaf::top2_udaf()).call(vec![value])
            } else {
                Arc::new(udaf::top2_by_unit_udaf())
                    .call(vec![Expr::Column(unit.col.clone()), value])
            };
            aggr_expr.push(top_expr.alias(&top));
            let target = names.get(group_width + i).cloned().unwrap_or_default();
            hidden.dominance.push(DominanceCols { target, top });
        }
        let _ = input;
        Ok(())
    }

    /// Rewrites the plans of subqueries inside an expression (each is its own inner query).
    fn subqueries(&mut self, e: &Expr) -> Result<Expr> {
        e.clone()
            .transform_up(|e| {
                let sub = match &e {
                    Expr::ScalarSubquery(s) => Some(s),
                    Expr::Exists(x) => Some(&x.subquery),
                    Expr::InSubquery(x) => Some(&x.subquery),
                    Expr::SetComparison(x) => Some(&x.subquery),
                    _ => None,
                };
                let Some(sub) = sub else {
                    return Ok(Transformed::no(e));
                };
                let (p, _, _) = self.node(&sub.subquery, false)?;
                let width = sub.subquery.schema().fields().len();
                let p = if p.schema().fields().len() == width {
                    p
                } else {
                    let keep = passthrough(p.schema()).into_iter().take(width).collect();
                    LogicalPlan::Projection(Projection::try_new(keep, Arc::new(p))?)
                };
                let mut new_sub = sub.clone();
                new_sub.subquery = Arc::new(p);
                let e = match e {
                    Expr::ScalarSubquery(_) => Expr::ScalarSubquery(new_sub),
                    Expr::Exists(mut x) => {
                        x.subquery = new_sub;
                        Expr::Exists(x)
                    }
                    Expr::InSubquery(mut x) => {
                        x.subquery = new_sub;
                        Expr::InSubquery(x)
                    }
                    Expr::SetComparison(mut x) => {
                        x.subquery = new_sub;
                        Expr::SetComparison(x)
                    }
                    e => e,
                };
                Ok(Transformed::yes(e))
            })
            .map(|t| t.data)
    }
}

/// Adds `name`: the number of rows of each unit in the aggregate's input (a window partitioned
/// by the unit), from which each row's DP weight follows.
fn count_unit_rows(input: Arc<LogicalPlan>, unit: &Unit, name: &str) -> Result<Arc<LogicalPlan>> {
    // Each row gets its unit's row count by a join with the count per unit, not by
    // `count(*) OVER (PARTITION BY unit)`: a window evaluates every partition on its own, one
    // per person, which took most of a DP query's time. Nulls join nulls, so that every row
    // keeps exactly one match, as in the window.
    use datafusion::common::NullEquality;
    use datafusion::functions_aggregate::count::count_all;
    use datafusion::logical_expr::LogicalPlanBuilder;
    let per_unit = format!("{name}_units");
    let unit_col = Expr::Column(unit.col.clone());
    let counts = LogicalPlanBuilder::from(Arc::clone(&input))
        .aggregate(
            vec![unit_col.alias("unit")],
            vec![count_all().alias("rows")],
        )?
        .alias(per_unit.as_str())?
        .build()?;
    let mut exprs = passthrough(input.schema());
    exprs.push(Expr::Column(Column::new(Some(per_unit.as_str()), "rows")).alias(name));
    Ok(Arc::new(
        LogicalPlanBuilder::from(input)
            .join_detailed(
                counts,
                JoinType::Inner,
                (
                    vec![unit.col.clone()],
                    vec![Column::new(Some(per_unit.as_str()), "unit")],
                ),
                None,
                NullEquality::NullEqualsNull,
            )?
            .project(exprs)?
            .build()?,
    ))
}

/// The aggregate functions of an aggregate, with their position and lower-case name.
fn aggregate_functions(a: &Aggregate) -> impl Iterator<Item = (usize, &AggregateFunction, String)> {
    a.aggr_expr.iter().enumerate().filter_map(|(i, e)| {
        let inner = match e {
            Expr::Alias(al) => al.expr.as_ref(),
            e => e,
        };
        match inner {
            Expr::AggregateFunction(af) => Some((i, af, af.func.name().to_ascii_lowercase())),
            _ => None,
        }
    })
}

/// True when a join side is joined by the column of one of its units that is unique per row,
/// set equal to a column of the `other` side: each row of the other side then finds at most
/// one match on this side.
fn keyed_by_unique_unit(units: &[Unit], other: &LogicalPlan, pairs: &[(Column, Column)]) -> bool {
    let other = other.schema();
    pairs.iter().any(|(a, b)| {
        [(a, b), (b, a)].into_iter().any(|(own, theirs)| {
            other.has_column(theirs) && units.iter().any(|u| u.unique && u.col == *own)
        })
    })
}

/// The pairs of columns a join sets equal: its equi-join keys and the equalities of its filter.
fn equal_columns(j: &datafusion::logical_expr::Join) -> Vec<(Column, Column)> {
    let mut pairs: Vec<(Column, Column)> = Vec::new();
    let mut add = |l: &Expr, r: &Expr| {
        if let (Expr::Column(a), Expr::Column(b)) = (l, r) {
            pairs.push((a.clone(), b.clone()));
        }
    };
    for (l, r) in &j.on {
        add(l, r);
    }
    if let Some(f) = &j.filter {
        for c in datafusion::logical_expr::utils::split_conjunction(f) {
            if let Expr::BinaryExpr(b) = c
                && b.op == datafusion::logical_expr::Operator::Eq
            {
                add(&b.left, &b.right);
            }
        }
    }
    pairs
}

/// After an inner join on `a.unit = b.unit`, both unit columns hold the same value on every
/// output row: one distinct count serves both datasets (a join of residents and their insurance
/// records counts each person once, not twice).
fn merge_equal_units(units: &mut Vec<Unit>, j: &datafusion::logical_expr::Join) {
    for (a, b) in equal_columns(j) {
        let ia = units.iter().position(|u| u.col == a);
        let ib = units.iter().position(|u| u.col == b);
        if let (Some(ia), Some(ib)) = (ia, ib)
            && ia != ib
        {
            let gone = units.remove(ib);
            let keep = if ib < ia { ia - 1 } else { ia };
            // Both columns hold the same unit on every row: what either side says of the
            // unit's rows holds for it.
            let u = &mut units[keep];
            u.unique |= gone.unique;
            u.rows = match (u.rows, gone.rows) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            u.datasets.extend(gone.datasets);
        }
    }
}

impl Hidden {
    /// Every hidden column name.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.units
            .iter()
            .chain(self.dominance.iter().map(|d| &d.top))
    }
}
