//! Differential privacy for the release (DESIGN.md §4, DP).
//!
//! Under DP the rewrite replaces every aggregate over protected records by a `__cr_dp_*`
//! aggregate that computes the same statistic with each privacy unit's contribution bounded,
//! then adds noise from an exact integer sampler ([`crate::noise`]) when the group is
//! evaluated:
//!
//! - values are clamped into the column's declared `bounds` before anything is added up;
//! - a unit contributes at most `max_rows_per_unit` (L) rows to an aggregate, over all its
//!   groups together: where a unit may own several rows and there are groups, the rewrite counts
//!   each unit's rows (a window partitioned by the unit) and every row of a unit with n > L rows
//!   weighs L/n, so one unit moves the COUNTs of all groups together by at most L and their SUMs
//!   by at most L·max(|lo|, |hi|), however many groups its rows fall in; without groups, a unit
//!   with more than L rows adds its average row times L (whatever partial aggregates DataFusion
//!   merges);
//! - a unit counts in a group's distinct-unit count by min(1, its weighted rows there): at most
//!   L over all groups, at most 1 without groups;
//! - the true value is rounded to a grid γ before the integer noise is added, so no fractional
//!   part of the exact value survives;
//! - post-processing: counts are non-negative integers, averages stay inside the bounds,
//!   variances inside [0, ((hi-lo)/2)²].
//!
//! The hidden count of distinct units that decides which groups appear is a noisy measurement
//! too, compared with a threshold τ = max(k, 1 + t·ln(1/(2δ))) for noise of scale t: a group of
//! one person appears with probability below δ, so the set of released keys is private as well.
//!
//! The job's ε is split over every noisy measurement of the plan (basic composition) in shares:
//! two shares each (the threshold's count, a COUNT, a SUM), and an AVG or VAR/STDDEV takes two per
//! measurement too but splits them unevenly: AVG's sum 3 and count 1, VAR's sum 2, sum of squares
//! 3 and count 1. An average's error is mostly its sum's: a value's bound is usually several times
//! its mean, so relative to its total the sum moves far more than the count (the best split of
//! ε between them goes as (bound / mean)^⅔ : 1, and 3 : 1 matches a bound about five times the
//! mean). Every aggregate also measures its threshold count, so no measurement takes more than
//! half the job's ε. Within one aggregate the groups are disjoint in records, so their noise
//! composes in parallel.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::{Arc, Mutex};

use cleanroom_policy::{DisclosureRules, Mechanism};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type, UInt64Type};
use datafusion::common::{Result, ScalarValue, exec_datafusion_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Expr, Signature, Volatility,
};
use serde::Serialize;

use crate::noise::{self, NoiseSource};
use crate::udaf::{Prehashed, arg, hash_units, list_array, list_parts, range};

/// The statistic a DP aggregate releases.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stat {
    /// Distinct privacy units (COUNT(DISTINCT unit), and the threshold's count where rows are
    /// not weighted).
    Units,
    /// Rows (COUNT(*)) or non-null values (COUNT(col)), and the threshold's count where rows
    /// are weighted (their weights: no per-unit state).
    Count,
    Sum,
    Avg,
    /// Variance or standard deviation; `sample` divides by n - 1.
    Var {
        sample: bool,
        stddev: bool,
    },
}

impl Stat {
    /// The noisy measurements it takes.
    pub fn measurements(self) -> usize {
        match self {
            Stat::Units | Stat::Count | Stat::Sum => 1,
            Stat::Avg => 2,
            Stat::Var { .. } => 3,
        }
    }

    /// The DP aggregate standing in for an aggregate function, if there is one.
    pub fn of(function: &str, distinct: bool) -> Option<Stat> {
        Some(match (function, distinct) {
            ("count", false) => Stat::Count,
            ("count", true) => Stat::Units,
            ("sum", false) => Stat::Sum,
            ("avg" | "mean", false) => Stat::Avg,
            ("var" | "var_samp" | "variance" | "variance_samp", false) => Stat::Var {
                sample: true,
                stddev: false,
            },
            ("var_pop" | "variance_pop", false) => Stat::Var {
                sample: false,
                stddev: false,
            },
            ("stddev" | "stddev_samp", false) => Stat::Var {
                sample: true,
                stddev: true,
            },
            ("stddev_pop", false) => Stat::Var {
                sample: false,
                stddev: true,
            },
            _ => return None,
        })
    }

