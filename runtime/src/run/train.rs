//! The training loop of one stage: batches from the data pipeline (on a
//! worker thread), the model's loss, the optimizer and LR schedule, a line of
//! `metrics.jsonl` every few steps, validation loss per task, checkpoints,
//! and a stop with a clear message on a NaN or infinite loss.
//!
//! Resuming is exact on CPU: the weights, the optimizer state and the data
//! cursor come back from the checkpoint, and the only other randomness
//! (dropout) is re-seeded from (seed, step) before every step, so the torch
//! RNG state never needs saving.
//!
//! Precision (the plan's `precision`, see [`trains_in_bf16`]): in bf16 the
//! parameters and activations are bf16 while the optimizer keeps float32
//! master weights and state, and norms, softmax and the loss are computed in
//! float32; never fp16. A checkpoint's `model.safetensors` holds the float32
//! masters (what evaluation and fine-tuning load, and transformers reads as
//! float32) and `optimizer.safetensors` the rest of the state, so a resume
//! rebuilds the masters from the weights file and rounds the bf16
//! parameters from them, exactly as the uninterrupted run had them.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use exc_compiler::plan::{LrSchedule, Optimizer, Plan, Precision, StagePlan, TrainPlan};
use exc_data::source::locate::DataRoots;
use exc_data::T5Tokenizer;
use tch::{nn, Device, Kind, Tensor};

use super::ckpt;
use super::data::{self, data_err};
use super::trainer::{Opened, Trainer};
use crate::error::{Error, Result};
use crate::model::{AttentionImpl, NormImpl, T5Config, T5};
use crate::optim::{self, Adafactor, AdafactorConfig, AdamW, AdamWConfig, OptimState, Schedule};

/// Examples per task scored for the validation loss.
const VALID_EXAMPLES: usize = 32;

/// The optimizers a plan may name, behind one interface.
pub enum Optim {
    Adafactor(Adafactor),
    AdamW(AdamW),
}

/// The suffix the optimizers give master weights in their state.
const MASTER: &str = ".master";

impl Optim {
    /// The plan's optimizer over the variables of `vs`; with
    /// `master_weights`, float32 copies of them are taken now, so call this
    /// before casting the model to bf16. Options the plan leaves out take
    /// the optimizer's own defaults (HF's).
    pub fn new(vs: &nn::VarStore, spec: &Optimizer, master_weights: bool) -> Self {
        match spec {
            Optimizer::Adafactor(o) => {
                let d = AdafactorConfig::default();
                Optim::Adafactor(Adafactor::new(
                    vs,
                    AdafactorConfig {
                        decay_rate: o.decay_rate.unwrap_or(d.decay_rate),
                        clip_threshold: o.clip_threshold.unwrap_or(d.clip_threshold),
                        multiply_by_parameter_scale: o
                            .scale_parameter
                            .unwrap_or(d.multiply_by_parameter_scale),
                        beta1: o.beta1.or(d.beta1),
                        eps1: o.epsilon1.unwrap_or(d.eps1),
                        eps2: o.epsilon2.unwrap_or(d.eps2),
                        weight_decay: o.weight_decay.unwrap_or(d.weight_decay),
                        master_weights,
                        ..d
                    },
                ))
            }
            Optimizer::AdamW(o) => {
                let d = AdamWConfig::default();
                Optim::AdamW(AdamW::new(
                    vs,
                    AdamWConfig {
                        beta1: o.beta1.unwrap_or(d.beta1),
                        beta2: o.beta2.unwrap_or(d.beta2),
                        eps: o.epsilon.unwrap_or(d.eps),
                        weight_decay: o.weight_decay.unwrap_or(d.weight_decay),
                        master_weights,
                    },
                ))
            }
        }
    }

    pub(super) fn step(&mut self, lr: f64) -> Result<()> {
        match self {
            Optim::Adafactor(o) => o.step(lr),
            Optim::AdamW(o) => {
                o.step(lr);
                Ok(())
            }
        }
    }

    fn state(&self) -> &dyn OptimState {
        match self {
            Optim::Adafactor(o) => o,
            Optim::AdamW(o) => o,
        }
    }

