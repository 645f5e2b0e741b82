//! TensorBoard event files: scalars written so that `tensorboard --logdir`
//! shows a run, byte-compatible with TensorBoard's own writer
//! (`tensorboard.summary.writer.event_file_writer.EventFileWriter`).
//!
//! An event file is a sequence of TFRecords, each
//!
//! ```text
//! u64 LE  length        u32 LE  masked crc32c(length bytes)
//! [u8]    data          u32 LE  masked crc32c(data)
//! ```
//!
//! around a `tensorflow.Event` protobuf. Only the few fields we write are
//! encoded, by hand: `wall_time` (1, double), `step` (2, int64),
//! `file_version` (3, string), `summary` (5) → `Summary.value` (1, repeated)
//! → `Value.tag` (1, string), `Value.simple_value` (2, float), and
//! `session_log` (7) → `SessionLog.status` (1, enum; START = 1), and
//! `source_metadata` (10) → `SourceMetadata.writer` (1, string). As in
//! proto3, a zero `wall_time` or `step` and an empty tag are left out; the
//! oneof members (`file_version`, `summary`, `session_log`, `simple_value`) are always
//! written. `runtime/golden/gen_tensorboard.py` wrote the golden file the
//! tests compare with, and read a file of ours back with TensorBoard.
//!
//! A `SessionLog.START` event at step `s` tells TensorBoard that a run
//! restarted there: every START after a run's first makes TensorBoard drop
//! the events it has read with a step of `s` or more (its
//! `_CheckForRestartAndMaybePurge`), which is how a resumed run hides the
//! steps the interrupted one logged past its last checkpoint.
//!
//! [`read_events`] is a small reader (both checksums verified) for tests.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// The `file_version` of the first event of every file.
pub const FILE_VERSION: &str = "brain.Event:2";
/// `SourceMetadata.writer` of the first event of the files we write.
pub const WRITER: &str = "exc";

/// One `Value` of a `Summary` holding a `simple_value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub tag: String,
    pub value: f32,
}

/// The fields of a `tensorflow.Event` this module writes and reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    pub wall_time: f64,
    pub step: i64,
    pub file_version: Option<String>,
    /// `summary`: its values that hold a `simple_value` (others are skipped
    /// by the reader).
    pub summary: Option<Vec<Scalar>>,
    /// `session_log` with status START.
    pub session_start: bool,
    /// `source_metadata.writer`.
    pub source_writer: Option<String>,
}

impl Event {
    /// One scalar (stored as f32, as TensorBoard's `simple_value`).
    pub fn scalar(tag: &str, step: i64, value: f64, wall_time: f64) -> Event {
        Event {
            wall_time,
            step,
            summary: Some(vec![Scalar {
                tag: tag.to_string(),
                value: value as f32,
            }]),
            ..Event::default()
        }
    }

    /// A `SessionLog.START` at `step`: a (re)start of the run there.
    pub fn session_start(step: i64, wall_time: f64) -> Event {
        Event {
            wall_time,
            step,
            session_start: true,
            ..Event::default()
        }
    }

    /// The first event of a file: the format version and who wrote it.
    pub fn header(wall_time: f64, writer: &str) -> Event {
        Event {
            wall_time,
            file_version: Some(FILE_VERSION.to_string()),
            source_writer: Some(writer.to_string()),
            ..Event::default()
        }
    }

