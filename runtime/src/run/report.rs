//! Reports: `report.md` of one run (per-task scores next to the trivial
//! baseline, the loss curve's ends), and `exc report`, which gathers the run
//! directories under its arguments into one table (runs x task metrics),
//! for every numeric sweep parameter an SVG plot of each score against it
//! (a line per value of the other parameters, averaged over seeds), and for
//! every pair of parameters a grid of mean scores (the paper's Table 2 when
//! both range over the same task families).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::report_grid::{grids, value_text};
use super::report_runs::{
    find_runs, fmt, is_seed, mean, num, param_names, read_run, std_dev, task_scores, RunScores,
};
use super::runfiles::{self, Resolved, StageDone, TrainDone};
use crate::error::{Error, Result};
use exc_compiler::plan::Plan;

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

/// Writes `report.md` of one run directory.
pub fn write_run_report(dir: &Path) -> Result<()> {
    let r = read_run(dir)
        .ok_or_else(|| Error::Input(format!("`{}` is not a run directory", dir.display())))?;
    let plan = runfiles::read_plan(dir).map_err(Error::Input)?;
    let cfg = runfiles::read_config(dir).map_err(Error::Input)?;
    let mut md = String::new();
    let _ = writeln!(md, "# Run `{}` of mixture `{}`\n", r.name, plan.mixture);
    let _ = writeln!(md, "Plan hash `{}`.\n", plan.hash);
    let overrides: Vec<String> = plan
        .overrides
        .iter()
        .map(|o| format!("`--set {o}`"))
        .collect();
    if !overrides.is_empty() {
        let _ = writeln!(
            md,
            "Settings overridden on the command line (in the plan, not in `{}`): {}.\n",
            plan.file,
            overrides.join(", ")
        );
    }
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
    if !r.scores.is_empty() {
        let _ = writeln!(
            md,
            "\nTask mean (each task the mean of its metrics on `validation`, else its first \
             split; the number of tasks): {}",
            task_mean_text(&r)
        );
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
    if !r.unreadable.is_empty() {
        let _ = writeln!(
            md,
            "\nFiles of the run that could not be read (left out above):\n"
        );
        for why in &r.unreadable {
            let _ = writeln!(md, "- {why}");
        }
    }
    if !r.weights.is_empty() {
        let _ = writeln!(md, "\n| task / split | scored with |");
        let _ = writeln!(md, "| --- | --- |");
        for (k, w) in &r.weights {
            let _ = writeln!(md, "| {k} | `{w}` |");
        }
    }
    md.push_str(&rows_section(dir, &plan, &cfg, &r));
    let _ = writeln!(
        md,
        "\nThe baseline predicts the most frequent training target for every example. \
         With few examples a difference is noise: an accuracy near 50% on n examples has a \
         standard error of about 50/sqrt(n) points. \
         `n/a` is a score that is undefined (e.g. a correlation of constant predictions). \
         Predictions are in `eval/<task>/<split>.predictions.jsonl`; per-step numbers in `metrics.jsonl`."
    );
    md.push_str(&super::report_curves::curves(dir)?);
    crate::checkpoint::write_atomic(&dir.join("report.md"), md.as_bytes())
}

/// A count a record may lack (evaluation records no truncation).
fn count(v: Option<u64>) -> String {
    v.map_or_else(|| "?".into(), |n| n.to_string())
}

/// What became of the rows each stage read: for training, from each
/// stage's `DONE` (`data`: rows read, dropped by the filter, dropped by a
/// join, examples, truncation, counted up to the last batch and carried
/// across resumes by the data cursor); for evaluation, from `scores.json`.
/// Nothing is dropped silently (HACKING: count and report it).
fn rows_section(dir: &Path, plan: &Plan, cfg: &Resolved, r: &RunScores) -> String {
    let mut stages: Vec<&str> = Vec::new();
    for s in plan.runs.iter().flat_map(|run| &run.stages) {
        if !stages.contains(&s.name.as_str()) {
            stages.push(&s.name);
        }
    }
    let mut md = String::new();
    let mut trained = Vec::new();
    let mut how = Vec::new();
    for stage in stages {
        let done = match runfiles::read_done(&dir.join(stage).join("DONE")) {
            Ok(Some(StageDone::Train(d))) => *d,
            Ok(_) => continue,
            Err(why) => {
                let _ = writeln!(md, "\nA stage's record could not be read: {why}");
                continue;
            }
        };
        let precision = cfg.precision.get(stage).map_or("?", String::as_str);
        if let Some(row) = how_row(stage, precision, &done) {
            how.push(row);
        }
        for (task, c) in &done.data {
            trained.push(format!(
                "| {stage} | {task} | {} | {} | {} | {} | {} | {} |",
                c.rows_read,
                c.dropped_by_filter,
                c.dropped_unmatched,
                c.examples,
                count(c.inputs_truncated),
                count(c.targets_truncated),
            ));
        }
    }
    if !how.is_empty() {
        let _ = writeln!(
            md,
            "\nHow each training stage trained (kernels: `--kernels`; ranks: the processes \
             that trained it data-parallel, with backend and launcher; peak memory: the CUDA \
             caching allocator's, allocated / reserved, of rank 0):\n\n| stage | steps | \
             precision | kernels | ranks | peak memory |\n| --- | ---: | --- | --- | --- | --- |"
        );
        for l in how {
            let _ = writeln!(md, "{l}");
        }
    }
    if !trained.is_empty() {
        let _ = writeln!(
            md,
            "\nRows each training stage read, up to the unit its last batch came from (several \
             epochs count each pass; C4 is read and span-corrupted in groups of documents, so its \
             count runs to the end of the last group, past what the batches used):\n\n| stage | task | rows read | dropped by filter | dropped, no joined row \
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
                c.rows_read, c.dropped_by_filter, c.dropped_unmatched, c.examples,
            );
        }
    }
    md
}