    pub(super) fn state_mut(&mut self) -> &mut dyn OptimState {
        match self {
            Optim::Adafactor(o) => o,
            Optim::AdamW(o) => o,
        }
    }
}

/// Whether a stage trains in bf16 on `device`: `bf16` always, `auto` on
/// CUDA only (most CPUs have no fast bf16 matmuls), `fp32` never.
pub fn trains_in_bf16(train: &TrainPlan, device: Device) -> bool {
    match train.precision {
        Precision::Bf16 => true,
        Precision::Auto => device.is_cuda(),
        Precision::Fp32 => false,
    }
}

/// The precision the trainable parameters of `vs` are in: `bf16`, `fp32`,
/// or `mixed` (recorded in each checkpoint's `state.json`).
pub fn param_precision(vs: &nn::VarStore) -> &'static str {
    let kinds: Vec<Kind> = optim::named_params(vs)
        .iter()
        .map(|(_, t)| t.kind())
        .collect();
    if kinds.iter().all(|k| *k == Kind::BFloat16) {
        "bf16"
    } else if kinds.iter().all(|k| *k == Kind::Float) {
        "fp32"
    } else {
        "mixed"
    }
}

/// Writes the model and optimizer files of a checkpoint into `dir`. Master
/// weights, when the optimizer keeps them, are the model's weights: they go
/// into `model.safetensors` (float32, in place of the bf16 parameters) and
/// not a second time into the optimizer's file.
pub(super) fn save_weights(
    vs: &nn::VarStore,
    cfg: &T5Config,
    opt: &Optim,
    dir: &Path,
) -> Result<()> {
    let (state, mut meta) = opt.state().state_tensors();
    let (masters, state): (Vec<_>, Vec<_>) =
        state.into_iter().partition(|(n, _)| n.ends_with(MASTER));
    let mut masters: std::collections::HashMap<String, Tensor> = masters
        .into_iter()
        .filter_map(|(n, t)| Some((n.strip_suffix(MASTER)?.to_string(), t)))
        .collect();
    if !masters.is_empty() {
        meta.insert(
            "master_weights".into(),
            crate::checkpoint::WEIGHTS.to_string(),
        );
    }
    let mut weights: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(name, t)| {
            let w = match masters.remove(&name) {
                Some(m) => m,
                // bf16 -> float32 is exact; float32 stays as it is.
                None if t.is_floating_point() => t.to_kind(Kind::Float),
                None => t,
            };
            (name, w)
        })
        .collect();
    weights.sort_by(|a, b| a.0.cmp(&b.0));
    crate::checkpoint::save_tensors(&weights, cfg, dir)?;
    crate::checkpoint::write_safetensors(&dir.join(ckpt::OPTIMIZER), &state, &meta)
}

/// The plan's LR schedule as the optimizer module's (options left out
/// take the defaults `exc_compiler::train_settings` gives them).
pub fn schedule(train: &TrainPlan) -> Schedule {
    let total = train.steps as i64;
    match &train.lr {
        LrSchedule::Constant(c) => Schedule::Constant { lr: c.value() },
        LrSchedule::Rsqrt(r) => Schedule::ConstantThenRsqrt {
            lr: r.peak(),
            warmup: r.warmup() as i64,
        },
        LrSchedule::Cosine(d) => Schedule::WarmupCosine {
            lr: d.peak(),
            warmup: d.warmup() as i64,
            total,
            final_lr: d.end(),
        },
        LrSchedule::Linear(d) => Schedule::WarmupLinear {
            lr: d.peak(),
            warmup: d.warmup() as i64,
            total,
            final_lr: d.end(),
        },
    }
}

