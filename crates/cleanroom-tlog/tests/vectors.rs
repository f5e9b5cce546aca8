//! The public RFC 6962 / RFC 9162 proof vectors of `../shared/testdata/merkle/`, one trial per
//! file: verifying must fail exactly when the case says `wantErr`. The vectors are read where
//! they are, never copied; when the folder is absent the run says so and has no trials.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::{Path, PathBuf};

use cleanroom_tlog::{Error, Hash, hash_from_b64, verify_consistency, verify_inclusion};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/merkle")
}

/// A hash as the case gives it; one that is not 32 base64 bytes is a refusal, as a verifier
/// reading it from the wire would refuse it.
fn hash(v: &Value, key: &str) -> Result<Hash, Error> {
    hash_from_b64(v[key].as_str().unwrap_or(""))
}

/// A root as raw bytes: the consistency check takes them as they come.
fn bytes(v: &Value, key: &str) -> Result<Vec<u8>, Error> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(v[key].as_str().unwrap_or(""))
        .map_err(|_| Error::Malformed("not base64".into()))
}

fn proof(v: &Value) -> Result<Vec<Hash>, Error> {
    v["proof"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| hash_from_b64(h.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or(Ok(Vec::new()))
}

fn number(v: &Value, key: &str) -> Result<u64, Failed> {
    v[key]
        .as_u64()
        .ok_or_else(|| Failed::from(format!("`{key}` is not a number")))
}

fn run(path: &Path, kind: &str) -> Result<(), Failed> {
    let v: Value = serde_json::from_slice(&std::fs::read(path)?)?;
    let want_err = v["wantErr"].as_bool().ok_or("no `wantErr`")?;
    let got = match kind {
        "inclusion" => {
            let (index, size) = (number(&v, "leafIdx")?, number(&v, "treeSize")?);
            (|| {
                verify_inclusion(
                    index,
                    size,
                    &hash(&v, "leafHash")?,
                    &proof(&v)?,
                    &hash(&v, "root")?,
                )
            })()
        }
        _ => {
            let (size1, size2) = (number(&v, "size1")?, number(&v, "size2")?);
            (|| {
                verify_consistency(
                    size1,
                    size2,
                    &bytes(&v, "root1")?,
                    &bytes(&v, "root2")?,
                    &proof(&v)?,
                )
            })()
        }
    };
    match (got, want_err) {
        (Ok(()), false) | (Err(_), true) => Ok(()),
        (Ok(()), true) => Err(format!("`{}` verified but must fail", v["desc"]).into()),
        (Err(e), false) => Err(format!("`{}` failed: {e}", v["desc"]).into()),
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn main() {
    let args = Arguments::from_args();
    let root = vectors();
    let mut trials = Vec::new();
    if root.is_dir() {
        for kind in ["inclusion", "consistency"] {
            for path in files(&root.join(kind)) {
                let name = format!(
                    "{kind}/{}",
                    path.strip_prefix(root.join(kind)).unwrap().display()
                );
                trials.push(Trial::test(name, move || run(&path, kind)));
            }
        }
        assert!(trials.len() > 100, "the vector folder is incomplete");
    } else {
        eprintln!(
            "SKIPPED: the Merkle proof vectors are not at {} (../shared is absent)",
            root.display()
        );
    }
    libtest_mimic::run(&args, trials).exit();
}
