//! A run's curves for its `report.md`: per training stage, the training loss
//! over steps (all tasks, and each task's while the stage mixes few enough
//! to tell apart), the validation loss per task and the selection score per
//! task, as SVGs in `plots/` beside the report. They are read back from
//! `metrics.jsonl`, the numbers TensorBoard shows.

use std::path::Path;

use indexmap::IndexMap;

use super::report_svg::{line_plot, Frame, Point, Series};
use super::runfiles::{read_metrics, MetricsLine};
use crate::error::Result;

/// More lines than this are not told apart by colour: only the stage's
/// mean is drawn, and the report says where each task's numbers are.
const MAX_LINES: usize = 10;

/// One plot's lines: name -> step -> value (a step logged twice, by an
/// interrupted run and by its resume, keeps the later value).
type Lines = IndexMap<String, IndexMap<u64, f64>>;

/// What one stage logged, by kind of curve.
#[derive(Default)]
struct Stage {
    loss: Lines,
    valid_loss: Lines,
    valid_score: Lines,
    /// The split the score was taken on.
    split: String,
}

fn add(lines: &mut Lines, name: &str, step: u64, v: f64) {
    lines.entry(name.to_string()).or_default().insert(step, v);
}

/// Writes `dir/plots/<stage>-<curve>.svg` for every curve of at least two
/// points, and returns the markdown that shows them (empty when none).
pub(super) fn curves(dir: &Path) -> Result<String> {
    let Ok((lines, _)) = read_metrics(&dir.join("metrics.jsonl")) else {
        return Ok(String::new());
    };
    let mut stages: IndexMap<String, Stage> = IndexMap::new();
    for l in lines {
        let stage = stages.entry(l.stage().to_string()).or_default();
        match l {
            MetricsLine::Train(t) => {
                add(&mut stage.loss, "all tasks", t.step, t.loss);
                for (task, v) in t.task_loss.iter().flatten() {
                    add(&mut stage.loss, task, t.step, *v);
                }
            }
            MetricsLine::ValidLoss(v) => {
                add(
                    &mut stage.valid_loss,
                    "mean over tasks",
                    v.step,
                    v.valid_loss_mean,
                );
                for (task, x) in &v.valid_loss {
                    add(&mut stage.valid_loss, task, v.step, *x);
                }
            }
            MetricsLine::ValidScore(v) => {
                stage.split = v.split.clone();
                for (task, x) in &v.valid_score {
                    add(&mut stage.valid_score, task, v.step, *x);
                }
            }
            MetricsLine::LeftOut(_) => {}
        }
    }
    let mut md = String::new();
    let mut crowded = false;
    for (name, s) in &stages {
        let score_title = format!("validation score per task ({})", s.split);
        let kinds = [
            (
                "loss",
                "training loss",
                "loss per target token",
                &s.loss,
                Some(0.0),
            ),
            (
                "valid_loss",
                "validation loss",
                "loss per target token",
                &s.valid_loss,
                Some(0.0),
            ),
            (
                "valid_score",
                score_title.as_str(),
                "mean of the task's metrics",
                &s.valid_score,
                None,
            ),
        ];
        for (file, what, y_label, lines, y_min) in kinds {
            let (series, all) = series(lines);
            crowded |= !all;
            if !series.iter().any(|s| s.points.len() > 1) {
                continue;
            }
            let title = format!("{name}: {what}");
            let frame = Frame {
                title: &title,
                x_label: "step",
                y_label,
                y_min,
                y_max: None,
            };
            let path = format!("plots/{}-{file}.svg", name.replace('/', "-"));
            let target = dir.join(&path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| crate::error::Error::io(parent, e))?;
            }
            crate::checkpoint::write_atomic(&target, line_plot(&series, &frame).as_bytes())?;
            md.push_str(&format!("\n![{title}]({path})\n"));
        }
    }
    if md.is_empty() {
        return Ok(md);
    }
    let mut head = String::from(
        "\n## Curves\n\nPer training stage, from `metrics.jsonl` (TensorBoard's numbers): the \
         training loss of each logging window (all tasks, and each task's), the validation loss \
         per task, and the score each checkpoint was selected by, per task.\n",
    );
    if crowded {
        head.push_str(&format!(
            "\nA stage of more than {MAX_LINES} tasks is drawn as its mean only; each task's \
             numbers are in `metrics.jsonl` and TensorBoard.\n"
        ));
    }
    Ok(head + &md)
}