/// The shape of a run's model (HF names; [`Plan::model_of`]), with the
/// stage's dropout.
pub fn model_config(model: &exc_compiler::plan::ModelPlan, dropout: f64) -> Result<T5Config> {
    let mut cfg = match (&model.config, model.name.as_str()) {
        (Some(m), _) => T5Config {
            vocab_size: m.vocab_size as i64,
            d_model: m.d_model as i64,
            d_kv: m.d_kv as i64,
            d_ff: m.d_ff as i64,
            num_layers: m.num_layers as i64,
            num_decoder_layers: Some(m.num_decoder_layers as i64),
            num_heads: m.num_heads as i64,
            relative_attention_num_buckets: m.relative_attention_num_buckets as i64,
            relative_attention_max_distance: m.relative_attention_max_distance as i64,
            layer_norm_epsilon: m.layer_norm_epsilon,
            feed_forward_proj: m.feed_forward_proj.clone(),
            tie_word_embeddings: m.tie_word_embeddings,
            ..T5Config::default()
        },
        (None, name) => T5Config::t5_1_1(name)?,
    };
    cfg.dropout_rate = dropout;
    Ok(cfg)
}

/// A model and its variables on `device`.
pub struct Model {
    pub vs: nn::VarStore,
    pub model: T5,
}

impl Model {
    pub fn new(cfg: &T5Config, device: Device) -> Result<Self> {
        let vs = nn::VarStore::new(device);
        let model = T5::new(&vs.root(), cfg)?;
        Ok(Model { vs, model })
    }

    /// Loads weights from an HF directory or one of our checkpoints.
    pub fn load(&mut self, dir: &Path) -> Result<()> {
        let tensors = crate::checkpoint::read_tensors(dir)?;
        crate::checkpoint::load_into(&self.vs, &tensors)?;
        Ok(())
    }
}

/// What a finished training stage leaves (the model in the precision it
/// trained in).
pub struct Trained {
    pub model: Model,
    pub final_step: u64,
    /// What became of each task's rows up to the last batch (rows read,
    /// dropped by a filter or a join, examples, truncation), from the
    /// pipeline cursor: a resumed stage carries the counts of the run before.
    pub data: Option<super::runfiles::TaskRows>,
}

/// Everything a training stage needs from its run.
pub struct StageCtx<'a> {
    pub plan: &'a Plan,
    pub stage: &'a StagePlan,
    pub dir: &'a Path,
    pub roots: &'a DataRoots,
    pub tok: Arc<T5Tokenizer>,
    pub device: Device,
    pub log_every: u64,
    pub metrics: &'a Path,
    /// Stop (as if killed) after this step: for tests and smoke runs.
    pub stop_after: Option<u64>,
    pub quiet: bool,
    /// Score every checkpoint with the tasks' metrics and keep the best per
    /// task (the paper's checkpoint selection on validation).
    pub select: Option<Select>,
    /// The weights the stage started from (a previous stage's, or the
    /// model's `init`), named when it blows up before its first checkpoint.
    pub from: Option<&'a Path>,
}

/// Checkpoint selection by score.
#[derive(Debug, Clone)]
pub struct Select {
    /// The split scored (validation).
    pub split: String,
    /// At most this many examples per task.
    pub limit: Option<usize>,
}

/// The number a task's checkpoints are ranked by: the mean of its metrics'
/// results (T5 averages a task's metrics the same way, e.g. F1 and accuracy
/// for MRPC; B.2 ranks GEM checkpoints by the mean of BLEU and ROUGE), not
/// their diagnostics (BLEU's lengths); every metric exc computes is
/// higher-is-better.
pub fn selection_score(scores: &super::runfiles::Scores) -> Option<f64> {
    let vals: Vec<f64> = scores
        .iter()
        .filter(|(k, _)| exc_metrics::is_headline(k))
        .filter_map(|(_, v)| v.value())
        .collect();
    (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64)
}

/// Runs `f` with the reference kernels (math attention, composite norm,
/// no TF32), those the evaluation stage scores with, and then gives the
/// model back its training kernels: a checkpoint's selection score is then
/// the score evaluation finds for it, whatever kernels trained it.
pub fn with_reference_kernels<R>(model: &mut T5, f: impl FnOnce(&T5) -> Result<R>) -> Result<R> {
    let (attention, norm) = (model.attention(), model.norm());
    let tf32 = exc_torchext::tf32_matmul();
    model.set_attention(AttentionImpl::Math);
    model.set_norm(NormImpl::Composite);
    if tf32 {
        exc_torchext::set_tf32_matmul(false)?;
    }
    let out = f(model);
    model.set_attention(attention);
    model.set_norm(norm);
    if tf32 {
        exc_torchext::set_tf32_matmul(true)?;
    }
    out
}