    /// The protobuf encoding, fields in number order as protobuf writes them.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.wall_time.to_bits() != 0 {
            key(&mut out, 1, WIRE_I64);
            out.extend_from_slice(&self.wall_time.to_le_bytes());
        }
        if self.step != 0 {
            key(&mut out, 2, WIRE_VARINT);
            // int64: negative values are their two's complement, ten bytes.
            varint(&mut out, self.step as u64);
        }
        if let Some(v) = &self.file_version {
            bytes_field(&mut out, 3, v.as_bytes());
        }
        if let Some(values) = &self.summary {
            let mut summary = Vec::new();
            for s in values {
                let mut value = Vec::new();
                if !s.tag.is_empty() {
                    bytes_field(&mut value, 1, s.tag.as_bytes());
                }
                key(&mut value, 2, WIRE_I32);
                value.extend_from_slice(&s.value.to_le_bytes());
                bytes_field(&mut summary, 1, &value);
            }
            bytes_field(&mut out, 5, &summary);
        }
        if self.session_start {
            let mut log = Vec::new();
            key(&mut log, 1, WIRE_VARINT);
            varint(&mut log, SESSION_START);
            bytes_field(&mut out, 7, &log);
        }
        if let Some(w) = &self.source_writer {
            let mut meta = Vec::new();
            if !w.is_empty() {
                bytes_field(&mut meta, 1, w.as_bytes());
            }
            bytes_field(&mut out, 10, &meta);
        }
        out
    }

    /// Decodes the fields above; other fields are skipped.
    pub fn decode(data: &[u8]) -> std::result::Result<Event, String> {
        let mut event = Event::default();
        let mut r = Reader::new(data);
        while let Some((field, wire)) = r.key()? {
            match (field, wire) {
                (1, WIRE_I64) => event.wall_time = f64::from_le_bytes(r.fixed()?),
                (2, WIRE_VARINT) => event.step = r.varint()? as i64,
                (3, WIRE_LEN) => event.file_version = Some(utf8(r.bytes()?)?),
                (5, WIRE_LEN) => event.summary = Some(decode_summary(r.bytes()?)?),
                (7, WIRE_LEN) => {
                    let mut m = Reader::new(r.bytes()?);
                    while let Some((f, w)) = m.key()? {
                        match (f, w) {
                            (1, WIRE_VARINT) => event.session_start = m.varint()? == SESSION_START,
                            _ => m.skip(w)?,
                        }
                    }
                }
                (10, WIRE_LEN) => {
                    let mut m = Reader::new(r.bytes()?);
                    let mut writer = String::new();
                    while let Some((f, w)) = m.key()? {
                        match (f, w) {
                            (1, WIRE_LEN) => writer = utf8(m.bytes()?)?,
                            _ => m.skip(w)?,
                        }
                    }
                    event.source_writer = Some(writer);
                }
                _ => r.skip(wire)?,
            }
        }
        Ok(event)
    }
}

fn decode_summary(data: &[u8]) -> std::result::Result<Vec<Scalar>, String> {
    let mut values = Vec::new();
    let mut r = Reader::new(data);
    while let Some((field, wire)) = r.key()? {
        if (field, wire) != (1, WIRE_LEN) {
            r.skip(wire)?;
            continue;
        }
        let mut v = Reader::new(r.bytes()?);
        let (mut tag, mut value) = (String::new(), None);
        while let Some((f, w)) = v.key()? {
            match (f, w) {
                (1, WIRE_LEN) => tag = utf8(v.bytes()?)?,
                (2, WIRE_I32) => value = Some(f32::from_le_bytes(v.fixed()?)),
                _ => v.skip(w)?,
            }
        }
        if let Some(value) = value {
            values.push(Scalar { tag, value });
        }
    }
    Ok(values)
}

fn utf8(b: &[u8]) -> std::result::Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| "a string field is not UTF-8".to_string())
}

/// `SessionLog.SessionStatus.START`.
const SESSION_START: u64 = 1;
const WIRE_VARINT: u8 = 0;
const WIRE_I64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_I32: u8 = 5;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire));
}

