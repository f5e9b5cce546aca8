//! Hidden aggregates the rewrite adds:
//!
//! - `__cr_top2(value)`: the two largest contributions to a cell and its total, where each row
//!   is its own privacy unit (`dominance.nk`, `dominance.p_ratio`); a contribution is a
//!   magnitude `|v|`, so that a large negative value dominates like a large positive one;
//! - `__cr_top2_by_unit(unit, value)`: the same where a unit may own several rows, so a
//!   contribution is the sum of the unit's rows;
//! - `__cr_units(unit)`, made for one threshold k: the number of distinct units in a group,
//!   counted up to k (`threshold.group` only asks whether a group reaches k, so a group stops
//!   collecting once it does).
//!
//! Units are keyed by a 64-bit hash of their value, not the value itself: no string is copied
//! or allocated per unit. A hash collision can only merge two units into one, which lowers a
//! distinct count and raises a contribution; both make the rules suppress more, never less.
//! Each function has a [`GroupsAccumulator`] (one state vector for all groups of a partition,
//! the path DataFusion takes for GROUP BY) and serves the no-GROUP-BY case through the same code
//! with a single group.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, ListArray, StructArray,
    UInt32Array, UInt64Array,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type, UInt64Type};
use datafusion::common::hash_utils::{QualityRandomState, create_hashes};
use datafusion::common::{Result, ScalarValue, exec_datafusion_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};

pub const TOP2: &str = "__cr_top2";
pub const TOP2_BY_UNIT: &str = "__cr_top2_by_unit";
pub const UNITS: &str = "__cr_units";

/// Fixed seeds: unit hashes never leave the aggregate, and partial states of one query must
/// agree on them.
pub(crate) const UNIT_HASH: QualityRandomState =
    QualityRandomState::with_seed(0x5eed_c1ea_7700_0001);

/// The struct `__cr_top2` and `__cr_top2_by_unit` return: the two largest contributions and
/// the total of all values.
pub fn top2_type() -> DataType {
    DataType::Struct(top2_fields())
}

fn top2_fields() -> Fields {
    Fields::from(vec![
        Field::new("top1", DataType::Float64, false),
        Field::new("top2", DataType::Float64, false),
        Field::new("total", DataType::Float64, false),
    ])
}

/// `__cr_top2(value Float64)`.
pub fn top2_udaf() -> AggregateUDF {
    AggregateUDF::new_from_impl(Hidden::new(Kind::Top2))
}

/// `__cr_top2_by_unit(unit, value Float64)`; the unit may be of any type.
pub fn top2_by_unit_udaf() -> AggregateUDF {
    AggregateUDF::new_from_impl(Hidden::new(Kind::Top2ByUnit))
}

/// `__cr_units(unit)`: distinct units, counted up to `k` (Int64).
pub fn units_udaf(k: u32) -> AggregateUDF {
    AggregateUDF::new_from_impl(Hidden::new(Kind::Units(k)))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Top2,
    Top2ByUnit,
    Units(u32),
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Hidden {
    kind: Kind,
    signature: Signature,
}

impl Hidden {
    fn new(kind: Kind) -> Self {
        let signature = match kind {
            Kind::Top2 => Signature::exact(vec![DataType::Float64], Volatility::Immutable),
            Kind::Top2ByUnit => Signature::any(2, Volatility::Immutable),
            Kind::Units(_) => Signature::any(1, Volatility::Immutable),
        };
        Hidden { kind, signature }
    }

    fn groups(&self) -> Box<dyn GroupsAccumulator + Sync> {
        match self.kind {
            Kind::Top2 => Box::<Top2Groups>::default(),
            Kind::Top2ByUnit => Box::new(ByUnit::<Contributions>::new(0)),
            Kind::Units(k) => Box::new(ByUnit::<Capped>::new(k as usize)),
        }
    }
}

fn list_of(t: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(t, true)))
}

impl AggregateUDFImpl for Hidden {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Top2 => TOP2,
            Kind::Top2ByUnit => TOP2_BY_UNIT,
            Kind::Units(_) => UNITS,
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::Units(_) => DataType::Int64,
            _ => top2_type(),
        })
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(Single(self.groups())))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let field =
            |n: &str, t: DataType| Arc::new(Field::new(format_state_name(args.name, n), t, true));
        Ok(match self.kind {
            Kind::Top2 => vec![
                field("top1", DataType::Float64),
                field("top2", DataType::Float64),
                field("total", DataType::Float64),
            ],
            Kind::Top2ByUnit => vec![
                field("units", list_of(DataType::UInt64)),
                field("sums", list_of(DataType::Float64)),
                field("buckets", list_of(DataType::Float64)),
            ],
            Kind::Units(_) => vec![field("units", list_of(DataType::UInt64))],
        })
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(self.groups())
    }
}

