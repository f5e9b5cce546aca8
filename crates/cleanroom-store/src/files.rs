//! Files the store points to: written whole or not at all.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Suffix of files being written; a file with it is never pointed to and is removed on recovery.
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

fn io(what: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::Io(format!("cannot {what} `{}`: {}", path.display(), e.kind()))
}

/// Writes `bytes` to `dir/name` atomically: a temporary file beside it, fsynced, renamed over
/// the target, and the directory fsynced so that the rename is durable too. A crash leaves
/// either the old state or the whole new file (and at most a temporary file to sweep).
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| io("create", dir, &e))?;
    let target = dir.join(name);
    let temp = dir.join(format!("{name}{TEMP_SUFFIX}"));
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temp)
        .map_err(|e| io("create", &temp, &e))?;
    f.write_all(bytes).map_err(|e| io("write", &temp, &e))?;
    f.sync_all().map_err(|e| io("sync", &temp, &e))?;
    drop(f);
    std::fs::rename(&temp, &target).map_err(|e| io("rename", &temp, &e))?;
    sync_dir(dir)?;
    Ok(target)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("sync", dir, &e))
}

/// Removes the files of `dir` that `keep` does not name, and every temporary file. Returns how
/// many were removed.
pub(crate) fn sweep(dir: &Path, keep: &dyn Fn(&str) -> bool) -> Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io("list", dir, &e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| io("list", dir, &e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(TEMP_SUFFIX) || !keep(&name) {
            std::fs::remove_file(entry.path()).map_err(|e| io("remove", &entry.path(), &e))?;
            removed += 1;
        }
    }
    if removed > 0 {
        sync_dir(dir)?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn a_write_replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "a.bin", b"first").unwrap();
        let p = write_atomic(dir.path(), "a.bin", b"second, longer").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second, longer");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["a.bin"]);
    }

    #[test]
    fn the_sweep_keeps_named_files_and_removes_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["keep.arrow", "orphan.arrow", "keep.arrow.tmp"] {
            std::fs::write(dir.path().join(n), b"x").unwrap();
        }
        let removed = sweep(dir.path(), &|n| n == "keep.arrow" || n == "keep.arrow.tmp").unwrap();
        assert_eq!(removed, 2, "the orphan and the temporary file");
        assert!(dir.path().join("keep.arrow").exists());
        assert_eq!(sweep(&dir.path().join("absent"), &|_| true).unwrap(), 0);
    }
}
