//! The rows themselves, each a pure function of `(seed, index)`.
//!
//! # Citizen IDs are unique by construction
//!
//! The population is split into cells `(district, age in whole years at REFERENCE_DATE, gender)`
//! whose sizes are fixed up front from the weights (largest remainder, so they sum to `rows`). A
//! keyed permutation `π` of `0..rows` maps resident `i` to a rank `r = π(i)`; the cell is the one
//! whose cumulative range holds `r`, and `o = r - start(cell)` is the resident's offset in it. The
//! offset becomes (birth day, sequence number) by
//!
//! ```text
//! day = ((o mod D) * 223 + h1(cell)) mod D            D = days in the age window (365 or 366)
//! seq = 2 * ((o div D + h2(cell, day)) mod 499) + 1    (+1 more for women: odd male, even female)
//! ```
//!
//! 223 is prime and coprime to 365 and 366, so `o mod D ↦ day` is a bijection; for one day the
//! offsets differ in `o div D < 499`, so the sequence numbers differ. Different cells differ in
//! area code, in the parity of the sequence, or in their (disjoint) birth-date windows. Hence
//! `i ↦ citizen_id` is injective, in O(1) memory per row and 1616 counters overall, and any
//! resident can be recomputed from `(seed, i)`. The only limit is a cell's capacity of
//! `499 * D ≈ 182 000` people, checked when the cells are laid out (about 70 million residents).

