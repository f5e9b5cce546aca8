//! Exact noise for differential privacy, in integer arithmetic.
//!
//! The samplers follow Canonne, Kamath and Steinke, "The Discrete Gaussian for Differential
//! Privacy" (NeurIPS 2020), Algorithms 1-3:
//! - [`NoiseSource::bernoulli_exp`]: Bernoulli(exp(-γ)) for a rational γ ≥ 0 (Algorithm 1);
//! - [`NoiseSource::discrete_laplace`]: the discrete Laplace distribution on ℤ (Algorithm 2);
//! - [`NoiseSource::discrete_gaussian`]: the discrete Gaussian distribution on ℤ (Algorithm 3).
//!
//! Why integers: the textbook Laplace mechanism with floating-point numbers leaks the true value
//! through the low bits of the noisy result (Mironov, "On Significance of the Least Significant
//! Bits for Differential Privacy", CCS 2012), because not every double is reachable from every
//! input and the gaps differ. Here every parameter is a rational number `num/den` of integers,
//! every random decision is a uniform integer compared with an integer (Bernoulli(p/q) is
//! `uniform(0..q) < p`), and the output is an integer, so the distributions are exactly the
//! ones stated. Floating point appears only at the edge of the API: to turn a real scale into a
//! rational ([`rational`], rounding up so the noise is never smaller than asked), and to compute
//! the error bounds a report states ([`laplace_bound`], [`gaussian_bound`]).
//!
//! Randomness is ChaCha20 seeded from the operating system ([`NoiseSource::from_os`]), or from a
//! fixed seed for tests and replay ([`NoiseSource::seeded`]). All loops end with probability 1;
//! the wide intermediate values are `u128`, with the bounds that keep them in range stated where
//! they are computed, so no overflow can make a loop spin.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::{Error, Result};

/// Denominator of the rationals [`rational`] returns: scales are rounded up to multiples of
/// 2⁻²⁰.
pub const SCALE_DENOMINATOR: u64 = 1 << 20;

/// Largest numerator [`rational`] returns: scales (and Gaussian variances) saturate at
/// 2⁵² / 2²⁰ = 2³² ≈ 4.3·10⁹, far beyond any useful noise. Without the cap a huge or infinite
/// input would overflow the integer arithmetic of the samplers.
pub const MAX_SCALE_NUMERATOR: u64 = 1 << 52;

/// Domain of [`NoiseSource::discrete_gaussian`] that is sampled exactly as given (after reducing
/// the fraction): numerator ≤ 2⁶², denominator ≤ 2³². Within it every intermediate of
/// Algorithm 3 fits in a `u128` (see there); other parameters are rounded up onto the
/// 2⁻²⁰ grid first.
const GAUSSIAN_MAX_NUM: u64 = 1 << 62;
const GAUSSIAN_MAX_DEN: u64 = 1 << 32;

/// Below this, `a²` fits in a `u128` and Bernoulli(exp(-a²/D)) is sampled directly.
const SQUARE_DIRECT_BELOW: u128 = 1 << 64;

/// A source of noise: ChaCha20 seeded from the operating system's CSPRNG, or from a fixed seed
/// in tests.
pub struct NoiseSource {
    rng: ChaCha20Rng,
}

impl std::fmt::Debug for NoiseSource {
    /// The generator's state is a secret: whoever knows it can subtract the noise.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoiseSource").finish_non_exhaustive()
    }
}

impl NoiseSource {
    /// Seeded from the OS random source (`getrandom::fill`).
    pub fn from_os() -> Result<Self> {
        let mut seed = <ChaCha20Rng as SeedableRng>::Seed::default();
        getrandom::fill(&mut seed).map_err(|e| {
            Error::Internal(format!("the operating system's random source failed: {e}"))
        })?;
        Ok(NoiseSource {
            rng: ChaCha20Rng::from_seed(seed),
        })
    }