/// How a training stage trained (steps, precision, kernels, ranks, peak
/// memory), from its `DONE`; none when no process recorded its kernels
/// (every unit was done before a resume).
fn how_row(stage: &str, precision: &str, d: &TrainDone) -> Option<String> {
    let kernels = d.kernels.as_deref()?;
    let gib = |b: u64| format!("{:.2}", b as f64 / (1u64 << 30) as f64);
    let memory = d.peak_memory.map_or_else(
        || "-".into(),
        |m| format!("{} / {} GiB", gib(m.allocated_bytes), gib(m.reserved_bytes)),
    );
    let ranks = d.parallel.as_ref().map_or_else(
        || "1".into(),
        |p| format!("{} ({}, {})", p.world_size, p.backend, p.launcher),
    );
    Some(format!(
        "| {stage} | {} | {precision} | {kernels} | {ranks} | {memory} |",
        d.step
    ))
}

/// `exc report`: `summary.md` with one table over every run found, plus an
/// SVG per numeric sweep parameter and metric, and a grid per pair of sweep
/// parameters. Returns the summary's path.
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
    let mut md = summary_table(&runs, &keys);
    md.push_str(&plots(&runs, &keys, &out)?);
    md.push_str(&grids(&runs));
    let path = out.join("summary.md");
    crate::checkpoint::write_atomic(&path, md.as_bytes())?;
    Ok(path)
}

/// The last logged loss of a run's first or last training stage, with the
/// stage's name (`stage/task` for a `per_task` stage's last model).
fn final_loss(r: &RunScores, last: bool) -> Option<(&str, f64)> {
    let mut stages = r.stage_losses.iter();
    let (stage, losses) = if last {
        stages.next_back()?
    } else {
        stages.next()?
    };
    Some((stage.as_str(), *losses.last()?))
}

fn loss_text(l: Option<(&str, f64)>) -> String {
    l.map_or_else(|| "n/a".into(), |(stage, x)| format!("{x:.2} ({stage})"))
}

