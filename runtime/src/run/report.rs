//! Reports: `report.md` of one run (per-task scores next to the trivial
//! baseline, the loss curve's ends), and `exc report`, which gathers the run
//! directories under its arguments into one table (runs x task metrics) and,
//! for every numeric sweep parameter, an SVG plot of each score against it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// `exc report`: aggregate run directories into tables and plots.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ReportArgs {
    /// Run or sweep directories (searched recursively for runs).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where summary.md and the plots go (default: the first directory).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

/// One run's scores, as read back from its directory.
#[derive(Debug, Clone)]
struct RunScores {
    dir: PathBuf,
    name: String,
    params: indexmap::IndexMap<String, serde_json::Value>,
    /// `(task/split/metric, score, baseline)`: metric results only, not
    /// their diagnostics (BLEU's lengths stay in `scores.json`).
    scores: Vec<(String, Option<f64>, Option<f64>)>,
    /// `(task/split/metric, why)`: metrics that failed (not merely undefined).
    errors: Vec<(String, String)>,
    /// `(task/split, checkpoint it was scored with)`.
    weights: Vec<(String, String)>,
    /// `task/split` -> examples scored.
    examples: indexmap::IndexMap<String, u64>,
    /// `task/split` -> what became of the rows read for it (`rows` of
    /// `scores.json`: read, dropped by the filter or a join).
    rows: indexmap::IndexMap<String, serde_json::Value>,
    /// Each task's family, from the run's plan.
    families: indexmap::IndexMap<String, String>,
    /// Last logged loss of the first training stage.
    last_loss: Option<f64>,
    /// Every training stage's logged losses, in order.
    stage_losses: indexmap::IndexMap<String, Vec<f64>>,
}

fn num(v: &serde_json::Value) -> Option<f64> {
    v.as_f64()
}

fn read_run(dir: &Path) -> Option<RunScores> {
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).ok()?).ok()?;
    let mut scores = Vec::new();
    let mut errors = Vec::new();
    let mut weights = Vec::new();
    let mut examples = indexmap::IndexMap::new();
    let mut rows = indexmap::IndexMap::new();
    let mut tasks: Vec<PathBuf> = std::fs::read_dir(dir.join("eval"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    tasks.sort();
    for t in tasks {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&t)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        for f in files
            .iter()
            .filter(|f| f.to_string_lossy().ends_with(".scores.json"))
        {
            let Some(v) = std::fs::read_to_string(f)
                .ok()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            else {
                continue;
            };
            let task = v["task"].as_str().unwrap_or("?");
            let split = v["split"].as_str().unwrap_or("?");
            if let Some(n) = v["examples"].as_u64() {
                examples.insert(format!("{task}/{split}"), n);
            }
            if v["rows"].is_object() {
                rows.insert(format!("{task}/{split}"), v["rows"].clone());
            }
            if let Some(w) = v["weights"].as_str() {
                let rel = Path::new(w).strip_prefix(dir).unwrap_or(Path::new(w));
                weights.push((format!("{task}/{split}"), rel.display().to_string()));
            }
            if let Some(m) = v["scores"].as_object() {
                for (k, s) in m.iter().filter(|(k, _)| exc_metrics::is_headline(k)) {
                    let base = num(&v["baseline"]["scores"][k]);
                    scores.push((format!("{task}/{split}/{k}"), num(s), base));
                    if let Some(why) = s["error"].as_str() {
                        errors.push((format!("{task}/{split}/{k}"), why.to_string()));
                    }
                }
            }
        }
    }
    let mut stage_losses: indexmap::IndexMap<String, Vec<f64>> = indexmap::IndexMap::new();
    if let Ok(text) = std::fs::read_to_string(dir.join("metrics.jsonl")) {
        for l in text.lines() {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(l) {
                if let Some(x) = num(&v["loss"]) {
                    let stage = v["stage"].as_str().unwrap_or("?").to_string();
                    stage_losses.entry(stage).or_default().push(x);
                }
            }
        }
    }
    let losses = stage_losses.values().next().cloned().unwrap_or_default();
    let plan: serde_json::Value = std::fs::read_to_string(dir.join("plan.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    let families = plan["tasks"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(t, v)| Some((t.clone(), v["family"].as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Some(RunScores {
        families,
        examples,
        rows,
        dir: dir.to_path_buf(),
        name: cfg["run"].as_str().unwrap_or("main").to_string(),
        params: serde_json::from_value(cfg["params"].clone()).unwrap_or_default(),
        scores,
        errors,
        weights,
        last_loss: losses.last().copied(),
        stage_losses,
    })
}