/// Scores the model on the selection split of every task of the stage;
/// predictions go to `select/step-N/<task>/`.
pub(super) fn selection_scores(
    ctx: &StageCtx,
    sel: &Select,
    model: &T5,
    train: &TrainPlan,
    step: u64,
) -> Result<indexmap::IndexMap<String, f64>> {
    let ectx = super::eval::EvalCtx {
        model,
        tok: &ctx.tok,
        device: ctx.device,
        roots: ctx.roots,
        limit: sel.limit,
        inputs_len: train.inputs as usize,
        targets_len: train.targets as usize,
        weights: None,
        baseline: false,
    };
    let mut out = indexmap::IndexMap::new();
    for tr in &ctx.stage.tasks {
        let task = data::plan_task(ctx.plan, &tr.task)?;
        let dir = ctx
            .dir
            .join("select")
            .join(ckpt::step_name(step))
            .join(super::sanitize(&tr.task));
        let r = tch::no_grad(|| super::eval::evaluate(&ectx, task, &sel.split, &dir))?;
        if let Some(v) = selection_score(&r.scores) {
            out.insert(tr.task.clone(), v);
        }
    }
    Ok(out)
}

pub(super) fn tensor2(v: &[i32], rows: usize, cols: usize, device: Device) -> Tensor {
    let t = Tensor::from_slice(v)
        .view([rows as i64, cols as i64])
        .to_kind(Kind::Int64);
    crate::model::ids_to_device(t, device)
}

/// Appends one JSON line to `metrics.jsonl`.
pub fn log_metrics(path: &Path, value: &serde_json::Value) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    writeln!(f, "{value}").map_err(|e| Error::io(path, e))
}

/// `metrics.jsonl` and its TensorBoard mirror: one TensorBoard run per
/// trained model, `tensorboard/<stage>/` (`tensorboard/<stage>/<task>/` in
/// a `per_task` stage), tags the line's keys. Each process that trains the
/// model starts a new event file with a `SessionLog.START` just past the
/// step it resumes from, so TensorBoard drops what an interrupted run
/// logged beyond its last checkpoint (as `metrics.jsonl` is cut back); the
/// purge is per run, which is why each model has its own directory.
/// TensorBoard is a convenience: if its file cannot be written, a warning
/// is printed once and the JSONL carries on.
pub(super) struct Log<'a> {
    /// None on a rank other than 0, which logs nothing.
    path: Option<&'a Path>,
    tb: Option<super::tensorboard::EventWriter>,
}

impl<'a> Log<'a> {
    pub(super) fn open(path: &'a Path, stage: &str, resumed_at: u64, writer: bool) -> Self {
        if !writer {
            return Log {
                path: None,
                tb: None,
            };
        }
        let dir = path
            .parent()
            .unwrap_or(Path::new("."))
            .join("tensorboard")
            .join(stage);
        let start = super::tensorboard::Event::session_start(
            resumed_at as i64 + 1,
            super::tensorboard::now(),
        );
        let tb = super::tensorboard::EventWriter::create(&dir)
            .and_then(|mut w| w.write(&start).and_then(|()| w.flush()).map(|()| w));
        let tb = match tb {
            Ok(w) => Some(w),
            Err(e) => {
                eprintln!("warning: no TensorBoard events for stage `{stage}`: {e}");
                None
            }
        };
        Log {
            path: Some(path),
            tb,
        }
    }

    pub(super) fn write(&mut self, step: u64, line: &impl serde::Serialize) -> Result<()> {
        let Some(path) = self.path else {
            return Ok(());
        };
        let line =
            serde_json::to_value(line).map_err(|e| Error::Input(format!("a metrics line: {e}")))?;
        let line = &line;
        log_metrics(path, line)?;
        if let Some(tb) = &mut self.tb {
            let t = super::tensorboard::now();
            let res = tb
                .scalars_from_json("", step as i64, line, t)
                .and_then(|_| tb.flush());
            if let Err(e) = res {
                eprintln!("warning: TensorBoard events stop here: {e}");
                self.tb = None;
            }
        }
        Ok(())
    }
}