    fn needs_bounds(self) -> bool {
        matches!(self, Stat::Sum | Stat::Avg | Stat::Var { .. })
    }
}

/// The bounds of a CASE whose every result is a numeric literal (`SUM(CASE WHEN … THEN 1 ELSE
/// 0 END)`, a share): from the smallest to the largest result, 0 included. A missing ELSE is
/// NULL, which adds nothing.
pub fn literal_bounds(e: &Expr) -> Option<(f64, f64)> {
    let e = match e {
        Expr::Alias(a) => a.expr.as_ref(),
        Expr::Cast(c) => c.expr.as_ref(),
        Expr::TryCast(c) => c.expr.as_ref(),
        e => e,
    };
    let Expr::Case(case) = e else {
        return None;
    };
    let mut results: Vec<&Expr> = case
        .when_then_expr
        .iter()
        .map(|(_, t)| t.as_ref())
        .collect();
    if let Some(e) = &case.else_expr {
        results.push(e);
    }
    let (mut lo, mut hi) = (0f64, 0f64);
    for r in results {
        let r = match r {
            Expr::Cast(c) => c.expr.as_ref(),
            r => r,
        };
        let Expr::Literal(v, _) = r else {
            return None;
        };
        if v.is_null() {
            continue;
        }
        let f = match v.cast_to(&DataType::Float64).ok()? {
            ScalarValue::Float64(Some(f)) if f.is_finite() => f,
            _ => return None,
        };
        lo = lo.min(f);
        hi = hi.max(f);
    }
    if lo == hi {
        hi = lo + 1.0;
    }
    Some((lo, hi))
}

/// True when `function` has a DP mechanism and, for a value statistic, needs bounds.
pub fn mechanism_for(function: &str, distinct: bool) -> Option<bool> {
    Stat::of(function, distinct).map(Stat::needs_bounds)
}

/// One noisy number a job releases (per group), as the report states it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measurement {
    /// The output column (or `threshold` for the hidden unit count).
    pub target: String,
    /// `units`, `count`, `sum` or `sum_of_squares`.
    pub statistic: &'static str,
    /// How much one privacy unit can change the true value.
    pub sensitivity: f64,
    pub epsilon: f64,
    /// The ε shares it takes of the job's (see the module's overview).
    pub shares: u32,
    pub delta: f64,
    pub mechanism: Mechanism,
    /// Laplace scale b (or Gaussian σ) of the noise added to the statistic.
    pub scale: f64,
    /// |noise| stays within this with 95 % probability.
    pub error95: f64,
}

/// What DP did to a job's release, for the report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DpReport {
    /// ε the job spends.
    pub epsilon: f64,
    pub delta: f64,
    /// The noisy unit count a group needs to appear.
    pub threshold: i64,
    pub max_rows_per_unit: u32,
    pub measurements: Vec<Measurement>,
    /// The privacy units DP protects (`dataset.column`): in each aggregate, the unit of its
    /// highest-graded dataset.
    pub protected_units: Vec<String>,
    /// Other kinds of unit in the same aggregates (companies joined to persons): they keep the
    /// exact k-threshold and the dominance rules, not DP's guarantee.
    pub other_units: Vec<String>,
}

/// The parameters of one job's DP, shared by all its DP aggregates.
#[derive(Clone, Debug)]
pub struct DpPlan {
    pub mechanism: Mechanism,
    pub epsilon: f64,
    pub delta: f64,
    pub max_rows: u32,
    /// ε of one share: the job's, divided by the shares of all its measurements.
    pub epsilon_share: f64,
    /// δ of each measurement: the job's, divided by the number of measurements.
    pub delta_each: f64,
    /// Fresh noise, where no key is set.
    pub noise: Arc<Mutex<NoiseSource>>,
    /// The platform's noise key: each group's noise comes from a keyed hash of its rows.
    pub key: Option<[u8; 32]>,
}

