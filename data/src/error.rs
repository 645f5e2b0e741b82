//! One error type for the data pipeline.
//!
//! Messages are lowercase, name the file (and line where there is one) and put
//! user input in backticks, so the CLI can print them as they are.

use std::path::PathBuf;

/// Everything that can go wrong between a source file and a batch.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// An I/O error while reading `path`.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A row that does not parse; `line` is 1-based (a row index for parquet).
    #[error("`{path}` line {line}: {message}")]
    Malformed {
        /// The file being read.
        path: PathBuf,
        /// 1-based line (or row) number.
        line: u64,
        /// What is wrong with it.
        message: String,
    },
    /// A file that cannot be read on from `line` (a gzip stream cut short,
    /// a damaged disk): the rows before it were read, none after it is.
    #[error("`{path}` cannot be read past line {}: {message}", line.saturating_sub(1))]
    Truncated {
        /// The file being read.
        path: PathBuf,
        /// 1-based line where reading failed.
        line: u64,
        /// The underlying error.
        message: String,
    },
    /// Line-aligned column files whose line counts differ.
    #[error(
        "`{short}` has {short_lines} lines but `{long}` has {}: line-aligned column files need the same number of lines",
        long_lines.map_or_else(|| format!("more (line {line})"), |n| n.to_string())
    )]
    Unaligned {
        /// The file that ends first.
        short: PathBuf,
        /// Its lines.
        short_lines: u64,
        /// A file that goes on.
        long: PathBuf,
        /// Its lines, when counted.
        long_lines: Option<u64>,
        /// The first line of `long` without a partner.
        line: u64,
    },
    /// A file whose format exc does not know or cannot read.
    #[error("`{path}`: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A task's source could not be found in any of the places looked.
    #[error("no data for task `{task}`: looked in {}", looked_list(.looked))]
    Missing {
        /// The task (or source name) asked for.
        task: String,
        /// Every place that was tried, in order.
        looked: Vec<PathBuf>,
        /// A command that would fetch the data.
        help: String,
    },
    /// A tokenizer that cannot be loaded or used.
    #[error("tokenizer `{path}`: {message}")]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A row the task's template cannot render (a field of the wrong kind,
    /// lists of different lengths, a value its table lacks, …).
    #[error("task `{task}`: cannot render the row{}: {message}", place.as_ref().map_or_else(String::new, |p| format!(" at {p}")))]
    Render {
        /// The task.
        task: String,
        /// Where the row is (`file`, row N), once known.
        place: Option<String>,
        /// What is wrong with it.
        message: String,
    },
    /// Two rows of a joined source with one key.
    #[error("{0}")]
    DuplicateKey(Box<DuplicateKey>),
    /// A main row whose key the joined source lacks (policy `unmatched error`).
    #[error("{0}")]
    Unmatched(Box<UnmatchedRow>),
    /// A joined source that cannot serve as a table (a row without the key
    /// or a copied field, a key that is a list).
    #[error("task `{task}`: the joined {joined}: {message}")]
    Join {
        /// The task joining.
        task: String,
        /// The joined source, as the task names it.
        joined: String,
        /// What is wrong.
        message: String,
    },
    /// A task whose split gives no example at all: every row read was
    /// dropped by its filter or by a join.
    #[error(
        "task `{task}` ({split}): every row was dropped: of those read ({}), {} gave no example (its `filter`) and {} had no joined row (`unmatched drop`)",
        counts.read(), counts.filtered, counts.unmatched
    )]
    AllDropped {
        /// The task.
        task: String,
        /// The split read.
        split: String,
        /// What became of its rows.
        counts: crate::row_counts::RowCounts,
    },
    /// A configuration value out of range (spans, lengths, rates).
    #[error("{0}")]
    Config(String),
    /// A cursor that does not fit the pipeline it is restored into.
    #[error("cannot resume: {0}")]
    Cursor(String),
}

/// Two rows of a joined source with one key: both named.
#[derive(Debug, thiserror::Error)]
#[error("task `{task}`: {first} and {second} of the joined {joined} both have `{field}` = `{key}`; a join needs one row per key")]
pub struct DuplicateKey {
    /// The task joining.
    pub task: String,
    /// The joined source, as the task names it.
    pub joined: String,
    /// The joined key field.
    pub field: String,
    /// The key.
    pub key: String,
    /// The first row (`` `file` row N ``).
    pub first: String,
    /// The second row.
    pub second: String,
}

/// A main row whose key the joined source lacks, with its place.
#[derive(Debug, thiserror::Error)]
#[error("task `{task}`: `{}` row {line}: `{field}` = `{key}` has no row in the joined {joined} (by `{on}`)", path.display())]
pub struct UnmatchedRow {
    /// The task joining.
    pub task: String,
    /// The joined source, as the task names it.
    pub joined: String,
    /// The main row's file.
    pub path: PathBuf,
    /// Its 1-based row.
    pub line: u64,
    /// The main row's key field.
    pub field: String,
    /// The key (`null` when absent).
    pub key: String,
    /// The joined key field.
    pub on: String,
}

/// The places looked, the first three of them: a hub source is looked for
/// in up to 19 places, and a message per task must stay one line.
fn looked_list(looked: &[PathBuf]) -> String {
    let mut s = looked
        .iter()
        .take(3)
        .map(|p| format!("`{}`", p.display()))
        .collect::<Vec<_>>()
        .join(", ");
    if looked.len() > 3 {
        s.push_str(&format!(" and {} more places", looked.len() - 3));
    }
    s
}

impl DataError {
    /// The help line of an error, if it has one (for the CLI to print apart).
    pub fn help(&self) -> Option<&str> {
        match self {
            DataError::Missing { help, .. } => Some(help),
            DataError::Render { place: None, .. } => Some(
                "`exc check --data` renders every task's rows and names the file and row of \
                 each one that fails",
            ),
            DataError::Unmatched(_) => Some(
                "a join stops at a row it cannot complete; to drop such rows (and count them), \
                 write `unmatched drop` after the join's fields",
            ),
            DataError::DuplicateKey(_) => Some(
                "the joined source must hold one row per key: check that the join's split and \
                 key field are the ones meant (exc never picks one of the rows)",
            ),
            DataError::AllDropped { .. } => Some(
                "`exc render --data DIR --split SPLIT` shows the rows and what each renders to; \
                 check the filter against the data (a field name, a label value) and the join's keys",
            ),
            DataError::Truncated { .. } => Some(
                "the file is cut short or damaged (a download or copy that stopped half-way): \
                 fetch or decompress it again; exc stops reading a file at its first such error",
            ),
            DataError::Unaligned { .. } => Some(
                "line i of each file is one row: fix the files so that they pair up line by \
                 line (exc never drops the unpaired lines)",
            ),
            _ => None,
        }
    }

    /// Whether the stream the error came from can go on to its next row: a
    /// row that does not parse or render can be skipped over, a file that
    /// cannot be opened or read on cannot. Readers stop at the first error
    /// that ends a stream, so that one damaged file is one error, never a
    /// run of failed "rows" that do not exist.
    pub fn ends_stream(&self) -> bool {
        !matches!(
            self,
            DataError::Malformed { .. }
                | DataError::Render { .. }
                | DataError::Unmatched(_)
                | DataError::DuplicateKey(_)
        )
    }

    /// A source without a single row (an empty file): `exc run` and
    /// `exc check --data` both refuse it with this error.
    pub fn no_rows(source: &str) -> Self {
        DataError::Config(format!(
            "source `{source}` has no rows: the file is empty (or holds blank lines only)"
        ))
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result with [`DataError`].
pub type Result<T> = std::result::Result<T, DataError>;