/// Rows of a batch that pass the aggregate's FILTER (none is ever set by the rewrite, but the
/// contract allows one).
#[inline]
pub(crate) fn selected(filter: Option<&BooleanArray>, i: usize) -> bool {
    filter.is_none_or(|f| f.is_valid(i) && f.value(i))
}

pub(crate) fn arg<'a>(values: &'a [ArrayRef], i: usize, name: &str) -> Result<&'a ArrayRef> {
    values
        .get(i)
        .ok_or_else(|| exec_datafusion_err!("{name}: argument {i} missing"))
}

#[inline]
fn group_of(group_indices: &[usize], i: usize) -> Result<usize> {
    group_indices
        .get(i)
        .copied()
        .ok_or_else(|| exec_datafusion_err!("hidden aggregate: group index {i} missing"))
}

/// Hashes a unit column into `buf` (resized to the batch).
pub(crate) fn hash_units<'a>(units: &ArrayRef, buf: &'a mut Vec<u64>) -> Result<&'a [u64]> {
    buf.clear();
    buf.resize(units.len(), 0);
    create_hashes([units], &UNIT_HASH, buf)?;
    Ok(buf)
}

/// The two largest values pushed and the total of all of them.
#[derive(Clone, Copy, Debug, Default)]
struct Top2 {
    a: f64,
    b: f64,
    total: f64,
}

impl Top2 {
    fn rank(&mut self, v: f64) {
        if v > self.a {
            self.b = self.a;
            self.a = v;
        } else if v > self.b {
            self.b = v;
        }
    }

    fn push(&mut self, v: f64) {
        self.rank(v);
        self.total += v;
    }
}

/// `top1`, `top2` and `total` as three columns: the state, and the fields of the result.
fn top2_columns(cells: &[Top2]) -> Vec<ArrayRef> {
    let col = |f: fn(&Top2) -> f64| -> ArrayRef {
        Arc::new(cells.iter().map(f).collect::<Float64Array>())
    };
    vec![col(|c| c.a), col(|c| c.b), col(|c| c.total)]
}

fn top2_array(cells: &[Top2]) -> ArrayRef {
    Arc::new(StructArray::new(top2_fields(), top2_columns(cells), None))
}

#[derive(Debug, Default)]
struct Top2Groups {
    cells: Vec<Top2>,
}

impl GroupsAccumulator for Top2Groups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.cells.resize(total_num_groups, Top2::default());
        if values.is_empty() {
            return Ok(());
        }
        let v = arg(values, 0, TOP2)?.as_primitive::<Float64Type>();
        if v.null_count() == 0 && opt_filter.is_none() {
            // The common case, every row counted: one pass over values and groups together.
            if group_indices.len() < v.len() {
                return Err(exec_datafusion_err!(
                    "hidden aggregate: {} group indices for {} rows",
                    group_indices.len(),
                    v.len()
                ));
            }
            for (&g, &x) in group_indices.iter().zip(v.values().iter()) {
                if let Some(c) = self.cells.get_mut(g) {
                    c.push(x.abs());
                }
            }
            return Ok(());
        }
        for i in 0..v.len() {
            if v.is_valid(i) && selected(opt_filter, i) {
                let g = group_of(group_indices, i)?;
                if let Some(c) = self.cells.get_mut(g) {
                    c.push(v.value(i).abs());
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        Ok(top2_array(&emit_to.take_needed(&mut self.cells)))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let cells = emit_to.take_needed(&mut self.cells);
        Ok(top2_columns(&cells))
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let v = arg(values, 0, TOP2)?.as_primitive::<Float64Type>();
        let cells: Vec<Top2> = (0..v.len())
            .map(|i| {
                let mut c = Top2::default();
                if v.is_valid(i) && selected(opt_filter, i) {
                    c.push(v.value(i).abs());
                }
                c
            })
            .collect();
        Ok(top2_columns(&cells))
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.cells.resize(total_num_groups, Top2::default());
        let a = arg(values, 0, TOP2)?.as_primitive::<Float64Type>();
        let b = arg(values, 1, TOP2)?.as_primitive::<Float64Type>();
        let t = arg(values, 2, TOP2)?.as_primitive::<Float64Type>();
        for i in 0..a.len() {
            let g = group_of(group_indices, i)?;
            if let Some(c) = self.cells.get_mut(g) {
                c.rank(a.value(i));
                c.rank(b.value(i));
                c.total += t.value(i);
            }
        }
        Ok(())
    }

    fn size(&self) -> usize {
        self.cells.capacity() * size_of::<Top2>()
    }
}

/// Keys that are already hashes need no second hash.
#[derive(Default, Clone, Copy)]
pub(crate) struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type UnitSums = HashMap<u64, f64, BuildHasherDefault<Prehashed>>;

/// Entries of every list in a List column, per row, as (offsets, values) slices.
pub(crate) fn list_parts<'a, T: datafusion::arrow::datatypes::ArrowPrimitiveType>(
    a: &'a ArrayRef,
    name: &str,
) -> Result<(&'a [i32], &'a [T::Native])> {
    let list = a
        .as_list_opt::<i32>()
        .ok_or_else(|| exec_datafusion_err!("{name}: state is not a list"))?;
    let values = list
        .values()
        .as_primitive_opt::<T>()
        .ok_or_else(|| exec_datafusion_err!("{name}: unexpected state type"))?;
    Ok((list.value_offsets(), values.values()))
}

