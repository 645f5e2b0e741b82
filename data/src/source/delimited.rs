//! TSV and CSV with a header row, strict by default: a row whose field count
//! differs from the header's is an error naming the file and line.
//!
//! Quoting is off for TSV by default because GLUE files put bare `"` inside
//! fields, and with quoting on a field that starts with `"` swallows tabs.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::lines::open_maybe_gz;
use super::ReadOptions;
use crate::error::{DataError, Result};

pub(super) fn open(
    path: &Path,
    delimiter: u8,
    opts: &ReadOptions,
) -> Result<impl Iterator<Item = Result<Value>> + Send> {
    let quoting = opts.quoting.unwrap_or(delimiter != b'\t');
    let reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quoting(quoting)
        .flexible(true) // we check the field count ourselves, for a better message
        .has_headers(false)
        .from_reader(open_maybe_gz(path)?);
    let path_buf = path.to_path_buf();
    let malformed = move |line: u64, message: String| DataError::Malformed {
        path: path_buf.clone(),
        line,
        message,
    };
    let mut records = reader.into_byte_records();
    let header: Vec<String> = match &opts.columns {
        Some(cols) => {
            if opts.header {
                // The file's own header row, replaced by `columns`.
                if let Some(Err(e)) = records.next() {
                    return Err(csv_error(path, e));
                }
            }
            cols.clone()
        }
        None if !opts.header => {
            return Err(DataError::Format {
                path: path.to_path_buf(),
                message: "a file without a header row needs its column names (`columns [...]`)"
                    .into(),
            })
        }
        None => match records.next() {
            None => Vec::new(),
            Some(Err(e)) => return Err(csv_error(path, e)),
            Some(Ok(rec)) => rec
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let f = if i == 0 {
                        f.strip_prefix(b"\xef\xbb\xbf").unwrap_or(f)
                    } else {
                        f
                    };
                    String::from_utf8(f.to_vec())
                        .map_err(|_| malformed(1, "header is not UTF-8".into()))
                })
                .collect::<Result<_>>()?,
        },
    };
    let flexible = opts.flexible;
    let types = opts.types.clone().unwrap_or_default();
    let path = path.to_path_buf();
    Ok(std::iter::from_fn(move || {
        let rec = match records.next()? {
            Ok(rec) => rec,
            Err(e) => return Some(Err(csv_error(&path, e))),
        };
        let line = rec.position().map_or(0, |p| p.line());
        if !flexible && rec.len() != header.len() {
            return Some(Err(DataError::Malformed {
                path: path.clone(),
                line,
                message: format!(
                    "expected {} fields as in the header, found {}",
                    header.len(),
                    rec.len()
                ),
            }));
        }
        let mut row = Map::new();
        for (i, field) in rec.iter().enumerate() {
            let name = header
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("column_{i}"));
            match std::str::from_utf8(field) {
                Ok(s) => row.insert(name, Value::String(s.to_string())),
                Err(_) => {
                    return Some(Err(DataError::Malformed {
                        path: path.clone(),
                        line,
                        message: format!("field `{name}` is not UTF-8"),
                    }))
                }
            };
        }
        super::cells::convert(&mut row, &types);
        Some(Ok(Value::Object(row)))
    }))
}

fn csv_error(path: &Path, e: csv::Error) -> DataError {
    let line = e.position().map_or(0, |p| p.line());
    if let csv::ErrorKind::Io(io) = e.kind() {
        // The file cannot be read on (a gzip stream cut short).
        return DataError::Truncated {
            path: PathBuf::from(path),
            line: line + 1,
            message: io.to_string(),
        };
    }
    DataError::Malformed {
        path: PathBuf::from(path),
        line,
        message: e.to_string(),
    }
}