impl DpPlan {
    /// A plan for a job of `measurements` noisy measurements that hold `shares` ε shares.
    pub fn new(
        rules: &DisclosureRules,
        measurements: usize,
        shares: u32,
        noise: NoiseSource,
        key: Option<[u8; 32]>,
    ) -> Self {
        let m = measurements.max(1) as f64;
        DpPlan {
            mechanism: rules.mechanism,
            epsilon: rules.epsilon,
            delta: rules.delta,
            max_rows: rules.max_rows_per_unit.max(1),
            epsilon_share: rules.epsilon / f64::from(shares.max(1)),
            delta_each: rules.delta / m,
            noise: Arc::new(Mutex::new(noise)),
            key,
        }
    }

    /// Noise of the plan's mechanism for a statistic of the given sensitivity, spending
    /// `shares` ε shares; `on_grid` when the exact value is already a multiple of the grid
    /// (counts).
    fn noise_for(&self, sensitivity: f64, grid: f64, on_grid: bool, shares: u32) -> Noise {
        // Off the grid, rounding the true value moves it by at most one step more.
        let steps = (sensitivity / grid).ceil() + if on_grid { 0.0 } else { 1.0 };
        let epsilon = self.epsilon_share * f64::from(shares);
        let scale = match self.mechanism {
            Mechanism::Laplace => steps / epsilon,
            Mechanism::Gaussian => steps * (2.0 * (1.25 / self.delta_each).ln()).sqrt() / epsilon,
        };
        Noise {
            mechanism: self.mechanism,
            scale,
            grid,
            shares,
        }
    }

    /// How far one unit can move the distinct-unit counts of an aggregate, all groups together.
    pub fn unit_sensitivity(&self, reach: Reach) -> f64 {
        match reach {
            Reach::Unique | Reach::OneGroup => 1.0,
            Reach::Weighted | Reach::Bounded => f64::from(self.max_rows),
        }
    }

    /// The noise on a count of rows (`stat` count) or of distinct units (`units`) as the units'
    /// rows reach the aggregate. Where rows are weighted the exact count is a fraction, noised on
    /// a grid of hundredths, so rounding adds a hundredth to the sensitivity, not a whole unit.
    fn count_noise(&self, units: bool, reach: Reach, shares: u32) -> Noise {
        let sensitivity = if units {
            self.unit_sensitivity(reach)
        } else if reach == Reach::Unique {
            1.0
        } else {
            f64::from(self.max_rows)
        };
        let whole =
            matches!(reach, Reach::Unique | Reach::Bounded) || (units && reach == Reach::OneGroup);
        if whole {
            self.noise_for(sensitivity, 1.0, true, shares)
        } else {
            self.noise_for(sensitivity, FRACTION_GRID, false, shares)
        }
    }

    /// The noisy-threshold τ for the threshold counts of an aggregate its units reach as
    /// `reach` says: computed from the very noise that count gets and from the most one unit
    /// adds to one group's count ([`DpPlan::unit_sensitivity`]: 1 distinct unit, or under
    /// weighting the weights of its rows, up to L), so that a group of one unit passes with
    /// probability at most δ_each.
    pub fn threshold(&self, k: u32, reach: Reach) -> i64 {
        let n = self.count_noise(true, reach, SHARES);
        let tail_steps = match self.mechanism {
            // P(X ≥ x) ≤ e^{-x/t} for the discrete Laplace of scale t.
            Mechanism::Laplace => n.scale * (1.0 / self.delta_each).ln(),
            // P(X ≥ x) ≤ e^{-x²/2σ²}.
            Mechanism::Gaussian => n.scale * (2.0 * (1.0 / self.delta_each).ln()).sqrt(),
        };
        let one = self.unit_sensitivity(reach);
        i64::from(k).max((one + tail_steps * n.grid).ceil() as i64)
    }
}