pub(crate) fn range(offsets: &[i32], i: usize) -> std::ops::Range<usize> {
    let lo = offsets.get(i).copied().unwrap_or(0).max(0) as usize;
    let hi = offsets.get(i + 1).copied().unwrap_or(0).max(0) as usize;
    lo..hi.max(lo)
}

pub(crate) fn list_array<T: datafusion::arrow::datatypes::ArrowPrimitiveType>(
    lengths: impl Iterator<Item = usize>,
    values: datafusion::arrow::array::PrimitiveArray<T>,
) -> Result<ArrayRef> {
    let field = Arc::new(Field::new_list_field(T::DATA_TYPE, true));
    Ok(Arc::new(ListArray::try_new(
        field,
        OffsetBuffer::from_lengths(lengths),
        Arc::new(values),
        None,
    )?))
}

/// What one group keeps per privacy unit.
trait PerUnit: Default + Send + Sync + 'static {
    /// The function's name, for errors.
    const NAME: &'static str;
    /// Whether a value comes with each unit (argument 2, and a second list in the state).
    const VALUED: bool;
    /// Adds a unit's value.
    fn add(&mut self, unit: u64, v: f64, k: usize);
    /// Merges a partial state's sketch (valued only).
    fn add_buckets(&mut self, _buckets: &[f64]) {}
    /// Memory held, in bytes.
    fn bytes(&self) -> usize;
    /// Units held exactly.
    fn len(&self) -> usize;
    fn units(&self) -> impl Iterator<Item = u64>;
    fn values(&self) -> impl Iterator<Item = f64>;
    /// The sketch, empty while the group is exact.
    fn buckets(&self) -> &[f64] {
        &[]
    }
    /// Whether a group can fill up ([`PerUnit::full`]): only a count capped at k.
    const CAPPED: bool = false;
    /// True when no further unit can change the group (a count capped at k that reached it).
    fn full(&self, _k: usize) -> bool {
        false
    }
    fn evaluate(groups: &[Self]) -> ArrayRef;
}

/// Units a group tracks exactly before it switches to a [`SKETCH`]-bucket sketch.
const EXACT_UNITS: usize = 1024;
/// Buckets of the sketch (a power of two). 8 KiB per group: at 4096 (32 KiB) the sketches of the
/// 18 industries of a join no longer stayed in cache, and the per-person accumulator took twice
/// the time (8 % of a profile of the workers-per-industry join against 4 %).
const SKETCH: usize = 1024;

/// Contributions per unit, for the dominance rules: the magnitude `|v|` of every row added to
/// its unit, so that a large negative contribution dominates like a large positive one and the
/// total is the sum of the contributions.
///
/// Exact up to [`EXACT_UNITS`] units per group. A larger group adds each unit's contribution to
/// one of [`SKETCH`] buckets chosen by its hash instead: a bucket holds at least the contribution
/// of every unit in it, so the two largest buckets bound the two largest contributions from
/// above and the rules, fed those bounds, can only suppress more. In a group that large a cell
/// is dominated only if a few units hold most of it, which the buckets show as clearly as the
/// units would.
#[derive(Debug, Default)]
struct Contributions {
    exact: UnitSums,
    buckets: Vec<f64>,
}

impl Contributions {
    fn bucket(&mut self, unit: u64, c: f64) {
        if let Some(b) = self.buckets.get_mut(unit as usize & (SKETCH - 1)) {
            *b += c;
        }
    }

    /// Moves the exact contributions into the buckets (once).
    fn start_sketch(&mut self) {
        if self.buckets.is_empty() {
            self.buckets = vec![0.0; SKETCH];
            for (u, c) in std::mem::take(&mut self.exact) {
                self.bucket(u, c);
            }
        }
    }

