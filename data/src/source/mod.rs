//! Rows from files: JSONL(.gz), JSON documents, TSV/CSV, Parquet, text lines
//! and C4 `c4-*.json.gz` shards.
//!
//! Every reader streams: it holds one row (or one parquet row group) at a
//! time, never a whole file; a `.json` document (`{"data": [...]}`, a
//! top-level array, or nested lists picked by `rows`) is walked by a thread
//! of its own, which holds at most one record of the path's first list.
//! Rows leave as `serde_json::Value` objects, the form the compiler's
//! renderer takes. A reader counts the rows it has produced so that a
//! pipeline can record a position and reopen a source at it ([`SourceFiles`]).
//! Finding files for a task (data dir, HF cache, converted parquet) lives in
//! [`locate`].

mod cells;
mod delimited;
pub mod join;
mod json_doc;
mod lines;
pub mod locate;
mod parquet;

pub use lines::line_count;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use join::{Joined, JoinedSplit};

use crate::error::{DataError, Result};

/// How a file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// One JSON object per line (optionally gzip-compressed, as C4 shards are).
    Jsonl,
    /// A whole JSON document: an array of objects, or an object whose `data`
    /// field is one (SQuAD-style files), or the records of nested lists
    /// ([`ReadOptions::rows`]); JSON lines saved as `.json` are read as JSONL.
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReadOptions {
    /// The format; guessed from the file name when absent.
    pub format: Option<Format>,
    /// Honour `"` quoting in TSV/CSV. Default: on for CSV, off for TSV, where
    /// GLUE-style files use bare quotes inside fields.
    pub quoting: Option<bool>,
    /// Accept TSV/CSV rows with a different number of fields than the header.
    pub flexible: bool,
    /// Field names for TSV/CSV rows. Without `header`, the files have no
    /// header row; with it, their header row is skipped and these names
    /// replace its own.
    pub columns: Option<Vec<String>>,
    /// TSV/CSV files start with a header row (the default). Without
    /// `columns` that row names the fields, so `header: false` needs them.
    pub header: bool,
    /// For `Format::Text`, the field each line is stored under.
    pub text_field: String,
    /// The top-level columns to read from parquet files (a task's declared
    /// fields: hub datasets carry columns no template reads, e.g. KILT's
    /// provenance); None reads all. A name the file lacks is not an error:
    /// the row lacks the field, as it would without the selection.
    #[serde(default)]
    pub select: Option<Vec<String>>,
    /// The declared types of a task's fields. TSV/CSV cells, all text, are
    /// converted to them as they are read (`"1"` in an int or class field
    /// becomes the number 1, an empty cell of an optional number null), so
    /// that rendering can refuse a string where JSON or parquet data should
    /// hold a number. None leaves every cell text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<(String, exc_compiler::ir::Type)>>,
    /// For `Format::Json`, the nested lists whose records are the rows, from
    /// the top of the document down (`["data", "paragraphs", "qas"]`): each
    /// row also gets the fields of the records above it. None: the
    /// document's top-level array or `data` array holds the rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<String>>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            quoting: None,
            flexible: false,
            columns: None,
            header: true,
            text_field: "text".into(),
            select: None,
            types: None,
            rows: None,
        }
    }
}

/// One unit of a source's reading order: a file, or line-aligned files read
/// as the columns of one row; with fields every row of it gets (the part it
/// belongs to, when a task's source declares `parts`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourceFile {
    /// The file; for column files, the first column's (messages, places).
    pub path: PathBuf,
    /// `(field, file)`: line i of each file is that field of row i. Empty
    /// for a plain file.
    pub columns: Vec<(String, PathBuf)>,
    /// Fields added to every row.
    pub fields: Map<String, Value>,
    /// Joins applied to every row, in order (a task's `join`s, this
    /// split's); a row a join drops is not returned, but counted.
    #[serde(skip)]
    pub joins: Vec<Arc<JoinedSplit>>,
}

impl From<PathBuf> for SourceFile {
    fn from(path: PathBuf) -> Self {
        SourceFile {
            path,
            ..SourceFile::default()
        }
    }
}