fn bytes_field(out: &mut Vec<u8>, field: u32, data: &[u8]) {
    key(out, field, WIRE_LEN);
    varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// A protobuf wire-format cursor; errors are messages.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or("truncated protobuf field")?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn varint(&mut self) -> std::result::Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.take(1)?[0];
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err("varint longer than ten bytes".to_string())
    }

    fn fixed<const N: usize>(&mut self) -> std::result::Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn bytes(&mut self) -> std::result::Result<&'a [u8], String> {
        let n = usize::try_from(self.varint()?).map_err(|_| "length too large")?;
        self.take(n)
    }

    /// The next field's number and wire type, `None` at the end.
    fn key(&mut self) -> std::result::Result<Option<(u64, u8)>, String> {
        if self.pos == self.data.len() {
            return Ok(None);
        }
        let k = self.varint()?;
        Ok(Some((k >> 3, (k & 7) as u8)))
    }

    fn skip(&mut self, wire: u8) -> std::result::Result<(), String> {
        match wire {
            WIRE_VARINT => self.varint().map(drop),
            WIRE_I64 => self.take(8).map(drop),
            WIRE_LEN => self.bytes().map(drop),
            WIRE_I32 => self.take(4).map(drop),
            w => Err(format!("unsupported wire type {w}")),
        }
    }
}

/// TFRecord's checksum: crc32c, rotated right by 15 bits, plus a constant.
pub fn masked_crc32c(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// One TFRecord: length, its masked crc, data, the data's masked crc.
pub fn frame_record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
    out
}

/// Splits an event file into its records' data, verifying both checksums.
pub fn read_records(bytes: &[u8]) -> std::result::Result<Vec<&[u8]>, String> {
    let mut records = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let at = pos;
        let mut r = Reader {
            data: bytes,
            pos: at,
        };
        let truncated = |_: String| format!("record {} at byte {at}: truncated", records.len());
        let len_bytes = r.take(8).map_err(truncated)?;
        let len_crc: [u8; 4] = r.fixed().map_err(truncated)?;
        if masked_crc32c(len_bytes) != u32::from_le_bytes(len_crc) {
            return Err(format!(
                "record {} at byte {at}: length crc mismatch",
                records.len()
            ));
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(len_bytes);
        let len = usize::try_from(u64::from_le_bytes(len)).map_err(|e| truncated(e.to_string()))?;
        let data = r.take(len).map_err(truncated)?;
        let data_crc: [u8; 4] = r.fixed().map_err(truncated)?;
        if masked_crc32c(data) != u32::from_le_bytes(data_crc) {
            return Err(format!(
                "record {} at byte {at}: data crc mismatch",
                records.len()
            ));
        }
        records.push(data);
        pos = r.pos;
    }
    Ok(records)
}

/// Reads every event of an event file, verifying both checksums of each
/// record. A corrupt or truncated file is an [`Error::Input`].
pub fn read_events(path: &Path) -> Result<Vec<Event>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |m: String| Error::Input(format!("event file `{}`: {m}", path.display()));
    read_records(&bytes)
        .map_err(bad)?
        .into_iter()
        .enumerate()
        .map(|(i, data)| Event::decode(data).map_err(|m| bad(format!("record {i}: {m}"))))
        .collect()
}

/// Distinguishes the files of writers created in the same second.
static FILE_UID: AtomicU64 = AtomicU64::new(0);

/// Appends events to a new event file in a log directory.
#[derive(Debug)]
pub struct EventWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl EventWriter {
    /// Creates `dir` and in it a new event file, named as TensorBoard names
    /// its own (`events.out.tfevents.<unix secs>.<hostname>.<pid>.<n>`),
    /// and writes the first event.
    pub fn create(dir: &Path) -> Result<EventWriter> {
        Self::create_at(dir, now())
    }