/// Noise for one statistic: scale in grid steps, the grid, and the ε shares it spends.
#[derive(Clone, Copy, Debug)]
struct Noise {
    mechanism: Mechanism,
    scale: f64,
    grid: f64,
    shares: u32,
}

impl Noise {
    fn add(&self, src: &mut NoiseSource, exact: f64) -> Result<f64> {
        let steps = (exact / self.grid).round();
        let z = match self.mechanism {
            Mechanism::Laplace => src.laplace(self.scale),
            Mechanism::Gaussian => src.gaussian(self.scale),
        };
        Ok((steps + z as f64) * self.grid)
    }

    fn error95(&self) -> f64 {
        let steps = match self.mechanism {
            Mechanism::Laplace => noise::laplace_bound(self.scale, 0.95),
            Mechanism::Gaussian => noise::gaussian_bound(self.scale, 0.95),
        };
        steps as f64 * self.grid
    }
}

/// A grid fine enough for the bounds: a thousandth of the range, rounded down to a power of
/// ten, never finer than 10⁻⁶.
fn grid_for(lo: f64, hi: f64) -> f64 {
    let span = (hi - lo).abs().max(1e-6);
    10f64.powf((span / 1000.0).log10().floor()).max(1e-6)
}

/// The grid of counts that weighting makes fractional.
const FRACTION_GRID: f64 = 0.01;

/// The ε shares of one measurement, and of each measurement of an AVG or VAR on average.
const SHARES: u32 = 2;

/// How the rows of one privacy unit reach an aggregate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// One row per unit: the rows are the units, no per-unit state needed.
    Unique,
    /// Several rows per unit, one group (no GROUP BY): bounded within the group.
    OneGroup,
    /// Several rows per unit across groups: each row carries its unit's row count (the third
    /// argument) and weighs min(1, L/n).
    Weighted,
    /// Several rows per unit across groups, but none has more than L (measured on the data):
    /// every weight would be 1, so counts stay whole.
    Bounded,
}

/// The configuration of one `__cr_dp` aggregate.
#[derive(Clone, Debug)]
struct Spec {
    stat: Stat,
    /// Rows are added up per unit before they are bounded or counted: where a unit may own
    /// several rows and either nothing weighted them (one group) or the statistic counts
    /// distinct units. Weighted rows of a value statistic are already bounded, row by row
    /// (a unit's weights add up to at most the row limit), and go straight into the totals.
    per_unit: bool,
    bounds: (f64, f64),
    out: DataType,
    /// [count, sum, sum of squares] noise (only those the statistic uses).
    noise: [Noise; 3],
    plan: DpPlan,
}

/// `__cr_dp_<stat>(unit, value, unit_rows)`: the bounded statistic of a group plus noise;
/// `unit_rows` is the unit's number of rows in the whole aggregate (1 where not counted).
#[derive(Debug)]
pub struct DpAggregate {
    id: usize,
    name: String,
    signature: Signature,
    spec: Spec,
}