fn fmt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |x| format!("{x:.2}"))
}

/// Writes `report.md` of one run directory.
pub fn write_run_report(dir: &Path) -> Result<()> {
    let r = read_run(dir)
        .ok_or_else(|| Error::Input(format!("`{}` is not a run directory", dir.display())))?;
    let plan: serde_json::Value = std::fs::read_to_string(dir.join("plan.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Run `{}` of mixture `{}`\n",
        r.name,
        plan["mixture"].as_str().unwrap_or("?")
    );
    let _ = writeln!(
        md,
        "Plan hash `{}`.\n",
        plan["hash"].as_str().unwrap_or("?")
    );
    if !r.params.is_empty() {
        let p: Vec<String> = r.params.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        let _ = writeln!(md, "Sweep point: {}.\n", p.join(", "));
    }
    let _ = writeln!(md, "Training loss, first and last logged:\n");
    for (stage, l) in &r.stage_losses {
        let _ = writeln!(
            md,
            "- `{stage}`: {} -> {}",
            fmt(l.first().copied()),
            fmt(l.last().copied())
        );
    }
    md.push('\n');
    let _ = writeln!(
        md,
        "| task / split / metric | score | trivial baseline | examples |"
    );
    let _ = writeln!(md, "| --- | ---: | ---: | ---: |");
    for (k, s, b) in &r.scores {
        let ts = k.rsplit_once('/').map_or(k.as_str(), |x| x.0);
        let n = r
            .examples
            .get(ts)
            .map_or_else(|| "?".into(), u64::to_string);
        let failed = r.errors.iter().any(|(e, _)| e == k);
        let shown = if failed { "error".to_string() } else { fmt(*s) };
        let _ = writeln!(md, "| {k} | {shown} | {} | {n} |", fmt(*b));
    }
    if !r.errors.is_empty() {
        let _ = writeln!(
            md,
            "\nMetrics that failed (no score; fix the task's metric):\n"
        );
        for (k, why) in &r.errors {
            let _ = writeln!(md, "- `{k}`: {why}");
        }
    }
    if !r.weights.is_empty() {
        let _ = writeln!(md, "\n| task / split | scored with |");
        let _ = writeln!(md, "| --- | --- |");
        for (k, w) in &r.weights {
            let _ = writeln!(md, "| {k} | `{w}` |");
        }
    }
    md.push_str(&rows_section(dir, &plan, &r));
    let _ = writeln!(
        md,
        "\nThe baseline predicts the most frequent training target for every example. \
         With few examples a difference is noise: an accuracy near 50% on n examples has a \
         standard error of about 50/sqrt(n) points. \
         `n/a` is a score that is undefined (e.g. a correlation of constant predictions). \
         Predictions are in `eval/<task>/<split>.predictions.jsonl`; per-step numbers in `metrics.jsonl`."
    );
    crate::checkpoint::write_atomic(&dir.join("report.md"), md.as_bytes())
}

/// A count of a `rows` record, or `?` when a run's record lacks it.
fn count(v: &serde_json::Value, key: &str) -> String {
    v[key]
        .as_u64()
        .map_or_else(|| "?".into(), |n| n.to_string())
}

/// What became of the rows each stage read: for training, from each
/// stage's `DONE` (`data`: rows read, dropped by the filter, dropped by a
/// join, examples, truncation, counted up to the last batch and carried
/// across resumes by the data cursor); for evaluation, from `scores.json`.
/// Nothing is dropped silently (HACKING: count and report it).
fn rows_section(dir: &Path, plan: &serde_json::Value, r: &RunScores) -> String {
    let mut stages: Vec<String> = Vec::new();
    for run in plan["runs"].as_array().into_iter().flatten() {
        for s in run["stages"].as_array().into_iter().flatten() {
            if let Some(n) = s["name"]
                .as_str()
                .filter(|n| !stages.iter().any(|x| x == n))
            {
                stages.push(n.to_string());
            }
        }
    }
    let mut md = String::new();
    let mut trained = Vec::new();
    let precision: serde_json::Value = std::fs::read_to_string(dir.join("config.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .map(|c| c["precision"].clone())
        .unwrap_or_default();
    let mut how = Vec::new();
    for stage in &stages {
        let done: Option<serde_json::Value> = std::fs::read_to_string(dir.join(stage).join("DONE"))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok());
        if let Some(d) = done.as_ref().filter(|d| d.get("kernels").is_some()) {
            let gib = |k: &str| {
                d["peak_memory"][k]
                    .as_u64()
                    .map(|b| format!("{:.2}", b as f64 / (1u64 << 30) as f64))
            };
            let memory = match (gib("allocated_bytes"), gib("reserved_bytes")) {
                (Some(a), Some(r)) => format!("{a} / {r} GiB"),
                _ => "-".into(),
            };
            how.push(format!(
                "| {stage} | {} | {} | {} | {memory} |",
                count(d, "step"),
                precision[stage].as_str().unwrap_or("?"),
                d["kernels"].as_str().unwrap_or("?"),
            ));
        }
        if let Some(data) = done.as_ref().and_then(|d| d["data"].as_object()) {
            for (task, c) in data {
                trained.push(format!(
                    "| {stage} | {task} | {} | {} | {} | {} | {} | {} |",
                    count(c, "rows_read"),
                    count(c, "dropped_by_filter"),
                    count(c, "dropped_unmatched"),
                    count(c, "examples"),
                    count(c, "inputs_truncated"),
                    count(c, "targets_truncated"),
                ));
            }
        }
    }
    if !how.is_empty() {
        let _ = writeln!(
            md,
            "\nHow each training stage trained (kernels: `--kernels`; peak memory: the \
             CUDA caching allocator's, allocated / reserved):\n\n| stage | steps | precision \
             | kernels | peak memory |\n| --- | ---: | --- | --- | --- |"
        );
        for l in how {
            let _ = writeln!(md, "{l}");
        }
    }
    if !trained.is_empty() {
        let _ = writeln!(
            md,
            "\nRows each training stage read, up to its last batch (several epochs count \
             each pass):\n\n| stage | task | rows read | dropped by filter | dropped, no joined row \
             | examples | inputs truncated | targets truncated |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for l in trained {
            let _ = writeln!(md, "{l}");
        }
    }
    if !r.rows.is_empty() {
        let _ = writeln!(
            md,
            "\nRows read for evaluation:\n\n| task / split | rows read | dropped by filter \
             | dropped, no joined row | examples |\n| --- | ---: | ---: | ---: | ---: |"
        );
        for (k, c) in &r.rows {
            let _ = writeln!(
                md,
                "| {k} | {} | {} | {} | {} |",
                count(c, "rows_read"),
                count(c, "dropped_by_filter"),
                count(c, "dropped_unmatched"),
                count(c, "examples"),
            );
        }
    }
    md
}

fn find_runs(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.join("config.json").is_file() && dir.join("eval").is_dir() {
        out.push(dir.to_path_buf());
    }
    if let Ok(d) = std::fs::read_dir(dir) {
        let mut subs: Vec<PathBuf> = d
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir() && !p.ends_with("eval"))
            .collect();
        subs.sort();
        for s in subs {
            if s.file_name().is_some_and(|n| n != "checkpoints") {
                find_runs(&s, out);
            }
        }
    }
}

/// `exc report`: `summary.md` with one table over every run found, plus an
/// SVG per numeric sweep parameter and metric. Returns the summary's path.
pub fn report(args: &ReportArgs) -> Result<PathBuf> {
    let mut dirs = Vec::new();
    for d in &args.dirs {
        find_runs(d, &mut dirs);
    }
    let runs: Vec<RunScores> = dirs.iter().filter_map(|d| read_run(d)).collect();
    if runs.is_empty() {
        return Err(Error::Input("no evaluated run directories found".into()));
    }
    let out = args
        .out
        .clone()
        .or_else(|| args.dirs.first().cloned())
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    let mut keys: Vec<String> = Vec::new();
    for r in &runs {
        for (k, _, _) in &r.scores {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    let mut md = String::from("# exc report\n\n| run | final loss |");
    for k in &keys {
        let _ = write!(md, " {k} |");
    }
    md.push_str("\n| --- | ---: |");
    md.push_str(&" ---: |".repeat(keys.len()));
    md.push('\n');
    for r in &runs {
        let _ = write!(
            md,
            "| {} (`{}`) | {} |",
            r.name,
            r.dir.display(),
            fmt(r.last_loss)
        );
        for k in &keys {
            let s = r.scores.iter().find(|x| &x.0 == k).and_then(|x| x.1);
            let _ = write!(md, " {} |", fmt(s));
        }
        md.push('\n');
    }
    // A plot per numeric parameter that varies across runs, per metric.
    let mut params: Vec<String> = Vec::new();
    for r in &runs {
        for (k, v) in &r.params {
            if v.as_f64().is_some() && !params.contains(k) {
                params.push(k.clone());
            }
        }
    }
    for p in &params {
        for k in &keys {
            let pts: Vec<(f64, f64)> = runs
                .iter()
                .filter_map(|r| {
                    let x = r.params.get(p)?.as_f64()?;
                    let y = r.scores.iter().find(|s| &s.0 == k)?.1?;
                    Some((x, y))
                })
                .collect();
            if pts.len() < 2 {
                continue;
            }
            let file = format!("{}-{}.svg", p, k.replace('/', "-"));
            let svg = super::report_svg::line_plot(&pts, p, k);
            crate::checkpoint::write_atomic(&out.join(&file), svg.as_bytes())?;
            let _ = writeln!(md, "\n![{k} against {p}]({file})");
        }
    }
    md.push_str(&grids(&runs));
    let path = out.join("summary.md");
    crate::checkpoint::write_atomic(&path, md.as_bytes())?;
    Ok(path)
}

/// The mean score of a run over its evaluated tasks of `family` (all tasks
/// when none is of it): per task the mean of its results on its first
/// split, then the mean over tasks, as the paper averages families.
fn family_mean(r: &RunScores, family: &str) -> Option<f64> {
    let mut per_task: indexmap::IndexMap<&str, (String, Vec<f64>)> = indexmap::IndexMap::new();
    for (key, score, _) in &r.scores {
        let mut parts = key.splitn(3, '/');
        let (Some(task), Some(split), Some(score)) = (parts.next(), parts.next(), *score) else {
            continue;
        };
        let e = per_task
            .entry(task)
            .or_insert_with(|| (split.to_string(), Vec::new()));
        if e.0 == split {
            e.1.push(score);
        }
    }
    let in_family = |t: &str| r.families.get(t).is_some_and(|f| f == family);
    let any = per_task.keys().any(|t| in_family(t));
    let means: Vec<f64> = per_task
        .iter()
        .filter(|(t, _)| !any || in_family(t))
        .filter(|(_, (_, v))| !v.is_empty())
        .map(|(_, (_, v))| v.iter().sum::<f64>() / v.len() as f64)
        .collect();
    (!means.is_empty()).then(|| means.iter().sum::<f64>() / means.len() as f64)
}

fn value_text(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// For each pair of sweep parameters, a matrix with one row per value of
/// the first and one column per value of the second. A cell is the run's
/// mean score on the tasks of the column's family when the values are
/// families (the paper's Table 2: family b's score when co-trained with
/// family a), else on all its tasks. When rows and columns share values, a
/// second matrix gives each cell minus its column's diagonal (the column
/// trained alone), as Table 2 reports transfer.
fn grids(runs: &[RunScores]) -> String {
    let mut params: Vec<String> = Vec::new();
    for r in runs {
        for k in r.params.keys() {
            if !params.contains(k) {
                params.push(k.clone());
            }
        }
    }
    let mut md = String::new();
    for (i, a) in params.iter().enumerate() {
        for b in &params[i + 1..] {
            let mut rows: Vec<String> = Vec::new();
            let mut cols: Vec<String> = Vec::new();
            for r in runs {
                if let (Some(x), Some(y)) = (r.params.get(a), r.params.get(b)) {
                    let (x, y) = (value_text(x), value_text(y));
                    if !rows.contains(&x) {
                        rows.push(x);
                    }
                    if !cols.contains(&y) {
                        cols.push(y);
                    }
                }
            }
            if rows.len() < 2 && cols.len() < 2 {
                continue;
            }
            let cell = |x: &str, y: &str| -> Option<f64> {
                let r = runs.iter().find(|r| {
                    r.params.get(a).map(value_text).as_deref() == Some(x)
                        && r.params.get(b).map(value_text).as_deref() == Some(y)
                })?;
                family_mean(r, y)
            };
            let table = |title: &str, f: &dyn Fn(&str, &str) -> Option<f64>| -> String {
                let mut t = format!("\n### {title}\n\n| ${a} \\ ${b} |");
                for c in &cols {
                    let _ = write!(t, " {c} |");
                }
                t.push_str("\n| --- |");
                t.push_str(&" ---: |".repeat(cols.len()));
                t.push('\n');
                for x in &rows {
                    let _ = write!(t, "| {x} |");
                    for y in &cols {
                        let _ = write!(t, " {} |", fmt(f(x, y)));
                    }
                    t.push('\n');
                }
                t
            };
            md.push_str(&table(
                &format!("Mean score on the column's tasks: ${a} x ${b}"),
                &cell,
            ));
            if rows.iter().all(|x| cols.contains(x)) && cols.iter().all(|y| rows.contains(y)) {
                let delta = |x: &str, y: &str| Some(cell(x, y)? - cell(y, y)?);
                md.push_str(&table(
                    &format!("Transfer: minus the column trained alone (${a} = ${b})"),
                    &delta,
                ));
            }
        }
    }
    md
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn run(root: &Path, a: &str, b: &str, scores: &[(&str, f64)]) {
        let d = root.join(format!("a={a},b={b}"));
        std::fs::create_dir_all(&d).unwrap();
        let cfg = serde_json::json!({"run": format!("a={a},b={b}"), "params": {"a": a, "b": b}});
        std::fs::write(d.join("config.json"), cfg.to_string()).unwrap();
        let plan = serde_json::json!({"tasks": {
            "n1": {"family": "nli"}, "n2": {"family": "nli"}, "q1": {"family": "qa"}
        }});
        std::fs::write(d.join("plan.json"), plan.to_string()).unwrap();
        for (task, v) in scores {
            let e = d.join("eval").join(task);
            std::fs::create_dir_all(&e).unwrap();
            let s = serde_json::json!({"task": task, "split": "validation",
                "scores": {"accuracy": v, "invalid_predictions": 3.0}});
            std::fs::write(e.join("validation.scores.json"), s.to_string()).unwrap();
        }
    }

    #[test]
    fn a_family_grid_becomes_table_2() {
        let root = std::env::temp_dir().join(format!("exc-report-grid-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        run(&root, "nli", "nli", &[("n1", 60.0), ("n2", 70.0)]);
        run(&root, "qa", "qa", &[("q1", 40.0)]);
        run(
            &root,
            "nli",
            "qa",
            &[("n1", 61.0), ("n2", 71.0), ("q1", 50.0)],
        );
        run(
            &root,
            "qa",
            "nli",
            &[("n1", 64.0), ("n2", 72.0), ("q1", 30.0)],
        );
        report(&ReportArgs {
            dirs: vec![root.clone()],
            out: None,
        })
        .unwrap();
        let md = std::fs::read_to_string(root.join("summary.md")).unwrap();
        // Row nli, column qa: the qa tasks' mean when co-trained with nli.
        assert!(md.contains("| $a \\ $b | nli | qa |"), "{md}");
        assert!(md.contains("| nli | 65.00 | 50.00 |"), "{md}");
        assert!(md.contains("| qa | 68.00 | 40.00 |"), "{md}");
        // Transfer: qa gains 10 from nli; nli gains 3 from qa.
        assert!(md.contains("| nli | 0.00 | 10.00 |"), "{md}");
        assert!(md.contains("| qa | 3.00 | 0.00 |"), "{md}");
        // Diagnostics are not scores.
        assert!(!md.contains("invalid_predictions"), "{md}");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_failed_metric_is_an_error_not_an_undefined_score() {
        let d = std::env::temp_dir().join(format!("exc-report-err-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let e = d.join("eval").join("t");
        std::fs::create_dir_all(&e).unwrap();
        std::fs::write(d.join("config.json"), r#"{"run": "main"}"#).unwrap();
        let s = serde_json::json!({"task": "t", "split": "validation", "examples": 4, "scores": {
            "f1": {"error": "target 1: `yes` is not a class id"},
            "pearson_corrcoef": {"undefined": "an input is constant"},
            "accuracy": 50.0}});
        std::fs::write(e.join("validation.scores.json"), s.to_string()).unwrap();
        write_run_report(&d).unwrap();
        let md = std::fs::read_to_string(d.join("report.md")).unwrap();
        assert!(md.contains("| t/validation/f1 | error |"), "{md}");
        assert!(
            md.contains("- `t/validation/f1`: target 1: `yes` is not a class id"),
            "{md}"
        );
        assert!(
            md.contains("| t/validation/pearson_corrcoef | n/a |"),
            "{md}"
        );
        assert!(md.contains("| t/validation/accuracy | 50.00 |"), "{md}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