use chrono::{Datelike, Months, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::perm::{Permutation, row_seed, splitmix64};
use crate::vocab::{
    COMPANY_FORMS, GIANT_INDUSTRIES, GIVEN, INDUSTRIES, MOBILE_PREFIXES, SURNAMES, WORD_FIRST,
    WORD_SECOND,
};
use crate::{DISTRICTS, Error, REFERENCE_DATE, Result};
use cleanroom_policy::ident::{USCC_CHARSET, citizen_id_check_char, uscc_check_char};

/// Ages 0..=MAX_AGE at the reference date.
pub(crate) const MAX_AGE: u32 = 100;
const AGES: usize = MAX_AGE as usize + 1;
const CELLS: usize = DISTRICTS.len() * AGES * 2;
/// Sequence numbers per (district, birth date, gender): 001-997 odd, 002-998 even.
const SEQS_PER_DAY: u64 = 499;
/// Multiplier of the day bijection: prime, coprime to 365 and to 366.
const DAY_STEP: u64 = 223;

/// The first four districts are the city's urban districts (市辖区), the others counties.
const URBAN_DISTRICTS: usize = 4;
/// Typical second-hand housing prices in CNY per m², by district.
const PRICE_PER_M2: [f64; 8] = [
    5200.0, 3600.0, 3400.0, 3800.0, 3000.0, 2600.0, 3200.0, 2400.0,
];

/// Social insurance in its current form dates from the early 1990s; nobody's record starts before.
const INSURANCE_FLOOR: NaiveDate = match NaiveDate::from_ymd_opt(1992, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};
const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// Table tags mixed into the per-row seeds, so that the tables draw independent streams.
const TAG_RESIDENT: u64 = 1;
const TAG_INSURANCE: u64 = 2;
const TAG_ENTERPRISE: u64 = 3;
const TAG_ESTATE: u64 = 4;
const TAG_CELLS: u64 = 5;
const TAG_PHONE: u64 = 6;
const TAG_RANK: u64 = 7;

/// Days since 1970-01-01, as Arrow's `Date32`.
pub(crate) fn date32(d: NaiveDate) -> i32 {
    (d - EPOCH).num_days() as i32
}

/// Whole years between `birth` and `at`.
#[cfg(test)]
pub(crate) fn age_at(birth: NaiveDate, at: NaiveDate) -> u32 {
    let mut years = at.year() - birth.year();
    if (at.month(), at.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

fn add_months(d: NaiveDate, months: u32) -> NaiveDate {
    d.checked_add_months(Months::new(months)).unwrap_or(d)
}

/// Whole months from `a` to `b` (0 when `b <= a`).
fn months_between(a: NaiveDate, b: NaiveDate) -> u32 {
    let mut m = (b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32;
    if b.day() < a.day() {
        m -= 1;
    }
    m.max(0) as u32
}

/// Relative population by age: Shuangyashan is an old coal city, so the 50-70 year olds are the
/// largest groups and children the smallest (piecewise linear between anchors).
fn age_weight(age: u32) -> f64 {
    const ANCHORS: [(u32, f64); 12] = [
        (0, 0.45),
        (10, 0.6),
        (20, 0.75),
        (30, 0.95),
        (40, 1.15),
        (50, 1.65),
        (57, 1.8),
        (65, 1.45),
        (75, 0.8),
        (85, 0.3),
        (95, 0.05),
        (100, 0.01),
    ];
    for w in ANCHORS.windows(2) {
        let ((a0, w0), (a1, w1)) = (w[0], w[1]);
        if age <= a1 {
            let t = f64::from(age - a0) / f64::from(a1 - a0);
            return w0 + (w1 - w0) * t;
        }
    }
    0.01
}

/// Share of women by age: even until 50, then rising (men die younger).
fn female_share(age: u32) -> f64 {
    if age < 50 {
        0.49
    } else {
        (0.49 + f64::from(age - 50) * 0.0035).min(0.63)
    }
}

/// Picks an index by integer weights.
fn pick_weighted(rng: &mut ChaCha8Rng, weights: impl Iterator<Item = u32> + Clone) -> usize {
    let total: u32 = weights.clone().sum();
    let mut x = rng.random_range(0..total.max(1));
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        if x < w {
            return i;
        }
        x -= w;
        last = i;
    }
    last
}

fn pick_district(rng: &mut ChaCha8Rng) -> usize {
    pick_weighted(rng, DISTRICTS.iter().map(|d| (d.2 * 1000.0) as u32))
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A Pareto draw with minimum 1 and tail index `alpha`.
fn pareto(rng: &mut ChaCha8Rng, alpha: f64) -> f64 {
    let u: f64 = 1.0 - rng.random::<f64>();
    u.powf(-1.0 / alpha)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A resident's identity: what the other tables need to know about them.
#[derive(Clone, Debug)]
pub(crate) struct Person {
    pub(crate) citizen_id: [u8; 18],
    pub(crate) district: usize,
    pub(crate) birth: NaiveDate,
    pub(crate) female: bool,
    pub(crate) age: u32,
}

impl Person {
    pub(crate) fn id_str(&self) -> &str {
        // INVARIANT: the ID is built from ASCII digits and `X` only.
        std::str::from_utf8(&self.citizen_id).unwrap_or("")
    }
}

/// One row of `residents`.
#[derive(Clone, Debug)]
pub(crate) struct Resident {
    pub(crate) person: Person,
    pub(crate) name: String,
    pub(crate) phone: String,
    pub(crate) urban_hukou: bool,
    pub(crate) marital_status: &'static str,
}

/// The population layout for `rows` residents and a seed. Holds 1616 cell boundaries and two
/// permutation keys: constant memory whatever the row count.
#[derive(Debug)]
pub(crate) struct Population {
    seed: u64,
    rows: u64,
    /// `cum[k]..cum[k + 1]` are the ranks of cell `k = (district * AGES + age) * 2 + female`.
    cum: Vec<u64>,
    rank: Permutation,
    phone: Permutation,
}

/// Age window of people aged `age` at the reference date: first birth date and its length in days.
fn age_window(age: u32) -> (NaiveDate, u64) {
    let end = REFERENCE_DATE
        .checked_sub_months(Months::new(12 * age))
        .unwrap_or(REFERENCE_DATE);
    let start = REFERENCE_DATE
        .checked_sub_months(Months::new(12 * (age + 1)))
        .and_then(|d| d.succ_opt())
        .unwrap_or(end);
    (start, (end - start).num_days() as u64 + 1)
}

impl Population {
    pub(crate) fn new(rows: u64, seed: u64) -> Result<Self> {
        let mut weights = Vec::with_capacity(CELLS);
        for district in &DISTRICTS {
            for age in 0..=MAX_AGE {
                let w = district.2 * age_weight(age);
                let f = female_share(age);
                weights.push(w * (1.0 - f));
                weights.push(w * f);
            }
        }
        let total: f64 = weights.iter().sum();
        // Largest remainder: floor each quota, then hand the leftover rows to the largest
        // fractional parts (ties by cell index), so that the sizes sum to `rows` exactly.
        let quotas: Vec<f64> = weights.iter().map(|w| rows as f64 * w / total).collect();
        let mut sizes: Vec<u64> = quotas.iter().map(|q| q.floor() as u64).collect();
        let assigned: u64 = sizes.iter().sum();
        let mut order: Vec<usize> = (0..CELLS).collect();
        order.sort_by(|&a, &b| {
            let fa = quotas[a] - quotas[a].floor();
            let fb = quotas[b] - quotas[b].floor();
            fb.total_cmp(&fa).then(a.cmp(&b))
        });
        for &k in order
            .iter()
            .cycle()
            .take(rows.saturating_sub(assigned) as usize)
        {
            sizes[k] += 1;
        }
        let mut cum = Vec::with_capacity(CELLS + 1);
        cum.push(0u64);
        for (k, size) in sizes.iter().enumerate() {
            let age = ((k / 2) % AGES) as u32;
            let (_, days) = age_window(age);
            if *size > SEQS_PER_DAY * days {
                return Err(Error::InvalidInput(format!(
                    "`rows` is too large: a cell would need more than {} sequence numbers",
                    SEQS_PER_DAY * days
                )));
            }
            let last = cum.last().copied().unwrap_or(0);
            cum.push(last + size);
        }
        Ok(Self {
            seed,
            rows,
            cum,
            rank: Permutation::new(rows, row_seed(seed, TAG_RANK, 0)),
            // 10^8 eight-digit suffixes: unique for fewer than 10^8 residents (see `MAX_ROWS`).
            phone: Permutation::new(100_000_000, row_seed(seed, TAG_PHONE, 0)),
        })
    }

    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// The identity of resident `i` (see the module docs for why IDs are unique).
    pub(crate) fn person(&self, i: u64) -> Person {
        let r = self.rank.apply(i);
        let k = self.cum[1..].partition_point(|&c| c <= r);
        let o = r - self.cum[k];
        let female = k % 2 == 1;
        let age = ((k / 2) % AGES) as u32;
        let district = k / 2 / AGES;
        let (start, days) = age_window(age);
        let h1 = row_seed(self.seed, TAG_CELLS, k as u64);
        let day = ((o % days) * DAY_STEP + h1 % days) % days;
        let h2 = splitmix64(h1 ^ day);
        let seq = 2 * ((o / days + h2 % SEQS_PER_DAY) % SEQS_PER_DAY) + 1 + u64::from(female);
        let birth = start
            .checked_add_days(chrono::Days::new(day))
            .unwrap_or(start);

        let mut id = [b'0'; 18];
        id[..6].copy_from_slice(DISTRICTS[district].1.as_bytes());
        let ymd = birth.year() as u32 * 10_000 + birth.month() * 100 + birth.day();
        write_digits(&mut id[6..14], u64::from(ymd));
        write_digits(&mut id[14..17], seq);
        id[17] = citizen_id_check_char(&id[..17]).unwrap_or(b'0');
        Person {
            citizen_id: id,
            district,
            birth,
            female,
            age,
        }
    }

    /// Resident `i` in full.
    pub(crate) fn resident(&self, i: u64) -> Resident {
        let person = self.person(i);
        let mut rng = ChaCha8Rng::seed_from_u64(row_seed(self.seed, TAG_RESIDENT, i));
        let name = person_name(&mut rng, &person);
        let prefix = MOBILE_PREFIXES[rng.random_range(0..MOBILE_PREFIXES.len())];
        let phone = format!("{prefix}{:08}", self.phone.apply(i % 100_000_000));
        let urban_share = if person.district < URBAN_DISTRICTS {
            0.88
        } else {
            0.38
        };
        let urban_hukou = rng.random::<f64>() < urban_share;
        let marital_status = marital_status(&mut rng, person.age, person.female);
        Resident {
            person,
            name,
            phone,
            urban_hukou,
            marital_status,
        }
    }
}

fn write_digits(out: &mut [u8], mut v: u64) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

fn person_name(rng: &mut ChaCha8Rng, p: &Person) -> String {
    let surname = SURNAMES[pick_weighted(rng, SURNAMES.iter().map(|s| s.1))].0;
    let year = p.birth.year();
    let (era, single_share) = if year < 1970 {
        (0, 0.35)
    } else if year < 2000 {
        (1, 0.3)
    } else {
        (2, 0.12)
    };
    let chars = GIVEN[era][usize::from(p.female)];
    let mut name = String::with_capacity(9);
    name.push_str(surname);
    name.push_str(chars[rng.random_range(0..chars.len())]);
    if rng.random::<f64>() >= single_share {
        name.push_str(chars[rng.random_range(0..chars.len())]);
    }
    name
}

/// Marital status by age: nobody under the legal age (20 for women, 22 for men) is married;
/// divorce peaks in middle age, widowhood rises with age (earlier for women).
fn marital_status(rng: &mut ChaCha8Rng, age: u32, female: bool) -> &'static str {
    let legal = if female { 20 } else { 22 };
    if age < legal {
        return "未婚";
    }
    // (未婚, 已婚, 离异, 丧偶) in per mille.
    let (single, married, divorced, widowed): (u32, u32, u32, u32) = match age {
        0..=24 => (800, 190, 10, 0),
        25..=29 => (450, 515, 33, 2),
        30..=39 => (120, 800, 72, 8),
        40..=49 => (50, 830, 100, 20),
        50..=59 => (30, 820, 100, 50),
        60..=69 => (20, 780, 80, 120),
        70..=79 => (10, 650, 50, 290),
        _ => (10, 400, 30, 560),
    };
    let widowed = if female { widowed * 3 / 2 } else { widowed };
    let i = pick_weighted(rng, [single, married, divorced, widowed].into_iter());
    ["未婚", "已婚", "离异", "丧偶"][i]
}

/// Number of enterprises for a population.
pub(crate) fn enterprise_count(rows: u64) -> u64 {
    (rows / 20).max(50)
}

/// One row of `enterprises`.
#[derive(Clone, Debug)]
pub(crate) struct Enterprise {
    pub(crate) uscc: [u8; 18],
    pub(crate) name: String,
    pub(crate) industry: &'static str,
    pub(crate) district: usize,
    pub(crate) registered_capital: f64,
    pub(crate) employee_count: i32,
    pub(crate) founded_on: NaiveDate,
}

impl Enterprise {
    pub(crate) fn uscc_str(&self) -> &str {
        // INVARIANT: built from USCC_CHARSET, which is ASCII.
        std::str::from_utf8(&self.uscc).unwrap_or("")
    }
}

/// Share of the social-insurance employer picks that land on enterprise `j` (a Zipf law with
/// exponent 1, see [`Employers::pick`]).
fn employer_share(j: u64, count: u64) -> f64 {
    ((j as f64 + 2.0) / (j as f64 + 1.0)).ln() / (count as f64 + 1.0).ln()
}

/// 31^9: the number of nine-character organisation codes.
const ORG_CODES: u64 = 26_439_622_160_671;
/// Multiplier of the organisation-code bijection: about 31^9 / φ, so that consecutive
/// enterprises get unrelated-looking codes, and not a multiple of 31, so coprime to 31^9.
const ORG_STEP: u64 = 16_340_585_143_680;

/// The trade name, industry word and form of enterprise `j`'s name.
///
/// INVARIANT: names are unique. `j` maps bijectively to `(word, n)` with `word = (j * 617 + c) mod
/// 1600` (617 is coprime to 1600) and `n = j div 1600`; the word is the two characters after
/// 双鸭山市, and for equal words the part after them differs because the forms, indexed by `n`,
/// differ and cannot be confused with an industry word (see `vocab::Industry`).
fn enterprise_name(seed: u64, j: u64, industry_word: &str) -> String {
    let words = (WORD_FIRST.len() * WORD_SECOND.len()) as u64;
    let w = (j.wrapping_mul(617) + seed % words) % words;
    let n = j / words;
    let (a, b) = (
        WORD_FIRST[(w / WORD_SECOND.len() as u64) as usize],
        WORD_SECOND[(w % WORD_SECOND.len() as u64) as usize],
    );
    match COMPANY_FORMS.get(n as usize) {
        Some(form) => format!("双鸭山市{a}{b}{industry_word}{form}"),
        None => format!(
            "双鸭山市{a}{b}{industry_word}有限公司第{}分公司",
            n - COMPANY_FORMS.len() as u64 + 1
        ),
    }
}

/// Enterprise `j` of `count` (index 0 is the largest employer), for a population of `rows`.
pub(crate) fn enterprise(seed: u64, j: u64, count: u64, rows: u64) -> Enterprise {
    let mut rng = ChaCha8Rng::seed_from_u64(row_seed(seed, TAG_ENTERPRISE, j));
    let giant = GIANT_INDUSTRIES.get(j as usize).copied();
    let industry = match giant {
        Some(ind) => ind,
        None => pick_weighted(&mut rng, INDUSTRIES.iter().map(|i| i.weight)),
    };
    let district = if giant.is_some() {
        // The mining groups and plants sit in the urban districts of the coal field.
        rng.random_range(0..URBAN_DISTRICTS)
    } else {
        pick_district(&mut rng)
    };
    let ind = &INDUSTRIES[industry];
    let word = ind.words[rng.random_range(0..ind.words.len())];
    let name = enterprise_name(seed, j, word);

    // Organisation code: an affine bijection of `j` modulo 31^9, written in base 31.
    let mut v = (u128::from(j) * u128::from(ORG_STEP) + u128::from(seed % ORG_CODES))
        % u128::from(ORG_CODES);
    let mut uscc = [b'0'; 18];
    uscc[0] = b'9';
    uscc[1] = b'1';
    uscc[2..8].copy_from_slice(DISTRICTS[district].1.as_bytes());
    for c in uscc[8..17].iter_mut().rev() {
        *c = USCC_CHARSET[(v % 31) as usize];
        v /= 31;
    }
    uscc[17] = uscc_check_char(&uscc[..17]).unwrap_or(b'0');

    // Registered capital in CNY: Pareto in units of 10 000 (the register's unit), boosted for the
    // largest employers, so that a few giants dominate their district.
    let boost = if j < 20 {
        1.0 + 5000.0 / (j as f64 + 1.0)
    } else {
        1.0
    };
    let wan = (10.0 * pareto(&mut rng, 1.05).min(1e5) * boost)
        .round()
        .max(1.0);
    let registered_capital = wan * 10_000.0;

    // Employees: about the share of insured workers that the Zipf pick sends here.
    let expected = rows as f64 * 0.4 * employer_share(j, count);
    let noise = (0.25 * normal(&mut rng)).exp();
    let employee_count = ((expected * noise).round() as i32).max(1) + rng.random_range(0..3);

    let year = if giant.is_some() {
        rng.random_range(1950..=1975)
    } else {
        match rng.random_range(0..100) {
            0..=4 => rng.random_range(1950..=1979),
            5..=19 => rng.random_range(1980..=1999),
            _ => rng.random_range(2000..=REFERENCE_DATE.year()),
        }
    };
    let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(EPOCH);
    let founded_on = first
        .checked_add_days(chrono::Days::new(rng.random_range(0..365)))
        .unwrap_or(first)
        .min(REFERENCE_DATE);
    Enterprise {
        uscc,
        name,
        industry: ind.section,
        district,
        registered_capital,
        employee_count,
        founded_on,
    }
}

/// What social insurance needs of each enterprise: 24 bytes each, about 1.2 MB per million
/// residents.
#[derive(Debug)]
pub(crate) struct Employers {
    uscc: Vec<[u8; 18]>,
    founded_on: Vec<NaiveDate>,
}

impl Employers {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self {
            uscc: Vec::with_capacity(n),
            founded_on: Vec::with_capacity(n),
        }
    }

    pub(crate) fn push(&mut self, e: &Enterprise) {
        self.uscc.push(e.uscc);
        self.founded_on.push(e.founded_on);
    }

    /// A Zipf pick (exponent 1: `P(j) ∝ ln((j+2)/(j+1))`, big employers dominate) of an employer
    /// that already existed on `on`. Falls back to the largest employer, founded before 1976.
    fn pick(&self, rng: &mut ChaCha8Rng, on: NaiveDate) -> usize {
        let n = self.uscc.len();
        for _ in 0..8 {
            let u: f64 = rng.random();
            let j = (((n as f64 + 1.0).ln() * u).exp() as usize)
                .saturating_sub(1)
                .min(n.saturating_sub(1));
            if self.founded_on.get(j).is_some_and(|f| *f <= on) {
                return j;
            }
        }
        0
    }

    pub(crate) fn uscc_str(&self, j: usize) -> &str {
        self.uscc
            .get(j)
            .and_then(|u| std::str::from_utf8(u).ok())
            .unwrap_or("")
    }
}

/// One row of `social_insurance`.
#[derive(Clone, Debug)]
pub(crate) struct Insurance {
    pub(crate) employer: usize,
    pub(crate) monthly_wage: f64,
    pub(crate) contribution_months: i32,
    pub(crate) pension_status: &'static str,
    pub(crate) insured_since: NaiveDate,
}

/// Insured are adults of working or pension age.
pub(crate) const INSURED_AGES: std::ops::RangeInclusive<u32> = 18..=75;

/// The social insurance rows of a person (none, or one to three spells of employment, the
/// latest last). Pure in `(seed, i)`.
pub(crate) fn insurance(
    seed: u64,
    i: u64,
    p: &Person,
    employers: &Employers,
    out: &mut Vec<Insurance>,
) {
    out.clear();
    if !INSURED_AGES.contains(&p.age) {
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(row_seed(seed, TAG_INSURANCE, i));
    if rng.random::<f64>() >= 0.70 {
        return;
    }
    let eighteen = add_months(p.birth, 18 * 12);
    let room = months_between(eighteen, REFERENCE_DATE);
    let mut start = add_months(eighteen, rng.random_range(0..=room.min(84)));
    if start < INSURANCE_FLOOR {
        start = INSURANCE_FLOOR
            .checked_add_days(chrono::Days::new(rng.random_range(0..1096)))
            .unwrap_or(INSURANCE_FLOOR);
    }
    let retirement_age = if p.female { 55 } else { 60 };
    let retired = p.age >= retirement_age;
    let end = if retired {
        add_months(p.birth, retirement_age * 12).max(start)
    } else {
        REFERENCE_DATE
    };
    let total = months_between(start, end).max(1);
    let wanted = match rng.random_range(0..100) {
        0..=59 => 1,
        60..=87 => 2,
        _ => 3,
    }
    .min(total);

    // Cut points between spells: distinct months in `1..total`, sorted; `cuts[spells] = total`.
    let mut cuts = [0u32; 4];
    let mut spells = 1usize;
    for _ in 1..wanted {
        let c = rng.random_range(1..total);
        if !cuts[1..spells].contains(&c) {
            cuts[spells] = c;
            spells += 1;
        }
    }
    cuts[1..spells].sort_unstable();
    cuts[spells] = total;

    // Wages: log-normal around a median of 3 500 CNY, a rare very high earner, growth with each
    // employer change; never below the provincial minimum wage.
    let mut wage = 3500.0 * (0.5 * normal(&mut rng)).exp();
    if rng.random::<f64>() < 0.004 {
        wage = 3500.0 * 15.0 * pareto(&mut rng, 1.5).min(4.0);
    }
    let suspended_now = rng.random::<f64>() < 0.08;
    for s in 0..spells {
        let since = add_months(start, cuts[s]).min(REFERENCE_DATE);
        let months = (cuts[s + 1] - cuts[s]).clamp(1, 480);
        let latest = s + 1 == spells;
        let pension_status = match (latest, retired, suspended_now) {
            (false, _, _) => "暂停",
            (true, true, _) => "退休",
            (true, false, true) => "暂停",
            (true, false, false) => "在职",
        };
        out.push(Insurance {
            employer: employers.pick(&mut rng, since),
            monthly_wage: (wage * (1.0 + 0.12 * s as f64))
                .clamp(1860.0, 250_000.0)
                .round(),
            contribution_months: months as i32,
            pension_status,
            insured_since: since,
        });
    }
}

/// One row of `real_estate`.
#[derive(Clone, Debug)]
pub(crate) struct Estate {
    pub(crate) district: usize,
    pub(crate) area_m2: f64,
    pub(crate) assessed_value: f64,
}

/// The properties of a person: adults own none to three, the young rarely. Pure in `(seed, i)`.
pub(crate) fn estates(seed: u64, i: u64, p: &Person, out: &mut Vec<Estate>) {
    out.clear();
    if p.age < 18 {
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(row_seed(seed, TAG_ESTATE, i));
    let weights: [u32; 4] = if p.age < 25 {
        [85, 13, 2, 0]
    } else {
        [44, 39, 13, 4]
    };
    let n = pick_weighted(&mut rng, weights.into_iter());
    for _ in 0..n {
        let district = if rng.random::<f64>() < 0.8 {
            p.district
        } else {
            pick_district(&mut rng)
        };
        let area = (78.0 * (0.35 * normal(&mut rng)).exp()).clamp(40.0, 200.0);
        let price = PRICE_PER_M2[district] * rng.random_range(0.85..1.15);
        out.push(Estate {
            district,
            area_m2: round2(area),
            assessed_value: round2(area * price),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_windows_give_exact_ages() {
        for age in [0, 1, 17, 18, 55, 60, 75, 100] {
            let (start, days) = age_window(age);
            assert!(days == 365 || days == 366);
            let last = start.checked_add_days(chrono::Days::new(days - 1)).unwrap();
            assert_eq!(age_at(start, REFERENCE_DATE), age);
            assert_eq!(age_at(last, REFERENCE_DATE), age);
            assert_eq!(age_at(start.pred_opt().unwrap(), REFERENCE_DATE), age + 1);
        }
    }

    #[test]
    fn months_between_counts_whole_months() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(months_between(d(2000, 1, 15), d(2000, 2, 14)), 0);
        assert_eq!(months_between(d(2000, 1, 15), d(2000, 2, 15)), 1);
        assert_eq!(months_between(d(2000, 1, 15), d(2001, 1, 15)), 12);
        assert_eq!(months_between(d(2001, 1, 15), d(2000, 1, 15)), 0);
    }

    #[test]
    fn enterprise_names_are_unique_across_forms() {
        let names: std::collections::HashSet<String> =
            (0..8000).map(|j| enterprise_name(7, j, "煤业")).collect();
        assert_eq!(names.len(), 8000);
    }

    #[test]
    fn too_many_rows_is_invalid_input() {
        assert!(matches!(
            Population::new(200_000_000, 1),
            Err(Error::InvalidInput(_))
        ));
    }
}
