//! Direct identifiers of art. 16: the citizen ID number (GB 11643-1999) and the unified social
//! credit code (GB 32100-2015), plus the other shapes the DLP scan looks for (mobile numbers,
//! bank cards, e-mail addresses).
//!
//! One implementation serves both sides: the demo generator computes check characters with it and
//! the guard's `dlp.identifier` scan validates with it.

use std::borrow::Cow;

/// Weights of the 17 leading digits of a citizen ID.
const CITIZEN_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character by `sum mod 11`.
const CITIZEN_CHECK: &[u8; 11] = b"10X98765432";

/// The 31 characters of a USCC (no I, O, S, V, Z).
pub const USCC_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// The check character of the first 17 digits of a citizen ID, or `None` if they are not digits.
pub fn citizen_id_check_char(first17: &[u8]) -> Option<u8> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (b, w) in first17.iter().zip(CITIZEN_WEIGHTS) {
        if !b.is_ascii_digit() {
            return None;
        }
        sum += u32::from(b - b'0') * w;
    }
    Some(CITIZEN_CHECK[(sum % 11) as usize])
}

/// True when `s` is an 18-character citizen ID with a valid check character and a plausible
/// birth date (years 1900-2099). A random 18-digit string passes the check digit alone with
/// probability 1/11; the date cuts that by another factor of about 30.
pub fn is_citizen_id(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 18 {
        return false;
    }
    let Some(check) = citizen_id_check_char(&b[..17]) else {
        return false;
    };
    if b[17].to_ascii_uppercase() != check {
        return false;
    }
    plausible_date(&b[6..14])
}

fn plausible_date(d: &[u8]) -> bool {
    let num = |r: std::ops::Range<usize>| -> u32 {
        d[r].iter().fold(0, |acc, c| acc * 10 + u32::from(c - b'0'))
    };
    let (y, m, day) = (num(0..4), num(4..6), num(6..8));
    if !(1900..=2099).contains(&y) || !(1..=12).contains(&m) || day == 0 {
        return false;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= days
}

fn uscc_value(c: u8) -> Option<u32> {
    USCC_CHARSET.iter().position(|x| *x == c).map(|p| p as u32)
}

/// The check character of the first 17 characters of a USCC, or `None` for a character outside
/// the code's alphabet.
pub fn uscc_check_char(first17: &[u8]) -> Option<u8> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in first17.iter().zip(USCC_WEIGHTS) {
        sum += uscc_value(*c)? * w;
    }
    let c = (31 - sum % 31) % 31;
    Some(USCC_CHARSET[c as usize])
}

/// True when `s` is an 18-character USCC with a valid check character. Codes made only of digits
/// must also carry a registering-authority code (first character 1-9, or A, N, Y) as real codes do.
pub fn is_uscc(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 18 {
        return false;
    }
    let upper: Vec<u8> = b.iter().map(u8::to_ascii_uppercase).collect();
    if !matches!(upper[0], b'1'..=b'9' | b'A' | b'N' | b'Y') {
        return false;
    }
    uscc_check_char(&upper[..17]) == Some(upper[17])
}

/// True for a mainland mobile number: `1[3-9]` and nine more digits, optionally prefixed by
/// `86`, `+86` or `0086`. The input must already be normalised (see [`normalise`]).
pub fn is_mobile(s: &str) -> bool {
    let s = s.strip_prefix('+').unwrap_or(s);
    let s = s
        .strip_prefix("0086")
        .or_else(|| s.strip_prefix("86"))
        .unwrap_or(s);
    let b = s.as_bytes();
    b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
}

/// True for 16-19 digits with a valid Luhn check digit.
pub fn is_bank_card(s: &str) -> bool {
    let b = s.as_bytes();
    if !(16..=19).contains(&b.len()) || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut sum = 0u32;
    for (i, c) in b.iter().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// True for something shaped like an e-mail address: `local@domain.tld` with no spaces.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let ok_local = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c));
    let Some((host, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    ok_local
        && !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
        && tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic())
}

/// Normalises a cell before the scan: full-width digits and letters become ASCII, spaces and
/// dashes (ASCII and full-width) are stripped. A cell with nothing to change (most of them)
/// comes back borrowed: the output scans normalise every released cell.
pub fn normalise(s: &str) -> Cow<'_, str> {
    if s.chars().all(|c| normal_char(c) == Some(c)) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter_map(normal_char).collect())
    }
}