impl SourceFile {
    /// The file(s) as a user should see them in a message.
    pub fn describe(&self) -> String {
        if self.columns.is_empty() {
            return self.path.display().to_string();
        }
        self.columns
            .iter()
            .map(|(c, p)| format!("{c}: {}", p.display()))
            .collect::<Vec<_>>()
            .join(" + ")
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
        if let (Some(rows), false) = (&opts.rows, format == Format::Json) {
            return Err(DataError::Format {
                path: path.to_path_buf(),
                message: format!(
                    "`rows \"{}\"` picks rows out of JSON documents, but the file is read as {}",
                    rows.join("."),
                    format!("{format:?}").to_lowercase()
                ),
            });
        }
        let inner: Box<dyn Iterator<Item = Result<Value>> + Send> = match format {
            Format::Jsonl => Box::new(lines::jsonl(path)?),
            Format::Json => json_doc::open(path, opts.rows.as_deref())?,
            Format::Text => Box::new(lines::text(path, &opts.text_field)?),
            Format::Tsv => Box::new(delimited::open(path, b'\t', opts)?),
            Format::Csv => Box::new(delimited::open(path, b',', opts)?),
            Format::Parquet => Box::new(parquet::open(path, opts.select.as_deref())?),
        };
        Ok(RowReader {
            inner,
            path: path.to_path_buf(),
            rows: 0,
        })
    }

    /// Opens one unit of a source at row `skip` (a recorded position), and
    /// says how many rows it passed (fewer at the end of the file). JSONL,
    /// text and parquet files pass rows without decoding them (parquet:
    /// whole row groups unread); other units are read row by row up to it.
    pub fn open_file_at(file: &SourceFile, opts: &ReadOptions, skip: u64) -> Result<(Self, u64)> {
        if file.columns.is_empty() && skip > 0 {
            let fast = match opts.format.or_else(|| Format::from_path(&file.path)) {
                Some(Format::Jsonl) => Some(boxed(lines::jsonl_at(&file.path, skip)?)),
                Some(Format::Text) => {
                    Some(boxed(lines::text_at(&file.path, &opts.text_field, skip)?))
                }
                Some(Format::Parquet) => Some(boxed(parquet::open_at(
                    &file.path,
                    skip,
                    opts.select.as_deref(),
                )?)),
                // JSON lines saved as `.json` (C4's shards): passed unparsed.
                Some(Format::Json) if opts.rows.is_none() => json_doc::lines_at(&file.path, skip)?,
                _ => None,
            };
            if let Some((rows, n)) = fast {
                return Ok((Self::passed(with_fields(rows, file, n), &file.path, n), n));
            }
        }
        let mut reader = Self::open_file(file, opts)?;
        let n = reader.skip_rows(skip)?;
        Ok((reader, n))
    }

    /// A reader whose first `rows` rows were already passed.
    fn passed(inner: Rows, path: &Path, rows: u64) -> Self {
        RowReader {
            inner,
            path: path.to_path_buf(),
            rows,
        }
    }

