//! Whole JSON documents -> rows, streamed: a top-level array of rows, an
//! object's `data` array (SQuAD-style files), or, with `rows "a.b.c"`, the
//! records of nested lists (SQuAD v1.1's own `data[].paragraphs[].qas[]`),
//! each with its ancestors' fields. A `.json` file that holds JSON lines is
//! read as JSONL.
//!
//! The document is never held whole. A reader thread walks it with serde
//! (`DeserializeSeed`s that hand each row on as it is parsed and skip what no
//! row needs) and sends the rows through a bounded channel in small batches
//! (64 rows or 256 KiB of the document), so memory holds a few batches of
//! rows, and with `rows` one record of the path's first list (one SQuAD
//! article) and its rows. Messages name the file, the line where the
//! row (or its record of the first list) starts, and its place in the
//! document (`data[3].paragraphs[0].qas[2]`), which points at it in a
//! minified file too.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::io::{BufRead, Cursor, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::lines::{jsonl_at, open_maybe_gz};
use crate::error::{DataError, Result};

/// A stream of rows, boxed.
type Rows = Box<dyn Iterator<Item = Result<Value>> + Send>;

/// Rows travel in batches (one message per row made the two threads wait
/// on each other: 100k SQuAD questions took 2.1 s instead of 0.6 s); a
/// batch is sent at this many rows, or once the rows in it took this many
/// bytes of the document, whichever comes first.
const BATCH_ROWS: usize = 64;
const BATCH_BYTES: u64 = 1 << 18;

/// Batches the reader thread may have parsed ahead of the one being used.
const AHEAD: usize = 2;

/// How much of a file's first line is looked at to tell JSON lines from
/// one document: JSON lines' first line is a whole object and more follows.
const HEAD_LIMIT: usize = 1 << 20;

/// The rows of the JSON document at `path`; with `rows`, the records of
/// those nested lists (the path's names, from the top of the document down).
pub(super) fn open(path: &Path, rows: Option<&[String]>) -> Result<Rows> {
    match layout(path)? {
        Layout::Empty => Ok(Box::new(std::iter::empty())),
        Layout::Lines => match rows {
            Some(rows) => Err(lines_with_rows(path, rows)),
            None => Ok(Box::new(jsonl_at(path, 0)?.0)),
        },
        Layout::Document(reader) => stream(path, reader, rows.map(<[String]>::to_vec)),
    }
}

/// A `.json` file that holds JSON lines, opened after its first `skip`
/// rows (passed without parsing them), and how many were passed; None for
/// a document, whose rows are read to be passed.
pub(super) fn lines_at(path: &Path, skip: u64) -> Result<Option<(Rows, u64)>> {
    match layout(path)? {
        Layout::Lines => {
            let (rows, passed) = jsonl_at(path, skip)?;
            Ok(Some((Box::new(rows), passed)))
        }
        Layout::Empty | Layout::Document(_) => Ok(None),
    }
}

fn lines_with_rows(path: &Path, rows: &[String]) -> DataError {
    DataError::Format {
        path: path.to_path_buf(),
        message: format!(
            "the file holds JSON lines (its first line is a whole object and more JSON follows), \
             but `rows \"{}\"` reads the lists of one JSON document",
            rows.join(".")
        ),
    }
}

/// What a `.json` file holds, told from its first line.
enum Layout {
    /// Nothing but whitespace.
    Empty,
    /// JSON lines saved as `.json`: a whole object on the first line that
    /// is not blank, then more.
    Lines,
    /// One document, the bytes read to tell so put back in front.
    Document(Box<dyn BufRead + Send>),
}

