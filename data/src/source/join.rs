//! One split of a task's `join`: the joined source's rows of that split,
//! read once into a table key -> copied fields, and what a main row takes
//! from it. The table is read on first use (locating a split, as `exc run`
//! does for every source before training, reads nothing) and shared by the
//! clones of the [`SourceFile`]s that carry it, so a training stream reads it
//! once however many epochs it makes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use exc_compiler::ir::Unmatched;
use serde_json::Value;

use crate::error::{DataError, DuplicateKey, Result, UnmatchedRow};

use super::{ReadOptions, SourceFile, SourceFiles};

/// One joined split and how main rows are matched with its rows.
pub struct JoinedSplit {
    /// The task joining (for messages).
    pub task: String,
    /// The joined source as a user named it, e.g. `` `mandarjoshi/trivia_qa` config `unfiltered.nocontext` ``.
    pub name: String,
    /// The joined split's files, in reading order.
    pub files: Vec<SourceFile>,
    /// How to read them.
    pub read: ReadOptions,
    /// The main row's key field.
    pub key: String,
    /// The joined row's key field.
    pub on: String,
    /// (main row field, joined row field), in order.
    pub set: Vec<(String, String)>,
    /// What a main row without a joined row becomes.
    pub unmatched: Unmatched,
    table: OnceLock<Table>,
}

/// Key -> the copied values, in `set` order.
type Table = HashMap<String, Vec<Value>>;

/// What a main row becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Joined {
    /// The row with the joined fields written in.
    Row(Value),
    /// No joined row, and the policy is `unmatched drop`.
    Dropped,
}

impl std::fmt::Debug for JoinedSplit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinedSplit")
            .field("name", &self.name)
            .field("files", &self.files)
            .field("key", &self.key)
            .field("on", &self.on)
            .field("set", &self.set)
            .field("unmatched", &self.unmatched)
            .field("read", &self.table.get().map(HashMap::len))
            .finish()
    }
}

/// Two joins are the same when they read the same files the same way
/// (whether their tables are read yet does not matter).
impl PartialEq for JoinedSplit {
    fn eq(&self, other: &Self) -> bool {
        self.task == other.task
            && self.name == other.name
            && self.files == other.files
            && self.read == other.read
            && self.key == other.key
            && self.on == other.on
            && self.set == other.set
            && self.unmatched == other.unmatched
    }
}

/// A key as matched: text as it is, numbers and booleans as JSON writes
/// them (so an int key matches the same digits in text); null has none.
fn key_text(v: &Value) -> std::result::Result<Option<String>, &'static str> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Array(_) => Err("a list"),
        Value::Object(_) => Err("a record"),
    }
}

impl JoinedSplit {
    /// A joined split whose table is read on first use.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        task: String,
        name: String,
        files: Vec<SourceFile>,
        read: ReadOptions,
        key: String,
        on: String,
        set: Vec<(String, String)>,
        unmatched: Unmatched,
    ) -> Self {
        JoinedSplit {
            task,
            name,
            files,
            read,
            key,
            on,
            set,
            unmatched,
            table: OnceLock::new(),
        }
    }

    /// The table, read now if it was not yet. An error is not kept: it
    /// stops the reading that met it.
    fn table(&self) -> Result<&Table> {
        if let Some(t) = self.table.get() {
            return Ok(t);
        }
        let t = self.read_table()?;
        Ok(self.table.get_or_init(|| t))
    }

    fn read_table(&self) -> Result<Table> {
        let mut rows = SourceFiles::new(self.files.clone(), self.read.clone())?;
        let mut table: Table = HashMap::new();
        // Where each key was first seen, to name both rows of a duplicate.
        let mut seen: HashMap<String, String> = HashMap::new();
        while let Some(row) = rows.next() {
            let row = row?;
            let place = rows
                .last_place()
                .map(|(f, n)| format!("`{}` row {n}", f.describe()))
                .unwrap_or_default();
            let key = match row.get(&self.on).map(key_text) {
                Some(Ok(Some(k))) => k,
                Some(Err(kind)) => {
                    return Err(self.error(format!(
                    "{place}: the joined key `{}` is {kind}; rows are matched on text or numbers",
                    self.on
                )))
                }
                _ => {
                    return Err(self.error(format!(
                        "{place} has no `{}`, the key the join matches on",
                        self.on
                    )))
                }
            };
            let mut values = Vec::with_capacity(self.set.len());
            for (_, from) in &self.set {
                match row.get(from) {
                    Some(v) => values.push(v.clone()),
                    None => {
                        return Err(self.error(format!(
                            "{place} has no field `{from}`, which the join copies"
                        )))
                    }
                }
            }
            if let Some(first) = seen.get(&key) {
                return Err(DataError::DuplicateKey(Box::new(DuplicateKey {
                    task: self.task.clone(),
                    joined: self.name.clone(),
                    field: self.on.clone(),
                    key,
                    first: first.clone(),
                    second: place,
                })));
            }
            seen.insert(key.clone(), place);
            table.insert(key, values);
        }
        Ok(table)
    }

    fn error(&self, message: String) -> DataError {
        DataError::Join {
            task: self.task.clone(),
            joined: self.name.clone(),
            message,
        }
    }

    /// `row` (row `line` of `path`) with the joined fields written in, or
    /// dropped when its key has no joined row and the policy says so.
    pub fn apply(&self, mut row: Value, path: &Path, line: u64) -> Result<Joined> {
        let table = self.table()?;
        let key = match row.get(&self.key).map(key_text) {
            Some(Ok(k)) => k,
            Some(Err(kind)) => {
                return Err(self.error(format!(
                    "`{}` row {line}: the key `{}` is {kind}; rows are matched on text or numbers",
                    path.display(),
                    self.key
                )))
            }
            None => None,
        };
        let Some(values) = key.as_ref().and_then(|k| table.get(k)) else {
            return match self.unmatched {
                Unmatched::Drop => Ok(Joined::Dropped),
                Unmatched::Error => Err(DataError::Unmatched(Box::new(UnmatchedRow {
                    task: self.task.clone(),
                    joined: self.name.clone(),
                    path: path.to_path_buf(),
                    line,
                    field: self.key.clone(),
                    key: key.unwrap_or_else(|| "null".into()),
                    on: self.on.clone(),
                }))),
            };
        };
        if let Value::Object(obj) = &mut row {
            for ((to, _), v) in self.set.iter().zip(values) {
                obj.insert(to.clone(), v.clone());
            }
        }
        Ok(Joined::Row(row))
    }
}