/// One row per run: its final training loss and every score. The loss is
/// the last stage's (the model that was scored, e.g. after fine-tuning);
/// when some run has several stages the first stage's (e.g. pre-training,
/// what an R or task-count sweep varies) gets a column too.
fn summary_table(runs: &[RunScores], keys: &[String]) -> String {
    let staged = runs.iter().any(|r| r.stage_losses.len() > 1);
    let mut md = String::from("# exc report\n\n| run |");
    if staged {
        md.push_str(" final loss, first stage (stage) |");
    }
    md.push_str(" final loss, last stage (stage) | task mean (tasks) |");
    for k in keys {
        let _ = write!(md, " {k} |");
    }
    md.push_str("\n| --- |");
    md.push_str(&" ---: |".repeat(keys.len() + 2 + usize::from(staged)));
    md.push('\n');
    for r in runs {
        let _ = write!(md, "| {} (`{}`) |", r.name, r.dir.display());
        if staged {
            let _ = write!(md, " {} |", loss_text(final_loss(r, false)));
        }
        let _ = write!(md, " {} |", loss_text(final_loss(r, true)));
        let _ = write!(md, " {} |", task_mean_text(r));
        for k in keys {
            let s = r.scores.iter().find(|x| &x.0 == k).and_then(|x| x.1);
            let _ = write!(md, " {} |", fmt(s));
        }
        md.push('\n');
    }
    md
}

/// The parameters that take more than one value across the runs.
fn varying(runs: &[RunScores]) -> Vec<String> {
    param_names(runs)
        .into_iter()
        .filter(|p| {
            let mut seen: Vec<String> = Vec::new();
            for v in runs.iter().filter_map(|r| r.params.get(p)) {
                let v = value_text(v);
                if !seen.contains(&v) {
                    seen.push(v);
                }
            }
            seen.len() > 1
        })
        .collect()
}

/// A plot per numeric parameter that varies across runs, per metric;
/// returns the markdown that shows them. Lines are drawn per value of the
/// other parameters except seeds, which points average over.
fn plots(runs: &[RunScores], keys: &[String], out: &Path) -> Result<String> {
    let varying = varying(runs);
    let mut md = String::new();
    // A seed is averaged over, never an axis: a score against the seed
    // draws noise as if it were a trend.
    for p in varying.iter().filter(|p| !is_seed(p)) {
        let (seeds, others): (Vec<&String>, Vec<&String>) =
            varying.iter().filter(|o| *o != p).partition(|o| is_seed(o));
        for k in keys {
            let series = plot_series(runs, p, k, &others);
            if !series.iter().any(|s| s.points.len() > 1) {
                continue;
            }
            let file = format!("{}-{}.svg", p, k.replace('/', "-"));
            let (y_min, y_max) = score_range(k);
            let frame = super::report_svg::Frame {
                title: k,
                x_label: p,
                y_label: k.rsplit('/').next().unwrap_or(k),
                y_min,
                y_max,
            };
            let svg = super::report_svg::line_plot(&series, &frame);
            crate::checkpoint::write_atomic(&out.join(&file), svg.as_bytes())?;
            let _ = writeln!(md, "\n![{k} against {p}]({file})");
            md.push_str(&plot_note(&others, &seeds));
        }
    }
    Ok(md)
}

/// The values score `key` (`task/split/metric`) can take: T5 scales
/// scores to 0-100, and correlations reach down to -100. A band of one
/// standard deviation is drawn within them.
fn score_range(key: &str) -> (Option<f64>, Option<f64>) {
    let metric = key.rsplit('/').next().unwrap_or(key);
    let signed = ["corrcoef", "pearson", "spearman", "matthews", "mcc"]
        .iter()
        .any(|w| metric.contains(w));
    (Some(if signed { -100.0 } else { 0.0 }), Some(100.0))
}

