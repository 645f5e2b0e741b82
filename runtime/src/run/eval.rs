//! Evaluation of one task on one split: render the split, decode as the task
//! says (greedy, beam, or rank classification over its choices), apply the
//! text postprocessors, score with the task's metrics, and write
//! `<split>.predictions.jsonl` next to `<split>.scores.json`. The scores of
//! a trivial baseline (the most frequent training target everywhere) are
//! written beside the model's so a reader sees whether it learned anything.

use std::path::Path;

use exc_compiler::ir::{Decode, Task};
use exc_data::source::locate::DataRoots;
use exc_data::T5Tokenizer;
use exc_metrics::postprocess::{self, Postprocessor};
use tch::Device;

use super::data::{self, data_err, EvalExample};
use super::runfiles::{Baseline, PredictionLine, Score, Scores, ScoresFile};
use crate::decode::{self, GenerateConfig, LengthPenalty};
use crate::error::{Error, Result};
use crate::model::T5;

/// Inputs decoded together.
const BATCH: usize = 32;

pub struct EvalCtx<'a> {
    pub model: &'a T5,
    pub tok: &'a T5Tokenizer,
    pub device: Device,
    pub roots: &'a DataRoots,
    pub limit: Option<usize>,
    pub inputs_len: usize,
    pub targets_len: usize,
    /// The checkpoint the model was loaded from, recorded with the scores.
    pub weights: Option<&'a Path>,
    /// Score the trivial baseline too (reads up to 2000 training rows; not
    /// worth repeating at every checkpoint of a selection).
    pub baseline: bool,
}

fn encode(tok: &T5Tokenizer, s: &str, max: usize) -> Result<Vec<i64>> {
    let mut ids = tok.encode(s).map_err(data_err)?;
    ids.truncate(max.saturating_sub(1));
    ids.push(tok.eos_id());
    Ok(ids.into_iter().map(i64::from).collect())
}

fn predict(ctx: &EvalCtx, task: &Task, exs: &[EvalExample]) -> Result<Vec<String>> {
    let inputs: Vec<Vec<i64>> = exs
        .iter()
        .map(|e| encode(ctx.tok, &e.input, ctx.inputs_len))
        .collect::<Result<_>>()?;
    let mut out = Vec::with_capacity(exs.len());
    match &task.decode {
        Decode::RankClassification => {
            let choices = task.choices.clone().unwrap_or_default();
            if choices.is_empty() {
                return Err(Error::Input(format!(
                    "task `{}` decodes by rank classification but declares no choices",
                    task.name
                )));
            }
            let ids: Vec<Vec<i64>> = choices
                .iter()
                .map(|c| encode(ctx.tok, c, ctx.targets_len))
                .collect::<Result<_>>()?;
            for inp in &inputs {
                let (best, _) = decode::rank_classify(ctx.model, inp, &ids, ctx.device)?;
                out.push(choices.get(best).cloned().unwrap_or_default());
            }
        }
        d => {
            let mut cfg = GenerateConfig::for_model(ctx.model);
            cfg.max_new_tokens = ctx.targets_len as i64;
            if let Decode::Beam { size, alpha } = d {
                cfg.num_beams = *size as i64;
                cfg.length_penalty = LengthPenalty::Gnmt(*alpha);
            }
            for chunk in inputs.chunks(BATCH) {
                for ids in decode::generate(ctx.model, chunk, &cfg, ctx.device)? {
                    let mut ids: Vec<i32> = ids.into_iter().map(|i| i as i32).collect();
                    // The answer ends at EOS, whether or not the tokenizer
                    // marks `</s>` special (a word-level tokenizer.json may not).
                    if let Some(end) = ids.iter().position(|&i| i == ctx.tok.eos_id()) {
                        ids.truncate(end);
                    }
                    ids.retain(|&i| i != ctx.tok.pad_id());
                    out.push(ctx.tok.decode(&ids, true).map_err(data_err)?);
                }
            }
        }
    }
    Ok(out)
}

/// The task's postprocessing steps (`exc_metrics::postprocess`, whose
/// names are the ones the compiler accepts), applied to each prediction and
/// text target. A plan naming a step this exc does not know is refused, not
/// scored without it.
fn steps(task: &Task) -> Result<Vec<Postprocessor>> {
    let names: Vec<&str> = task.postprocess.iter().map(|p| p.name.as_str()).collect();
    postprocess::steps(&names).map_err(|n| {
        Error::Input(format!(
            "task `{}` names postprocessor `{n}`, which this version of exc does not know",
            task.name
        ))
    })
}

/// Scores `preds` (postprocessed) with every metric of the task.
pub fn score(
    task: &Task,
    steps: &[Postprocessor],
    preds: &[String],
    exs: &[EvalExample],
) -> Scores {
    let targets: Vec<serde_json::Value> = exs
        .iter()
        .map(|e| match &e.reference_record {
            Some(r) => r.clone(),
            None if task.references.is_some() => serde_json::json!(e.references),
            None => serde_json::json!(postprocess::apply_all(steps, &e.target)),
        })
        .collect();
    let mut out = Scores::new();
    for m in &task.metrics {
        let opts = exc_metrics::Options(
            m.options
                .iter()
                .map(|(k, v)| {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    (k.clone(), v)
                })
                .collect(),
        );
        match exc_metrics::compute(&m.name, preds, &targets, &opts) {
            Ok(r) => {
                for (k, v) in r.scores {
                    out.insert(k, Score::of(v));
                }
            }
            // A score the reference leaves undefined (a correlation of
            // constant predictions) is not a failure; anything else is.
            Err(e @ exc_metrics::MetricError::Undefined(_)) => {
                out.insert(
                    m.name.clone(),
                    Score::Undefined {
                        undefined: e.to_string(),
                    },
                );
            }
            Err(e) => {
                out.insert(
                    m.name.clone(),
                    Score::Error {
                        error: e.to_string(),
                    },
                );
            }
        }
    }
    out
}