fn layout(path: &Path) -> Result<Layout> {
    let mut reader = open_maybe_gz(path)?;
    let io = |e| DataError::io(path, e);
    let mut head = Vec::new();
    // The first line that is not blank, within HEAD_LIMIT bytes; whether
    // it was read to its end (a newline, or the end of the file).
    let mut start = 0;
    let complete = loop {
        let room = HEAD_LIMIT.saturating_sub(head.len()) as u64;
        if room == 0 {
            break false;
        }
        let n = (&mut reader)
            .take(room)
            .read_until(b'\n', &mut head)
            .map_err(io)?;
        if n == 0 {
            break true;
        }
        if head.last() != Some(&b'\n') {
            // The file's last line, or cut at HEAD_LIMIT.
            break head.len() < HEAD_LIMIT;
        }
        if head[start..].iter().all(u8::is_ascii_whitespace) {
            start = head.len();
        } else {
            break true;
        }
    };
    if head.starts_with(b"\xef\xbb\xbf") {
        head.drain(..3);
        start = start.saturating_sub(3);
    }
    let line = head.get(start..).unwrap_or_default();
    if complete && line.iter().all(u8::is_ascii_whitespace) {
        return Ok(Layout::Empty);
    }
    if complete
        && serde_json::from_slice::<Value>(line).is_ok_and(|v| v.is_object())
        && !rest_is_blank(&mut reader).map_err(io)?
    {
        return Ok(Layout::Lines);
    }
    Ok(Layout::Document(Box::new(Cursor::new(head).chain(reader))))
}

/// Whether nothing but whitespace is left (consumes that whitespace).
fn rest_is_blank(reader: &mut dyn BufRead) -> std::io::Result<bool> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(true);
        }
        if buf.iter().any(|b| !b.is_ascii_whitespace()) {
            return Ok(false);
        }
        let n = buf.len();
        reader.consume(n);
    }
}

/// The rows of the document `reader` holds, parsed by a thread of their own.
pub(super) fn stream(
    path: &Path,
    reader: Box<dyn Read + Send>,
    rows: Option<Vec<String>>,
) -> Result<Rows> {
    let (tx, rx) = sync_channel(AHEAD);
    let file = path.to_path_buf();
    let handle = std::thread::Builder::new()
        .name("exc-json-document".into())
        .spawn(move || walk_document(reader, Walk::new(tx, file, rows)))
        .map_err(|e| DataError::io(path, e))?;
    Ok(Box::new(Streamed {
        rx,
        batch: Vec::new().into_iter(),
        handle: Some(handle),
        path: path.to_path_buf(),
    }))
}

/// The receiving end: rows as the thread sends them. A thread that ended
/// without a last word (a panic) is an error, never a silent end of file.
struct Streamed {
    rx: Receiver<Batch>,
    batch: std::vec::IntoIter<Result<Value>>,
    handle: Option<JoinHandle<()>>,
    path: PathBuf,
}

type Batch = Vec<Result<Value>>;

impl Iterator for Streamed {
    type Item = Result<Value>;

    fn next(&mut self) -> Option<Result<Value>> {
        loop {
            if let Some(item) = self.batch.next() {
                return Some(item);
            }
            match self.rx.recv() {
                Ok(batch) => self.batch = batch.into_iter(),
                Err(_) => break,
            }
        }
        let handle = self.handle.take()?;
        match handle.join() {
            Ok(()) => None,
            Err(_) => Some(Err(DataError::Truncated {
                path: self.path.clone(),
                line: 1,
                message: "the JSON document's reader stopped unexpectedly".into(),
            })),
        }
    }
}

/// A buffered reader that counts the newlines it has handed out: the line
/// the parser is on. serde_json reads one byte at a time, so the buffer is
/// its own (no chain of readers to go through per byte) and the count is
/// exact where a `BufReader` around a counter would run a buffer ahead.
struct Counted {
    inner: Box<dyn Read + Send>,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    at: Rc<Place>,
}

/// How far the parser has read: newlines and bytes.
#[derive(Default)]
struct Place {
    newlines: Cell<u64>,
    bytes: Cell<u64>,
}

impl Counted {
    fn new(inner: Box<dyn Read + Send>, at: Rc<Place>) -> Self {
        Counted {
            inner,
            buf: vec![0; 1 << 16].into_boxed_slice(),
            pos: 0,
            len: 0,
            at,
        }
    }
}

