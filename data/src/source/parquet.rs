//! Parquet rows through the row-level reader (no arrow), one row group in
//! memory at a time. Values map to JSON the obvious way; binary columns that
//! hold UTF-8 (as HF's converted datasets often store strings) become strings.

use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::serialized_reader::ReadOptionsBuilder;
use parquet::record::{Field, Row};
use parquet::schema::types::Type;
use serde_json::{Map, Number, Value};

use crate::error::{DataError, Result};

pub(super) fn open(
    path: &Path,
    select: Option<&[String]>,
) -> Result<impl Iterator<Item = Result<Value>> + Send> {
    Ok(open_at(path, 0, select)?.0)
}

/// The rows of a parquet file, from its footer.
pub(super) fn row_count(path: &Path) -> Result<u64> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let reader = SerializedFileReader::new(file).map_err(|e| unreadable(path, &e))?;
    Ok(u64::try_from(reader.metadata().file_metadata().num_rows()).unwrap_or(0))
}

/// Why a parquet file cannot be opened. A file cut short (a download that
/// stopped) has lost its footer, which ends with `PAR1`: say so, since
/// the parquet reader's own words ("EOF", "invalid footer") do not.
fn unreadable(path: &Path, e: &parquet::errors::ParquetError) -> DataError {
    let tail = ends_with_magic(path);
    let message = match tail {
        Some(false) => format!(
            "not a readable parquet file: it is cut short or damaged (it does not end with parquet's footer, `PAR1`); fetch it again ({e})"
        ),
        _ => format!("not a readable parquet file: {e}"),
    };
    DataError::Format {
        path: path.to_path_buf(),
        message,
    }
}

/// Whether the file's last four bytes are `PAR1` (None when unreadable).
fn ends_with_magic(path: &Path) -> Option<bool> {
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(path).ok()?;
    let len = f.seek(SeekFrom::End(0)).ok()?;
    if len < 4 {
        return Some(false);
    }
    f.seek(SeekFrom::End(-4)).ok()?;
    let mut magic = [0u8; 4];
    std::io::Read::read_exact(&mut f, &mut magic).ok()?;
    Some(&magic == b"PAR1")
}

/// Rows after the first `skip`, and how many were passed: whole row groups
/// before the position are not read at all (their sizes are in the
/// footer), and only the rows before it in its own group are decoded.
/// With `select`, only those top-level columns are read (names the file
/// lacks are left out).
pub(super) fn open_at(
    path: &Path,
    skip: u64,
    select: Option<&[String]>,
) -> Result<(impl Iterator<Item = Result<Value>> + Send, u64)> {
    let not_parquet = |e: parquet::errors::ParquetError| unreadable(path, &e);
    let open = || File::open(path).map_err(|e| DataError::io(path, e));
    let sizes: Vec<u64> = SerializedFileReader::new(open()?)
        .map_err(not_parquet)?
        .metadata()
        .row_groups()
        .iter()
        .map(|g| u64::try_from(g.num_rows()).unwrap_or(0))
        .collect();
    let (mut first, mut before) = (0usize, 0u64);
    while first < sizes.len() && before + sizes[first] <= skip {
        before += sizes[first];
        first += 1;
    }
    let options = ReadOptionsBuilder::new()
        .with_predicate(Box::new(move |_, i| i >= first))
        .build();
    let reader = SerializedFileReader::new_with_options(open()?, options).map_err(not_parquet)?;
    let projection = match select {
        None => None,
        Some(names) => {
            let schema = reader.metadata().file_metadata().schema();
            let fields: Vec<_> = schema
                .get_fields()
                .iter()
                .filter(|f| names.iter().any(|n| n == f.name()))
                .cloned()
                .collect();
            Some(
                Type::group_type_builder(schema.name())
                    .with_fields(fields)
                    .build()
                    .map_err(not_parquet)?,
            )
        }
    };
    let rows = reader
        .into_iter()
        .project(projection)
        .map_err(not_parquet)?;
    let path: PathBuf = path.to_path_buf();
    let mut n = before;
    let mut rows = rows.map(move |row| {
        n += 1;
        row.map(|r| row_to_json(&r))
            // A row that does not decode is a damaged page: the rest of
            // the file cannot be trusted, so the stream ends here.
            .map_err(|e| DataError::Truncated {
                path: path.clone(),
                line: n,
                message: format!("parquet row {n}: {e}"),
            })
    });
    // The rest, inside the position's row group, are decoded and dropped.
    let mut passed = before;
    while passed < skip {
        match rows.next() {
            Some(r) => {
                r?;
                passed += 1;
            }
            None => break,
        }
    }
    Ok((rows, passed))
}

fn row_to_json(row: &Row) -> Value {
    let mut obj = Map::new();
    for (name, field) in row.get_column_iter() {
        obj.insert(name.clone(), field_to_json(field));
    }
    Value::Object(obj)
}

fn field_to_json(field: &Field) -> Value {
    match field {
        Field::Null => Value::Null,
        Field::Bool(b) => Value::Bool(*b),
        Field::Byte(v) => Value::from(*v),
        Field::Short(v) => Value::from(*v),
        Field::Int(v) => Value::from(*v),
        Field::Long(v) => Value::from(*v),
        Field::UByte(v) => Value::from(*v),
        Field::UShort(v) => Value::from(*v),
        Field::UInt(v) => Value::from(*v),
        Field::ULong(v) => Value::from(*v),
        Field::Float16(v) => float(f64::from(f32::from(*v))),
        Field::Float(v) => float(f64::from(*v)),
        Field::Double(v) => float(*v),
        Field::Str(s) => Value::String(s.clone()),
        Field::Bytes(b) => match std::str::from_utf8(b.data()) {
            Ok(s) => Value::String(s.to_string()),
            Err(_) => Value::Array(b.data().iter().map(|&x| Value::from(x)).collect()),
        },
        Field::Group(row) => row_to_json(row),
        Field::ListInternal(list) => {
            Value::Array(list.elements().iter().map(field_to_json).collect())
        }
        Field::MapInternal(map) => {
            let mut obj = Map::new();
            for (k, v) in map.entries() {
                let key = match field_to_json(k) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                obj.insert(key, field_to_json(v));
            }
            Value::Object(obj)
        }
        // Dates, times and decimals: their display form is what a template wants.
        other => Value::String(other.to_string()),
    }
}

fn float(v: f64) -> Value {
    Number::from_f64(v).map_or(Value::Null, Value::Number)
}