/// Drops lines of `stage` logged after `step` (they belong to the part of
/// an interrupted run that is about to be redone).
pub(super) fn truncate_metrics(path: &Path, stage: &str, step: u64) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let keep: Vec<&str> = text
        .lines()
        .filter(|l| {
            // A line without a stage and step (cut by a crash) is kept.
            let at = serde_json::from_str::<super::runfiles::LineAt>(l);
            !matches!(at, Ok(at) if at.stage == stage && at.step > step)
        })
        .collect();
    let mut out = keep.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    crate::checkpoint::write_atomic(path, out.as_bytes())
}

/// The validation loss of a stage's tasks: per task, the mean per-token
/// loss on up to 32 examples, and the tasks left out, with why.
#[derive(Debug, Default)]
pub(super) struct ValidationLoss {
    pub losses: Vec<(String, f64)>,
    pub left_out: Vec<(String, String)>,
}

/// Mean per-token validation loss of each task (up to 32 examples each).
/// A task without usable validation data is left out, with the reason:
/// the loss is a progress signal, so a missing split does not stop
/// training, but it is never left out unsaid.
pub(super) fn validation_loss(
    ctx: &StageCtx,
    model: &T5,
    train: &TrainPlan,
) -> Result<ValidationLoss> {
    let mut out = ValidationLoss::default();
    for tr in &ctx.stage.tasks {
        let Some(task) = ctx.plan.tasks.get(&tr.task) else {
            out.left_out
                .push((tr.task.clone(), "the plan does not define it".into()));
            continue;
        };
        let exs = match data::eval_examples(task, "validation", ctx.roots, Some(VALID_EXAMPLES)) {
            Ok(exs) if exs.is_empty() => {
                out.left_out.push((
                    tr.task.clone(),
                    "its validation split gave no examples".into(),
                ));
                continue;
            }
            Ok(exs) => exs,
            Err(e) => {
                out.left_out.push((tr.task.clone(), e.to_string()));
                continue;
            }
        };
        let enc = |s: &str, n: u64| -> Result<Vec<i64>> {
            let mut ids = ctx.tok.encode(s).map_err(data_err)?;
            ids.truncate(n as usize - 1);
            ids.push(ctx.tok.eos_id());
            Ok(ids.into_iter().map(i64::from).collect())
        };
        let inputs: Vec<Vec<i64>> = exs
            .iter()
            .map(|e| enc(&e.input, train.inputs))
            .collect::<Result<_>>()?;
        let targets: Vec<Vec<i64>> = exs
            .iter()
            .map(|e| enc(&e.target, train.targets))
            .collect::<Result<_>>()?;
        let scored = crate::decode::score(model, &inputs, &targets, ctx.device)?;
        let (nll, n) = scored
            .iter()
            .fold((0.0, 0i64), |a, s| (a.0 + s.0, a.1 + s.1));
        out.losses.push((tr.task.clone(), nll / n.max(1) as f64));
    }
    Ok(out)
}

/// Target tokens of each task in a batch (index 0: padding, then the
/// mixture's tasks in order); `n` is the mixture's task count + 1.
pub(super) fn task_token_counts(batch: &exc_data::pack::Batch, n: usize) -> Vec<u64> {
    let mut counts = vec![0u64; n];
    for &t in &batch.decoder_task_ids {
        if let Some(c) = counts.get_mut(t as usize) {
            *c += 1;
        }
    }
    counts
}

/// The tasks a batch's target tokens came from, with their token counts.
pub(super) fn batch_tasks(
    batch: &exc_data::pack::Batch,
    spec: &exc_data::pipeline::PipelineSpec,
) -> String {
    let counts = task_token_counts(batch, spec.tasks.len() + 1);
    let named: Vec<String> = spec
        .tasks
        .iter()
        .zip(counts.iter().skip(1))
        .filter(|(_, &n)| n > 0)
        .map(|(t, n)| format!("`{}` ({n} target tokens)", t.name))
        .collect();
    if named.is_empty() {
        "an untagged batch".into()
    } else {
        named.join(", ")
    }
}

