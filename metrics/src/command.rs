//! `exc metric`: score a predictions file against a references file, like
//! sacrebleu's command line.
//!
//! Predictions are one per line. References are one string per line, or
//! JSON Lines (one JSON value per line: a list of references, an object for
//! grouped metrics) when the file ends in `.jsonl`/`.json` or
//! `--references-format jsonl` is given. Every input error names the file
//! and the 1-based line.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::options::Options;
use crate::registry::{check_options, compute, metric, METRICS};
use crate::report::{MetricError, Report};

/// How to read the references file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReferencesFormat {
    /// JSON Lines for `.jsonl`/`.json` files, plain text otherwise.
    Auto,
    /// One reference string per line.
    Text,
    /// One JSON value per line.
    Jsonl,
}

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// One JSON object.
    Json,
    /// `name = value` lines.
    Text,
}

/// Arguments of `exc metric`.
#[derive(clap::Args, Clone, Debug)]
pub struct MetricArgs {
    /// Metric to compute (`--list` names them all).
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,
    /// Metric option, repeatable.
    #[arg(long = "option", short = 'o', value_name = "KEY=VALUE")]
    pub options: Vec<String>,
    /// Predictions, one per line.
    #[arg(long, short = 'p', required_unless_present = "list")]
    pub predictions: Option<PathBuf>,
    /// References: one per line, or JSON Lines.
    #[arg(long, short = 'r', required_unless_present = "list")]
    pub references: Option<PathBuf>,
    /// How to read the references.
    #[arg(long, value_enum, default_value_t = ReferencesFormat::Auto)]
    pub references_format: ReferencesFormat,
    /// Print every metric with its options instead of scoring.
    #[arg(long)]
    pub list: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    pub format: OutputFormat,
}

/// An `exc metric` failure, already phrased for the user.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A problem at a line of an input file.
    #[error("{}:{line}: {message}", path.display())]
    AtLine {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A file that cannot be read.
    #[error("cannot read `{}`: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
    /// Anything else (unknown metric, bad option, ...).
    #[error("{0}")]
    Metric(String),
}

fn at(path: &Path, line: usize, message: impl Into<String>) -> CommandError {
    CommandError::AtLine {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Lines without their terminators; a final newline ends the last line.
fn read_lines(path: &Path) -> Result<Vec<String>, CommandError> {
    let bytes = std::fs::read(path).map_err(|e| CommandError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut lines = Vec::new();
    let mut rest: &[u8] = &bytes;
    let mut no = 0;
    while !rest.is_empty() {
        no += 1;
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let s =
            std::str::from_utf8(line).map_err(|e| at(path, no, format!("invalid UTF-8: {e}")))?;
        lines.push(s.to_string());
        rest = next;
    }
    Ok(lines)
}

fn read_references(path: &Path, fmt: ReferencesFormat) -> Result<Vec<Value>, CommandError> {
    let lines = read_lines(path)?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let jsonl = match fmt {
        ReferencesFormat::Jsonl => true,
        ReferencesFormat::Text => false,
        ReferencesFormat::Auto => matches!(ext, "jsonl" | "json"),
    };
    if !jsonl {
        return Ok(lines.into_iter().map(Value::String).collect());
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| at(path, i + 1, format!("invalid JSON: {e}")))
        })
        .collect()
}

fn required<'a>(p: &'a Option<PathBuf>, flag: &str) -> Result<&'a Path, CommandError> {
    p.as_deref()
        .ok_or_else(|| CommandError::Metric(format!("`{flag}` is required")))
}

/// Scores the files named in `args` (or lists the metrics) and returns the
/// text `exc metric` prints.
pub fn render(args: &MetricArgs) -> Result<String, CommandError> {
    if args.list {
        return Ok(list(args.format));
    }
    let name = args
        .name
        .as_deref()
        .ok_or_else(|| CommandError::Metric("a metric name is required".into()))?;
    let info = metric(name).ok_or_else(|| {
        CommandError::Metric(format!("unknown metric `{name}` (see `exc metric --list`)"))
    })?;
    let options = Options::parse(&args.options).map_err(|e| CommandError::Metric(e.to_string()))?;
    check_options(info.name, &options).map_err(|e| CommandError::Metric(e.to_string()))?;
    let pred_path = required(&args.predictions, "--predictions")?;
    let ref_path = required(&args.references, "--references")?;
    let preds = read_lines(pred_path)?;
    let refs = read_references(ref_path, args.references_format)?;
    let report = compute(info.name, &preds, &refs, &options).map_err(|e| match e {
        MetricError::BadTarget { row, message } => at(ref_path, row + 1, message),
        MetricError::BadPrediction { row, message } => at(pred_path, row + 1, message),
        MetricError::LengthMismatch {
            predictions,
            targets,
        } => CommandError::Metric(format!(
            "`{}` has {predictions} lines but `{}` has {targets}",
            pred_path.display(),
            ref_path.display()
        )),
        other => CommandError::Metric(other.to_string()),
    })?;
    Ok(format_report(info.name, &report, args.format))
}

/// Runs `exc metric` and prints its output to stdout.
pub fn run(args: &MetricArgs) -> Result<(), CommandError> {
    let out = render(args)?;
    print!("{out}");
    Ok(())
}

fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// The printed form of a report.
pub fn format_report(name: &str, r: &Report, fmt: OutputFormat) -> String {
    match fmt {
        OutputFormat::Json => {
            let mut m = Map::new();
            m.insert("metric".into(), Value::String(name.to_string()));
            for (k, v) in &r.scores {
                m.insert(k.clone(), number(*v));
            }
            for (k, v) in &r.info {
                m.insert(k.clone(), Value::String(v.clone()));
            }
            format!("{}\n", Value::Object(m))
        }
        OutputFormat::Text => {
            let mut s = String::new();
            for (k, v) in &r.scores {
                let _ = writeln!(s, "{k} = {v}");
            }
            for (k, v) in &r.info {
                let _ = writeln!(s, "{k} = {v}");
            }
            s
        }
    }
}

fn list(fmt: OutputFormat) -> String {
    match fmt {
        OutputFormat::Json => {
            let items: Vec<Value> = METRICS
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "name": m.name,
                        "aliases": m.aliases,
                        "summary": m.summary,
                        "targets": m.targets,
                        "options": m.options.iter().map(|o| serde_json::json!({"name": o.name, "default": o.default.unwrap_or(""), "help": o.help})).collect::<Vec<_>>(),
                    })
                })
                .collect();
            format!("{}\n", Value::Array(items))
        }
        OutputFormat::Text => {
            let mut s = String::new();
            for m in METRICS {
                let aliases = if m.aliases.is_empty() {
                    String::new()
                } else {
                    format!(" (also {})", m.aliases.join(", "))
                };
                let _ = writeln!(s, "{}{aliases}: {}", m.name, m.summary);
                let _ = writeln!(s, "    targets: {}", m.targets);
                for o in m.options {
                    let d = match o.default {
                        Some(d) if !d.is_empty() => format!(" [default {d}]"),
                        _ => String::new(),
                    };
                    let _ = writeln!(s, "    --option {}=...{d}: {}", o.name, o.help);
                }
            }
            s
        }
    }
}
