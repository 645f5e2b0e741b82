//! Line-oriented readers: JSONL and text, plain or gzip (every member: C4
//! shards and `cat a.gz b.gz` files have several). Whole JSON documents are
//! `json_doc`'s.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde_json::Value;

use crate::error::{DataError, Result};

/// Opens a file, decompressing it when it starts with the gzip magic bytes
/// (a name ending in `.gz` is not required, nor trusted).
pub(super) fn open_maybe_gz(path: &Path) -> Result<Box<dyn BufRead + Send>> {
    let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut file, &mut magic).map_err(|e| DataError::io(path, e))?;
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file)),
        )))
    } else {
        Ok(Box::new(BufReader::with_capacity(1 << 16, file)))
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Numbered lines of a (possibly gzipped) file, without line endings.
struct Lines {
    reader: Box<dyn BufRead + Send>,
    path: PathBuf,
    line: u64,
    buf: Vec<u8>,
    /// A read failed: the file ends there.
    failed: bool,
}

impl Lines {
    fn open(path: &Path) -> Result<Self> {
        Ok(Lines {
            reader: open_maybe_gz(path)?,
            path: path.to_path_buf(),
            line: 0,
            buf: Vec::new(),
            failed: false,
        })
    }

    /// The next line as text, or None at the end of the file.
    fn next_line(&mut self) -> Option<Result<(u64, String)>> {
        if self.failed {
            return None;
        }
        self.buf.clear();
        match self.reader.read_until(b'\n', &mut self.buf) {
            Ok(0) => None,
            Ok(_) => {
                self.line += 1;
                while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
                    self.buf.pop();
                }
                let bytes = if self.line == 1 {
                    self.buf.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&self.buf)
                } else {
                    &self.buf
                };
                Some(match std::str::from_utf8(bytes) {
                    Ok(s) => Ok((self.line, s.to_string())),
                    Err(e) => Err(DataError::Malformed {
                        path: self.path.clone(),
                        line: self.line,
                        message: format!("not UTF-8: {e}"),
                    }),
                })
            }
            Err(e) => {
                // A gzip stream cut short keeps failing (or gives garbage):
                // the file ends at its first read error.
                self.failed = true;
                Some(Err(DataError::Truncated {
                    path: self.path.clone(),
                    line: self.line + 1,
                    message: e.to_string(),
                }))
            }
        }
    }
}

impl Lines {
    /// Passes over `n` rows without decoding them (to reopen a file at a
    /// recorded position): lines, or with `blank_is_row` false only the
    /// non-blank ones. Returns how many were passed, fewer at the end.
    fn pass_rows(&mut self, n: u64, blank_is_row: bool) -> Result<u64> {
        let mut passed = 0;
        while passed < n {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => break,
                Ok(_) => {
                    self.line += 1;
                    if blank_is_row || !self.buf.iter().all(u8::is_ascii_whitespace) {
                        passed += 1;
                    }
                }
                Err(e) => {
                    return Err(DataError::Truncated {
                        path: self.path.clone(),
                        line: self.line + 1,
                        message: e.to_string(),
                    })
                }
            }
        }
        Ok(passed)
    }
}

/// The rows of a JSONL (`blank_is_row` false: non-blank lines) or text
/// file (every line), counted without decoding them.
pub(super) fn row_count(path: &Path, blank_is_row: bool) -> Result<u64> {
    Lines::open(path)?.pass_rows(u64::MAX, blank_is_row)
}

/// JSONL rows; blank lines are skipped, anything but an object is an error.
pub(super) fn jsonl(path: &Path) -> Result<impl Iterator<Item = Result<Value>> + Send> {
    Ok(jsonl_at(path, 0)?.0)
}

/// JSONL rows after the first `skip` (passed over without parsing), and
/// how many were passed.
pub(super) fn jsonl_at(
    path: &Path,
    skip: u64,
) -> Result<(impl Iterator<Item = Result<Value>> + Send, u64)> {
    let mut lines = Lines::open(path)?;
    let passed = lines.pass_rows(skip, false)?;
    let rows = std::iter::from_fn(move || loop {
        let (line, text) = match lines.next_line()? {
            Ok(l) => l,
            Err(e) => return Some(Err(e)),
        };
        if text.trim().is_empty() {
            continue;
        }
        let malformed = |message: String| DataError::Malformed {
            path: lines.path.clone(),
            line,
            message,
        };
        return Some(match serde_json::from_str::<Value>(&text) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(_) => Err(malformed("expected a JSON object".into())),
            Err(e) => Err(malformed(format!("invalid JSON: {e}"))),
        });
    });
    Ok((rows, passed))
}

/// Text rows: each line becomes `{field: line}`.
pub(super) fn text(path: &Path, field: &str) -> Result<impl Iterator<Item = Result<Value>> + Send> {
    Ok(text_at(path, field, 0)?.0)
}

/// Text rows after the first `skip` lines, and how many were passed.
pub(super) fn text_at(
    path: &Path,
    field: &str,
    skip: u64,
) -> Result<(impl Iterator<Item = Result<Value>> + Send, u64)> {
    let mut lines = Lines::open(path)?;
    let passed = lines.pass_rows(skip, true)?;
    let field = field.to_string();
    let rows = std::iter::from_fn(move || {
        Some(lines.next_line()?.map(|(_, text)| {
            let mut row = serde_json::Map::new();
            row.insert(field.clone(), Value::String(text));
            Value::Object(row)
        }))
    });
    Ok((rows, passed))
}

/// Rows from line-aligned files: line i of each file is its column of row
/// i. A file that ends before another is an error naming both (pairs are
/// never dropped silently).
pub(super) fn columns(
    files: &[(String, PathBuf)],
) -> Result<impl Iterator<Item = Result<Value>> + Send> {
    let mut open = Vec::with_capacity(files.len());
    for (name, path) in files {
        open.push((name.clone(), Lines::open(path)?));
    }
    let mut done = false;
    Ok(std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut row = serde_json::Map::new();
        // (path, lines read) of a file that has ended, and of one that has not.
        let mut ended: Option<(PathBuf, u64)> = None;
        let mut longer: Option<(PathBuf, u64)> = None;
        for (name, lines) in open.iter_mut() {
            match lines.next_line() {
                Some(Ok((line, text))) => {
                    row.insert(name.clone(), Value::String(text));
                    longer.get_or_insert((lines.path.clone(), line));
                }
                Some(Err(e)) => {
                    done = true;
                    return Some(Err(e));
                }
                None => {
                    ended.get_or_insert((lines.path.clone(), lines.line));
                }
            }
        }
        match (ended, longer) {
            (None, _) => Some(Ok(Value::Object(row))),
            (Some(_), None) => {
                done = true;
                None
            }
            (Some((short, lines)), Some((long, line))) => {
                done = true;
                Some(Err(DataError::Unaligned {
                    short,
                    short_lines: lines,
                    long,
                    long_lines: None,
                    line,
                }))
            }
        }
    }))
}

/// The number of lines of a (possibly gzipped) file, counted as [`columns`]
/// reads them (a last line without a newline counts).
pub fn line_count(path: &Path) -> Result<u64> {
    let mut reader = open_maybe_gz(path)?;
    let mut count = 0u64;
    let mut last = b'\n';
    loop {
        let buf = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) => return Err(DataError::io(path, e)),
        };
        if buf.is_empty() {
            break;
        }
        count += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        last = buf.last().copied().unwrap_or(last);
        let n = buf.len();
        reader.consume(n);
    }
    Ok(if last == b'\n' { count } else { count + 1 })
}