    fn top2(&self) -> Top2 {
        let mut t = Top2::default();
        self.exact
            .values()
            .chain(self.buckets.iter())
            .for_each(|v| t.push(*v));
        t
    }
}

impl PerUnit for Contributions {
    const NAME: &'static str = TOP2_BY_UNIT;
    const VALUED: bool = true;
    fn add(&mut self, unit: u64, v: f64, _k: usize) {
        let c = v.abs();
        if !self.buckets.is_empty() {
            self.bucket(unit, c);
            return;
        }
        *self.exact.entry(unit).or_insert(0.0) += c;
        if self.exact.len() > EXACT_UNITS {
            self.start_sketch();
        }
    }
    fn add_buckets(&mut self, buckets: &[f64]) {
        if buckets.is_empty() {
            return;
        }
        self.start_sketch();
        self.buckets
            .iter_mut()
            .zip(buckets)
            .for_each(|(b, c)| *b += c);
    }
    fn bytes(&self) -> usize {
        self.exact.capacity() * (size_of::<(u64, f64)>() + 1) + self.buckets.capacity() * 8
    }
    fn len(&self) -> usize {
        self.exact.len()
    }
    fn units(&self) -> impl Iterator<Item = u64> {
        self.exact.keys().copied()
    }
    fn values(&self) -> impl Iterator<Item = f64> {
        self.exact.values().copied()
    }
    fn buckets(&self) -> &[f64] {
        &self.buckets
    }
    fn evaluate(groups: &[Self]) -> ArrayRef {
        let cells: Vec<Top2> = groups.iter().map(Contributions::top2).collect();
        top2_array(&cells)
    }
}

/// Distinct units, at most k of them, for the threshold.
#[derive(Debug, Default)]
struct Capped(Vec<u64>);

impl PerUnit for Capped {
    const NAME: &'static str = UNITS;
    const VALUED: bool = false;
    const CAPPED: bool = true;
    fn add(&mut self, unit: u64, _v: f64, k: usize) {
        if self.0.len() < k && !self.0.contains(&unit) {
            self.0.push(unit);
        }
    }
    fn bytes(&self) -> usize {
        self.0.capacity() * size_of::<u64>()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn full(&self, k: usize) -> bool {
        self.0.len() >= k
    }
    fn units(&self) -> impl Iterator<Item = u64> {
        self.0.iter().copied()
    }
    fn values(&self) -> impl Iterator<Item = f64> {
        std::iter::empty()
    }
    fn evaluate(groups: &[Self]) -> ArrayRef {
        Arc::new(
            groups
                .iter()
                .map(|s| s.0.len() as i64)
                .collect::<Int64Array>(),
        )
    }
}

/// The groups accumulator of `__cr_top2_by_unit` and `__cr_units`: per group, what
/// [`PerUnit`] keeps per unit hash.
#[derive(Debug, Default)]
struct ByUnit<S> {
    groups: Vec<S>,
    /// Most units per group (`__cr_units` only).
    k: usize,
    /// Memory held by all groups, for [`GroupsAccumulator::size`].
    bytes: usize,
    hashes: Vec<u64>,
}

impl<S: PerUnit> ByUnit<S> {
    fn new(k: usize) -> Self {
        ByUnit {
            groups: Vec::new(),
            k,
            bytes: 0,
            hashes: Vec::new(),
        }
    }

    /// Changes group `g` and keeps the memory count up to date.
    fn update(&mut self, g: usize, f: impl FnOnce(&mut S, usize)) {
        if let Some(s) = self.groups.get_mut(g) {
            let before = s.bytes();
            f(s, self.k);
            self.bytes = (self.bytes + s.bytes()).saturating_sub(before);
        }
    }

    fn add(&mut self, g: usize, unit: u64, v: f64) {
        self.update(g, |s, k| s.add(unit, v, k));
    }

    fn take(&mut self, emit_to: EmitTo) -> Vec<S> {
        let taken = emit_to.take_needed(&mut self.groups);
        let freed: usize = taken.iter().map(PerUnit::bytes).sum();
        self.bytes = self.bytes.saturating_sub(freed);
        taken
    }

    /// Calls `f(row, unit hash, value)` for every selected row that has a unit (and a value).
    fn rows(
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
        buf: &mut Vec<u64>,
        mut f: impl FnMut(usize, u64, f64) -> Result<()>,
    ) -> Result<()> {
        let units = arg(values, 0, S::NAME)?;
        let v = if S::VALUED {
            Some(arg(values, 1, S::NAME)?.as_primitive::<Float64Type>())
        } else {
            None
        };
        let hashes = hash_units(units, buf)?;
        for (i, h) in hashes.iter().enumerate() {
            let value = match v {
                Some(v) if v.is_valid(i) => v.value(i),
                Some(_) => continue,
                None => 0.0,
            };
            if units.is_valid(i) && selected(opt_filter, i) {
                f(i, *h, value)?;
            }
        }
        Ok(())
    }