/// Adds a micro-batch's per-token NLL to the per-task sums, which stay on
/// the device (read back once per logging window, not per micro-batch).
pub(super) fn add_task_nll(
    batch: &exc_data::pack::Batch,
    nll: &Tensor,
    sums: &mut Tensor,
    device: Device,
) -> Result<()> {
    let ids = &batch.decoder_task_ids;
    if ids.len() != batch.batch_size * batch.targets_length {
        return Err(Error::Input(format!(
            "a batch tags {} target tokens with tasks but holds {}",
            ids.len(),
            batch.batch_size * batch.targets_length
        )));
    }
    let idx = crate::model::ids_to_device(Tensor::from_slice(ids).to_kind(Kind::Int64), device);
    let _ = sums.index_add_(0, &idx, &nll.reshape([-1]).to_kind(Kind::Double));
    Ok(())
}

/// Target tokens a batch's loss counts.
pub(super) fn loss_tokens(batch: &exc_data::pack::Batch) -> u64 {
    batch
        .decoder_loss_weights
        .iter()
        .map(|&w| u64::from(w > 0))
        .sum()
}

/// Rows per micro-batch on each rank: the plan's `batch` is the global
/// batch, split over `world` ranks and `accumulate` micro-batches each; one
/// that does not divide is an error naming the nearest choices that do.
pub fn rank_share(stage: &str, batch: u64, accumulate: u64, world: u64) -> Result<usize> {
    let k = accumulate.max(1) * world.max(1);
    if batch.is_multiple_of(k) && batch >= k {
        return Ok((batch / k) as usize);
    }
    let below = (batch / k) * k;
    let near = if below == 0 {
        format!("batch {k}")
    } else {
        format!("batch {below} or {}", below + k)
    };
    let accs: Vec<String> = (1..=batch / world.max(1))
        .filter(|a| batch.is_multiple_of(a * world.max(1)))
        .map(|a| a.to_string())
        .collect();
    Err(Error::Input(format!(
        "stage `{stage}`: the global batch of {batch} rows does not split over {world} \
         rank(s) x accumulate {accumulate} (each rank trains batch / (world x accumulate) rows \
         per micro-batch); use {near}{}",
        if accs.is_empty() {
            String::new()
        } else {
            format!(", or accumulate {} at this world size", accs.join(", "))
        }
    )))
}