/// The lines of one plot, and whether every one was kept (more than
/// [`MAX_LINES`] per-task lines leave only the first, the stage's mean).
fn series(lines: &Lines) -> (Vec<Series>, bool) {
    let to_series = |(label, points): (&String, &IndexMap<u64, f64>)| Series {
        label: label.clone(),
        points: points
            .iter()
            .map(|(step, y)| Point {
                x: *step as f64,
                y: *y,
                sd: None,
            })
            .collect(),
    };
    // A mean line ("all tasks", "mean over tasks") comes first; the selection score has none.
    let has_mean = lines
        .keys()
        .next()
        .is_some_and(|k| k == "all tasks" || k == "mean over tasks");
    let tasks = lines.len() - usize::from(has_mean);
    if tasks > MAX_LINES && has_mean {
        return (lines.iter().take(1).map(to_series).collect(), false);
    }
    if tasks > MAX_LINES {
        return (Vec::new(), false);
    }
    // One task's own line would repeat the mean's: draw the mean alone.
    let take = if has_mean && tasks == 1 {
        1
    } else {
        lines.len()
    };
    (lines.iter().take(take).map(to_series).collect(), true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_stage_gets_a_loss_and_a_score_plot_linked_from_the_report() {
        let d = std::env::temp_dir().join(format!("exc-curves-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let mut lines = Vec::new();
        for step in [2, 4, 6, 4, 6] {
            // Steps 4 and 6 again: a resume after step 2's checkpoint.
            lines.push(
                serde_json::json!({"stage": "pretrain", "step": step, "loss": 10.0 / step as f64,
                "lr": 0.01, "tokens_per_s": 1.0, "data_wait": 0.0, "tokens": 1,
                "task_loss": {"a": 1.0, "b": 2.0}}),
            );
        }
        for step in [3, 6] {
            lines.push(
                serde_json::json!({"stage": "ft", "step": step, "split": "validation",
                "valid_score": {"a": 50.0 + step as f64, "b": 40.0}}),
            );
        }
        let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        std::fs::write(d.join("metrics.jsonl"), text.join("\n")).unwrap();
        let md = curves(&d).unwrap();
        assert!(
            md.contains("![pretrain: training loss](plots/pretrain-loss.svg)"),
            "{md}"
        );
        assert!(
            md.contains("![ft: validation score per task (validation)](plots/ft-valid_score.svg)"),
            "{md}"
        );
        let svg = std::fs::read_to_string(d.join("plots/pretrain-loss.svg")).unwrap();
        // All tasks, a and b; each step once.
        assert_eq!(svg.matches("<polyline").count(), 3, "{svg}");
        assert!(
            svg.contains(">a</text>") && svg.contains(">all tasks</text>"),
            "{svg}"
        );
        assert_eq!(svg.matches("<title>all tasks, ").count(), 3, "{svg}");
        assert!(svg.contains(">step</text>"), "{svg}");
        let svg = std::fs::read_to_string(d.join("plots/ft-valid_score.svg")).unwrap();
        assert!(svg.contains("<title>a, 6: 56.00</title>"), "{svg}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn many_tasks_are_drawn_as_their_mean() {
        let mut lines = Lines::new();
        add(&mut lines, "all tasks", 1, 3.0);
        for t in 0..=MAX_LINES {
            add(&mut lines, &format!("t{t}"), 1, 1.0);
        }
        let (series, all) = series(&lines);
        assert!(!all);
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].label, "all tasks");
    }
}