    /// Deterministic, for tests and for replay.
    pub fn seeded(seed: u64) -> Self {
        NoiseSource {
            rng: ChaCha20Rng::seed_from_u64(seed),
        }
    }

    /// Bernoulli(exp(-num/den)) for num ≥ 0, den > 0, exact (CKS Algorithm 1, with the
    /// num/den > 1 reduction). `den = 0` is read as 1 (a caller's bug, but no panic).
    pub fn bernoulli_exp(&mut self, num: u64, den: u64) -> bool {
        self.bernoulli_exp_wide(u128::from(num), u128::from(den.max(1)))
    }

    /// Discrete Laplace with scale t = num/den (P[x] ∝ exp(-|x|/t)), exact (CKS Algorithm 2).
    ///
    /// num, den > 0. `num = 0` gives 0 (the limit t → 0), `den = 0` is read as 1. A result
    /// beyond the range of `i64` saturates at ±`i64::MAX`; that has a probability of
    /// exp(-2⁶³/t), which only matters for scales above 2⁵⁶ or so.
    pub fn discrete_laplace(&mut self, num: u64, den: u64) -> i64 {
        if num == 0 {
            return 0;
        }
        let (negative, magnitude) = self.laplace_magnitude(num, den.max(1));
        let magnitude = i64::try_from(magnitude).unwrap_or(i64::MAX);
        if negative { -magnitude } else { magnitude }
    }

    /// Discrete Gaussian with variance parameter σ² = num/den (P[x] ∝ exp(-x²/(2σ²))), exact
    /// (CKS Algorithm 3).
    ///
    /// num, den > 0. `num = 0` gives 0 (the limit σ → 0), `den = 0` is read as 1. The fraction
    /// is reduced first; if then num > 2⁶² or den > 2³², σ² is rounded up to the next multiple
    /// of 2⁻²⁰ and saturated at 2⁴² (σ ≈ 2·10⁶), so that Algorithm 3's exact rationals fit in
    /// `u128`. The output is the discrete Gaussian conditioned on |x| ≤ `i64::MAX`, which
    /// differs from it by less than exp(-2⁸⁰) in total variation.
    pub fn discrete_gaussian(&mut self, num: u64, den: u64) -> i64 {
        if num == 0 {
            return 0;
        }
        let (n, d) = gaussian_parameters(num, den.max(1));
        // t = ⌊σ⌋ + 1, with ⌊√(n/d)⌋ = ⌊√⌊n/d⌋⌋. n/d ≤ 2⁶², so t ≤ 2³¹ + 1.
        let t = (n / d).isqrt() + 1;
        let (n, d, t_wide) = (u128::from(n), u128::from(d), u128::from(t));
        // Bounds (n ≤ 2⁶², d ≤ 2³², t ≤ √(n/d) + 1):
        //   d·t ≤ √(nd) + d < 2⁴⁸,
        //   d·t² ≤ (√n + √d)² < 2^62.01, so 2·n·d·t² < 2^125.01;
        //   |y| ≤ 2⁶³ - 1 below, so |y|·d·t < 2¹¹¹.
        let dt = d * t_wide;
        // The exponent (|Y| - σ²/t)² / (2σ²) = (|Y|·d·t - n)² / (2·n·d·t²), exactly.
        let exponent_den = 2 * n * (dt * t_wide);
        loop {
            let (negative, y) = self.laplace_magnitude(t, 1);
            // Condition on what an i64 can hold (see above): reject, never saturate.
            let Ok(signed) = i64::try_from(y) else {
                continue;
            };
            let a = (y * dt).abs_diff(n);
            if self.bernoulli_exp_square(a, exponent_den, SQUARE_DIRECT_BELOW) {
                return if negative { -signed } else { signed };
            }
        }
    }

    /// Discrete Laplace for a real scale: converts via [`rational`] and samples.
    pub fn laplace(&mut self, scale: f64) -> i64 {
        let (num, den) = rational(scale);
        self.discrete_laplace(num, den)
    }