/// What a plot's lines and points are, when there is more than one line or
/// a point is a mean.
fn plot_note(others: &[&String], seeds: &[&String]) -> String {
    let mut notes = Vec::new();
    if !others.is_empty() {
        let names: Vec<String> = others.iter().map(|o| format!("`{o}`")).collect();
        notes.push(format!("One line per value of {}.", names.join(", ")));
    }
    if !seeds.is_empty() {
        let names: Vec<String> = seeds.iter().map(|s| format!("`{s}`")).collect();
        notes.push(format!(
            "Each point is the mean over {}; the band is one standard deviation either side.",
            names.join(", ")
        ));
    }
    if notes.is_empty() {
        String::new()
    } else {
        format!("\n{}\n", notes.join(" "))
    }
}

/// The lines of a plot of score `key` against parameter `p`: one per
/// combination of the `others`' values, named by them; at each value of `p`
/// the mean (and standard deviation) of the runs there, i.e. over seeds.
fn plot_series(
    runs: &[RunScores],
    p: &str,
    key: &str,
    others: &[&String],
) -> Vec<super::report_svg::Series> {
    type Ys = Vec<(f64, Vec<f64>)>;
    let mut lines: indexmap::IndexMap<String, Ys> = indexmap::IndexMap::new();
    for r in runs {
        let Some(x) = r.params.get(p).and_then(num) else {
            continue;
        };
        let Some(y) = r.scores.iter().find(|s| s.0 == key).and_then(|s| s.1) else {
            continue;
        };
        let label: Vec<String> = others
            .iter()
            .filter_map(|o| Some(format!("{o}={}", value_text(r.params.get(*o)?))))
            .collect();
        let ys = lines.entry(label.join(", ")).or_default();
        match ys.iter_mut().find(|(x0, _)| *x0 == x) {
            Some((_, v)) => v.push(y),
            None => ys.push((x, vec![y])),
        }
    }
    lines
        .into_iter()
        .map(|(label, ys)| super::report_svg::Series {
            label,
            points: ys
                .iter()
                .filter_map(|(x, v)| {
                    Some(super::report_svg::Point {
                        x: *x,
                        y: mean(v)?,
                        sd: std_dev(v),
                    })
                })
                .collect(),
        })
        .collect()
}