impl PartialEq for DpAggregate {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for DpAggregate {}
impl std::hash::Hash for DpAggregate {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

/// Builds a DP aggregate and the measurements it makes, named after `target`.
pub fn dp_udaf(
    id: usize,
    plan: &DpPlan,
    stat: Stat,
    reach: Reach,
    bounds: Option<(f64, f64)>,
    out: DataType,
    target: &str,
) -> (AggregateUDF, Vec<Measurement>) {
    // Rows one unit adds to the whole aggregate, all groups together.
    let unique = reach == Reach::Unique;
    let l = if unique {
        1.0
    } else {
        f64::from(plan.max_rows)
    };
    let (lo, hi) = bounds.unwrap_or((0.0, 1.0));
    let m = lo.abs().max(hi.abs());
    let grid = grid_for(lo, hi);
    // ε shares (see the module's overview): [count, sum, sum of squares]; a statistic's unused
    // parts keep the plain share, so every noise stays finite.
    let shares = match stat {
        Stat::Avg => [1, 3, SHARES],
        Stat::Var { .. } => [1, 2, 3],
        _ => [SHARES; 3],
    };
    let count = plan.count_noise(stat == Stat::Units, reach, shares[0]);
    let sum = plan.noise_for(l * m, grid, false, shares[1]);
    let sumsq = plan.noise_for(l * m * m, grid * grid.max(1.0), false, shares[2]);
    let mut measurements = Vec::new();
    let mut measure = |statistic: &'static str, sensitivity: f64, n: &Noise| {
        measurements.push(Measurement {
            target: target.to_owned(),
            statistic,
            sensitivity,
            epsilon: plan.epsilon_share * f64::from(n.shares),
            shares: n.shares,
            delta: if plan.mechanism == Mechanism::Gaussian {
                plan.delta_each
            } else {
                0.0
            },
            mechanism: plan.mechanism,
            scale: n.scale * n.grid,
            error95: n.error95(),
        });
    };
    match stat {
        Stat::Units => measure("units", plan.unit_sensitivity(reach), &count),
        Stat::Count => measure("count", l, &count),
        Stat::Sum => measure("sum", l * m, &sum),
        Stat::Avg => {
            measure("sum", l * m, &sum);
            measure("count", l, &count);
        }
        Stat::Var { .. } => {
            measure("sum", l * m, &sum);
            measure("sum_of_squares", l * m * m, &sumsq);
            measure("count", l, &count);
        }
    }
    let name = match stat {
        Stat::Units => "__cr_dp_units",
        Stat::Count => "__cr_dp_count",
        Stat::Sum => "__cr_dp_sum",
        Stat::Avg => "__cr_dp_avg",
        Stat::Var { .. } => "__cr_dp_var",
    };
    let udaf = DpAggregate {
        id,
        name: format!("{name}_{id}"),
        signature: Signature::any(3, Volatility::Volatile),
        spec: Spec {
            stat,
            per_unit: !unique && (reach == Reach::OneGroup || stat == Stat::Units),
            bounds: (lo, hi),
            out,
            noise: [count, sum, sumsq],
            plan: plan.clone(),
        },
    };
    (AggregateUDF::new_from_impl(udaf), measurements)
}

fn list_of(t: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(t, true)))
}

