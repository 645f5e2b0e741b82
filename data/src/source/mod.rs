//! Rows from files: JSONL(.gz), JSON documents, TSV/CSV, Parquet, text lines
//! and C4 `c4-*.json.gz` shards.
//!
//! Every reader streams: it holds one row (or one parquet row group) at a
//! time, never a whole file, except `.json` documents (`{"data": [...]}` or a
//! top-level array), which cannot be streamed and are small in practice.
//! Rows leave as `serde_json::Value` objects, the form the compiler's
//! renderer takes. A reader counts the rows it has produced so that a
//! pipeline can record a position and reopen a source at it ([`SourceFiles`]).
//! Finding files for a task (data dir, HF cache, converted parquet) lives in
//! [`locate`].

mod delimited;
mod lines;
pub mod locate;
mod parquet;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{DataError, Result};

/// How a file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// One JSON object per line (optionally gzip-compressed, as C4 shards are).
    Jsonl,
    /// A whole JSON document: an array of objects, or an object whose `data`
    /// field is one (SQuAD-style files).
    Json,
    /// Tab-separated values with a header row.
    Tsv,
    /// Comma-separated values with a header row.
    Csv,
    /// Apache Parquet (HF converted datasets).
    Parquet,
    /// Plain text: each line is a row `{"text": line}`.
    Text,
}

impl Format {
    /// Guesses the format from the file name (a trailing `.gz` is ignored).
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit('.').next()?;
        Some(match ext {
            "jsonl" | "ndjson" => Format::Jsonl,
            "json" => Format::Json,
            "tsv" => Format::Tsv,
            "csv" => Format::Csv,
            "parquet" => Format::Parquet,
            "txt" | "text" => Format::Text,
            _ => return None,
        })
    }
}

/// Options a task may set on how its files are read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadOptions {
    /// The format; guessed from the file name when absent.
    pub format: Option<Format>,
    /// Honour `"` quoting in TSV/CSV. Default: on for CSV, off for TSV, where
    /// GLUE-style files use bare quotes inside fields.
    pub quoting: Option<bool>,
    /// Accept TSV/CSV rows with a different number of fields than the header.
    pub flexible: bool,
    /// Field names for TSV/CSV files without a header row.
    pub columns: Option<Vec<String>>,
    /// For `Format::Text`, the field each line is stored under.
    pub text_field: String,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            quoting: None,
            flexible: false,
            columns: None,
            text_field: "text".into(),
        }
    }
}

/// A stream of rows from one file.
pub struct RowReader {
    inner: Box<dyn Iterator<Item = Result<Value>> + Send>,
    path: PathBuf,
    rows: u64,
}

impl std::fmt::Debug for RowReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowReader")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .finish()
    }
}

impl RowReader {
    /// Opens `path` with `opts`.
    pub fn open(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<Self> {
        let path = path.as_ref();
        let format = match opts.format {
            Some(f) => f,
            None => Format::from_path(path).ok_or_else(|| DataError::Format {
                path: path.to_path_buf(),
                message: "cannot tell the format from the file name; expected .jsonl, .json, \
                          .tsv, .csv, .parquet or .txt (optionally .gz)"
                    .into(),
            })?,
        };
        let inner: Box<dyn Iterator<Item = Result<Value>> + Send> = match format {
            Format::Jsonl => Box::new(lines::jsonl(path)?),
            Format::Json => Box::new(lines::json_document(path)?),
            Format::Text => Box::new(lines::text(path, &opts.text_field)?),
            Format::Tsv => Box::new(delimited::open(path, b'\t', opts)?),
            Format::Csv => Box::new(delimited::open(path, b',', opts)?),
            Format::Parquet => Box::new(parquet::open(path)?),
        };
        Ok(RowReader {
            inner,
            path: path.to_path_buf(),
            rows: 0,
        })
    }

    /// Rows produced so far.
    pub fn rows_read(&self) -> u64 {
        self.rows
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Skips `n` rows (to reopen at a recorded position); fewer if the file ends.
    pub fn skip_rows(&mut self, n: u64) -> Result<u64> {
        let mut skipped = 0;
        while skipped < n {
            match self.next() {
                Some(r) => {
                    r?;
                    skipped += 1;
                }
                None => break,
            }
        }
        Ok(skipped)
    }
}

impl Iterator for RowReader {
    type Item = Result<Value>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = self.inner.next()?;
        self.rows += 1;
        Some(row)
    }
}

/// Where a [`SourceFiles`] stream is: the file and the rows read from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourcePosition {
    /// Index into the source's file list.
    pub file: usize,
    /// Rows already read from that file.
    pub row: u64,
}

/// One source made of several files read in order (C4's 1024 shards, a
/// split stored as several parquet files), one file open at a time.
#[derive(Debug)]
pub struct SourceFiles {
    files: Vec<PathBuf>,
    opts: ReadOptions,
    current: Option<RowReader>,
    pos: SourcePosition,
}

impl SourceFiles {
    /// A stream over `files` from the start.
    pub fn new(files: Vec<PathBuf>, opts: ReadOptions) -> Result<Self> {
        if files.is_empty() {
            return Err(DataError::Config("a source needs at least one file".into()));
        }
        Ok(SourceFiles {
            files,
            opts,
            current: None,
            pos: SourcePosition::default(),
        })
    }

    /// A stream reopened at `pos` (as returned by [`SourceFiles::position`]).
    pub fn at(files: Vec<PathBuf>, opts: ReadOptions, pos: SourcePosition) -> Result<Self> {
        let mut s = Self::new(files, opts)?;
        if pos.file > s.files.len() {
            return Err(DataError::Cursor(format!(
                "source position names file {} of {}",
                pos.file,
                s.files.len()
            )));
        }
        s.pos = SourcePosition {
            file: pos.file,
            row: 0,
        };
        if pos.row > 0 {
            let reader = s.open_current()?;
            let skipped = reader.skip_rows(pos.row)?;
            s.pos.row = skipped;
        }
        Ok(s)
    }

    /// The position of the next row.
    pub fn position(&self) -> SourcePosition {
        self.pos
    }

    /// The files, in reading order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    fn open_current(&mut self) -> Result<&mut RowReader> {
        let reader = match self.current.take() {
            Some(r) => r,
            None => {
                let path = self.files.get(self.pos.file).ok_or_else(|| {
                    DataError::Cursor("source position is past its last file".into())
                })?;
                RowReader::open(path, &self.opts)?
            }
        };
        Ok(self.current.insert(reader))
    }
}

impl Iterator for SourceFiles {
    type Item = Result<Value>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.pos.file < self.files.len() {
            let reader = match self.open_current() {
                Ok(r) => r,
                Err(e) => {
                    // Do not retry a file that cannot be opened forever.
                    self.pos.file = self.files.len();
                    return Some(Err(e));
                }
            };
            match reader.next() {
                Some(row) => {
                    self.pos.row += 1;
                    return Some(row);
                }
                None => {
                    self.current = None;
                    self.pos = SourcePosition {
                        file: self.pos.file + 1,
                        row: 0,
                    };
                }
            }
        }
        None
    }
}