    /// The arguments, filter and group indices of the given rows only.
    #[allow(clippy::type_complexity, reason = "a private triple")]
    fn rows_of(
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
        group_indices: &[usize],
        rows: Vec<u32>,
    ) -> Result<(Vec<ArrayRef>, Option<BooleanArray>, Vec<usize>)> {
        let rows = UInt32Array::from(rows);
        let values = values
            .iter()
            .map(|v| take(v.as_ref(), &rows, None))
            .collect::<std::result::Result<_, _>>()?;
        let filter = opt_filter
            .map(|f| take(f, &rows, None).map(|a| a.as_boolean().clone()))
            .transpose()?;
        let groups = rows
            .values()
            .iter()
            .map(|i| group_of(group_indices, *i as usize))
            .collect::<Result<_>>()?;
        Ok((values, filter, groups))
    }

    /// The state lists: one list of unit hashes per group, and their values where valued.
    fn lists(groups: &[S]) -> Result<Vec<ArrayRef>> {
        let lens = || groups.iter().map(PerUnit::len);
        let units: UInt64Array = groups.iter().flat_map(PerUnit::units).collect();
        let mut out = vec![list_array(lens(), units)?];
        if S::VALUED {
            let values: Float64Array = groups.iter().flat_map(PerUnit::values).collect();
            out.push(list_array(lens(), values)?);
            let buckets: Float64Array = groups
                .iter()
                .flat_map(|g| g.buckets().iter().copied())
                .collect();
            out.push(list_array(
                groups.iter().map(|g| g.buckets().len()),
                buckets,
            )?);
        }
        Ok(out)
    }
}

impl<S: PerUnit> GroupsAccumulator for ByUnit<S> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.groups.resize_with(total_num_groups, S::default);
        if values.is_empty() {
            return Ok(());
        }
        let subset;
        let (values, opt_filter, group_indices) = if S::CAPPED {
            // Rows of groups that are already full change nothing: once every group holds k
            // units (after a batch or two of a large table), no unit is hashed any more.
            let open: Vec<u32> = group_indices
                .iter()
                .enumerate()
                .filter(|(_, g)| self.groups.get(**g).is_some_and(|s| !s.full(self.k)))
                .filter_map(|(i, _)| u32::try_from(i).ok())
                .collect();
            if open.is_empty() {
                return Ok(());
            }
            if open.len() == group_indices.len() {
                (values, opt_filter, group_indices)
            } else {
                subset = Self::rows_of(values, opt_filter, group_indices, open)?;
                (&subset.0[..], subset.1.as_ref(), &subset.2[..])
            }
        } else {
            (values, opt_filter, group_indices)
        };
        let mut buf = std::mem::take(&mut self.hashes);
        Self::rows(values, opt_filter, &mut buf, |i, h, v| {
            self.add(group_of(group_indices, i)?, h, v);
            Ok(())
        })?;
        self.hashes = buf;
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        Ok(S::evaluate(&self.take(emit_to)))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Self::lists(&self.take(emit_to))
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let rows = values.first().map_or(0, |v| v.len());
        let mut groups: Vec<S> = (0..rows).map(|_| S::default()).collect();
        Self::rows(values, opt_filter, &mut Vec::new(), |i, h, v| {
            if let Some(s) = groups.get_mut(i) {
                s.add(h, v, self.k);
            }
            Ok(())
        })?;
        Self::lists(&groups)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.groups.resize_with(total_num_groups, S::default);
        let (offsets, units) = list_parts::<UInt64Type>(arg(values, 0, S::NAME)?, S::NAME)?;
        let (sums, sketch) = if S::VALUED {
            let sums = list_parts::<Float64Type>(arg(values, 1, S::NAME)?, S::NAME)?.1;
            (
                sums,
                Some(list_parts::<Float64Type>(
                    arg(values, 2, S::NAME)?,
                    S::NAME,
                )?),
            )
        } else {
            (&[][..], None)
        };
        for i in 0..offsets.len().saturating_sub(1) {
            let g = group_of(group_indices, i)?;
            if let Some((b_offsets, buckets)) = sketch
                && let Some(b) = buckets.get(range(b_offsets, i))
            {
                self.update(g, |s, _| s.add_buckets(b));
            }
            for j in range(offsets, i) {
                if let Some(u) = units.get(j) {
                    self.add(g, *u, sums.get(j).copied().unwrap_or(0.0));
                }
            }
        }
        Ok(())
    }

    fn size(&self) -> usize {
        self.groups.capacity() * size_of::<S>()
            + self.bytes
            + self.hashes.capacity() * size_of::<u64>()
    }
}