    /// Discrete Gaussian for a real σ (the variance σ² converted via [`rational`], see
    /// [`variance_rational`]).
    pub fn gaussian(&mut self, sigma: f64) -> i64 {
        let (num, den) = variance_rational(sigma);
        self.discrete_gaussian(num, den)
    }

    /// Bernoulli(p/q) for p ≤ q, q > 0.
    fn bernoulli_ratio(&mut self, p: u128, q: u128) -> bool {
        // The same uniform draw, narrower (and faster) when q fits in 64 bits.
        match u64::try_from(q) {
            Ok(q) => u128::from(self.rng.random_range(0..q)) < p,
            Err(_) => self.rng.random_range(0..q) < p,
        }
    }

    /// Bernoulli(exp(-num/den)) for den > 0: Algorithm 1.
    fn bernoulli_exp_wide(&mut self, num: u128, den: u128) -> bool {
        let whole = num / den;
        // exp(-γ) = exp(-1)^⌊γ⌋ · exp(-(γ - ⌊γ⌋)). The loop stops at the first failure, which
        // has probability 1 - 1/e each time, however large ⌊γ⌋ is.
        for _ in 0..whole {
            if !self.bernoulli_exp_at_most_one(1, 1) {
                return false;
            }
        }
        self.bernoulli_exp_at_most_one(num % den, den)
    }

    /// Bernoulli(exp(-γ)) for γ = num/den ∈ [0, 1]: draw Bernoulli(γ/k) for k = 1, 2, … until
    /// one fails; the result is whether that k is odd.
    fn bernoulli_exp_at_most_one(&mut self, num: u128, den: u128) -> bool {
        let mut k: u128 = 1;
        loop {
            // Bernoulli(γ/k) = Bernoulli(num/(den·k)); when den·k does not fit, the product of
            // the independent Bernoulli(num/den) and Bernoulli(1/k), which is the same.
            let success = match den.checked_mul(k) {
                Some(q) => self.bernoulli_ratio(num, q),
                None => self.bernoulli_ratio(num, den) && self.bernoulli_ratio(1, k),
            };
            if !success {
                return !k.is_multiple_of(2);
            }
            // P(k reaches j) = γ^(j-1)/(j-1)!: k never gets anywhere near u128::MAX.
            k = k.saturating_add(1);
        }
    }

    /// Bernoulli(exp(-a²/den)) for den > 0, without forming a² when it would not fit: with
    /// a = 2h + r (r ∈ {0, 1}), a² = 4h² + r·(4h + 1), so
    /// exp(-a²/den) = exp(-h²/den)⁴ · exp(-r·(4h + 1)/den), a product of independent draws.
    /// Recursion depth ≤ 64 (a < 2¹²⁸, halved until below `direct_below` ≤ 2⁶⁴).
    fn bernoulli_exp_square(&mut self, a: u128, den: u128, direct_below: u128) -> bool {
        if a < direct_below {
            return self.bernoulli_exp_wide(a * a, den);
        }
        let h = a / 2;
        for _ in 0..4 {
            if !self.bernoulli_exp_square(h, den, direct_below) {
                return false;
            }
        }
        a.is_multiple_of(2) || self.bernoulli_exp_wide(4 * h + 1, den)
    }

    /// Algorithm 2: whether X is negative, and |X|, for X discrete Laplace with scale t/s (here
    /// `num`/`den`), num, den > 0.
    fn laplace_magnitude(&mut self, num: u64, den: u64) -> (bool, u128) {
        loop {
            let u = self.rng.random_range(0..num);
            if !self.bernoulli_exp(u, num) {
                continue;
            }
            let mut v: u128 = 0;
            while self.bernoulli_exp_at_most_one(1, 1) {
                // P(v ≥ j) = e^{-j}: v stays far below 2⁶⁴ (saturation is unreachable).
                v = v.saturating_add(1).min(u128::from(u64::MAX));
            }
            // u < num < 2⁶⁴ and num·v ≤ (2⁶⁴ - 1)², so x ≤ 2¹²⁸ - 2⁶⁴: no overflow.
            let x = u128::from(u) + u128::from(num) * v;
            let y = x / u128::from(den);
            let negative = self.bernoulli_ratio(1, 2);
            if negative && y == 0 {
                continue;
            }
            return (negative, y);
        }
    }
}

