//! Checkpoints of a training stage: `checkpoints/step-NNNNNNNN/` holding the
//! weights as an HF-loadable directory (`config.json`, `model.safetensors`,
//! float32: in a bf16 stage the optimizer's master weights), the rest of the
//! optimizer state (`optimizer.safetensors`), the data cursor and step
//! (`state.json`), and last a `COMMIT` file listing every file's sha256.
//!
//! Why a commit marker and a rename: a checkpoint is first written to
//! `.partial-step-N/`, then renamed into place, so after `kill -9` at any
//! moment a reader sees either no checkpoint for that step or a whole one.
//! A partial directory is ignored (and removed on the next write); a
//! committed one whose files no longer match their hashes is reported as
//! corrupt and the one before it is used.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub const COMMIT: &str = "COMMIT";
pub const STATE: &str = "state.json";
pub const OPTIMIZER: &str = "optimizer.safetensors";
const BEST: &str = "BEST";
const BEST_PER_TASK: &str = "best_per_task.json";
const PARTIAL: &str = ".partial-";

use super::runfiles::CommitFile;
pub use super::runfiles::TrainState;

/// The directory name of a step.
pub fn step_name(step: u64) -> String {
    format!("step-{step:08}")
}

pub(crate) fn hash_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Writes a checkpoint: `fill` puts the files into the directory it is
/// given; this adds the commit marker and moves the directory into place.
pub fn write(root: &Path, step: u64, fill: impl FnOnce(&Path) -> Result<()>) -> Result<PathBuf> {
    std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
    let name = step_name(step);
    let tmp = root.join(format!("{PARTIAL}{name}"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    fill(&tmp)?;
    crash_point("before-commit", step);
    let mut files = BTreeMap::new();
    let mut names: Vec<String> = std::fs::read_dir(&tmp)
        .map_err(|e| Error::io(&tmp, e))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    for n in names {
        let h = hash_file(&tmp.join(&n))?;
        files.insert(n, h);
    }
    let commit = serde_json::to_string(&CommitFile { step, files })
        .map_err(|e| Error::Checkpoint(e.to_string()))?;
    crate::checkpoint::write_atomic(&tmp.join(COMMIT), commit.as_bytes())?;
    sync_dir(&tmp)?;
    let dst = root.join(&name);
    if dst.exists() {
        std::fs::remove_dir_all(&dst).map_err(|e| Error::io(&dst, e))?;
    }
    std::fs::rename(&tmp, &dst).map_err(|e| Error::io(&dst, e))?;
    sync_dir(root)?;
    Ok(dst)
}

/// Test hook: `EXC_RUN_CRASH=before-commit:STEP` aborts the process (as
/// `kill -9` would) while that checkpoint is half written.
fn crash_point(point: &str, step: u64) {
    if let Ok(v) = std::env::var("EXC_RUN_CRASH") {
        if v == format!("{point}:{step}") {
            std::process::abort();
        }
    }
}

/// Why a checkpoint directory was passed over.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub dir: PathBuf,
    pub reason: String,
}

/// Verifies a committed checkpoint against its `COMMIT` hashes.
pub fn verify(dir: &Path) -> std::result::Result<u64, String> {
    let text =
        std::fs::read_to_string(dir.join(COMMIT)).map_err(|_| "no commit marker".to_string())?;
    let commit: CommitFile =
        serde_json::from_str(&text).map_err(|e| format!("unreadable commit marker: {e}"))?;
    for (name, want) in &commit.files {
        let got = hash_file(&dir.join(name)).map_err(|e| e.to_string())?;
        if got != *want {
            return Err(format!("`{name}` does not match its recorded sha256"));
        }
    }
    let step = commit.step;
    Ok(step)
}

/// Committed checkpoint directories, newest step first.
fn committed(root: &Path) -> Vec<(u64, PathBuf)> {
    let mut out: Vec<(u64, PathBuf)> = std::fs::read_dir(root)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    let step = name.strip_prefix("step-")?.parse().ok()?;
                    Some((step, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|e| std::cmp::Reverse(e.0));
    out
}

/// The newest checkpoint that verifies, with every newer one skipped and why.
pub fn latest(root: &Path) -> (Option<(u64, PathBuf)>, Vec<Skipped>) {
    let (found, skipped) = latest_loading(root, |_, _| Ok(()));
    (found.map(|(s, d, ())| (s, d)), skipped)
}

/// The newest checkpoint that verifies and that `load` accepts, with what
/// `load` made of it, and every newer one skipped and why. A checkpoint can
/// match its hashes and still not load (a file damaged before it was
/// hashed, a header its reader refuses): it is passed over like any other
/// damage, so a resume falls back to the one before.
pub fn latest_loading<T>(
    root: &Path,
    mut load: impl FnMut(u64, &Path) -> Result<T>,
) -> (Option<(u64, PathBuf, T)>, Vec<Skipped>) {
    let mut skipped = Vec::new();
    for (step, dir) in committed(root) {
        match verify(&dir) {
            Ok(s) if s == step => match load(step, &dir) {
                Ok(v) => return (Some((step, dir, v)), skipped),
                Err(e) => skipped.push(Skipped {
                    dir,
                    reason: format!("it does not load: {e}"),
                }),
            },
            Ok(s) => skipped.push(Skipped {
                dir,
                reason: format!("commit marker says step {s}"),
            }),
            Err(reason) => skipped.push(Skipped { dir, reason }),
        }
    }
    (None, skipped)
}

/// Half-written checkpoints left by an interrupted run.
pub fn partials(root: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(root)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with(PARTIAL))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Marks `step` as the best checkpoint so far.
pub fn set_best(root: &Path, step: u64) -> Result<()> {
    crate::checkpoint::write_atomic(&root.join(BEST), step_name(step).as_bytes())
}

/// The step marked best, if any.
pub fn best(root: &Path) -> Option<u64> {
    std::fs::read_to_string(root.join(BEST))
        .ok()?
        .trim()
        .strip_prefix("step-")?
        .parse()
        .ok()
}

/// The best checkpoint of each task, when the stage selected by score.
pub fn best_per_task(root: &Path) -> indexmap::IndexMap<String, u64> {
    let map: indexmap::IndexMap<String, String> = std::fs::read_to_string(root.join(BEST_PER_TASK))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    map.into_iter()
        .filter_map(|(t, s)| Some((t, s.strip_prefix("step-")?.parse().ok()?)))
        .collect()
}

/// Re-derives `BEST` and `best_per_task.json` from the states of the
/// committed checkpoints: by the mean selection score when checkpoints were
/// scored, else by the lowest validation loss; ties go to the earlier step.
/// Deriving rather than updating means a run killed between writing a
/// checkpoint and marking it loses nothing: no best is ever pruned, so the
/// best is always among the checkpoints on disk.
pub fn mark_best(root: &Path) -> Result<()> {
    /// The part of `state.json` that ranks a checkpoint.
    #[derive(serde::Deserialize)]
    struct Rank {
        step: u64,
        eval_loss: Option<f64>,
        #[serde(default)]
        scores: indexmap::IndexMap<String, f64>,
    }
    let mut states: Vec<Rank> = committed(root)
        .into_iter()
        .filter_map(|(_, d)| {
            let text = std::fs::read_to_string(d.join(STATE)).ok()?;
            serde_json::from_str(&text).ok()
        })
        .collect();
    states.sort_by_key(|s| s.step);
    let mean = |s: &Rank| -> Option<f64> {
        (!s.scores.is_empty()).then(|| s.scores.values().sum::<f64>() / s.scores.len() as f64)
    };
    let mut best: Option<(u64, f64)> = None;
    let mut per_task: indexmap::IndexMap<String, (u64, f64)> = indexmap::IndexMap::new();
    let scored = states.iter().any(|s| !s.scores.is_empty());
    for s in &states {
        // Higher is better for scores; for losses, negate.
        let key = if scored {
            mean(s)
        } else {
            s.eval_loss.map(|l| -l)
        };
        if let Some(k) = key.filter(|k| !k.is_nan()) {
            if best.is_none_or(|(_, b)| k > b) {
                best = Some((s.step, k));
            }
        }
        for (task, &v) in &s.scores {
            if v.is_nan() {
                continue;
            }
            let e = per_task.entry(task.clone()).or_insert((s.step, v));
            if v > e.1 {
                *e = (s.step, v);
            }
        }
    }
    if let Some((step, _)) = best {
        set_best(root, step)?;
    }
    if !per_task.is_empty() {
        let map: indexmap::IndexMap<&String, String> = per_task
            .iter()
            .map(|(t, (s, _))| (t, step_name(*s)))
            .collect();
        let text =
            serde_json::to_string_pretty(&map).map_err(|e| Error::Checkpoint(e.to_string()))?;
        crate::checkpoint::write_atomic(&root.join(BEST_PER_TASK), text.as_bytes())?;
    }
    Ok(())
}

/// Deletes all but the `keep` newest checkpoints and the best ones (overall
/// and per task).
pub fn prune(root: &Path, keep: usize) -> Result<()> {
    let best = best(root);
    let task_bests: Vec<u64> = best_per_task(root).into_values().collect();
    for (i, (step, dir)) in committed(root).into_iter().enumerate() {
        if i >= keep.max(1) && Some(step) != best && !task_bests.contains(&step) {
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
    }
    Ok(())
}

/// Reads `state.json` of a checkpoint.
pub fn read_state(dir: &Path) -> Result<TrainState> {
    let path = dir.join(STATE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Checkpoint(format!("`{}`: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn state(root: &Path, step: u64, loss: f64, scores: &[(&str, f64)]) {
        let d = root.join(step_name(step));
        std::fs::create_dir_all(&d).unwrap();
        let scores: indexmap::IndexMap<&str, f64> = scores.iter().copied().collect();
        let v = serde_json::json!({"step": step, "eval_loss": loss, "scores": scores});
        std::fs::write(d.join(STATE), v.to_string()).unwrap();
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("exc-ckpt-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn best_is_the_lowest_loss_without_scores() {
        let root = tmp("loss");
        state(&root, 10, 2.0, &[]);
        state(&root, 20, 1.5, &[]);
        state(&root, 30, 1.5, &[]);
        state(&root, 40, 1.7, &[]);
        mark_best(&root).unwrap();
        // Ties go to the earlier step.
        assert_eq!(best(&root), Some(20));
        assert!(best_per_task(&root).is_empty());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn each_task_keeps_its_own_best_and_pruning_spares_them() {
        let root = tmp("tasks");
        state(&root, 10, 3.0, &[("rte", 60.0), ("wsc", 10.0)]);
        state(&root, 20, 2.0, &[("rte", 55.0), ("wsc", 40.0)]);
        state(&root, 30, 1.0, &[("rte", 50.0), ("wsc", 20.0)]);
        state(&root, 40, 0.5, &[("rte", 58.0), ("wsc", 30.0)]);
        mark_best(&root).unwrap();
        let per = best_per_task(&root);
        assert_eq!(per.get("rte"), Some(&10));
        assert_eq!(per.get("wsc"), Some(&20));
        // Overall: the best mean score (step 20: 47.5), not the lowest loss.
        assert_eq!(best(&root), Some(20));
        prune(&root, 1).unwrap();
        let left: Vec<u64> = committed(&root).into_iter().map(|(s, _)| s).collect();
        assert_eq!(left, vec![40, 20, 10]);
        let _ = std::fs::remove_dir_all(&root);
    }
}