/// A groups accumulator used for an aggregate without GROUP BY: everything is group 0. Called
/// with no arguments, each groups accumulator only sizes its state.
struct Single(Box<dyn GroupsAccumulator + Sync>);

impl std::fmt::Debug for Single {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Single")
    }
}

impl Single {
    fn scalar(a: &ArrayRef) -> Result<ScalarValue> {
        ScalarValue::try_from_array(a, 0)
    }
}

impl Accumulator for Single {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let n = values.first().map_or(0, |v| v.len());
        self.0.update_batch(values, &vec![0; n], None, 1)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        // No arguments: only makes sure the one group exists, for an empty input.
        self.0.update_batch(&[], &[], None, 1)?;
        Self::scalar(&self.0.evaluate(EmitTo::All)?)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.0.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.0.update_batch(&[], &[], None, 1)?;
        self.0
            .state(EmitTo::All)?
            .iter()
            .map(Self::scalar)
            .collect()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let n = states.first().map_or(0, |v| v.len());
        self.0.merge_batch(states, &vec![0; n], 1)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use datafusion::arrow::array::StringArray;

    use super::*;

    fn strings(v: &[Option<&str>]) -> ArrayRef {
        Arc::new(v.iter().copied().collect::<StringArray>())
    }

    fn floats(v: &[Option<f64>]) -> ArrayRef {
        Arc::new(v.iter().copied().collect::<Float64Array>())
    }

    fn top2_rows(a: &ArrayRef) -> Vec<(f64, f64, f64)> {
        let s = a.as_struct();
        let col = |i: usize| s.column(i).as_primitive::<Float64Type>().clone();
        let (x, y, z) = (col(0), col(1), col(2));
        (0..s.len())
            .map(|i| (x.value(i), y.value(i), z.value(i)))
            .collect()
    }

    fn counts(a: &ArrayRef) -> Vec<i64> {
        a.as_primitive::<datafusion::arrow::datatypes::Int64Type>()
            .values()
            .to_vec()
    }

    #[test]
    fn top2_ranks_per_group_and_ignores_nulls() {
        let mut acc = Hidden::new(Kind::Top2).groups();
        let v = floats(&[Some(5.0), Some(1.0), None, Some(9.0), Some(3.0), Some(2.0)]);
        acc.update_batch(&[v], &[0, 0, 0, 0, 1, 1], None, 2)
            .unwrap();
        let out = top2_rows(&acc.evaluate(EmitTo::All).unwrap());
        assert_eq!(out, vec![(9.0, 5.0, 15.0), (3.0, 2.0, 5.0)]);
    }

    #[test]
    fn top2_without_nulls_agrees_with_the_filtered_path() {
        let v = floats(&[Some(5.0), Some(-7.0), Some(9.0), Some(3.0), Some(2.0)]);
        let groups = [1, 0, 0, 1, 1];
        let mut fast = Hidden::new(Kind::Top2).groups();
        fast.update_batch(std::slice::from_ref(&v), &groups, None, 2)
            .unwrap();
        let all = BooleanArray::from(vec![true; 5]);
        let mut slow = Hidden::new(Kind::Top2).groups();
        slow.update_batch(&[v], &groups, Some(&all), 2).unwrap();
        let fast = top2_rows(&fast.evaluate(EmitTo::All).unwrap());
        assert_eq!(fast, vec![(9.0, 7.0, 16.0), (5.0, 3.0, 10.0)]);
        assert_eq!(fast, top2_rows(&slow.evaluate(EmitTo::All).unwrap()));
        // Fewer group indices than rows is an error, not a silent truncation.
        let mut short = Hidden::new(Kind::Top2).groups();
        let v = floats(&[Some(1.0), Some(2.0)]);
        assert!(short.update_batch(&[v], &[0], None, 1).is_err());
    }