impl AggregateUDFImpl for DpAggregate {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.spec.out.clone())
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(DpAcc {
            spec: self.spec.clone(),
            name_tag: self.name.split('_').take(5).collect::<Vec<_>>().join("_"),
            totals: [0.0; 3],
            units: UnitStats::default(),
            fingerprint: 0,
            hashes: Vec::new(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let field =
            |n: &str, t: DataType| Arc::new(Field::new(format_state_name(args.name, n), t, true));
        Ok(vec![
            field("rows", DataType::Float64),
            field("sum", DataType::Float64),
            field("sumsq", DataType::Float64),
            field("fingerprint", DataType::UInt64),
            field("units", list_of(DataType::UInt64)),
            field("unit_rows", list_of(DataType::Float64)),
            field("unit_sums", list_of(DataType::Float64)),
            field("unit_sumsqs", list_of(DataType::Float64)),
        ])
    }
}

type UnitStats = HashMap<u64, [f64; 3], BuildHasherDefault<Prehashed>>;

/// One group's exact, clamped statistics.
#[derive(Debug)]
struct DpAcc {
    spec: Spec,
    /// The statistic without the instance id (`__cr_dp_sum`): part of the noise key.
    name_tag: String,
    /// [rows, sum, sum of squares] where rows are units.
    totals: [f64; 3],
    /// The same per unit where a unit may own several rows.
    units: UnitStats,
    /// An order-free digest of the rows added (wrapping sum of a hash per row).
    fingerprint: u64,
    hashes: Vec<u64>,
}

/// SplitMix64's finaliser: a well-mixed 64-bit hash of a 64-bit value.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl DpAcc {
    /// [count, sum, sum of squares] with each unit's contribution bounded, and distinct units.
    fn bounded(&self) -> ([f64; 3], f64) {
        let l = f64::from(self.spec.plan.max_rows);
        let mut t = self.totals;
        for [rows, sum, sumsq] in self.units.values() {
            let f = if *rows > l { l / rows } else { 1.0 };
            t[0] += rows * f;
            t[1] += sum * f;
            t[2] += sumsq * f;
        }
        // A unit whose rows are weighted counts by the weight of its rows here, at most 1.
        let units = if !self.spec.per_unit {
            self.totals[0]
        } else {
            self.units.values().map(|[rows, _, _]| rows.min(1.0)).sum()
        };
        (t, units)
    }

    /// The group's noise source: keyed by the rows it covers, or the job's fresh one.
    fn source(&self) -> Result<Option<NoiseSource>> {
        let Some(key) = self.spec.plan.key else {
            return Ok(None);
        };
        use sha2::{Digest as _, Sha256};
        let mut h = Sha256::new();
        h.update(key);
        h.update(self.name_tag.as_bytes());
        for n in &self.spec.noise {
            h.update(n.scale.to_bits().to_le_bytes());
            h.update(n.grid.to_bits().to_le_bytes());
        }
        h.update(self.fingerprint.to_le_bytes());
        h.update(self.totals[0].to_bits().to_le_bytes());
        h.update((self.units.len() as u64).to_le_bytes());
        let digest = h.finalize();
        let mut seed = [0u8; 8];
        seed.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
        Ok(Some(NoiseSource::seeded(u64::from_le_bytes(seed))))
    }

    fn noisy(&self) -> Result<f64> {
        let ([rows, sum, sumsq], units) = self.bounded();
        let mut keyed = self.source()?;
        let mut fresh = match keyed {
            Some(_) => None,
            None => Some(
                self.spec
                    .plan
                    .noise
                    .lock()
                    .map_err(|_| exec_datafusion_err!("internal: noise source poisoned"))?,
            ),
        };
        let src: &mut NoiseSource = match (&mut keyed, &mut fresh) {
            (Some(k), _) => k,
            (None, Some(f)) => f,
            (None, None) => return Err(exec_datafusion_err!("internal: no noise source")),
        };
        let [nc, ns, nq] = &self.spec.noise;
        let (lo, hi) = self.spec.bounds;
        Ok(match self.spec.stat {
            Stat::Units => nc.add(src, units)?.max(0.0),
            Stat::Count => nc.add(src, rows)?.max(0.0),
            Stat::Sum => {
                let s = ns.add(src, sum)?;
                if lo >= 0.0 { s.max(0.0) } else { s }
            }
            Stat::Avg => {
                let s = ns.add(src, sum)?;
                let n = nc.add(src, rows)?.max(1.0);
                (s / n).clamp(lo, hi)
            }
            Stat::Var { sample, stddev } => {
                let s = ns.add(src, sum)?;
                let q = nq.add(src, sumsq)?;
                let n = nc.add(src, rows)?.max(2.0);
                let d = if sample { n - 1.0 } else { n };
                let half = (hi - lo) / 2.0;
                let var = ((q - s * s / n) / d).clamp(0.0, half * half);
                if stddev { var.sqrt() } else { var }
            }
        })
    }
}