    /// As [`create`](Self::create), with the first event's wall time given.
    pub fn create_at(dir: &Path, wall_time: f64) -> Result<EventWriter> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let name = format!(
            "events.out.tfevents.{:010}.{}.{}.{}",
            wall_time.max(0.0) as u64,
            hostname(),
            std::process::id(),
            FILE_UID.fetch_add(1, Ordering::Relaxed),
        );
        let path = dir.join(name);
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let mut writer = EventWriter {
            path,
            out: BufWriter::new(file),
        };
        writer.write(&Event::header(wall_time, WRITER))?;
        writer.flush()?;
        Ok(writer)
    }

    /// The event file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event.
    pub fn write(&mut self, event: &Event) -> Result<()> {
        self.out
            .write_all(&frame_record(&event.encode()))
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Appends a scalar (stored as f32, as TensorBoard's `simple_value`).
    pub fn scalar(&mut self, tag: &str, step: i64, value: f64, wall_time: f64) -> Result<()> {
        self.write(&Event::scalar(tag, step, value, wall_time))
    }

    /// Mirrors a JSON object of numbers (a `metrics.jsonl` line) as one
    /// event: each number becomes a scalar tagged with its key path joined
    /// by `/` under `prefix` (none when empty): `{"valid_loss": {"a": 1}}`
    /// with prefix `pretrain` gives `pretrain/valid_loss/a`. Strings, booleans,
    /// nulls, arrays and a top-level `step` (the event's step) are skipped.
    /// Returns how many scalars were written; none writes no event.
    pub fn scalars_from_json(
        &mut self,
        prefix: &str,
        step: i64,
        value: &serde_json::Value,
        wall_time: f64,
    ) -> Result<usize> {
        let mut scalars = Vec::new();
        if let serde_json::Value::Object(map) = value {
            for (k, v) in map {
                if k != "step" {
                    flatten(&join(prefix, k), v, &mut scalars);
                }
            }
        }
        let n = scalars.len();
        if n > 0 {
            self.write(&Event {
                wall_time,
                step,
                summary: Some(scalars),
                ..Event::default()
            })?;
        }
        Ok(n)
    }

    /// Writes buffered events to the file.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.path, e))
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}/{key}")
    }
}