    #[test]
    fn by_unit_sums_a_units_rows_across_partial_states() {
        let units = strings(&[Some("a"), Some("b"), Some("a"), None]);
        let values = floats(&[Some(4.0), Some(5.0), Some(3.0), Some(100.0)]);
        // Two partitions see different rows of unit `a`; the final merge must add them up.
        let mut p1 = Hidden::new(Kind::Top2ByUnit).groups();
        let mut p2 = Hidden::new(Kind::Top2ByUnit).groups();
        p1.update_batch(&[units.slice(0, 2), values.slice(0, 2)], &[0, 0], None, 1)
            .unwrap();
        p2.update_batch(&[units.slice(2, 2), values.slice(2, 2)], &[0, 0], None, 1)
            .unwrap();
        let mut fin = Hidden::new(Kind::Top2ByUnit).groups();
        fin.merge_batch(&p1.state(EmitTo::All).unwrap(), &[0], 1)
            .unwrap();
        fin.merge_batch(&p2.state(EmitTo::All).unwrap(), &[0], 1)
            .unwrap();
        // a: 4 + 3 = 7 beats b: 5; the row without a unit counts for nobody.
        assert_eq!(
            top2_rows(&fin.evaluate(EmitTo::All).unwrap()),
            vec![(7.0, 5.0, 12.0)]
        );
    }

    #[test]
    fn converted_state_merges_like_updates() {
        let units = strings(&[Some("a"), Some("b"), Some("a"), Some("c")]);
        let values = floats(&[Some(1.0), Some(2.0), Some(6.0), Some(3.0)]);
        let groups = [0, 1, 0, 1];
        for kind in [Kind::Top2ByUnit, Kind::Units(10)] {
            let args: Vec<ArrayRef> = match kind {
                Kind::Units(_) => vec![units.clone()],
                _ => vec![units.clone(), values.clone()],
            };
            let mut direct = Hidden::new(kind).groups();
            direct.update_batch(&args, &groups, None, 2).unwrap();
            let mut merged = Hidden::new(kind).groups();
            let state = merged.convert_to_state(&args, None).unwrap();
            merged.merge_batch(&state, &groups, 2).unwrap();
            let (d, m) = (
                direct.evaluate(EmitTo::All).unwrap(),
                merged.evaluate(EmitTo::All).unwrap(),
            );
            assert_eq!(d.to_data(), m.to_data(), "{kind:?}");
        }
    }

    #[test]
    fn units_count_distinct_values_and_stop_at_k() {
        let many: Vec<String> = (0..25).map(|i| format!("p{i}")).collect();
        let mut rows: Vec<Option<&str>> = many.iter().map(|s| Some(s.as_str())).collect();
        let mut groups = vec![0usize; rows.len()];
        // Group 1: three people, one of them twice, and a row without a unit.
        rows.extend([Some("x"), Some("y"), Some("x"), Some("z"), None]);
        groups.extend([1, 1, 1, 1, 1]);
        let mut acc = Hidden::new(Kind::Units(10)).groups();
        acc.update_batch(&[strings(&rows)], &groups, None, 2)
            .unwrap();
        assert_eq!(counts(&acc.evaluate(EmitTo::All).unwrap()), vec![10, 3]);
    }

    /// Once a group holds k units its rows are skipped unhashed; the rows of the other groups in
    /// the same batch, with a filter, still count where they belong.
    #[test]
    fn full_groups_skip_their_rows_and_the_others_still_count() {
        let many: Vec<String> = (0..12).map(|i| format!("p{i}")).collect();
        let first: Vec<Option<&str>> = many.iter().map(|s| Some(s.as_str())).collect();
        let mut acc = Hidden::new(Kind::Units(10)).groups();
        acc.update_batch(&[strings(&first)], &[0; 12], None, 1)
            .unwrap();
        // Group 0 is full; group 1 gets a, b (twice), c (filtered out) and d.
        let rows = strings(&[
            Some("q"),
            Some("a"),
            Some("b"),
            Some("r"),
            Some("b"),
            Some("c"),
            Some("d"),
        ]);
        let filter = BooleanArray::from(vec![true, true, true, true, true, false, true]);
        acc.update_batch(&[rows], &[0, 1, 1, 0, 1, 1, 1], Some(&filter), 2)
            .unwrap();
        assert_eq!(counts(&acc.evaluate(EmitTo::All).unwrap()), vec![10, 3]);
    }

    #[test]
    fn emitting_the_first_groups_keeps_the_rest() {
        let mut acc = Hidden::new(Kind::Units(10)).groups();
        let u = strings(&[Some("a"), Some("b"), Some("c"), Some("d")]);
        acc.update_batch(&[u], &[0, 1, 1, 2], None, 3).unwrap();
        assert_eq!(counts(&acc.evaluate(EmitTo::First(1)).unwrap()), vec![1]);
        assert_eq!(counts(&acc.evaluate(EmitTo::All).unwrap()), vec![2, 1]);
    }

