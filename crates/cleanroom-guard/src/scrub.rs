//! Scrubbing of texts that leave the sandbox. DataFusion's own errors can quote data (a failed cast
//! quotes the string it could not cast), and names derived from SQL carry the operator's literals.
//! Everything an operator reads passes through [`mask_values`] first.

/// Replaces everything in `text` that may be a data value with `?`: quoted strings (single,
/// double or backtick quotes, with their escapes), runs of five or more digits (identifiers,
/// phone numbers, amounts), and runs of non-ASCII characters (Chinese names, addresses).
pub fn mask_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' || c == '"' {
            // Skip to the matching quote; a doubled quote is an escaped one.
            let q = c;
            let mut j = i + 1;
            while j < chars.len() {
                if chars[j] == q {
                    if chars.get(j + 1) == Some(&q) {
                        j += 2;
                        continue;
                    }
                    break;
                }
                if chars[j] == '\\' {
                    j += 1;
                }
                j += 1;
            }
            out.push(q);
            out.push('?');
            out.push(q);
            i = j + 1;
        } else if c.is_ascii_digit() || !c.is_ascii() {
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_ascii_digit()
                    || chars[j] == 'X'
                    || chars[j] == 'x'
                    || !chars[j].is_ascii())
            {
                j += 1;
            }
            let run = j - i;
            let non_ascii = chars[i..j].iter().any(|c| !c.is_ascii());
            if non_ascii || run >= 5 {
                out.push('?');
            } else {
                out.extend(&chars[i..j]);
            }
            i = j;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// A DataFusion error made safe to show: the category stays, values go. Backtraces are dropped.
pub fn scrub_error(err: &datafusion::error::DataFusionError) -> String {
    let text = err.to_string();
    let first = text.lines().next().unwrap_or_default();
    mask_values(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_values() {
        assert_eq!(
            mask_values("Cannot cast string '11010519491231002X' to value of Int64 type"),
            "Cannot cast string '?' to value of Int64 type"
        );
        assert_eq!(
            mask_values("residents.citizen_id = Utf8(\"110105\")"),
            "residents.citizen_id = Utf8(\"?\")"
        );
        assert_eq!(
            mask_values("value 13812345678 out of range"),
            "value ? out of range"
        );
        assert_eq!(mask_values("name 张伟 here"), "name ? here");
        assert_eq!(
            mask_values("count(*) > 10 and col2 and 2026"),
            "count(*) > 10 and col2 and 2026"
        );
        assert_eq!(mask_values("'it''s'"), "'?'");
    }
}