impl Accumulator for DpAcc {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let units = arg(values, 0, "__cr_dp")?;
        let value = arg(values, 1, "__cr_dp")?;
        let stat = self.spec.stat;
        let floats = match stat {
            Stat::Sum | Stat::Avg | Stat::Var { .. } => Some(
                value
                    .as_primitive_opt::<Float64Type>()
                    .ok_or_else(|| exec_datafusion_err!("__cr_dp: value is not Float64"))?,
            ),
            _ => None,
        };
        let unit_rows = arg(values, 2, "__cr_dp")?
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| exec_datafusion_err!("__cr_dp: unit rows are not Float64"))?;
        let l = f64::from(self.spec.plan.max_rows);
        let (lo, hi) = self.spec.bounds;
        let mut buf = std::mem::take(&mut self.hashes);
        let keyed = self.spec.plan.key.is_some();
        let hashes = if !self.spec.per_unit && !keyed {
            &[][..]
        } else {
            hash_units(units, &mut buf)?
        };
        for i in 0..units.len() {
            // A row without a unit or (for a value statistic) without a value adds nothing; for
            // COUNT(col) a null value is not counted either.
            if units.is_null(i) || (stat != Stat::Units && value.is_null(i)) {
                continue;
            }
            let v = floats.map_or(0.0, |f| f.value(i).clamp(lo, hi));
            let v = if v.is_nan() { lo } else { v };
            let n = if unit_rows.is_null(i) {
                1.0
            } else {
                unit_rows.value(i)
            };
            let w = if n > l { l / n } else { 1.0 };
            let add = [w, w * v, w * v * v];
            let h = hashes.get(i).copied();
            // The weight is part of the row: rows that weigh differently (their unit lost or
            // gained rows elsewhere) must not share noise, or the difference would be exact.
            if let Some(h) = h {
                self.fingerprint = self
                    .fingerprint
                    .wrapping_add(mix(h ^ mix(v.to_bits() ^ mix(w.to_bits()))));
            }
            let slot = match h {
                Some(h) if self.spec.per_unit => self.units.entry(h).or_insert([0.0; 3]),
                _ => &mut self.totals,
            };
            slot.iter_mut().zip(add).for_each(|(s, a)| *s += a);
        }
        self.hashes = buf;
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let v = self.noisy()?;
        let out = &self.spec.out;
        let scalar = if out.is_integer() {
            ScalarValue::Int64(Some(v.round() as i64))
        } else {
            ScalarValue::Float64(Some(v))
        };
        scalar.cast_to(out)
    }

    fn size(&self) -> usize {
        size_of::<Self>()
            + self.units.capacity() * (size_of::<(u64, [f64; 3])>() + 1)
            + self.hashes.capacity() * 8
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let n = self.units.len();
        let keys: UInt64Array = self.units.keys().copied().collect();
        let col = |j: usize| -> Float64Array { self.units.values().map(|v| v[j]).collect() };
        let lists = [
            list_array(std::iter::once(n), keys)?,
            list_array(std::iter::once(n), col(0))?,
            list_array(std::iter::once(n), col(1))?,
            list_array(std::iter::once(n), col(2))?,
        ];
        let mut out: Vec<ScalarValue> = self
            .totals
            .iter()
            .map(|t| ScalarValue::Float64(Some(*t)))
            .collect();
        out.push(ScalarValue::UInt64(Some(self.fingerprint)));
        for l in lists {
            out.push(ScalarValue::try_from_array(&l, 0)?);
        }
        Ok(out)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for (j, t) in self.totals.iter_mut().enumerate() {
            let a = arg(states, j, "__cr_dp")?.as_primitive::<Float64Type>();
            *t += a.iter().flatten().sum::<f64>();
        }
        let f = arg(states, 3, "__cr_dp")?.as_primitive::<UInt64Type>();
        for x in f.iter().flatten() {
            self.fingerprint = self.fingerprint.wrapping_add(x);
        }
        let (offsets, keys) = list_parts::<UInt64Type>(arg(states, 4, "__cr_dp")?, "__cr_dp")?;
        let cols = [
            list_parts::<Float64Type>(arg(states, 5, "__cr_dp")?, "__cr_dp")?.1,
            list_parts::<Float64Type>(arg(states, 6, "__cr_dp")?, "__cr_dp")?.1,
            list_parts::<Float64Type>(arg(states, 7, "__cr_dp")?, "__cr_dp")?.1,
        ];
        for row in 0..offsets.len().saturating_sub(1) {
            for j in range(offsets, row) {
                let Some(k) = keys.get(j) else { continue };
                let slot = self.units.entry(*k).or_insert([0.0; 3]);
                for (c, s) in cols.iter().zip(slot.iter_mut()) {
                    *s += c.get(j).copied().unwrap_or(0.0);
                }
            }
        }
        Ok(())
    }
}
