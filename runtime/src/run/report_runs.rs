//! A run directory read back for reporting: its scores, losses, row
//! counts and parameters (`RunScores`), and the statistics the report's
//! tables and grids take over runs. `report` and `report_grid` both read
//! this layer; neither reads the other's internals.

use std::path::{Path, PathBuf};

use super::runfiles::{self, RowsRecord};

/// One run's scores, as read back from its directory.
#[derive(Debug, Clone)]
pub(super) struct RunScores {
    pub(super) dir: PathBuf,
    pub(super) name: String,
    pub(super) params: indexmap::IndexMap<String, serde_json::Value>,
    /// `(task/split/metric, score, baseline)`: metric results only, not
    /// their diagnostics (BLEU's lengths stay in `scores.json`).
    pub(super) scores: Vec<(String, Option<f64>, Option<f64>)>,
    /// `(task/split/metric, why)`: metrics that failed (not merely undefined).
    pub(super) errors: Vec<(String, String)>,
    /// Files of the run that could not be read, with why.
    pub(super) unreadable: Vec<String>,
    /// `(task/split, checkpoint it was scored with)`.
    pub(super) weights: Vec<(String, String)>,
    /// `task/split` -> examples scored.
    pub(super) examples: indexmap::IndexMap<String, u64>,
    /// `task/split` -> what became of the rows read for it (`rows` of
    /// `scores.json`: read, dropped by the filter or a join).
    pub(super) rows: indexmap::IndexMap<String, RowsRecord>,
    /// Each task's family, from the run's plan.
    pub(super) families: indexmap::IndexMap<String, String>,
    /// Every training stage's logged losses, in order (a `per_task`
    /// stage logs one entry per task, `stage/task`).
    pub(super) stage_losses: indexmap::IndexMap<String, Vec<f64>>,
}

/// A sweep parameter's value as a number, when it is one.
pub(super) fn num(v: &serde_json::Value) -> Option<f64> {
    v.as_f64()
}

pub(super) fn read_run(dir: &Path) -> Option<RunScores> {
    let cfg = runfiles::read_config(dir).ok()?;
    let mut scores = Vec::new();
    let mut errors = Vec::new();
    let mut unreadable = Vec::new();
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
            let v = match super::runfiles::read_scores(f) {
                Ok(v) => v,
                Err(why) => {
                    // Said in the report, never skipped unsaid.
                    unreadable.push(why);
                    continue;
                }
            };
            let (task, split) = (&v.task, &v.split);
            if let Some(n) = v.examples {
                examples.insert(format!("{task}/{split}"), n);
            }
            if let Some(r) = &v.rows {
                rows.insert(format!("{task}/{split}"), r.clone());
            }
            if let Some(w) = &v.weights {
                let rel = Path::new(w).strip_prefix(dir).unwrap_or(Path::new(w));
                weights.push((format!("{task}/{split}"), rel.display().to_string()));
            }
            for (k, s) in v.scores.iter().filter(|(k, _)| exc_metrics::is_headline(k)) {
                let base = v.baseline.as_ref().and_then(|b| b.scores.get(k)?.value());
                scores.push((format!("{task}/{split}/{k}"), s.value(), base));
                if let Some(why) = s.error() {
                    errors.push((format!("{task}/{split}/{k}"), why.to_string()));
                }
            }
        }
    }
    let mut stage_losses: indexmap::IndexMap<String, Vec<f64>> = indexmap::IndexMap::new();
    if let Ok((lines, bad)) = super::runfiles::read_metrics(&dir.join("metrics.jsonl")) {
        for l in lines {
            if let super::runfiles::MetricsLine::Train(t) = l {
                stage_losses.entry(t.stage).or_default().push(t.loss);
            }
        }
        if bad > 0 {
            unreadable.push(format!(
                "`metrics.jsonl`: {bad} line(s) are not a line exc writes (cut by a crash?)"
            ));
        }
    }
    let families = match runfiles::read_plan(dir) {
        Ok(plan) => plan
            .tasks
            .iter()
            .filter_map(|(t, task)| Some((t.clone(), task.family.clone()?)))
            .collect(),
        Err(why) => {
            unreadable.push(why);
            indexmap::IndexMap::new()
        }
    };
    Some(RunScores {
        families,
        examples,
        rows,
        dir: dir.to_path_buf(),
        // The directory's own config names its run; a run directory's
        // first config (before its run began) names none.
        name: if cfg.run.is_empty() {
            "main".to_string()
        } else {
            cfg.run
        },
        params: cfg.params,
        scores,
        errors,
        unreadable,
        weights,
        stage_losses,
    })
}

pub(super) fn fmt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |x| format!("{x:.2}"))
}

pub(super) fn find_runs(dir: &Path, out: &mut Vec<PathBuf>) {
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

/// Whether a parameter is a seed, which plots average over rather than
/// draw a line for (the paper's Fig. 4 averages three seeds).
pub(super) fn is_seed(name: &str) -> bool {
    name.to_ascii_lowercase().contains("seed")
}

/// Every sweep parameter, in the order the runs name them.
pub(super) fn param_names(runs: &[RunScores]) -> Vec<String> {
    let mut params: Vec<String> = Vec::new();
    for r in runs {
        for k in r.params.keys() {
            if !params.contains(k) {
                params.push(k.clone());
            }
        }
    }
    params
}

pub(super) fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The sample standard deviation; none for fewer than two values.
pub(super) fn std_dev(v: &[f64]) -> Option<f64> {
    let m = mean(v)?;
    (v.len() > 1)
        .then(|| (v.iter().map(|y| (y - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt())
}

/// Each evaluated task's score: the mean of its defined results on its
/// `validation` split when it has one, else on its first split by name
/// (scores files are read sorted, and `test` sorts before `validation`;
/// the paper reports validation, and a mixture evaluating `splits
/// validation, test` must not be scored on test). `None` when none of the
/// split's results is defined.
pub(super) fn task_scores(r: &RunScores) -> indexmap::IndexMap<&str, Option<f64>> {
    let mut split_of: indexmap::IndexMap<&str, &str> = indexmap::IndexMap::new();
    for (key, _, _) in &r.scores {
        let mut parts = key.splitn(3, '/');
        let (Some(task), Some(split)) = (parts.next(), parts.next()) else {
            continue;
        };
        let chosen = split_of.entry(task).or_insert(split);
        if split == "validation" {
            *chosen = split;
        }
    }
    split_of
        .into_iter()
        .map(|(task, split)| {
            let prefix = format!("{task}/{split}/");
            let v: Vec<f64> = r
                .scores
                .iter()
                .filter(|(k, _, _)| k.starts_with(&prefix))
                .filter_map(|x| x.1)
                .collect();
            (task, mean(&v))
        })
        .collect()
}