/// The metrics of `scores` that failed (not merely undefined), with why.
pub fn metric_errors(scores: &Scores) -> Vec<(String, String)> {
    scores
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.error()?.to_string())))
        .collect()
}

/// Evaluates `task` on `split`, writing predictions and scores under `dir`.
pub fn evaluate(ctx: &EvalCtx, task: &Task, split: &str, dir: &Path) -> Result<ScoresFile> {
    let steps = steps(task)?;
    let (exs, counts) = data::eval_split(task, split, ctx.roots, ctx.limit)?;
    if exs.is_empty() && counts.read() > 0 {
        return Err(data::all_dropped(task, split, &counts));
    }
    if exs.is_empty() {
        return Err(Error::Input(format!(
            "task `{}` has no `{split}` examples",
            task.name
        )));
    }
    // Under data parallelism each rank predicts a share (whole batches, so
    // each batch is the one a single process decodes) and every rank gets
    // all predictions back in order; rank 0 writes the files.
    let what = format!("predicting task `{}` ({split})", task.name);
    let raw = crate::dist::sharded(&exs, BATCH, &what, |part| predict(ctx, task, part))?;
    let writer = crate::dist::is_writer();
    let preds: Vec<String> = raw
        .iter()
        .map(|p| postprocess::apply_all(&steps, p))
        .collect();
    let scores = score(task, &steps, &preds, &exs);
    for (metric, msg) in metric_errors(&scores).into_iter().filter(|_| writer) {
        eprintln!(
            "warning: metric `{metric}` failed on task `{}` ({split}): {msg}",
            task.name
        );
    }
    let majority = if ctx.baseline {
        data::majority_target(task, ctx.roots)
    } else {
        None
    };
    let baseline = majority.map(|t| {
        let t = postprocess::apply_all(&steps, &t);
        let b: Vec<String> = vec![t.clone(); exs.len()];
        (t, score(task, &steps, &b, &exs))
    });
    let result = ScoresFile {
        task: task.name.clone(),
        split: split.to_string(),
        examples: Some(exs.len() as u64),
        rows: Some(data::rows_record(&counts, exs.len() as u64, None)),
        decode: serde_json::to_value(&task.decode).map_err(|e| Error::Input(e.to_string()))?,
        weights: ctx.weights.map(|w| w.display().to_string()),
        scores,
        baseline: baseline.map(|(prediction, scores)| Baseline { prediction, scores }),
    };
    if !writer {
        return Ok(result);
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut lines = String::new();
    for (e, p) in exs.iter().zip(&raw) {
        let row = PredictionLine {
            input: e.input.clone(),
            target: e.target.clone(),
            references: e.references.clone(),
            prediction: p.clone(),
            reference_record: e.reference_record.clone(),
        };
        lines.push_str(&serde_json::to_string(&row).map_err(|e| Error::Input(e.to_string()))?);
        lines.push('\n');
    }
    crate::checkpoint::write_atomic(
        &dir.join(format!("{split}.predictions.jsonl")),
        lines.as_bytes(),
    )?;
    let text = serde_json::to_string_pretty(&result).map_err(|e| Error::Input(e.to_string()))?;
    crate::checkpoint::write_atomic(&dir.join(format!("{split}.scores.json")), text.as_bytes())?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(post: &str) -> Task {
        let src = format!(
            r#"task t {{ fields {{ a: text }} input "{{a}}" target a postprocess {post} metrics sequence_accuracy }}"#
        );
        let (tasks, diags) = exc_compiler::check_task::check_task_text(&src, "t.task");
        assert!(diags.is_empty(), "{diags:?}");
        tasks["t"].clone()
    }

    fn example(target: &str) -> EvalExample {
        EvalExample {
            input: String::new(),
            target: target.into(),
            references: vec![target.into()],
            reference_record: None,
        }
    }

    #[test]
    fn every_step_the_compiler_accepts_is_applied() {
        let t = task("strip | lower");
        let steps = steps(&t).unwrap();
        assert_eq!(steps, [Postprocessor::Strip, Postprocessor::Lower]);
        let preds = vec![postprocess::apply_all(&steps, "  Yes ")];
        let scores = score(&t, &steps, &preds, &[example(" YES")]);
        assert_eq!(scores["sequence_accuracy"], Score::Value(100.0));
    }

    #[test]
    fn a_step_this_exc_does_not_know_is_refused() {
        let mut t = task("strip");
        t.postprocess[0].name = "squad_answer".into();
        let e = steps(&t).unwrap_err().to_string();
        assert!(e.contains("`squad_answer`"), "{e}");
    }
}
