//! Tries every way into the file system. Returns `failed` listing what was denied, or an output
//! row if anything got through.
use cleanroom_guest::{Analytics, Contributions, Error, RecordBatch};

struct WasiFile;

impl Analytics for WasiFile {
    fn contribute(_batch: RecordBatch) -> Result<RecordBatch, Error> {
        let attempts: Vec<(&str, std::io::Result<()>)> = vec![
            ("read /etc/passwd", std::fs::read("/etc/passwd").map(drop)),
            (
                "read sandbox/data",
                std::fs::read("sandbox/data/residents.parquet").map(drop),
            ),
            ("list /", std::fs::read_dir("/").map(drop)),
            ("list .", std::fs::read_dir(".").map(drop)),
            ("create /tmp/escape", std::fs::write("/tmp/escape", b"x")),
            ("create escape", std::fs::write("escape", b"x")),
            ("metadata /", std::fs::metadata("/").map(drop)),
        ];
        let escaped: Vec<&str> = attempts
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(n, _)| *n)
            .collect();
        if escaped.is_empty() {
            return Err(Error::Failed(format!("denied: {}", attempts.len())));
        }
        let mut out = Contributions::new(&["district"], &["need"]);
        for name in escaped {
            out.push(0, &[name], &[1.0]);
        }
        out.finish()
    }
}

cleanroom_guest::export!(WasiFile);