    /// Opens one unit of a source: a file, or column files read line by
    /// line together; either way with the unit's fields added to each row.
    pub fn open_file(file: &SourceFile, opts: &ReadOptions) -> Result<Self> {
        let mut reader = if file.columns.is_empty() {
            RowReader::open(&file.path, opts)?
        } else {
            RowReader {
                inner: Box::new(lines::columns(&file.columns)?),
                path: file.path.clone(),
                rows: 0,
            }
        };
        let rows = std::mem::replace(&mut reader.inner, Box::new(std::iter::empty()));
        reader.inner = with_fields(rows, file, 0);
        Ok(reader)
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

/// A stream of rows, boxed.
type Rows = Box<dyn Iterator<Item = Result<Value>> + Send>;

fn boxed((rows, n): (impl Iterator<Item = Result<Value>> + Send + 'static, u64)) -> (Rows, u64) {
    (Box::new(rows), n)
}

/// `rows` of `file` with the file's added fields (a part's name), when it
/// has any; `before` rows of the file were passed already (for the line
/// numbers of messages). A row that already has one of the fields is an
/// error rather than silently overwritten.
fn with_fields(rows: Rows, file: &SourceFile, before: u64) -> Rows {
    if file.fields.is_empty() {
        return rows;
    }
    let fields = file.fields.clone();
    let path = file.path.clone();
    Box::new(rows.enumerate().map(move |(i, row)| {
        let mut row = row?;
        if let Value::Object(obj) = &mut row {
            for (k, v) in &fields {
                if obj.contains_key(k) {
                    return Err(DataError::Malformed {
                        path: path.clone(),
                        line: before + i as u64 + 1,
                        message: format!(
                            "the row already has a field `{k}`, which the source's `parts {k}` sets; \
                             rename the parts' field"
                        ),
                    });
                }
                obj.insert(k.clone(), v.clone());
            }
        }
        Ok(row)
    }))
}

/// Where a [`SourceFiles`] stream is: the file and the rows read from it.
/// For a source of several parts, read in turn, `file` is 0 and `row` counts
/// the rows read from all of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourcePosition {
    /// Index into the source's file list.
    pub file: usize,
    /// Rows already read from that file.
    pub row: u64,
}

/// One source made of several files read in order (C4's 1024 shards, a
/// split stored as several parquet files), one file open at a time. When the
/// files belong to several parts (a source's `parts`: runs of files with
/// different added fields), the parts are read in turn, one row of each,
/// so that a window shuffle sees every part rather than one part's whole
/// file after another (GPT-2 detection would otherwise train on 250,000
/// human rows before the first machine one).
#[derive(Debug)]
pub struct SourceFiles {
    files: Vec<SourceFile>,
    opts: ReadOptions,
    current: Option<RowReader>,
    pos: SourcePosition,
    /// The file index and 1-based row of the row last returned.
    last: Option<(usize, u64)>,
    /// One stream per part, read in turn; empty for a source of one part.
    parts: Vec<SourceFiles>,
    /// The part whose turn is next.
    turn: usize,
    /// The part that gave the last row.
    last_part: Option<usize>,
    /// Rows a join dropped (`unmatched drop`), this stream's own.
    dropped: u64,
    /// An error that ends the stream was returned: nothing follows it.
    ended: bool,
}

impl SourceFiles {
    /// A stream over `files` (paths or [`SourceFile`]s) from the start.
    pub fn new<F: Into<SourceFile>>(files: Vec<F>, opts: ReadOptions) -> Result<Self> {
        let files: Vec<SourceFile> = files.into_iter().map(Into::into).collect();
        if files.is_empty() {
            return Err(DataError::Config("a source needs at least one file".into()));
        }
        let groups = part_groups(&files);
        let parts = if groups.len() > 1 {
            groups
                .into_iter()
                .map(|g| SourceFiles::new(g, opts.clone()))
                .collect::<Result<_>>()?
        } else {
            Vec::new()
        };
        Ok(SourceFiles {
            files,
            opts,
            current: None,
            pos: SourcePosition::default(),
            last: None,
            parts,
            turn: 0,
            last_part: None,
            dropped: 0,
            ended: false,
        })
    }

    /// A stream reopened at `pos` (as returned by [`SourceFiles::position`]).
    pub fn at<F: Into<SourceFile>>(
        files: Vec<F>,
        opts: ReadOptions,
        pos: SourcePosition,
    ) -> Result<Self> {
        let mut s = Self::new(files, opts)?;
        if !s.parts.is_empty() {
            if let Some(lengths) = s.part_lengths()? {
                // Each part reopened where the turns left it.
                let totals: Vec<u64> = lengths.iter().map(|l| l.iter().sum()).collect();
                let (taken, turn) = in_turn(&totals, pos.row);
                for (p, part) in s.parts.iter_mut().enumerate() {
                    let at = position_in(&lengths[p], taken[p]);
                    *part = SourceFiles::at(part.files.clone(), part.opts.clone(), at)?;
                }
                s.turn = turn;
                s.pos.row = taken.iter().sum();
                return Ok(s);
            }
            // Parts read in turn: re-read the rows before the position.
            for _ in 0..pos.row {
                match s.next() {
                    Some(r) => {
                        r?;
                    }
                    None => break,
                }
            }
            return Ok(s);
        }
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
            let file = s
                .files
                .get(s.pos.file)
                .ok_or_else(|| DataError::Cursor("source position is past its last file".into()))?;
            let (reader, passed) = RowReader::open_file_at(file, &s.opts, pos.row)?;
            s.current = Some(reader);
            s.pos.row = passed;
        }
        Ok(s)
    }

    /// The rows of each file of each part, where they can be had without
    /// reading the rows (JSONL and text lines, parquet footers) and every
    /// row read counts in positions (no joins, which drop rows); else None.
    fn part_lengths(&self) -> Result<Option<Vec<Vec<u64>>>> {
        let mut out = Vec::with_capacity(self.parts.len());
        for part in &self.parts {
            let mut lengths = Vec::with_capacity(part.files.len());
            for f in &part.files {
                if !f.columns.is_empty() || !f.joins.is_empty() {
                    return Ok(None);
                }
                let n = match part.opts.format.or_else(|| Format::from_path(&f.path)) {
                    Some(Format::Jsonl) => lines::row_count(&f.path, false)?,
                    Some(Format::Text) => lines::row_count(&f.path, true)?,
                    Some(Format::Parquet) => parquet::row_count(&f.path)?,
                    _ => return Ok(None),
                };
                lengths.push(n);
            }
            out.push(lengths);
        }
        Ok(Some(out))
    }

    /// The position of the next row.
    pub fn position(&self) -> SourcePosition {
        self.pos
    }

    /// The files, in reading order.
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// Rows read so far that a join dropped (`unmatched drop`): they are
    /// not returned, and their places still count in positions.
    pub fn dropped(&self) -> u64 {
        self.dropped + self.parts.iter().map(SourceFiles::dropped).sum::<u64>()
    }

    /// The file and 1-based row of the row last returned (for messages).
    pub fn last_place(&self) -> Option<(&SourceFile, u64)> {
        if let Some(p) = self.last_part {
            return self.parts.get(p)?.last_place();
        }
        let (file, row) = self.last?;
        Some((self.files.get(file)?, row))
    }

    fn open_current(&mut self) -> Result<&mut RowReader> {
        let reader = match self.current.take() {
            Some(r) => r,
            None => {
                let file = self.files.get(self.pos.file).ok_or_else(|| {
                    DataError::Cursor("source position is past its last file".into())
                })?;
                RowReader::open_file(file, &self.opts)?
            }
        };
        Ok(self.current.insert(reader))
    }

    /// The next row of the part whose turn it is, skipping finished parts.
    fn next_in_turn(&mut self) -> Option<Result<Value>> {
        for _ in 0..self.parts.len() {
            let p = self.turn;
            self.turn = (self.turn + 1) % self.parts.len();
            if let Some(row) = self.parts.get_mut(p).and_then(|s| s.next()) {
                self.last_part = Some(p);
                self.pos.row += 1;
                return Some(row);
            }
        }
        None
    }
}

impl SourceFiles {
    /// The current file's joins applied to a row just read (row
    /// `self.pos.row` of the file).
    fn join(&self, mut row: Value) -> Result<Joined> {
        let Some(file) = self.files.get(self.pos.file) else {
            return Ok(Joined::Row(row));
        };
        for j in &file.joins {
            match j.apply(row, &file.path, self.pos.row)? {
                Joined::Row(r) => row = r,
                Joined::Dropped => return Ok(Joined::Dropped),
            }
        }
        Ok(Joined::Row(row))
    }
}

/// How many rows each part gave after `rows` were read in turn from parts
/// of `totals` rows (a finished part's turn passes to the next, as
/// `next_in_turn` does), and whose turn is next.
fn in_turn(totals: &[u64], rows: u64) -> (Vec<u64>, usize) {
    let mut taken = vec![0u64; totals.len()];
    let mut turn = 0;
    for _ in 0..rows {
        let mut found = false;
        for _ in 0..totals.len() {
            let p = turn;
            turn = (turn + 1) % totals.len();
            if taken[p] < totals[p] {
                taken[p] += 1;
                found = true;
                break;
            }
        }
        if !found {
            break;
        }
    }
    (taken, turn)
}

/// The position after `rows` rows of files with `lengths` rows.
fn position_in(lengths: &[u64], mut rows: u64) -> SourcePosition {
    let mut file = 0;
    while file < lengths.len() && rows >= lengths[file] {
        rows -= lengths[file];
        file += 1;
    }
    SourcePosition { file, row: rows }
}

/// Runs of files with the same added fields: one run per part.
fn part_groups(files: &[SourceFile]) -> Vec<Vec<SourceFile>> {
    let mut groups: Vec<Vec<SourceFile>> = Vec::new();
    for f in files {
        match groups.last_mut() {
            Some(g) if g.last().is_some_and(|l| l.fields == f.fields) => g.push(f.clone()),
            _ => groups.push(vec![f.clone()]),
        }
    }
    groups
}

impl Iterator for SourceFiles {
    type Item = Result<Value>;

    /// The next row; after an error that ends the stream (a file that
    /// cannot be opened or read on, [`DataError::ends_stream`]), none.
    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        let item = self.next_row();
        if let Some(Err(e)) = &item {
            self.ended = e.ends_stream();
        }
        item
    }
}

impl SourceFiles {
    fn next_row(&mut self) -> Option<Result<Value>> {
        if !self.parts.is_empty() {
            return self.next_in_turn();
        }
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
                    match row.and_then(|r| self.join(r)) {
                        Ok(Joined::Dropped) => {
                            self.dropped += 1;
                            continue;
                        }
                        Ok(Joined::Row(row)) => {
                            self.last = Some((self.pos.file, self.pos.row));
                            return Some(Ok(row));
                        }
                        Err(e) => {
                            self.last = Some((self.pos.file, self.pos.row));
                            return Some(Err(e));
                        }
                    }
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