/// What [`normalise`] makes of one character: `None` when it is stripped.
fn normal_char(c: char) -> Option<char> {
    match c {
        ' ' | '-' | '\u{3000}' | '\u{FF0D}' | '\t' => None,
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0),
        c => Some(c),
    }
}

/// Which kind of direct identifier a cell looks like, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentifierKind {
    CitizenId,
    Uscc,
    Mobile,
    BankCard,
    Email,
}

impl IdentifierKind {
    /// A name for reports.
    pub fn describe(self) -> &'static str {
        match self {
            IdentifierKind::CitizenId => "a citizen ID number",
            IdentifierKind::Uscc => "a unified social credit code",
            IdentifierKind::Mobile => "a mobile phone number",
            IdentifierKind::BankCard => "a bank card number",
            IdentifierKind::Email => "an e-mail address",
        }
    }
}

/// Classifies a raw cell (normalising it first).
pub fn classify(raw: &str) -> Option<IdentifierKind> {
    let s = normalise(raw);
    if is_citizen_id(&s) {
        Some(IdentifierKind::CitizenId)
    } else if is_uscc(&s) {
        Some(IdentifierKind::Uscc)
    } else if is_mobile(&s) {
        Some(IdentifierKind::Mobile)
    } else if is_bank_card(&s) {
        Some(IdentifierKind::BankCard)
    } else if is_email(&s) {
        Some(IdentifierKind::Email)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citizen_ids_from_the_standard() {
        for ok in [
            "11010519491231002X",
            "34052419800101001X",
            "110101200001010010",
            "440306198512311236",
        ] {
            assert!(is_citizen_id(ok), "{ok}");
        }
        assert!(
            is_citizen_id("11010519491231002x"),
            "lower-case x is accepted"
        );
        assert!(!is_citizen_id("340524198001010013"));
        // Valid check digit, impossible date (Feb 30).
        let mut bad = b"11010519490230001".to_vec();
        bad.push(citizen_id_check_char(&bad).unwrap());
        assert!(!is_citizen_id(std::str::from_utf8(&bad).unwrap()));
    }

    #[test]
    fn usccs_from_the_standard() {
        assert!(is_uscc("91350100M000100Y43"));
        assert!(is_uscc("5232010000000000X0"));
        assert!(!is_uscc("91350100M000100Y44"));
        assert!(!is_uscc("01350100M000100Y43"));
    }

    #[test]
    fn normalise_borrows_what_it_need_not_change() {
        assert!(matches!(normalise("朝阳区"), Cow::Borrowed("朝阳区")));
        assert!(matches!(normalise("13812345678"), Cow::Borrowed(_)));
        assert_eq!(normalise("138-1234 5678"), "13812345678");
        assert_eq!(
            normalise("１３８\u{3000}１２３４\u{FF0D}５６７８"),
            "13812345678"
        );
        assert_eq!(normalise("ＡＢ\tc"), "ABc");
    }

    #[test]
    fn other_shapes() {
        assert!(is_bank_card("4111111111111111"));
        assert!(is_bank_card("6217000000000000004"));
        assert!(!is_bank_card("4111111111111112"));
        assert!(is_mobile("13812345678"));
        assert!(is_mobile("+8613812345678"));
        assert!(!is_mobile("12812345678"));
        assert!(is_email("a.b@example.cn"));
        assert!(!is_email("a b@example.cn"));
        assert_eq!(classify("138-1234-5678"), Some(IdentifierKind::Mobile));
        assert_eq!(
            classify("１１０１０１２０００01010010"),
            Some(IdentifierKind::CitizenId)
        );
        assert_eq!(classify("尖山区"), None);
        assert_eq!(classify("12345"), None);
    }
}