    /// One unit holding 60 % of a group, among more units than a group tracks exactly.
    fn big_group(others: usize) -> (ArrayRef, ArrayRef) {
        let names: Vec<String> = (0..others).map(|i| format!("u{i}")).collect();
        let mut units: Vec<Option<&str>> = names.iter().map(|n| Some(n.as_str())).collect();
        let mut values = vec![Some(1.0); others];
        units.push(Some("giant"));
        values.push(Some(others as f64 * 1.5));
        (strings(&units), floats(&values))
    }

    #[test]
    fn a_large_group_bounds_contributions_from_above() {
        let others = EXACT_UNITS * 3;
        let (units, values) = big_group(others);
        let mut acc = Hidden::new(Kind::Top2ByUnit).groups();
        acc.update_batch(&[units, values], &vec![0; others + 1], None, 1)
            .unwrap();
        let (a, b, t) = top2_rows(&acc.evaluate(EmitTo::All).unwrap())[0];
        let giant = others as f64 * 1.5;
        assert_eq!(t, giant + others as f64);
        // Upper bounds, and tight: a bucket holds about others / SKETCH units of 1.0 each.
        assert!((giant..=giant + 20.0).contains(&a), "{a}");
        assert!((1.0..=20.0).contains(&b), "{b}");
    }

    #[test]
    fn exact_and_sketched_partial_states_merge() {
        let others = EXACT_UNITS + 100;
        let (units, values) = big_group(others);
        let n = others + 1;
        // Partition 1 sees every unit (and sketches); partition 2 two rows (and stays exact),
        // one of them the giant's negative value.
        let partials = || {
            let mut p1 = Hidden::new(Kind::Top2ByUnit).groups();
            p1.update_batch(&[units.clone(), values.clone()], &vec![0; n], None, 1)
                .unwrap();
            let mut p2 = Hidden::new(Kind::Top2ByUnit).groups();
            let (u2, v2) = (
                strings(&[Some("giant"), Some("u0")]),
                floats(&[Some(-10.0), Some(2.0)]),
            );
            p2.update_batch(&[u2, v2], &[0, 0], None, 1).unwrap();
            (
                p1.state(EmitTo::All).unwrap(),
                p2.state(EmitTo::All).unwrap(),
            )
        };
        let (s1, s2) = partials();
        assert_eq!(s1[2].as_list::<i32>().value(0).len(), SKETCH);
        assert_eq!(s2[2].as_list::<i32>().value(0).len(), 0);
        for sketched_first in [true, false] {
            let (s1, s2) = partials();
            let mut fin = Hidden::new(Kind::Top2ByUnit).groups();
            let order = if sketched_first { [s1, s2] } else { [s2, s1] };
            for st in order {
                fin.merge_batch(&st, &[0], 1).unwrap();
            }
            let (a, _, t) = top2_rows(&fin.evaluate(EmitTo::All).unwrap())[0];
            // Magnitudes: the giant's -10 adds to its contribution.
            let giant = others as f64 * 1.5 + 10.0;
            assert_eq!(t, giant + others as f64 + 2.0);
            assert!((giant..=giant + 20.0).contains(&a), "{a}");
        }
    }

    #[test]
    fn filtered_rows_do_not_count() {
        let mut acc = Hidden::new(Kind::Top2).groups();
        let keep = BooleanArray::from(vec![true, false, true]);
        let v = floats(&[Some(1.0), Some(50.0), Some(2.0)]);
        acc.update_batch(&[v], &[0, 0, 0], Some(&keep), 1).unwrap();
        assert_eq!(
            top2_rows(&acc.evaluate(EmitTo::All).unwrap()),
            vec![(2.0, 1.0, 3.0)]
        );
    }

    #[test]
    fn without_group_by_an_empty_input_has_one_empty_cell() {
        let mut acc = Single(Hidden::new(Kind::Units(10)).groups());
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Int64(Some(0)));
        let mut acc = Single(Hidden::new(Kind::Top2ByUnit).groups());
        acc.update_batch(&[
            strings(&[Some("a"), Some("a")]),
            floats(&[Some(2.0), Some(3.0)]),
        ])
        .unwrap();
        let mut other = Single(Hidden::new(Kind::Top2ByUnit).groups());
        other
            .update_batch(&[strings(&[Some("b")]), floats(&[Some(1.0)])])
            .unwrap();
        let state: Vec<ArrayRef> = other
            .state()
            .unwrap()
            .iter()
            .map(|s| s.to_array().unwrap())
            .collect();
        acc.merge_batch(&state).unwrap();
        let ScalarValue::Struct(s) = acc.evaluate().unwrap() else {
            panic!("a struct");
        };
        let s: ArrayRef = s;
        assert_eq!(top2_rows(&s), vec![(5.0, 1.0, 6.0)]);
    }
}