impl Read for Counted {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.len {
            self.len = self.inner.read(&mut self.buf)?;
            self.pos = 0;
        }
        let chunk = self.buf.get(self.pos..self.len).unwrap_or_default();
        let n = out.len().min(chunk.len());
        let (Some(dst), Some(src)) = (out.get_mut(..n), chunk.get(..n)) else {
            return Ok(0);
        };
        dst.copy_from_slice(src);
        let k = src.iter().filter(|&&b| b == b'\n').count() as u64;
        if k > 0 {
            self.at.newlines.set(self.at.newlines.get() + k);
        }
        self.at.bytes.set(self.at.bytes.get() + n as u64);
        self.pos += n;
        Ok(n)
    }
}

/// The message that unwinds the parse once the rows are no longer wanted.
const STOPPED: &str = "exc: the rows are no longer read";

/// What the reader thread shares with its seeds.
struct Walk {
    tx: SyncSender<Batch>,
    path: PathBuf,
    at: Rc<Place>,
    /// Rows not sent yet, and the byte where the first of them started.
    batch: RefCell<Batch>,
    batch_from: Cell<u64>,
    /// `rows`: the path's names; None for a plain document.
    rows: Option<Vec<String>>,
    /// The receiver is gone.
    stopped: Cell<bool>,
}

impl Walk {
    fn new(tx: SyncSender<Batch>, path: PathBuf, rows: Option<Vec<String>>) -> Self {
        Walk {
            tx,
            path,
            at: Rc::new(Place::default()),
            batch: RefCell::new(Vec::new()),
            batch_from: Cell::new(0),
            rows,
            stopped: Cell::new(false),
        }
    }

    /// The line the parser is on (1-based): in a seed, where its value starts.
    fn line(&self) -> u64 {
        self.at.newlines.get() + 1
    }

    /// Hands one row (or error) on, in a batch; an error unwinds the parse
    /// once the receiver is gone.
    fn send<E: de::Error>(&self, item: Result<Value>) -> std::result::Result<(), E> {
        let full = {
            let mut batch = self.batch.borrow_mut();
            if batch.is_empty() {
                self.batch_from.set(self.at.bytes.get());
            }
            batch.push(item);
            batch.len() >= BATCH_ROWS
                || self.at.bytes.get().saturating_sub(self.batch_from.get()) >= BATCH_BYTES
        };
        if full && !self.flush() {
            return Err(E::custom(STOPPED));
        }
        Ok(())
    }

    /// Sends the rows not sent yet; false once the receiver is gone.
    fn flush(&self) -> bool {
        let batch = std::mem::take(&mut *self.batch.borrow_mut());
        if batch.is_empty() {
            return true;
        }
        if self.tx.send(batch).is_err() {
            self.stopped.set(true);
            return false;
        }
        true
    }

    fn malformed(&self, line: u64, message: String) -> DataError {
        DataError::Malformed {
            path: self.path.clone(),
            line,
            message,
        }
    }

    /// `rows "…"` as written, for messages.
    fn rows_text(&self) -> String {
        self.rows.as_deref().unwrap_or_default().join(".")
    }
}

fn walk_document(reader: Box<dyn Read + Send>, walk: Walk) {
    let counted = Counted::new(reader, walk.at.clone());
    let mut de = serde_json::Deserializer::from_reader(counted);
    let parsed = RootSeed(&walk).deserialize(&mut de).and_then(|()| de.end());
    if let Err(e) = parsed {
        if walk.stopped.get() {
            return;
        }
        walk.batch.borrow_mut().push(Err(json_error(&walk, e)));
    }
    walk.flush();
}

