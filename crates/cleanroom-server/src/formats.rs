//! A checked result (stored as an Arrow IPC stream) in the format the caller's `Accept` asks
//! for: JSON (the default), CSV, Arrow IPC or Parquet.

use arrow::array::RecordBatch;
use arrow::ipc::reader::StreamReader;

pub const JSON: &str = "application/json";
pub const CSV: &str = "text/csv";
pub const ARROW: &str = "application/vnd.apache.arrow.stream";
pub const PARQUET: &str = "application/vnd.apache.parquet";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Arrow,
    Parquet,
}

impl Format {
    /// The first format of `accept` this server offers; JSON when it names none of them
    /// (or is absent, or `*/*`). `None` when it names only formats the server does not offer.
    pub fn negotiate(accept: Option<&str>) -> Option<Format> {
        let Some(accept) = accept else {
            return Some(Format::Json);
        };
        for item in accept.split(',') {
            let media = item.split(';').next().unwrap_or("").trim();
            match media {
                JSON | "*/*" | "application/*" => return Some(Format::Json),
                CSV | "text/*" => return Some(Format::Csv),
                ARROW => return Some(Format::Arrow),
                PARQUET => return Some(Format::Parquet),
                _ => {}
            }
        }
        None
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => JSON,
            Format::Csv => "text/csv; charset=utf-8",
            Format::Arrow => ARROW,
            Format::Parquet => PARQUET,
        }
    }
}

pub(crate) fn batches(ipc: &[u8]) -> Result<Vec<RecordBatch>, String> {
    if ipc.is_empty() {
        return Ok(Vec::new());
    }
    let reader = StreamReader::try_new(ipc, None).map_err(|_| "unreadable result".to_owned())?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "unreadable result".to_owned())
}

/// Converts a stored result. Errors name no data.
pub fn convert(ipc: &[u8], format: Format) -> Result<Vec<u8>, String> {
    if format == Format::Arrow {
        return Ok(ipc.to_vec());
    }
    let batches = batches(ipc)?;
    let fail = |what: &str| format!("cannot write the result as {what}");
    let mut out = Vec::new();
    match format {
        Format::Arrow => {}
        Format::Json => {
            let mut w = arrow::json::ArrayWriter::new(&mut out);
            for b in &batches {
                w.write(b).map_err(|_| fail("JSON"))?;
            }
            w.finish().map_err(|_| fail("JSON"))?;
            if out.is_empty() {
                out.extend_from_slice(b"[]");
            }
        }
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            for b in &batches {
                w.write(b).map_err(|_| fail("CSV"))?;
            }
        }
        Format::Parquet => {
            if let Some(first) = batches.first() {
                let mut w = parquet::arrow::ArrowWriter::try_new(&mut out, first.schema(), None)
                    .map_err(|_| fail("Parquet"))?;
                for b in &batches {
                    w.write(b).map_err(|_| fail("Parquet"))?;
                }
                w.close().map_err(|_| fail("Parquet"))?;
            }
        }
    }
    Ok(out)
}