/// The mean over a run's evaluated tasks, each task the mean of its
/// metrics (as the paper's SuperGLUE and GLUE averages count CB's accuracy
/// and F1 as one task): `71.20 (8)`, or `(7 of 8)` when a task has no
/// defined score.
fn task_mean_text(r: &RunScores) -> String {
    let scores = task_scores(r);
    let defined: Vec<f64> = scores.values().filter_map(|s| *s).collect();
    let n = if defined.len() == scores.len() {
        scores.len().to_string()
    } else {
        format!("{} of {}", defined.len(), scores.len())
    };
    format!("{} ({n})", fmt(mean(&defined)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::report_grid::*;
    use super::super::runfiles::{Score, ScoresFile};
    use super::*;

    /// A fresh directory for one test's runs.
    fn root(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("exc-report-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        root
    }

    /// A run directory named by its parameters, with `metrics.jsonl` lines
    /// `(stage, loss)` and one `scores.json` per `(task, split, accuracy)`.
    /// A run's `config.json`, as `exc run` writes it.
    fn config(run: &str, params: indexmap::IndexMap<String, serde_json::Value>) -> Resolved {
        Resolved {
            run: run.into(),
            params,
            mixture_file: None,
            data_dir: None,
            tokenizer: "spiece.model".into(),
            tokenizer_sha256: None,
            started_in: None,
            device: "cpu".into(),
            steps_override: None,
            overrides: Vec::new(),
            eval_limit: None,
            log_every: 10,
            kernels: Default::default(),
            precision: Default::default(),
            changed_on_resume: Vec::new(),
            exc_version: String::new(),
            parallel: None,
        }
    }

    /// A plan whose tasks are `families`' (task, family) pairs: a fixture's
    /// plan with its first task renamed for each.
    fn plan(families: &[(&str, &str)]) -> Plan {
        let fixture = std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/plans/stages.exmix"
        ));
        let mut plan = exc_compiler::compile(&[fixture]).plans.remove(0);
        let task = plan.tasks[0].clone();
        plan.tasks = families
            .iter()
            .map(|(t, f)| {
                let mut task = (*task).clone();
                task.name = t.to_string();
                task.family = Some(f.to_string());
                (t.to_string(), task.into())
            })
            .collect();
        plan.seal()
    }

    fn write_run(
        root: &Path,
        params: serde_json::Value,
        metrics: &[(&str, f64)],
        scores: &[(&str, &str, Score)],
    ) {
        let name: Vec<String> = params
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}", value_text(v)))
            .collect();
        let d = root.join(name.join(","));
        std::fs::create_dir_all(&d).unwrap();
        let params = serde_json::from_value(params).unwrap();
        let cfg = config(&name.join(","), params);
        std::fs::write(d.join("config.json"), serde_json::to_string(&cfg).unwrap()).unwrap();
        let plan = plan(&[("n1", "nli"), ("n2", "nli"), ("q1", "qa")]);
        std::fs::write(d.join("plan.json"), plan.to_json()).unwrap();
        let lines: Vec<String> = metrics
            .iter()
            .enumerate()
            .map(|(i, (stage, loss))| {
                let line = crate::run::runfiles::TrainLine {
                    stage: stage.to_string(),
                    step: i as u64 + 1,
                    loss: *loss,
                    lr: 0.01,
                    tokens_per_s: 1.0,
                    data_wait: 0.0,
                    tokens: 1,
                    comm: None,
                    comm_bytes_per_step: None,
                    comm_overlapped: None,
                    task_loss: None,
                };
                serde_json::to_string(&line).unwrap()
            })
            .collect();
        std::fs::write(d.join("metrics.jsonl"), lines.join("\n")).unwrap();
        for (task, split, v) in scores {
            let e = d.join("eval").join(task);
            std::fs::create_dir_all(&e).unwrap();
            let s = ScoresFile {
                task: task.to_string(),
                split: split.to_string(),
                examples: None,
                rows: None,
                decode: serde_json::Value::Null,
                weights: None,
                scores: [
                    ("accuracy".to_string(), v.clone()),
                    ("invalid_predictions".to_string(), Score::of(3.0)),
                ]
                .into_iter()
                .collect(),
                baseline: None,
            };
            let text = serde_json::to_string(&s).unwrap();
            std::fs::write(e.join(format!("{split}.scores.json")), text).unwrap();
        }
    }

    fn run(root: &Path, a: &str, b: &str, scores: &[(&str, f64)]) {
        let scores: Vec<_> = scores
            .iter()
            .map(|(t, v)| (*t, "validation", Score::of(*v)))
            .collect();
        write_run(root, serde_json::json!({"a": a, "b": b}), &[], &scores);
    }

    fn summary(root: &Path) -> String {
        report(&ReportArgs {
            dirs: vec![root.to_path_buf()],
            out: None,
        })
        .unwrap();
        std::fs::read_to_string(root.join("summary.md")).unwrap()
    }

    /// A run read back from nowhere: `task/split/metric` scores and the
    /// plan's families.
    fn scored(scores: &[(&str, Option<f64>)], families: &[(&str, &str)]) -> RunScores {
        RunScores {
            dir: PathBuf::new(),
            name: "r".into(),
            params: indexmap::IndexMap::new(),
            scores: scores
                .iter()
                .map(|(k, s)| (k.to_string(), *s, None))
                .collect(),
            errors: Vec::new(),
            unreadable: Vec::new(),
            weights: Vec::new(),
            examples: indexmap::IndexMap::new(),
            rows: indexmap::IndexMap::new(),
            families: families
                .iter()
                .map(|(t, f)| (t.to_string(), f.to_string()))
                .collect(),
            stage_losses: indexmap::IndexMap::new(),
        }
    }

    #[test]
    fn a_family_grid_becomes_table_2() {
        let root = root("grid");
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
        let md = summary(&root);
        // Row nli, column qa: the qa tasks' mean when co-trained with nli;
        // with two families each column's AVG∖diag is its one off-diagonal
        // cell, so neither row gains.
        assert!(
            md.contains("as the paper's Table 2, by `a` (rows) and `b` (columns)"),
            "{md}"
        );
        assert!(
            md.contains("| a (rows) / b (columns) | nli | qa | Δavg |"),
            "{md}"
        );
        assert!(md.contains("| nli | 65.00 | 50.00 | +0.0% |"), "{md}");
        assert!(md.contains("| qa | 68.00 | 40.00 | +0.0% |"), "{md}");
        assert!(md.contains("| AVG∖diag | 68.00 | 50.00 | |"), "{md}");
        assert!(!md.contains("minus the column trained alone"), "{md}");
        // Diagnostics are not scores.
        assert!(!md.contains("invalid_predictions"), "{md}");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn transfer_reproduces_table_2_of_the_paper() {
        // Table 2's cells (the diagonal's 100k-step value), rows and
        // columns SUM DLG NLI CLS SEM CMNS CBQA RC.
        let t = [
            [27.89, 37.81, 60.45, 77.10, 78.25, 61.92, 7.84, 65.37],
            [29.05, 38.56, 63.62, 77.10, 75.55, 64.05, 13.39, 64.75],
            [28.61, 40.60, 64.91, 77.29, 77.72, 67.60, 15.24, 66.40],
            [29.52, 40.16, 66.69, 77.14, 76.05, 65.29, 12.93, 65.20],
            [29.30, 38.86, 62.46, 76.83, 72.09, 57.84, 12.44, 63.52],
            [29.28, 39.27, 65.08, 77.05, 76.29, 68.24, 16.48, 66.01],
            [29.75, 39.29, 64.96, 77.66, 75.21, 66.84, 14.68, 66.37],
            [29.45, 38.12, 63.70, 77.14, 76.98, 66.62, 10.26, 62.94],
        ];
        let t: Vec<Vec<Option<f64>>> = t.iter().map(|r| r.map(Some).to_vec()).collect();
        // The printed AVG∖diag of NLI and SEM (63.77, 76.43) are not the
        // means of the printed cells (63.85, 76.58); the other six are.
        let avg: Vec<String> = off_diagonal_means(&t)
            .iter()
            .map(|a| format!("{:.2}", a.unwrap()))
            .collect();
        assert_eq!(
            avg,
            ["29.28", "39.16", "63.85", "77.17", "76.58", "64.31", "12.65", "65.37"]
        );
        // From the printed cells and AVG∖diag row, Δavg as printed for
        // SUM, NLI, SEM, CBQA and RC. (DLG, CLS and CMNS come out +0.3,
        // +1.6, +4.8 against the printed +0.1, +1.4, +4.7 with either AVG
        // row, so the table's rounding or a cell differs there.)
        let printed = [29.28, 39.16, 63.77, 77.17, 76.43, 64.31, 12.65, 65.37].map(Some);
        let delta: Vec<String> = relative_gains(&t, &printed)
            .iter()
            .map(|d| format!("{:+.1}", d.unwrap()))
            .collect();
        for (row, want) in [
            (0, "-6.9"),
            (2, "+4.3"),
            (4, "-2.5"),
            (6, "+1.2"),
            (7, "-2.4"),
        ] {
            assert_eq!(delta[row], want, "row {row}: {delta:?}");
        }
        // An undefined cell is left out; a column with nothing left is n/a.
        let t = vec![
            vec![Some(1.0), None, Some(4.0)],
            vec![Some(2.0), Some(1.0), Some(2.0)],
            vec![Some(4.0), None, Some(1.0)],
        ];
        let (avg, delta) = transfer(&t);
        assert_eq!(avg, [Some(3.0), None, Some(3.0)]);
        // Row 0: (4 - 3) / 3 only; row 1: (2 - 3) / 3 and (2 - 3) / 3.
        assert!((delta[0].unwrap() - 100.0 / 3.0).abs() < 1e-9);
        assert!((delta[1].unwrap() + 100.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn a_family_without_a_defined_score_is_na_not_another_familys() {
        let r = scored(
            &[
                ("n1/validation/accuracy", Some(80.0)),
                ("q1/validation/accuracy", None),
            ],
            &[("n1", "nli"), ("q1", "qa")],
        );
        assert_eq!(family_mean(&r, "qa"), None);
        assert_eq!(family_mean(&r, "nli"), Some(80.0));
        // Not a family of the plan (another parameter's value): all tasks.
        assert_eq!(family_mean(&r, "512"), Some(80.0));

        let root = root("undef");
        let undefined = Score::Undefined {
            undefined: "an input is constant".into(),
        };
        run(&root, "nli", "nli", &[("n1", 80.0)]);
        run(&root, "qa", "qa", &[("q1", 30.0)]);
        run(&root, "qa", "nli", &[("n1", 80.0), ("q1", 30.0)]);
        write_run(
            &root,
            serde_json::json!({"a": "nli", "b": "qa"}),
            &[],
            &[
                ("n1", "validation", Score::of(80.0)),
                ("q1", "validation", undefined),
            ],
        );
        let md = summary(&root);
        assert!(md.contains("| nli | 80.00 | n/a | n/a |"), "{md}");
        assert!(md.contains("| AVG∖diag | 80.00 | n/a | |"), "{md}");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_task_is_scored_on_validation_ahead_of_test() {
        // Read sorted, `test` comes first.
        let r = scored(
            &[
                ("n1/test/accuracy", Some(10.0)),
                ("n1/validation/accuracy", Some(80.0)),
                ("q1/test/accuracy", Some(20.0)),
            ],
            &[("n1", "nli"), ("q1", "qa")],
        );
        assert_eq!(family_mean(&r, "nli"), Some(80.0));
        // Without validation, its first split.
        assert_eq!(family_mean(&r, "qa"), Some(20.0));
        // Undefined on validation is undefined, not test's score.
        let r = scored(
            &[
                ("n1/test/accuracy", Some(10.0)),
                ("n1/validation/accuracy", None),
            ],
            &[("n1", "nli")],
        );
        assert_eq!(family_mean(&r, "nli"), None);
    }

    #[test]
    fn the_task_mean_counts_a_task_once_whatever_its_metrics() {
        // CB-like: two metrics make one task score (their mean).
        let r = scored(
            &[
                ("cb/validation/accuracy", Some(90.0)),
                ("cb/validation/mean_3class_f1", Some(70.0)),
                ("rte/validation/accuracy", Some(60.0)),
            ],
            &[("cb", "nli"), ("rte", "nli")],
        );
        assert_eq!(task_mean_text(&r), "70.00 (2)");
        let r = scored(
            &[
                ("a/validation/accuracy", Some(50.0)),
                ("b/validation/pearson_corrcoef", None),
            ],
            &[("a", "x"), ("b", "x")],
        );
        assert_eq!(task_mean_text(&r), "50.00 (1 of 2)");
    }

    /// Runs of a tasks x seed x batch sweep (the paper's random subsets),
    /// scoring tasks / 10 + seed + batch / 100 on `n1`.
    fn random_subsets(root: &Path) {
        for tasks in [30, 55] {
            for seed in [1, 2] {
                for batch in [128, 512] {
                    let y = f64::from(tasks) / 10.0 + f64::from(seed) + f64::from(batch) / 100.0;
                    write_run(
                        root,
                        serde_json::json!({"tasks": tasks, "seed": seed, "batch": batch}),
                        &[],
                        &[("n1", "validation", Score::of(y))],
                    );
                }
            }
        }
    }

    #[test]
    fn a_grid_cell_is_the_mean_of_every_run_with_its_values() {
        let root = root("three");
        random_subsets(&root);
        let md = summary(&root);
        // tasks 30, batch 128: seeds 1 and 2 give 5.28 and 6.28.
        assert!(
            md.contains("### Mean score over all tasks, by `tasks` (rows) and `batch` (columns)"),
            "{md}"
        );
        assert!(md.contains("| 30 | 5.78 (n=2) | 9.62 (n=2) |"), "{md}");
        assert!(md.contains("| 55 | 8.28 (n=2) | 12.12 (n=2) |"), "{md}");
        assert!(md.contains("mean of k runs, over `seed`."), "{md}");
        // A cell where some runs have no defined score says so.
        let partial = Cell {
            mean: Some(1.0),
            defined: 1,
            runs: 2,
        };
        assert_eq!(partial.text(), "1.00 (n=1 of 2)");
        assert!(!md.contains("column's tasks"), "{md}");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_plot_draws_a_line_per_other_parameter_averaged_over_seeds() {
        let root = root("plot");
        random_subsets(&root);
        let md = summary(&root);
        let svg = std::fs::read_to_string(root.join("tasks-n1-validation-accuracy.svg")).unwrap();
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert!(svg.contains(">batch=128</text>"), "{svg}");
        assert!(svg.contains(">batch=512</text>"), "{svg}");
        // The mean over seeds 1 and 2, with their standard deviation.
        assert!(
            svg.contains("<title>batch=128, 30: 5.78 ± 0.71</title>"),
            "{svg}"
        );
        assert_eq!(svg.matches("<polygon").count(), 2, "{svg}");
        let svg = std::fs::read_to_string(root.join("batch-n1-validation-accuracy.svg")).unwrap();
        assert!(svg.contains(">tasks=55</text>"), "{svg}");
        // Never against the seed itself: it is averaged over.
        assert!(!root.join("seed-n1-validation-accuracy.svg").exists());
        assert!(!md.contains("against seed"), "{md}");
        // Ticks at each value of the parameter, and an accuracy axis that
        // stays within 0 to 100.
        assert!(
            svg.contains("class=\"x-tick\" x=\"64.0\" y=\"286\" text-anchor=\"middle\">128</text>"),
            "{svg}"
        );
        assert!(md.contains("One line per value of `batch`."), "{md}");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn the_final_loss_is_the_last_stages() {
        let root = root("loss");
        write_run(
            &root,
            serde_json::json!({"r": 2}),
            &[
                ("pretrain", 4.0),
                ("pretrain", 3.0),
                ("superglue", 0.9),
                ("superglue", 0.5),
            ],
            &[("n1", "validation", Score::of(70.0))],
        );
        let md = summary(&root);
        assert!(
            md.contains("| final loss, first stage (stage) | final loss, last stage (stage) |"),
            "{md}"
        );
        assert!(
            md.contains("| 3.00 (pretrain) | 0.50 (superglue) |"),
            "{md}"
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_failed_metric_is_an_error_not_an_undefined_score() {
        let d = std::env::temp_dir().join(format!("exc-report-err-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let e = d.join("eval").join("t");
        std::fs::create_dir_all(&e).unwrap();
        let cfg = serde_json::to_string(&config("main", Default::default())).unwrap();
        std::fs::write(d.join("config.json"), cfg).unwrap();
        std::fs::write(d.join("plan.json"), plan(&[("t", "nli")]).to_json()).unwrap();
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
        // A scores file cut short and a metrics line that is not one exc
        // writes are named in the report, not skipped unsaid.
        let cut = d.join("eval").join("u");
        std::fs::create_dir_all(&cut).unwrap();
        std::fs::write(cut.join("validation.scores.json"), r#"{"task": "u", "spl"#).unwrap();
        std::fs::write(
            d.join("metrics.jsonl"),
            "{\"stage\": \"p\", \"step\": 1, \"lo\n",
        )
        .unwrap();
        write_run_report(&d).unwrap();
        let md2 = std::fs::read_to_string(d.join("report.md")).unwrap();
        assert!(md2.contains("could not be read"), "{md2}");
        assert!(md2.contains("validation.scores.json"), "{md2}");
        assert!(md2.contains("`metrics.jsonl`: 1 line(s)"), "{md2}");
        // One task: the mean of its defined metrics.
        assert!(
            md.contains("split; the number of tasks): 50.00 (1)"),
            "{md}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