/// A parse that cannot go on: the file ends early or is not JSON there.
fn json_error(walk: &Walk, e: serde_json::Error) -> DataError {
    use serde_json::error::Category;
    let path = walk.path.clone();
    // A read error carries no place: the line the parser had reached.
    let line = match e.line() {
        0 => walk.line(),
        n => n as u64,
    };
    match e.classify() {
        Category::Io | Category::Eof => DataError::Truncated {
            path,
            line,
            message: format!("the JSON document ends early: {e}"),
        },
        Category::Syntax if e.to_string().starts_with("trailing characters") => {
            DataError::Malformed {
                path,
                line,
                message: format!(
                    "more JSON follows the document ({e}): a `.json` file is one document, or JSON \
                     lines whose first line is a whole object; declare other JSON lines `jsonl`"
                ),
            }
        }
        Category::Syntax | Category::Data => DataError::Malformed {
            path,
            line,
            message: format!("invalid JSON: {e}"),
        },
    }
}

/// What a JSON value is, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a record",
    }
}

/// The document: an array (its elements are rows, or with `rows` the
/// records the path starts from) or an object (its `data` array holds the
/// rows, else it is one row; with `rows` the path's first name is its list).
struct RootSeed<'a>(&'a Walk);

impl<'de> DeserializeSeed<'de> for RootSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RootSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON document")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<(), A::Error> {
        let walk = self.0;
        let rest = walk.rows.as_deref().unwrap_or_default();
        elements(walk, seq, rest, "")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<(), A::Error> {
        let walk = self.0;
        match walk.rows.as_deref() {
            Some([first, rest @ ..]) => root_list(walk, map, first, rest),
            _ => data_or_row(walk, map),
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<(), E> {
        self.not_a_document("a bool")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<(), E> {
        self.not_a_document("a number")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<(), E> {
        self.not_a_document("a number")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<(), E> {
        self.not_a_document("a number")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<(), E> {
        self.not_a_document("text")
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<(), E> {
        self.not_a_document("null")
    }
}

impl RootSeed<'_> {
    fn not_a_document<E: de::Error>(&self, what: &str) -> std::result::Result<(), E> {
        let walk = self.0;
        let expected = match &walk.rows {
            Some(rows) => format!(
                "an object with a `{}` list or an array of records (for `rows \"{}\"`)",
                rows.first().map_or("", String::as_str),
                walk.rows_text()
            ),
            None => "an array of objects or an object with a `data` array".into(),
        };
        walk.send(Err(DataError::Format {
            path: walk.path.clone(),
            message: format!("the document is {what}; expected {expected}"),
        }))
    }
}

/// The top-level object's fields: `data`, when it is a list, holds the
/// rows (streamed); otherwise the object is one row. Its other fields are
/// kept only until `data` turns out to be a list.
fn data_or_row<'de, A: MapAccess<'de>>(
    walk: &Walk,
    mut map: A,
) -> std::result::Result<(), A::Error> {
    let mut fields = Map::new();
    let mut streamed = false;
    while let Some(key) = map.next_key::<String>()? {
        if streamed {
            map.next_value::<IgnoredAny>()?;
        } else if key == "data" {
            match map.next_value_seed(DataSeed(walk))? {
                None => {
                    streamed = true;
                    fields.clear();
                }
                Some(v) => {
                    fields.insert(key, v);
                }
            }
        } else {
            let v = map.next_value::<Value>()?;
            fields.insert(key, v);
        }
    }
    if streamed {
        return Ok(());
    }
    walk.send(Ok(Value::Object(fields)))
}

/// A top-level `data` field: a list is streamed as rows (None); anything
/// else is kept as the field's value.
struct DataSeed<'a>(&'a Walk);

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Option<Value>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DataSeed<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<Option<Value>, A::Error> {
        elements(self.0, seq, &[], "data")?;
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Option<Value>, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Some)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<Option<Value>, E> {
        Ok(Some(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Option<Value>, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Option<Value>, E> {
        Ok(Some(Value::String(v.to_string())))
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<Option<Value>, E> {
        Ok(Some(Value::Null))
    }
}

/// The top-level object under `rows`: its field `first` is the list the
/// path starts with (streamed); its other fields are passed over unread.
fn root_list<'de, A: MapAccess<'de>>(
    walk: &Walk,
    mut map: A,
    first: &str,
    rest: &[String],
) -> std::result::Result<(), A::Error> {
    let line = walk.line();
    let mut found = false;
    let mut others: Vec<String> = Vec::new();
    while let Some(key) = map.next_key::<String>()? {
        if key == first {
            found = true;
            map.next_value_seed(ListSeed {
                walk,
                rest,
                place: first,
            })?;
        } else {
            map.next_value::<IgnoredAny>()?;
            others.push(key);
        }
    }
    if found {
        return Ok(());
    }
    let mut message = format!(
        "the document has no `{first}` list, where `rows \"{}\"` starts",
        walk.rows_text()
    );
    if others.is_empty() {
        message.push_str(" (it is an empty object)");
    } else {
        let shown: Vec<String> = others.iter().take(12).map(|k| format!("`{k}`")).collect();
        let _ = write!(message, "; its top-level fields: {}", shown.join(", "));
        if others.len() > shown.len() {
            let _ = write!(message, " and {} more", others.len() - shown.len());
        }
    }
    walk.send(Err(walk.malformed(line, message)))
}

/// A list the path descends through, at `place` in the document; its
/// elements are rows when `rest` is empty, else records.
struct ListSeed<'a> {
    walk: &'a Walk,
    rest: &'a [String],
    place: &'a str,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        let line = self.walk.line();
        let place = self.place;
        let walk = self.walk;
        match d.deserialize_any(self) {
            Err(e) => Err(e),
            Ok(None) => Ok(()),
            Ok(Some(what)) => walk.send(Err(walk.malformed(
                line,
                format!(
                    "`{place}` is {what}, not a list of records (`rows \"{}\"`)",
                    walk.rows_text()
                ),
            ))),
        }
    }
}

/// Visits a list (None) or passes over anything else, saying what it was.
impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = Option<&'static str>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<Self::Value, A::Error> {
        elements(self.walk, seq, self.rest, self.place)?;
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Some("a record"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Self::Value, E> {
        Ok(Some("a bool"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Self::Value, E> {
        Ok(Some("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Self::Value, E> {
        Ok(Some("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Self::Value, E> {
        Ok(Some("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<Self::Value, E> {
        Ok(Some("text"))
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(Some("null"))
    }
}

/// The elements of a list at `place`, one at a time: rows when `rest` is
/// empty, else records whose `rest` lists hold the rows.
fn elements<'de, A: SeqAccess<'de>>(
    walk: &Walk,
    mut seq: A,
    rest: &[String],
    place: &str,
) -> std::result::Result<(), A::Error> {
    let mut i = 0usize;
    loop {
        let seed = ElementSeed {
            walk,
            rest,
            place,
            index: i,
        };
        if seq.next_element_seed(seed)?.is_none() {
            return Ok(());
        }
        i += 1;
    }
}

/// One element of a list: parsed whole (one row, or one record of the
/// path with its rows), then handed on.
struct ElementSeed<'a> {
    walk: &'a Walk,
    rest: &'a [String],
    place: &'a str,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for ElementSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        // The parser has read the element's first byte: its line.
        let line = self.walk.line();
        let value = Value::deserialize(d)?;
        let place = format!("{}[{}]", self.place, self.index);
        let mut out = Vec::new();
        if self.rest.is_empty() {
            out.push(row(self.walk, value, &[], &place, line));
        } else {
            records(self.walk, value, self.rest, &[], &place, line, &mut out);
        }
        for item in out {
            self.walk.send(item)?;
        }
        Ok(())
    }
}

/// A field a row takes from a record above it: (name, value, the record's place).
type Inherited = (String, Value, String);

/// The rows under `record` (at `place`), whose `rest` lists lead to them;
/// each row takes `inherited` and this record's fields but the list.
fn records(
    walk: &Walk,
    record: Value,
    rest: &[String],
    inherited: &[Inherited],
    place: &str,
    line: u64,
    out: &mut Vec<Result<Value>>,
) {
    let Some((name, below)) = rest.split_first() else {
        out.push(row(walk, record, inherited, place, line));
        return;
    };
    let Value::Object(mut fields) = record else {
        out.push(Err(walk.malformed(
            line,
            format!(
                "`{place}` is {}, not a record with a `{name}` list (`rows \"{}\"`)",
                kind(&record),
                walk.rows_text()
            ),
        )));
        return;
    };
    let list = match fields.shift_remove(name) {
        Some(Value::Array(list)) => list,
        Some(other) => {
            out.push(Err(walk.malformed(
                line,
                format!(
                    "`{place}.{name}` is {}, not a list of records (`rows \"{}\"`); the record's rows are not read",
                    kind(&other),
                    walk.rows_text()
                ),
            )));
            return;
        }
        None => {
            let shown: Vec<String> = fields.keys().take(12).map(|k| format!("`{k}`")).collect();
            out.push(Err(walk.malformed(
                line,
                format!(
                    "`{place}` has no `{name}` list (`rows \"{}\"`; its fields: {}); the record's rows are not read",
                    walk.rows_text(),
                    if shown.is_empty() { "none".into() } else { shown.join(", ") }
                ),
            )));
            return;
        }
    };
    let mut mine = inherited.to_vec();
    for (k, v) in fields {
        if let Some((_, _, owner)) = inherited.iter().find(|(n, _, _)| *n == k) {
            out.push(Err(walk.malformed(
                line,
                format!(
                    "`{place}` and `{owner}` both have a field `{k}`, which each of their rows would take; \
                     rename one in the file (the record's rows are not read)"
                ),
            )));
            return;
        }
        mine.push((k, v, place.to_string()));
    }
    for (i, item) in list.into_iter().enumerate() {
        let child = format!("{place}.{name}[{i}]");
        records(walk, item, below, &mine, &child, line, out);
    }
}

/// A row at `place`: an object, with the fields of the records above it
/// added; a field it has already is an error naming both.
fn row(
    walk: &Walk,
    value: Value,
    inherited: &[Inherited],
    place: &str,
    line: u64,
) -> Result<Value> {
    let Value::Object(mut obj) = value else {
        return Err(walk.malformed(
            line,
            format!(
                "row `{place}` is not a JSON object (it is {})",
                kind(&value)
            ),
        ));
    };
    for (k, v, owner) in inherited {
        if obj.contains_key(k) {
            return Err(walk.malformed(
                line,
                format!(
                    "row `{place}` has a field `{k}`, and so does its record `{owner}`, which its rows \
                     take fields from; rename one in the file"
                ),
            ));
        }
        obj.insert(k.clone(), v.clone());
    }
    Ok(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::BufReader;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use super::*;

    /// An endless document, `head` then `row(i)` for i = 0, 1, …, made as
    /// it is read; it counts the bytes read, and fails after `fail_after`.
    struct Endless {
        head: Vec<u8>,
        row: fn(u64) -> String,
        pending: Vec<u8>,
        next: u64,
        read: Arc<AtomicU64>,
        fail_after: u64,
    }

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.read.load(Ordering::SeqCst) >= self.fail_after {
                return Err(std::io::Error::other("the test's reader stops here"));
            }
            if self.pending.is_empty() {
                self.pending = if self.next == 0 && !self.head.is_empty() {
                    std::mem::take(&mut self.head)
                } else {
                    let r = (self.row)(self.next);
                    self.next += 1;
                    r.into_bytes()
                };
            }
            let n = buf.len().min(self.pending.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            self.read.fetch_add(n as u64, Ordering::SeqCst);
            Ok(n)
        }
    }

    fn endless(
        head: &str,
        row: fn(u64) -> String,
        fail_after: u64,
    ) -> (Box<dyn Read + Send>, Arc<AtomicU64>) {
        let read = Arc::new(AtomicU64::new(0));
        let r = Endless {
            head: head.as_bytes().to_vec(),
            row,
            pending: Vec::new(),
            next: 0,
            read: read.clone(),
            fail_after,
        };
        // Buffered as files are (`open_maybe_gz`).
        (Box::new(BufReader::with_capacity(1 << 16, r)), read)
    }

    const MIB: u64 = 1 << 20;

    /// The first rows come before the reader has read more than a buffer
    /// and a few rows, and the thread then waits: it does not read on.
    #[test]
    fn rows_come_before_the_document_is_read() {
        // A 1 GiB document, were it read through.
        let (reader, read) = endless(
            "{\"version\": \"1\", \"data\": [\n",
            |i| format!("{{\"question\": \"q{i} {}\"}},\n", "x".repeat(200)),
            1 << 30,
        );
        let mut rows = stream(Path::new("big.json"), reader, None).unwrap();
        for i in 0..3 {
            let row = rows.next().unwrap().unwrap();
            assert!(row["question"]
                .as_str()
                .unwrap()
                .starts_with(&format!("q{i} ")));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        let n = read.load(Ordering::SeqCst);
        assert!(n < MIB, "read {n} bytes for 3 rows");
    }

    /// With `rows`, one record of the first list is held: SQuAD's rows of
    /// one article come out while the articles after it are unread.
    #[test]
    fn nested_rows_come_record_by_record() {
        let (reader, read) = endless(
            "{\"data\": [\n",
            |i| {
                format!(
                    "{{\"title\": \"t{i}\", \"paragraphs\": [{{\"context\": \"c{i}\", \"qas\": [{{\"id\": \"{i}a\"}}, {{\"id\": \"{i}b\"}}]}}]}},\n"
                )
            },
            1 << 30,
        );
        let path = ["data", "paragraphs", "qas"].map(String::from).to_vec();
        let mut rows = stream(Path::new("squad.json"), reader, Some(path)).unwrap();
        let first: Vec<Value> = rows.by_ref().take(4).map(|r| r.unwrap()).collect();
        assert_eq!(
            first[3],
            serde_json::json!({"id": "1b", "context": "c1", "title": "t1"})
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
        let n = read.load(Ordering::SeqCst);
        assert!(n < MIB, "read {n} bytes for 2 articles");
    }

    /// A reader that fails part-way: every row before the failure is read,
    /// then one error saying where the document ends.
    #[test]
    fn a_failing_reader_gives_its_rows_then_one_error() {
        let (reader, _) = endless("[\n", |i| format!("{{\"i\": {i}}},\n"), 4 * MIB);
        let items: Vec<Result<Value>> = stream(Path::new("cut.json"), reader, None)
            .unwrap()
            .collect();
        let (last, rows) = items.split_last().unwrap();
        assert!(rows.len() > 100_000, "{} rows", rows.len());
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r.as_ref().unwrap()["i"], i as u64);
        }
        let err = last.as_ref().unwrap_err();
        // One row a line, after the `[` line.
        let at = rows.len() as u64 + 2;
        assert!(
            matches!(err, DataError::Truncated { line, .. } if line.abs_diff(at) <= 1),
            "{err} (row {at})"
        );
        assert!(err.to_string().contains("cut.json"), "{err}");
    }

    /// Dropping the rows stops the thread at its next row.
    #[test]
    fn dropped_rows_stop_the_reader() {
        let (reader, read) = endless("[", |i| format!("{{\"i\": {i}}},"), u64::MAX);
        let mut rows = stream(Path::new("drop.json"), reader, None).unwrap();
        rows.next().unwrap().unwrap();
        drop(rows);
        std::thread::sleep(std::time::Duration::from_millis(100));
        let at = read.load(Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(read.load(Ordering::SeqCst), at, "the reader read on");
    }
}
