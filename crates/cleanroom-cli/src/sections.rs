//! BENCHMARKS.md is written by several commands, each its own run: `bench` writes the head,
//! and every other command its section, which starts at its marker line (`<!-- name -->`) and
//! runs to the next marker or the end. Writing one part keeps the others as they are.

use std::path::Path;

const OPEN: &str = "<!-- ";

/// The file's parts: the head, then `(marker, body)` per section, in order.
fn split(text: &str) -> (String, Vec<(String, String)>) {
    let mut head = String::new();
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with(OPEN) && line.ends_with(" -->") {
            sections.push((line.to_owned(), String::new()));
        } else if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
            body.push('\n');
        } else {
            head.push_str(line);
            head.push('\n');
        }
    }
    (head, sections)
}

fn join(head: &str, sections: &[(String, String)]) -> String {
    let mut out = head.trim_end().to_owned();
    for (marker, body) in sections {
        out.push_str("\n\n");
        out.push_str(marker);
        out.push('\n');
        out.push_str(body.trim_end());
    }
    out.push('\n');
    out
}

/// Replaces the head of `path` (before the first section).
pub(crate) fn write_head(path: &Path, head: &str) -> anyhow::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let (_, sections) = split(&old);
    std::fs::write(path, join(head, &sections))?;
    Ok(())
}

/// Replaces (or appends) the section that starts at `marker`.
pub(crate) fn write_section(path: &Path, marker: &str, body: &str) -> anyhow::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let (head, mut sections) = split(&old);
    match sections.iter_mut().find(|(m, _)| m == marker) {
        Some((_, b)) => *b = body.to_owned(),
        None => sections.push((marker.to_owned(), body.to_owned())),
    }
    std::fs::write(path, join(&head, &sections))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn each_part_is_replaced_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("B.md");
        write_section(&path, "<!-- load -->", "## Load\nL1\n").unwrap();
        write_head(&path, "# Head\nH1\n").unwrap();
        write_section(&path, "<!-- audit -->", "## Audit\nA1\n").unwrap();
        write_section(&path, "<!-- load -->", "## Load\nL2\n").unwrap();
        write_head(&path, "# Head\nH2\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "# Head\nH2\n\n<!-- load -->\n## Load\nL2\n\n<!-- audit -->\n## Audit\nA1\n"
        );
    }
}
