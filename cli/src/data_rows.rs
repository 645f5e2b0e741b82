//! Real rows through a task: `exc render --data` prints them, `exc check --data`
//! samples every task's splits and reports what would go wrong in a run.

use crate::diagnostics::plural;
use exc_compiler::ir::{Task, Type, Unmatched};
use exc_compiler::render::{render_row, Example};
use exc_data::error::DataError;
use exc_data::source::locate::DataRoots;
use exc_data::task_source;
use exc_data::tokenizer::T5Tokenizer;
use std::path::PathBuf;

/// One rendered row, or why it could not be rendered, with its place.
pub struct Rendered {
    pub place: String,
    pub result: Result<Vec<Example>, String>,
}

/// Up to `limit` rows of `split`, rendered.
pub struct SplitRows {
    pub rows: Vec<Rendered>,
    /// Rows read on the way that a join dropped (`unmatched drop`).
    pub dropped: u64,
    /// The error that ended the stream before `limit` rows (a file cut
    /// short or unreadable), with its place in its words: it is no row.
    pub ended: Option<String>,
    /// Each top-level class field's values as the rows read write them,
    /// with their counts (for the help on a label its list lacks).
    pub class_values: Vec<(String, Vec<(String, usize)>)>,
}

/// Counts each class field's raw values (text, or a number's digits).
fn count_class_values(
    task: &Task,
    row: &serde_json::Value,
    out: &mut Vec<(String, Vec<(String, usize)>)>,
) {
    for (name, ty) in &task.fields {
        if !matches!(ty.strip_optional(), Type::Class { .. }) {
            continue;
        }
        let value = match row.get(name) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => continue,
        };
        let at = match out.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                out.push((name.clone(), Vec::new()));
                out.len() - 1
            }
        };
        let counts = &mut out[at].1;
        match counts.iter_mut().find(|(v, _)| *v == value) {
            Some((_, c)) => *c += 1,
            None => counts.push((value, 1)),
        }
    }
}

/// For each class field whose data writes values its declared list lacks:
/// where it is declared, what the data has, and for each declared name the
/// data never writes, the data's value closest to it (a did-you-mean over
/// the values the data has: `not entailment` for `not_entailment`).
fn class_help(task: &Task, values: &[(String, Vec<(String, usize)>)]) -> Vec<String> {
    let mut out = Vec::new();
    for (field, counts) in values {
        let Some(Type::Class { names }) = task.fields.get(field).map(Type::strip_optional) else {
            continue;
        };
        let is_id = |v: &str| {
            v.trim()
                .parse::<i64>()
                .is_ok_and(|i| i >= -1 && i < names.len() as i64)
        };
        let unknown: Vec<&(String, usize)> = counts
            .iter()
            .filter(|(v, _)| !names.contains(v) && !is_id(v) && !v.is_empty())
            .collect();
        if unknown.is_empty() {
            continue;
        }
        let declared = task
            .declared_at
            .get(field)
            .map_or_else(String::new, |at| format!(" (declared at {at})"));
        let shown: Vec<String> = unknown
            .iter()
            .map(|(v, n)| format!("`{v}` ({})", plural(*n, "row", "rows")))
            .collect();
        out.push(format!(
            "`{field}`{declared} is class[{}], but the data also writes {}",
            names.join(", "),
            shown.join(", ")
        ));
        let written: Vec<&str> = counts.iter().map(|(v, _)| v.as_str()).collect();
        for name in names.iter().filter(|n| !written.contains(&n.as_str())) {
            let candidates = unknown.iter().map(|(v, _)| v.as_str());
            if let Some(s) = exc_compiler::diagnostic::suggestion(name, candidates) {
                out.push(format!(
                    "the data never writes `{name}`: {s} (write the name as the data does)"
                ));
            }
        }
    }
    out
}

/// Up to `limit` rows of `split`, rendered. Errors opening the source are returned whole.
pub fn render_split(
    task: &Task,
    split: &str,
    roots: &DataRoots,
    limit: usize,
) -> Result<SplitRows, String> {
    let files = task_source::locate_split(task, split, roots).map_err(|e| describe(&e))?;
    let mut rows = exc_data::source::SourceFiles::new(files, task_source::read_options(task))
        .map_err(|e| describe(&e))?;
    let mut out = Vec::new();
    let mut ended = None;
    let mut class_values = Vec::new();
    while out.len() < limit {
        let Some(row) = rows.next() else { break };
        let place = rows.last_place().map_or_else(String::new, |(f, row)| {
            format!("{}, row {row}", f.describe())
        });
        let result = match row {
            Ok(row) => {
                count_class_values(task, &row, &mut class_values);
                render_row(task, &row, split).map_err(|e| e.message)
            }
            // The run stops at such an error: so do the counts.
            Err(e) if e.ends_stream() => {
                ended = Some(describe(&e));
                break;
            }
            Err(e) => Err(describe(&e)),
        };
        out.push(Rendered { place, result });
    }
    if out.is_empty() && ended.is_none() && rows.dropped() == 0 {
        // `exc run` refuses a source without rows with this same error.
        let first = rows
            .files()
            .first()
            .map(|f| f.describe())
            .unwrap_or_default();
        return Err(describe(&exc_data::DataError::no_rows(&first)));
    }
    Ok(SplitRows {
        rows: out,
        dropped: rows.dropped(),
        ended,
        class_values,
    })
}

fn describe(e: &exc_data::error::DataError) -> String {
    match e.help() {
        Some(h) => format!("{e}\n  help: {h}"),
        None => e.to_string(),
    }
}