fn flatten(tag: &str, value: &serde_json::Value, out: &mut Vec<Scalar>) {
    match value {
        serde_json::Value::Number(n) => {
            if let Some(v) = n.as_f64() {
                out.push(Scalar {
                    tag: tag.to_string(),
                    value: v as f32,
                });
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                flatten(&join(tag, k), v, out);
            }
        }
        _ => {}
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The host's name from `/etc/hostname`, `localhost` when unknown; kept to
/// characters safe in a file name.
pub(crate) fn hostname() -> String {
    let name: String = std::fs::read_to_string("/etc/hostname")
        .unwrap_or_default()
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "localhost".to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    //! Byte parity with TensorBoard's own writer on the golden of
    //! runtime/golden/gen_tensorboard.py, a round trip through our reader,
    //! corruption reported as an error, and the encoding's pieces.

    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn crc32c_check_value() {
        // The CRC-32C check value (RFC 3720's polynomial).
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        // masked_crc32c(b"123456789") of TensorBoard's pywrap_tensorflow stub.
        assert_eq!(masked_crc32c(b"123456789"), 0xc78a_b0e5);
    }

    #[test]
    fn varints() {
        for (v, want) in [
            (0u64, vec![0u8]),
            (1, vec![1]),
            (127, vec![0x7f]),
            (128, vec![0x80, 1]),
            (300, vec![0xac, 2]),
            (
                u64::MAX,
                vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1],
            ),
        ] {
            let mut out = Vec::new();
            varint(&mut out, v);
            assert_eq!(out, want, "{v}");
            assert_eq!(Reader::new(&out).varint().unwrap(), v);
        }
        assert!(Reader::new(&[0x80; 11]).varint().is_err());
        assert!(Reader::new(&[0x80]).varint().is_err());
    }

    #[test]
    fn json_is_flattened_into_one_event() {
        let mut scalars = Vec::new();
        let v = serde_json::json!({"loss": 1, "lr": 0.5, "stage": "x", "valid": {"a": 2.0, "b": {"c": 3}}});
        if let serde_json::Value::Object(map) = &v {
            for (k, v) in map {
                flatten(&join("", k), v, &mut scalars);
            }
        }
        let tags: Vec<&str> = scalars.iter().map(|s| s.tag.as_str()).collect();
        assert_eq!(tags, ["loss", "lr", "valid/a", "valid/b/c"]);
        assert_eq!(join("train", "loss"), "train/loss");
    }

    #[test]
    fn unknown_fields_are_skipped() {
        let mut data = Event {
            step: 3,
            ..Event::default()
        }
        .encode();
        // graph_def (4, bytes), then a fixed32 and a varint of unknown fields.
        bytes_field(&mut data, 4, b"graph");
        key(&mut data, 99, WIRE_I32);
        data.extend_from_slice(&[1, 2, 3, 4]);
        key(&mut data, 100, WIRE_VARINT);
        varint(&mut data, 7);
        let e = Event::decode(&data).unwrap();
        assert_eq!(e.step, 3);
        assert!(Event::decode(&[0x0b]).is_err()); // wire type 3 (groups)
    }

    #[test]
    fn hostname_is_a_file_name() {
        let h = hostname();
        assert!(!h.is_empty() && !h.contains('/'));
    }

    /// The first event's wall time in the golden (`T0` in the script).
    const T0: f64 = 1_700_000_000.0;
    /// `SourceMetadata.writer` of TensorBoard's `EventFileWriter`.
    const TB_WRITER: &str = "tensorboard.summary.writer.event_file_writer";

    /// `SCALARS` of gen_tensorboard.py: (tag, step, value, wall_time).
    const SCALARS: &[(&str, i64, f64, f64)] = &[
        ("loss", 1, 2.5, 1_700_000_001.25),
        ("loss", 2, 0.1, 1_700_000_002.5),
        ("train/lr", 10, 1e-3, 1_700_000_003.0),
        ("valid_loss/τ", 1 << 40, -7.25e-8, 1_700_000_004.125),
        ("zero", 0, 0.0, 0.0),
        ("negative_step", -1, 1e30, 1_700_000_005.0),
        ("nan", 3, f64::NAN, 1_700_000_006.0),
        ("inf", 4, f64::INFINITY, 1_700_000_007.0),
        ("neg_zero", 5, -0.0, -0.0),
        ("overflow", 6, 1e300, 1_700_000_008.0),
        ("", 7, 1.0, 1_700_000_009.0),
    ];
    /// `MULTI` of the script, written from a metrics.jsonl-like line.
    const MULTI_STEP: i64 = 100;
    const MULTI_WALL: f64 = 1_700_000_100.5;
    /// `START` of the script: a SessionLog.START event.
    const START_STEP: i64 = 51;
    const START_WALL: f64 = 1_700_000_200.0;

    fn golden_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/tensorboard/events.out.tfevents.golden")
    }

    /// A fresh directory.
    fn out_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("exc-tb-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    /// Writes the golden's events with our writer; returns the file.
    fn write_ours(dir: &Path) -> PathBuf {
        let mut w = EventWriter::create_at(dir, T0).unwrap();
        for &(tag, step, value, wall_time) in SCALARS {
            w.scalar(tag, step, value, wall_time).unwrap();
        }
        let line = serde_json::json!({
            "stage": "pretrain", "step": MULTI_STEP, "loss": 3.0,
            "valid_loss": {"glue_sst2": 1.5, "squad": 2}, "note": null, "ok": true,
        });
        let n = w
            .scalars_from_json("pretrain", MULTI_STEP, &line, MULTI_WALL)
            .unwrap();
        assert_eq!(n, 3);
        w.write(&Event::session_start(START_STEP, START_WALL))
            .unwrap();
        w.flush().unwrap();
        w.path().to_path_buf()
    }

    /// The events of the golden, with the first event's writer given.
    fn expected(writer: &str) -> Vec<Event> {
        let mut events = vec![Event::header(T0, writer)];
        for &(tag, step, value, wall_time) in SCALARS {
            events.push(Event::scalar(tag, step, value, wall_time));
        }
        events.push(Event {
            wall_time: MULTI_WALL,
            step: MULTI_STEP,
            summary: Some(
                [
                    ("pretrain/loss", 3.0),
                    ("pretrain/valid_loss/glue_sst2", 1.5),
                    ("pretrain/valid_loss/squad", 2.0),
                ]
                .iter()
                .map(|&(tag, value)| Scalar {
                    tag: tag.to_string(),
                    value,
                })
                .collect(),
            ),
            ..Event::default()
        });
        events.push(Event::session_start(START_STEP, START_WALL));
        events
    }

    /// Equality with floats compared bit for bit (NaN, -0.0).
    fn assert_same(got: &[Event], want: &[Event]) {
        let key = |e: &Event| {
            (
                e.wall_time.to_bits(),
                e.step,
                e.file_version.clone(),
                e.source_writer.clone(),
                e.session_start,
                e.summary.as_ref().map(|s| {
                    s.iter()
                        .map(|v| (v.tag.clone(), v.value.to_bits()))
                        .collect::<Vec<_>>()
                }),
            )
        };
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert_eq!(key(g), key(w), "event {i}: {g:?} != {w:?}");
        }
    }

    #[test]
    fn bytes_match_tensorboard() {
        let golden = std::fs::read(golden_path()).unwrap();
        let golden_records = read_records(&golden).unwrap();
        assert_eq!(golden_records.len(), 1 + SCALARS.len() + 2);

        // The first record: TensorBoard's header, from our encoder.
        let header = frame_record(&Event::header(T0, TB_WRITER).encode());
        assert_eq!(header, golden[..header.len()]);

        // Every later record: from our writer's file. EXC_TB_DIR keeps it for
        // `python runtime/golden/gen_tensorboard.py --read DIR`.
        let dir = std::env::var_os("EXC_TB_DIR").map_or_else(|| out_dir("bytes"), PathBuf::from);
        let path = write_ours(&dir);
        let ours = std::fs::read(&path).unwrap();
        let our_header = frame_record(&Event::header(T0, WRITER).encode());
        assert_eq!(ours[..our_header.len()], our_header[..]);
        assert_eq!(ours[our_header.len()..], golden[header.len()..]);

        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("events.out.tfevents.1700000000."),
            "{name}"
        );
    }

    #[test]
    fn round_trip() {
        assert_same(&read_events(&golden_path()).unwrap(), &expected(TB_WRITER));
        let ours = read_events(&write_ours(&out_dir("round-trip"))).unwrap();
        assert_same(&ours, &expected(WRITER));
        assert_eq!(ours[0].file_version.as_deref(), Some(FILE_VERSION));
        // Every event survives encode -> decode.
        for e in expected(WRITER) {
            assert_same(&[Event::decode(&e.encode()).unwrap()], &[e]);
        }
    }

    #[test]
    fn create_uses_the_clock_and_a_new_file() {
        let dir = out_dir("create").join("nested/logdir");
        let a = EventWriter::create(&dir).unwrap();
        let b = EventWriter::create(&dir).unwrap();
        assert_ne!(a.path(), b.path());
        let events = read_events(a.path()).unwrap();
        assert_eq!(events.len(), 1);
        assert!(events[0].wall_time > T0, "{:?}", events[0]);
        assert_eq!(events[0].source_writer.as_deref(), Some(WRITER));
    }

    #[test]
    fn every_corrupted_byte_is_a_crc_error() {
        let dir = out_dir("corrupt");
        let path = write_ours(&dir);
        let bytes = std::fs::read(&path).unwrap();
        let bad = dir.join("corrupt.tfevents");
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x20;
            std::fs::write(&bad, &b).unwrap();
            let err = read_events(&bad).expect_err("a flipped byte must be detected");
            let msg = err.to_string();
            assert!(msg.contains("crc mismatch"), "byte {i}: {msg}");
        }
        // A file cut short anywhere but at a record boundary is truncated.
        let first = read_records(&bytes).unwrap()[0].len() + 16;
        for cut in [1, 8, 12, first - 1, first + 3, bytes.len() - 1] {
            std::fs::write(&bad, &bytes[..cut]).unwrap();
            let msg = read_events(&bad).unwrap_err().to_string();
            assert!(msg.contains("truncated"), "cut at {cut}: {msg}");
        }
        std::fs::write(&bad, &bytes[..first]).unwrap();
        assert_eq!(read_events(&bad).unwrap().len(), 1);
    }
}
