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
    /// `(task/split, checkpoint it was scored with)`.
    weights: Vec<(String, String)>,
    first_loss: Option<f64>,
    last_loss: Option<f64>,
}

fn num(v: &serde_json::Value) -> Option<f64> {
    v.as_f64()
}

fn read_run(dir: &Path) -> Option<RunScores> {
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).ok()?).ok()?;
    let mut scores = Vec::new();
    let mut weights = Vec::new();
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
            if let Some(w) = v["weights"].as_str() {
                let rel = Path::new(w).strip_prefix(dir).unwrap_or(Path::new(w));
                weights.push((format!("{task}/{split}"), rel.display().to_string()));
            }
            if let Some(m) = v["scores"].as_object() {
                for (k, s) in m.iter().filter(|(k, _)| exc_metrics::is_headline(k)) {
                    let base = num(&v["baseline"]["scores"][k]);
                    scores.push((format!("{task}/{split}/{k}"), num(s), base));
                }
            }
        }
    }
    let mut losses = Vec::new();
    if let Ok(text) = std::fs::read_to_string(dir.join("metrics.jsonl")) {
        for l in text.lines() {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(l) {
                if let Some(x) = num(&v["loss"]) {
                    losses.push(x);
                }
            }
        }
    }
    Some(RunScores {
        dir: dir.to_path_buf(),
        name: cfg["run"].as_str().unwrap_or("main").to_string(),
        params: serde_json::from_value(cfg["params"].clone()).unwrap_or_default(),
        scores,
        weights,
        first_loss: losses.first().copied(),
        last_loss: losses.last().copied(),
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
    let _ = writeln!(
        md,
        "Training loss: {} at the first logged step, {} at the last.\n",
        fmt(r.first_loss),
        fmt(r.last_loss)
    );
    let _ = writeln!(md, "| task / split / metric | score | trivial baseline |");
    let _ = writeln!(md, "| --- | ---: | ---: |");
    for (k, s, b) in &r.scores {
        let _ = writeln!(md, "| {k} | {} | {} |", fmt(*s), fmt(*b));
    }
    if !r.weights.is_empty() {
        let _ = writeln!(md, "\n| task / split | scored with |");
        let _ = writeln!(md, "| --- | --- |");
        for (k, w) in &r.weights {
            let _ = writeln!(md, "| {k} | `{w}` |");
        }
    }
    let _ = writeln!(
        md,
        "\nThe baseline predicts the most frequent training target for every example; \
         `n/a` is a score that is undefined (e.g. a correlation of constant predictions). \
         Predictions are in `eval/<task>/<split>.predictions.jsonl`; per-step numbers in `metrics.jsonl`."
    );
    crate::checkpoint::write_atomic(&dir.join("report.md"), md.as_bytes())
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
    let path = out.join("summary.md");
    crate::checkpoint::write_atomic(&path, md.as_bytes())?;
    Ok(path)
}