/// Samples one split of `task`: one line of what its rows became, the
/// first failures, and help for its labels; returns the number of problems.
fn check_split(
    task: &Task,
    split: &str,
    roots: &DataRoots,
    rows: usize,
    tok: Option<&T5Tokenizer>,
) -> usize {
    let mut problems = 0;
    let (rendered, dropped, ended, class_values) = match render_split(task, split, roots, rows) {
        Ok(r) => (r.rows, r.dropped, r.ended, r.class_values),
        Err(e) => {
            eprintln!("error: {} [{split}]: {e}", task.name);
            return 1;
        }
    };
    let failed: Vec<&Rendered> = rendered.iter().filter(|r| r.result.is_err()).collect();
    let examples: Vec<&Example> = rendered
        .iter()
        .filter_map(|r| r.result.as_ref().ok())
        .flatten()
        .collect();
    let empty = examples
        .iter()
        .filter(|e| e.target.trim().is_empty())
        .count();
    let unknown = examples.iter().filter(|e| e.target == "<unk>").count();
    let mut line = format!(
        "{} [{split}]: {} -> {}, {} failed, {}, {} unlabelled (<unk>)",
        task.name,
        plural(rendered.len(), "row", "rows"),
        plural(examples.len(), "example", "examples"),
        failed.len(),
        plural(empty, "empty target", "empty targets"),
        unknown
    );
    if task.joins.iter().any(|j| j.unmatched == Unmatched::Drop) {
        line.push_str(&format!(
            ", {} dropped (no joined row, `unmatched drop`)",
            plural(dropped as usize, "row", "rows")
        ));
    }
    if let Some(tok) = tok {
        line.push_str(&length_summary(task, tok, &examples));
    }
    eprintln!("{line}");
    if let Some(e) = &ended {
        problems += 1;
        eprintln!("  error: reading stopped: {e}");
    }
    for r in failed.iter().take(3) {
        if let Err(e) = &r.result {
            eprintln!("  error: {}: {e}", r.place);
        }
    }
    if failed.len() > 3 {
        eprintln!("  … and {} more rows that failed", failed.len() - 3);
    }
    for h in class_help(task, &class_values) {
        eprintln!("  help: {h}");
    }
    problems + failed.len()
}

/// Token lengths of the sampled examples against the task's limits.
fn length_summary(task: &Task, tok: &T5Tokenizer, examples: &[&Example]) -> String {
    let limit_in = task.lengths.get("inputs").copied().unwrap_or(512) as usize;
    let limit_out = task.lengths.get("targets").copied().unwrap_or(114) as usize;
    let lens = |f: &dyn Fn(&Example) -> &str| -> Vec<usize> {
        examples
            .iter()
            .filter_map(|e| tok.encode_with_eos(f(e)).ok())
            .map(|ids| ids.len())
            .collect()
    };
    let li = exc_data::objective::supervised::LengthReport::new(lens(&|e| &e.input), limit_in);
    let lo = exc_data::objective::supervised::LengthReport::new(lens(&|e| &e.target), limit_out);
    format!(
        "; input tokens p50/p90/max {}/{}/{} ({:.1}% over {limit_in}), target tokens {}/{}/{} ({:.1}% over {limit_out})",
        li.p50, li.p90, li.max, li.truncated_share * 100.0, lo.p50, lo.p90, lo.max, lo.truncated_share * 100.0
    )
}

/// `exc check --data`: sample each task's splits; returns the number of problems.
pub fn check(
    tasks: &[&Task],
    data_dir: Option<PathBuf>,
    rows: usize,
    tokenizer: Option<&PathBuf>,
    fetch: &str,
) -> usize {
    let roots = DataRoots::from_env(data_dir);
    let tok = match tokenizer.map(T5Tokenizer::from_file) {
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            eprintln!("error: {}", describe(&e));
            return 1;
        }
        None => None,
    };
    let mut problems = 0;
    // Missing data is one message per task, and one `exc fetch` line at the end.
    let (mut missing_hub, mut missing_local) = (0usize, 0usize);
    for task in tasks {
        let Some(source) = &task.source else {
            eprintln!("{}: no `source`; nothing to read", task.name);
            continue;
        };
        let mut missing: Vec<String> = Vec::new();
        let mut first_missing = None;
        for split in &source.split_names() {
            if let Err(e @ DataError::Missing { .. }) =
                task_source::locate_split(task, split, &roots)
            {
                missing.push(split.clone());
                first_missing.get_or_insert(e);
                continue;
            }
            problems += check_split(task, split, &roots, rows, tok.as_ref());
        }
        if let Some(e) = first_missing {
            problems += 1;
            let hub = matches!(source, exc_compiler::ir::Source::Hf { .. });
            if hub {
                missing_hub += 1;
            } else {
                missing_local += 1;
            }
            eprintln!("error: {} [{}]: {e}", task.name, missing.join(", "));
            if !hub {
                if let Some(h) = e.help() {
                    eprintln!("  help: {h}");
                }
            }
        }
    }
    if missing_hub > 0 {
        eprintln!(
            "{} of the hub miss data: `{fetch}` downloads it into the hub cache{}, where exc finds it with no flag (`--dry-run` first shows the sizes)",
            plural(missing_hub, "task", "tasks"),
            roots
                .hf_cache
                .as_ref()
                .map_or(String::new(), |c| format!(" `{}`", c.display()))
        );
    }
    if missing_local > 0 {
        eprintln!(
            "{} read local files that are missing: put them under a data directory and pass `--data DIR` (tasks/README.md says where each comes from)",
            plural(missing_local, "task", "tasks")
        );
    }
    problems
}
