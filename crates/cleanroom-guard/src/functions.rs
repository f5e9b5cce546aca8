//! What the guard knows about each function: the allow-list, and the class that decides how a
//! value derived through it may be released. A function not listed here is not allowed.

/// How an aggregate (or an aggregate used as a window function) treats its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregateClass {
    /// COUNT, COUNT(DISTINCT), APPROX_DISTINCT, GROUPING: reveal only cardinality.
    Count,
    /// SUM, AVG, VAR, STDDEV, CORR, REGR_*: N→1 statistics.
    Statistic,
    /// MIN, MAX, MEDIAN, ARRAY_AGG ...: return one record's value.
    ValueRevealing,
}

/// Classifies an aggregate function by name, or `None` when it is not allowed.
pub fn aggregate_class(name: &str) -> Option<AggregateClass> {
    let name = name.to_ascii_lowercase();
    Some(match name.as_str() {
        "count" | "approx_distinct" | "grouping" => AggregateClass::Count,
        "sum" | "avg" | "mean" | "stddev" | "stddev_pop" | "stddev_samp" | "var" | "var_pop"
        | "var_samp" | "variance" | "variance_pop" | "variance_samp" | "corr" | "covar"
        | "covar_pop" | "covar_samp" => AggregateClass::Statistic,
        n if n.starts_with("regr_") => AggregateClass::Statistic,
        "min"
        | "max"
        | "first_value"
        | "last_value"
        | "nth_value"
        | "array_agg"
        | "string_agg"
        | "median"
        | "approx_median"
        | "percentile_cont"
        | "percentile_disc"
        | "approx_percentile_cont"
        | "approx_percentile_cont_with_weight"
        | "mode"
        | "any_value"
        | "bit_and"
        | "bit_or"
        | "bit_xor"
        | "bool_and"
        | "bool_or" => AggregateClass::ValueRevealing,
        _ => return None,
    })
}

/// How a window function treats its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowClass {
    /// ROW_NUMBER, RANK ...: a position, derived from the ORDER BY columns.
    Rank,
    /// LAG, LEAD, FIRST_VALUE ...: copies another record's value into this row.
    ValueRevealing,
}

/// Classifies a built-in window function by name, or `None` when it is not allowed.
pub fn window_class(name: &str) -> Option<WindowClass> {
    let name = name.to_ascii_lowercase();
    Some(match name.as_str() {
        "row_number" | "rank" | "dense_rank" | "percent_rank" | "cume_dist" | "ntile" => {
            WindowClass::Rank
        }
        "lag" | "lead" | "first_value" | "last_value" | "nth_value" => WindowClass::ValueRevealing,
        _ => return None,
    })
}

/// How a scalar function transforms its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarClass {
    /// Coarsens a value (year of a date, a short prefix, a rounded number): allowed on
    /// `group_by` columns, whose result is then a group key under the threshold.
    Generalising,
    /// A one-to-one or low-loss transformation: a hash or an encoding. Reversible by enumeration.
    Hash,
    /// Any other deterministic transformation.
    Transform,
}

const GENERALISING: &[&str] = &[
    "date_trunc",
    "datetrunc",
    "date_part",
    "datepart",
    "extract",
    "date_bin",
    "floor",
    "ceil",
    "round",
    "trunc",
    "substr",
    "substring",
    "left",
];

const HASHES: &[&str] = &[
    "md5", "sha224", "sha256", "sha384", "sha512", "digest", "encode", "decode", "to_hex",
    "blake2b", "blake2s", "blake3",
];

const TRANSFORMS: &[&str] = &[
    // strings
    "upper",
    "lower",
    "btrim",
    "trim",
    "ltrim",
    "rtrim",
    "concat",
    "concat_ws",
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "bit_length",
    "replace",
    "reverse",
    "lpad",
    "rpad",
    "repeat",
    "split_part",
    "strpos",
    "instr",
    "position",
    "starts_with",
    "ends_with",
    "ascii",
    "chr",
    "initcap",
    "translate",
    "right",
    "overlay",
    "find_in_set",
    "substr_index",
    "substring_index",
    "levenshtein",
    "contains",
    // conditionals
    "coalesce",
    "nullif",
    "nvl",
    "nvl2",
    "ifnull",
    "greatest",
    "least",
    // dates and times
    "to_date",
    "to_timestamp",
    "to_timestamp_seconds",
    "to_timestamp_millis",
    "to_timestamp_micros",
    "to_timestamp_nanos",
    "make_date",
    "now",
    "current_date",
    "current_time",
    "today",
    "to_char",
    "date_format",
    "to_unixtime",
    "from_unixtime",
    // numbers
    "abs",
    "power",
    "pow",
    "sqrt",
    "cbrt",
    "ln",
    "log",
    "log2",
    "log10",
    "exp",
    "signum",
    "pi",
    "gcd",
    "lcm",
    "factorial",
    "degrees",
    "radians",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sinh",
    "cosh",
    "tanh",
    "isnan",
    "iszero",
    "nanvl",
    "cot",
    "mod",
    // types
    "arrow_cast",
    "arrow_typeof",
];

/// Classifies a scalar function by name, or `None` when it is not allowed.
pub fn scalar_class(name: &str) -> Option<ScalarClass> {
    let name = name.to_ascii_lowercase();
    let name = name.as_str();
    if GENERALISING.contains(&name) {
        Some(ScalarClass::Generalising)
    } else if HASHES.contains(&name) {
        Some(ScalarClass::Hash)
    } else if TRANSFORMS.contains(&name) {
        Some(ScalarClass::Transform)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(aggregate_class("COUNT"), Some(AggregateClass::Count));
        assert_eq!(
            aggregate_class("regr_slope"),
            Some(AggregateClass::Statistic)
        );
        assert_eq!(aggregate_class("max"), Some(AggregateClass::ValueRevealing));
        assert_eq!(aggregate_class("my_udaf"), None);
        assert_eq!(window_class("lag"), Some(WindowClass::ValueRevealing));
        assert_eq!(scalar_class("sha256"), Some(ScalarClass::Hash));
        assert_eq!(scalar_class("date_part"), Some(ScalarClass::Generalising));
        assert_eq!(scalar_class("upper"), Some(ScalarClass::Transform));
        assert_eq!(scalar_class("random"), None);
    }
}