/// Runs (or resumes) one training stage, starting from `model`'s weights:
/// the loop of [`Trainer`] steps, with logging, scoring and checkpoints
/// when they are due.
pub fn train_stage(ctx: &StageCtx, model: Model) -> Result<Trained> {
    let mut t = match Trainer::open(ctx, model)? {
        Opened::Done(trained) => return Ok(*trained),
        Opened::Ready(t) => t,
    };
    while !t.done() {
        let due = t.step()?;
        if due.log {
            t.log(due.lr)?;
        }
        // Every checkpoint is scored too, so that `BEST` can be chosen.
        if due.eval || due.save {
            let (eval_loss, scores) = t.evaluate(due.save)?;
            if due.save {
                t.save(eval_loss, scores)?;
            }
        }
        t.stop_if_asked()?;
    }
    Ok(t.finish())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use exc_compiler::plan::{AdamWOptions, Constant, Decay, Rsqrt};

    fn plan_with(lr: LrSchedule, precision: Precision) -> TrainPlan {
        let text = r#"{"steps":100,"batch":8,"inputs":16,"targets":8,
            "optimizer":{"name":"adafactor"},"lr":{"name":"constant"},"dropout":0.0,
            "seed":0,"accumulate":1,"z_loss":0.0,"label_smoothing":0.0,
            "precision":"auto","pack":false,"checkpoint_every":10,"keep":1}"#;
        let mut t: TrainPlan = serde_json::from_str(text).unwrap();
        t.lr = lr;
        t.precision = precision;
        t
    }

    /// Every schedule of the plan becomes the optimizer module's, options
    /// left out taking the plan's defaults.
    #[test]
    fn every_plan_schedule_is_a_runtime_schedule() {
        let cases = [
            (
                LrSchedule::Constant(Constant::default()),
                Schedule::Constant { lr: 1e-3 },
            ),
            (
                LrSchedule::Rsqrt(Rsqrt::default()),
                Schedule::ConstantThenRsqrt {
                    lr: 0.01,
                    warmup: 10_000,
                },
            ),
            (
                LrSchedule::Cosine(Decay {
                    peak: Some(0.5),
                    ..Decay::default()
                }),
                Schedule::WarmupCosine {
                    lr: 0.5,
                    warmup: 0,
                    total: 100,
                    final_lr: 0.0,
                },
            ),
            (
                LrSchedule::Linear(Decay {
                    warmup: Some(7),
                    end: Some(1e-5),
                    ..Decay::default()
                }),
                Schedule::WarmupLinear {
                    lr: 1e-3,
                    warmup: 7,
                    total: 100,
                    final_lr: 1e-5,
                },
            ),
        ];
        for (lr, want) in cases {
            assert_eq!(schedule(&plan_with(lr, Precision::Auto)), want);
        }
        let bf16 = |p| trains_in_bf16(&plan_with(LrSchedule::default_for(true), p), Device::Cpu);
        assert!(bf16(Precision::Bf16));
        assert!(!bf16(Precision::Auto));
        assert!(!bf16(Precision::Fp32));
    }

    /// The plan's optimizer options reach the optimizer; those it leaves
    /// out are the optimizer's own defaults.
    #[test]
    fn every_plan_optimizer_is_built() {
        let vs = nn::VarStore::new(Device::Cpu);
        let _w = vs.root().zeros("w", &[2, 2]);
        assert!(matches!(
            Optim::new(&vs, &Optimizer::default(), false),
            Optim::Adafactor(_)
        ));
        let adamw = Optimizer::AdamW(AdamWOptions {
            beta1: Some(0.8),
            ..AdamWOptions::default()
        });
        assert!(matches!(Optim::new(&vs, &adamw, false), Optim::AdamW(_)));
    }

    /// The global batch splits over world x accumulate, or the error names
    /// the nearest batches and the accumulations that would do.
    #[test]
    fn rank_shares() {
        assert_eq!(rank_share("s", 8, 1, 2).unwrap(), 4);
        assert_eq!(rank_share("s", 2048, 4, 8).unwrap(), 64);
        let e = rank_share("s", 10, 1, 4).unwrap_err().to_string();
        assert!(e.contains("use batch 8 or 12"), "{e}");
        let e = rank_share("s", 12, 4, 2).unwrap_err().to_string();
        assert!(
            e.contains("batch 8 or 16") && e.contains("accumulate 1, 2, 3, 6"),
            "{e}"
        );
        let e = rank_share("s", 2, 1, 4).unwrap_err().to_string();
        assert!(e.contains("use batch 4"), "{e}");
    }

    /// Selection scores with evaluation's kernels; training gets its own back,
    /// after an error too.
    #[test]
    fn reference_kernels_are_scoped() {
        let cfg = T5Config {
            vocab_size: 64,
            d_model: 8,
            d_kv: 4,
            d_ff: 16,
            num_layers: 1,
            num_decoder_layers: Some(1),
            num_heads: 2,
            ..T5Config::default()
        };
        let vs = nn::VarStore::new(Device::Cpu);
        let mut model = T5::new(&vs.root(), &cfg).unwrap();
        model.set_attention(AttentionImpl::Sdpa);
        model.set_norm(NormImpl::Fused);
        exc_torchext::set_tf32_matmul(true).unwrap();
        let seen = with_reference_kernels(&mut model, |m| {
            Ok((m.attention(), m.norm(), exc_torchext::tf32_matmul()))
        })
        .unwrap();
        assert_eq!(seen, (AttentionImpl::Math, NormImpl::Composite, false));
        assert_eq!(
            (model.attention(), model.norm()),
            (AttentionImpl::Sdpa, NormImpl::Fused)
        );
        assert!(exc_torchext::tf32_matmul());
        let failed: Result<()> =
            with_reference_kernels(&mut model, |_| Err(Error::Input("scoring failed".into())));
        assert!(failed.is_err());
        assert_eq!(
            (model.attention(), model.norm()),
            (AttentionImpl::Sdpa, NormImpl::Fused)
        );
        exc_torchext::set_tf32_matmul(false).unwrap();
    }
}