/// Reduces σ² = num/den into the exact domain of Algorithm 3 (num, den > 0).
fn gaussian_parameters(num: u64, den: u64) -> (u64, u64) {
    let g = gcd(num, den);
    let (n, d) = (num / g, den / g);
    if n <= GAUSSIAN_MAX_NUM && d <= GAUSSIAN_MAX_DEN {
        return (n, d);
    }
    // Round up onto the 2⁻²⁰ grid: ⌈n·2²⁰/d⌉ (n·2²⁰ < 2⁸⁴), then saturate.
    let scaled = (u128::from(n) * u128::from(SCALE_DENOMINATOR)).div_ceil(u128::from(d));
    let n = u64::try_from(scaled)
        .unwrap_or(GAUSSIAN_MAX_NUM)
        .clamp(1, GAUSSIAN_MAX_NUM);
    (n, SCALE_DENOMINATOR)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A positive finite f64 as num/den with den = 2²⁰ ([`SCALE_DENOMINATOR`]), num rounded UP so
/// the noise is never smaller than asked, both > 0.
///
/// num saturates at 2⁵² ([`MAX_SCALE_NUMERATOR`]), i.e. scales above 2³² ≈ 4.3·10⁹ become
/// 2³²; so does +∞, and NaN (the conservative reading of a garbage scale). Zero, negative
/// numbers and −∞ give the smallest scale, 2⁻²⁰.
pub fn rational(x: f64) -> (u64, u64) {
    if x.is_nan() {
        return (MAX_SCALE_NUMERATOR, SCALE_DENOMINATOR);
    }
    if x <= 0.0 {
        return (1, SCALE_DENOMINATOR);
    }
    // Multiplying by a power of two is exact (or overflows to +∞), so the ceiling is exact.
    let scaled = (x * SCALE_DENOMINATOR as f64).ceil();
    if scaled >= MAX_SCALE_NUMERATOR as f64 {
        return (MAX_SCALE_NUMERATOR, SCALE_DENOMINATOR);
    }
    // 1 ≤ scaled < 2⁵²: an integer the cast keeps exactly.
    ((scaled as u64).max(1), SCALE_DENOMINATOR)
}

/// σ² for a real σ as [`rational`] gives it, rounded up from the exact square (not from the
/// rounded floating-point product). σ ≤ 0 gives the smallest variance, NaN the largest.
pub fn variance_rational(sigma: f64) -> (u64, u64) {
    if sigma.is_nan() {
        return rational(f64::NAN);
    }
    if sigma <= 0.0 {
        return rational(0.0);
    }
    let square = sigma * sigma;
    // The rounding error of the product, exactly (fused multiply-add): positive when the true
    // square is above the rounded one, which then moves up by one unit in the last place.
    let error = sigma.mul_add(sigma, -square);
    rational(if error > 0.0 {
        square.next_up()
    } else {
        square
    })
}

/// Smallest m ≥ 0 such that P(|X| > m) ≤ 1 - confidence for X discrete Laplace with scale t:
/// P(|X| > m) = 2e^{-(m+1)/t} / (1 + e^{-1/t}) = 2 / (e^{(m+1)/t} + e^{m/t}).
///
/// t is the scale [`NoiseSource::laplace`] really uses (`scale` rounded up by [`rational`]).
/// Confidence ≤ 0 gives 0; confidence ≥ 1 (or NaN) gives `u64::MAX`.
pub fn laplace_bound(scale: f64, confidence: f64) -> u64 {
    let Some(alpha) = tail_probability(confidence) else {
        return if confidence <= 0.0 { 0 } else { u64::MAX };
    };
    let (num, den) = rational(scale);
    let t = num as f64 / den as f64;
    let tail = |m: u64| 2.0 / (((m as f64 + 1.0) / t).exp() + (m as f64 / t).exp());
    // e^{m/t}·(e^{1/t} + 1) ≥ 2/α ⟺ m ≥ t·ln(2 / (α·(e^{1/t} + 1))); then correct the
    // rounding of the logarithm against the tail itself.
    let estimate = (t * (2.0 / (alpha * ((1.0 / t).exp() + 1.0))).ln()).ceil();
    let mut m = if estimate > 0.0 { estimate as u64 } else { 0 };
    for _ in 0..8 {
        if m > 0 && tail(m - 1) <= alpha {
            m -= 1;
        } else if tail(m) > alpha {
            m += 1;
        } else {
            break;
        }
    }
    m
}

/// Smallest m ≥ 0 such that P(|X| > m) ≤ 1 - confidence for X discrete Gaussian with parameter
/// σ: the pmf is summed numerically, normalised over |x| ≤ 40σ + 10 (the mass beyond is below
/// e^{-800}, under anything an f64 confidence can express).
///
/// σ is the one [`NoiseSource::gaussian`] really uses (σ² rounded up by
/// [`variance_rational`]). Confidence ≤ 0 gives 0; confidence ≥ 1 (or NaN) gives `u64::MAX`.
pub fn gaussian_bound(sigma: f64, confidence: f64) -> u64 {
    let Some(alpha) = tail_probability(confidence) else {
        return if confidence <= 0.0 { 0 } else { u64::MAX };
    };
    let (num, den) = variance_rational(sigma);
    let variance = num as f64 / den as f64;
    // σ ≤ 2¹⁶, so at most ~2.6 million terms.
    let limit = (40.0 * variance.sqrt()).ceil() as u64 + 10;
    let weight = |x: u64| (-((x as f64) * (x as f64)) / (2.0 * variance)).exp();
    // Small terms first, for accuracy.
    let half: f64 = (1..=limit).rev().map(weight).sum();
    let total = 1.0 + 2.0 * half;
    // Walk down from the limit: `tail` = Σ_{m < x ≤ limit} weight(x). P(|X| > m) falls with m,
    // so the answer is one above the largest m where it exceeds α.
    let mut tail = 0.0;
    let mut m = limit;
    loop {
        if 2.0 * tail / total > alpha {
            return m + 1;
        }
        if m == 0 {
            return 0;
        }
        tail += weight(m);
        m -= 1;
    }
}

/// 1 - confidence when that is in (0, 1); `None` otherwise.
fn tail_probability(confidence: f64) -> Option<f64> {
    (confidence > 0.0 && confidence < 1.0).then_some(1.0 - confidence)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        reason = "tests fail by panicking"
    )]

    use super::*;

    const N: usize = 200_000;

    /// |observed - expected| ≤ 4 standard errors.
    fn within(what: &str, observed: f64, expected: f64, standard_error: f64) {
        assert!(
            (observed - expected).abs() <= 4.0 * standard_error,
            "{what}: observed {observed}, expected {expected} ± 4·{standard_error}"
        );
    }

    /// Frequency of `value` among `samples` against probability `p`.
    fn check_pmf(what: &str, samples: &[i64], value: i64, p: f64) {
        let count = samples.iter().filter(|&&x| x == value).count();
        let n = samples.len() as f64;
        within(
            &format!("{what}: P[{value}]"),
            count as f64 / n,
            p,
            (p * (1.0 - p) / n).sqrt(),
        );
    }

    /// Mean 0 and variance of `samples` against a symmetric pmf on ℤ, summed over |x| ≤ limit.
    fn check_moments(what: &str, samples: &[i64], pmf: impl Fn(i64) -> f64, limit: i64) -> f64 {
        let (mut variance, mut fourth) = (0.0, 0.0);
        for x in -limit..=limit {
            let (p, x) = (pmf(x), x as f64);
            variance += p * x * x;
            fourth += p * x * x * x * x;
        }
        let n = samples.len() as f64;
        let mean = samples.iter().map(|&x| x as f64).sum::<f64>() / n;
        within(&format!("{what}: mean"), mean, 0.0, (variance / n).sqrt());
        // Second moment about the true mean 0: its standard error is √((μ₄ - σ⁴)/n).
        let second = samples.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / n;
        within(
            &format!("{what}: variance"),
            second,
            variance,
            ((fourth - variance * variance) / n).sqrt(),
        );
        variance
    }

    #[test]
    fn bernoulli_exp_matches_exp() {
        let mut src = NoiseSource::seeded(1);
        assert!((0..1000).all(|_| src.bernoulli_exp(0, 1)));
        assert!((0..1000).all(|_| src.bernoulli_exp(0, u64::MAX)));
        for (num, den) in [(1, 1000), (1, 2), (1, 1), (3, 2), (7, 3), (5, 1), (10, 7)] {
            let p = (-(num as f64) / den as f64).exp();
            let hits = (0..N).filter(|_| src.bernoulli_exp(num, den)).count();
            within(
                &format!("exp(-{num}/{den})"),
                hits as f64 / N as f64,
                p,
                (p * (1.0 - p) / N as f64).sqrt(),
            );
        }
    }

    #[test]
    fn bernoulli_exp_wide_paths_match_exp() {
        let mut src = NoiseSource::seeded(2);
        // Slower paths, fewer draws.
        const N: usize = 50_000;
        // den·k overflows u128 from k = 2 on: the split Bernoulli(γ)·Bernoulli(1/k) path.
        let p = (-0.5f64).exp();
        let hits = (0..N)
            .filter(|_| src.bernoulli_exp_wide(1 << 126, 1 << 127))
            .count();
        within(
            "split",
            hits as f64 / N as f64,
            p,
            (p * (1.0 - p) / N as f64).sqrt(),
        );
        // The halving of a² with a small threshold: exp(-49/40) and exp(-36/40).
        for a in [7u128, 6] {
            let p = (-((a * a) as f64) / 40.0).exp();
            let hits = (0..N)
                .filter(|_| src.bernoulli_exp_square(a, 40, 2))
                .count();
            within(
                &format!("square a={a}"),
                hits as f64 / N as f64,
                p,
                (p * (1.0 - p) / N as f64).sqrt(),
            );
        }
        // Huge a: exponent ≥ 2¹²⁸/2¹²⁵, so (almost) always false, and no overflow.
        assert!(!(0..100).any(|_| src.bernoulli_exp_square(u128::MAX / 2, 1 << 125, 1 << 64)));
    }

    #[test]
    fn discrete_laplace_matches_pmf() {
        let mut src = NoiseSource::seeded(3);
        for (num, den) in [(1u64, 2u64), (1, 1), (37, 10), (20, 1)] {
            let t = num as f64 / den as f64;
            let q = (-1.0 / t).exp();
            let pmf = |x: i64| (1.0 - q) / (1.0 + q) * q.powi(x.unsigned_abs() as i32);
            let samples: Vec<i64> = (0..N).map(|_| src.discrete_laplace(num, den)).collect();
            let what = format!("Laplace t={t}");
            let limit = (60.0 * t) as i64 + 60;
            let variance = check_moments(&what, &samples, pmf, limit);
            let exact = 2.0 * q / (1.0 - q).powi(2);
            assert!(
                (variance - exact).abs() <= 1e-9 * exact,
                "{what}: {variance} vs {exact}"
            );
            for x in -2..=2 {
                check_pmf(&what, &samples, x, pmf(x));
            }
        }
    }

    #[test]
    fn discrete_gaussian_matches_pmf() {
        let mut src = NoiseSource::seeded(4);
        for (num, den) in [(16u64, 25u64), (4, 1), (100, 1)] {
            let variance = num as f64 / den as f64;
            let sigma = variance.sqrt();
            let limit = (40.0 * sigma) as i64 + 10;
            let total: f64 = (-limit..=limit)
                .map(|x| (-((x * x) as f64) / (2.0 * variance)).exp())
                .sum();
            let pmf = |x: i64| (-((x * x) as f64) / (2.0 * variance)).exp() / total;
            let samples: Vec<i64> = (0..N).map(|_| src.discrete_gaussian(num, den)).collect();
            let what = format!("Gaussian σ={sigma}");
            let exact = check_moments(&what, &samples, pmf, limit);
            if sigma >= 2.0 {
                assert!(
                    (exact - variance).abs() <= 1e-3 * variance,
                    "{what}: {exact}"
                );
            }
            for x in -1..=1 {
                check_pmf(&what, &samples, x, pmf(x));
            }
        }
    }

    #[test]
    fn extreme_parameters_terminate() {
        let mut src = NoiseSource::seeded(5);
        assert!(!src.bernoulli_exp(u64::MAX, 1));
        src.bernoulli_exp(u64::MAX, u64::MAX);
        src.bernoulli_exp(1, 0);
        for (num, den) in [
            (u64::MAX, 1),
            (1, u64::MAX),
            (u64::MAX, u64::MAX - 1),
            (1 << 62, 1),
            (u64::MAX, 3),
            (0, 1),
            (1, 0),
        ] {
            for _ in 0..20 {
                src.discrete_laplace(num, den);
                src.discrete_gaussian(num, den);
            }
        }
        assert_eq!(src.discrete_gaussian(1, u64::MAX), 0);
        for x in [
            f64::NAN,
            f64::INFINITY,
            -1.0,
            0.0,
            1e-300,
            1e300,
            f64::MIN_POSITIVE,
        ] {
            src.laplace(x);
            src.gaussian(x);
        }
    }

    #[test]
    fn gaussian_parameters_round_up() {
        assert_eq!(gaussian_parameters(100, 4), (25, 1));
        assert_eq!(gaussian_parameters(1, 1 << 40), (1, SCALE_DENOMINATOR));
        assert_eq!(gaussian_parameters(3 << 40, 1 << 40), (3, 1));
        assert_eq!(
            gaussian_parameters(u64::MAX, 1),
            (GAUSSIAN_MAX_NUM, SCALE_DENOMINATOR)
        );
        // (2⁶² + 1)/2³³ → ⌈(2⁶² + 1)·2²⁰/2³³⌉ = 2⁴⁹ + 1
        let (n, d) = gaussian_parameters((1 << 62) + 1, 1 << 33);
        assert_eq!(d, SCALE_DENOMINATOR);
        let exact = (1u128 << 49) + 1;
        assert_eq!(u128::from(n), exact);
    }

    #[test]
    fn same_seed_same_sequence() {
        let draw = |src: &mut NoiseSource| {
            (0..200)
                .map(|i| match i % 3 {
                    0 => src.laplace(2.5),
                    1 => src.gaussian(3.0),
                    _ => i64::from(src.bernoulli_exp(1, 3)),
                })
                .collect::<Vec<_>>()
        };
        let a = draw(&mut NoiseSource::seeded(42));
        let b = draw(&mut NoiseSource::seeded(42));
        let c = draw(&mut NoiseSource::seeded(43));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn os_sources_differ() {
        let mut a = NoiseSource::from_os().unwrap();
        let mut b = NoiseSource::from_os().unwrap();
        let xs: Vec<i64> = (0..8).map(|_| a.laplace(1000.0)).collect();
        let ys: Vec<i64> = (0..8).map(|_| b.laplace(1000.0)).collect();
        assert_ne!(xs, ys);
        assert_eq!(format!("{a:?}"), "NoiseSource { .. }");
    }

    #[test]
    fn rational_rounds_up() {
        let d = SCALE_DENOMINATOR;
        assert_eq!(rational(1.0), (d, d));
        assert_eq!(rational(0.5), (d / 2, d));
        assert_eq!(rational(3.7), ((3.7 * d as f64).ceil() as u64, d));
        let (n, _) = rational(3.7);
        assert!(n as f64 / d as f64 >= 3.7 && (n - 1) as f64 / (d as f64) < 3.7);
        assert_eq!(rational(1e-9), (1, d));
        assert_eq!(rational(1.0 + 1e-12), (d + 1, d));
        assert_eq!(rational(0.0), (1, d));
        assert_eq!(rational(-3.0), (1, d));
        assert_eq!(rational(f64::INFINITY), (MAX_SCALE_NUMERATOR, d));
        assert_eq!(rational(f64::NAN), (MAX_SCALE_NUMERATOR, d));
        assert_eq!(rational(1e30), (MAX_SCALE_NUMERATOR, d));
        // Variances: exact squares stay, inexact ones round up from the true square.
        assert_eq!(variance_rational(2.0), (4 * d, d));
        assert_eq!(variance_rational(0.5), (d / 4, d));
        let (n, _) = variance_rational(0.1);
        assert_eq!(n, 10_486); // 0.01·2²⁰ = 10485.76
        assert_eq!(variance_rational(-1.0), (1, d));
    }

    #[test]
    fn laplace_bound_hand_computed() {
        // t = 1: P(|X| > m) = 1.4621·e^{-(m+1)} = 0.538, 0.198, 0.0728, 0.0268, 0.00985 …
        assert_eq!(laplace_bound(1.0, 0.4), 0);
        assert_eq!(laplace_bound(1.0, 0.5), 1);
        assert_eq!(laplace_bound(1.0, 0.95), 3);
        assert_eq!(laplace_bound(1.0, 0.99), 4);
        // t = 10: 1.04996·e^{-(m+1)/10} ≤ 0.05 ⟺ m + 1 ≥ 30.445.
        assert_eq!(laplace_bound(10.0, 0.95), 30);
        assert_eq!(laplace_bound(1.0, 0.0), 0);
        assert_eq!(laplace_bound(1.0, 1.0), u64::MAX);
        assert_eq!(laplace_bound(1e-9, 0.95), 0);
        let scales = [1e-3, 0.1, 0.5, 1.0, 2.0, 3.7, 10.0, 100.0, 1e4, 1e9];
        for confidence in [0.5, 0.95, 0.99, 0.999_999] {
            let bounds: Vec<u64> = scales
                .iter()
                .map(|&s| laplace_bound(s, confidence))
                .collect();
            assert!(bounds.windows(2).all(|w| w[0] <= w[1]), "{bounds:?}");
        }
    }

    #[test]
    fn gaussian_bound_hand_computed() {
        // σ = 1: Z = 2.50663; P(|X| > m) = 0.601, 0.1171, 0.00913, 0.000271 for m = 0..3.
        assert_eq!(gaussian_bound(1.0, 0.3), 0);
        assert_eq!(gaussian_bound(1.0, 0.88), 1);
        assert_eq!(gaussian_bound(1.0, 0.95), 2);
        assert_eq!(gaussian_bound(1.0, 0.99), 2);
        assert_eq!(gaussian_bound(1.0, 0.995), 3);
        assert_eq!(gaussian_bound(1.0, 0.0), 0);
        assert_eq!(gaussian_bound(1.0, 1.0), u64::MAX);
        assert_eq!(gaussian_bound(1e-6, 0.999), 0);
        // Large σ: close to the normal's 1.96σ.
        let m = gaussian_bound(1000.0, 0.95);
        assert!((1955..=1961).contains(&m), "{m}");
        let sigmas = [1e-3, 0.1, 0.5, 0.8, 1.0, 2.0, 5.0, 10.0, 100.0, 1e4];
        for confidence in [0.5, 0.95, 0.99, 0.999_999] {
            let bounds: Vec<u64> = sigmas
                .iter()
                .map(|&s| gaussian_bound(s, confidence))
                .collect();
            assert!(bounds.windows(2).all(|w| w[0] <= w[1]), "{bounds:?}");
        }
    }
}
