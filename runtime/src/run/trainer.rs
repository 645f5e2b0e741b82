//! One training stage as a [`Trainer`]: opened from the newest checkpoint
//! that verifies, then driven step by step by [`super::train::train_stage`]
//! (`step`, `log`, `evaluate`, `save`), and finished into [`Trained`].
//!
//! Under data parallelism every rank runs the same Trainer on its share of
//! each step's micro-batches; the gradients (and the step's loss) are summed
//! by [`crate::dist`], and only rank 0 writes the run directory.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::Instant;

use exc_compiler::plan::TrainPlan;
use exc_data::pack::Batch;
use exc_data::pipeline::{PipelineCursor, PipelineSpec};
use tch::{Device, Kind, Tensor};

use super::ckpt::{self, TrainState};
use super::data::{self, data_err};
use super::progress::Progress;
use super::runfiles::{LeftOutLine, ValidLossLine, ValidScoreLine};
use super::train::{
    add_task_nll, batch_tasks, loss_tokens, param_precision, rank_share, save_weights, schedule,
    selection_scores, tensor2, trains_in_bf16, truncate_metrics, validation_loss,
    with_reference_kernels, Log, Model, Optim, StageCtx, Trained, ValidationLoss,
};
use super::window::Window;
use crate::dist::{Dist, GradSync};
use crate::error::{Error, Result};
use crate::model::{seq2seq_loss, LossConfig, Seq2SeqBatch};
use crate::optim::{self, Schedule};

type Batches = Receiver<exc_data::Result<(Batch, PipelineCursor)>>;

/// What is due after a step.
#[derive(Debug, Clone, Copy)]
pub(super) struct Due {
    pub lr: f64,
    pub log: bool,
    pub eval: bool,
    pub save: bool,
}

/// A stage being trained.
pub(super) struct Trainer<'a> {
    ctx: &'a StageCtx<'a>,
    train: &'a TrainPlan,
    pub model: Model,
    opt: Optim,
    accum: optim::Accumulation,
    dist: Option<&'static Dist>,
    /// The gradient allreduce overlapped with backward, when it is.
    overlap: Option<GradSync>,
    spec: PipelineSpec,
    task_names: Vec<String>,
    sched: Schedule,
    loss_cfg: LossConfig,
    rx: Batches,
    ckdir: PathBuf,
    /// Rank 0 writes the run directory; the others train and score with it.
    writer: bool,
    rank: usize,
    /// This rank's micro-batches of each step's `accumulate x world`.
    mine: Range<usize>,
    global_micro: usize,
    pub step: u64,
    tokens: u64,
    /// The cursor the stage resumed from, and the newest one read.
    resumed_cursor: Option<PipelineCursor>,
    last_cursor: Option<PipelineCursor>,
    pending: Option<Pending>,
    log: Log<'a>,
    progress: Progress,
    window: Window,
    /// Tasks the validation loss left out, each noted once.
    left_out_noted: HashSet<String>,
}

/// What [`Trainer::open`] finds.
pub(super) enum Opened<'a> {
    /// The stage had already trained all its steps.
    Done(Box<Trained>),
    Ready(Box<Trainer<'a>>),
}

/// The weights, optimizer state and cursor a stage resumes from.
struct Resumed {
    step: u64,
    tokens: u64,
    cursor: Option<PipelineCursor>,
}

/// Loads the newest checkpoint of `ckdir` that verifies and loads into
/// `model` (its optimizer state's header and its `state.json` read too),
/// reporting damaged and half-written ones. Its files are read before any
/// weight is copied, so one that cannot be read leaves `model` as it was.
fn newest_checkpoint(
    ckdir: &Path,
    writer: bool,
    model: &mut Model,
) -> Result<Option<(u64, PathBuf, TrainState)>> {
    let (found, skipped) = ckpt::latest_loading(ckdir, |_, dir| {
        crate::checkpoint::read_metadata(&dir.join(ckpt::OPTIMIZER))?;
        let state = ckpt::read_state(dir)?;
        model.load(dir)?;
        Ok(state)
    });
    for s in skipped.iter().filter(|_| writer) {
        eprintln!(
            "warning: checkpoint `{}` is corrupt ({}); using the one before it",
            s.dir.display(),
            s.reason
        );
    }
    for p in ckpt::partials(ckdir).into_iter().filter(|_| writer) {
        eprintln!(
            "note: ignoring the half-written checkpoint `{}` of an interrupted run",
            p.display()
        );
        std::fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
    }
    Ok(found)
}

impl<'a> Trainer<'a> {
    /// Resumes the stage from its newest good checkpoint (or starts it from
    /// `model`'s weights) and starts its data pipeline.
    pub fn open(ctx: &'a StageCtx<'a>, mut model: Model) -> Result<Opened<'a>> {
        let stage = ctx.stage;
        let train = stage.train.as_ref().ok_or_else(|| {
            Error::Input(format!("stage `{}` has no training settings", stage.name))
        })?;
        let ckdir = ctx.dir.join("checkpoints");
        let dist = crate::dist::current();
        let (rank, world) = crate::dist::rank_world();
        let writer = rank == 0;
        let micro = train.accumulate.max(1);
        let mut spec = data::pipeline_spec(ctx.plan, stage, ctx.roots)?;
        spec.batch_size = rank_share(&stage.name, train.batch, micro, world as u64)?;
        let bf16 = trains_in_bf16(train, ctx.device);

        // The weights (float32 masters in bf16) are loaded and the optimizer
        // state restored while the model is still float32, so the
        // optimizer's masters are exactly the saved ones (a state without
        // masters, as written by `save_weights`, keeps those taken from the
        // weights); the bf16 parameters are then rounded from them, as after
        // every step.
        let found = newest_checkpoint(&ckdir, writer, &mut model)?;
        if let Some(d) = dist {
            // As DDP starts: every rank from rank 0's weights (the same seed
            // made them equal already; this makes sure), before the
            // optimizer takes its float32 masters.
            let vars: Vec<Tensor> = optim::named_variables(&model.vs)
                .into_iter()
                .map(|(_, t)| t)
                .collect();
            tch::no_grad(|| d.broadcast(&vars, "the first broadcast of the weights"))?;
        }
        let mut opt = Optim::new(&model.vs, &train.optimizer, bf16);
        let mut at = Resumed {
            step: 0,
            tokens: 0,
            cursor: None,
        };
        if let Some((s, dir, st)) = found {
            opt.state_mut().restore(&dir.join(ckpt::OPTIMIZER))?;
            at = Resumed {
                step: s,
                tokens: st.tokens,
                cursor: Some(st.cursor),
            };
            // A kill between writing a checkpoint and marking it loses nothing.
            if writer {
                ckpt::mark_best(&ckdir)?;
            }
            if !ctx.quiet && writer {
                eprintln!("resuming stage `{}` from step {s}", stage.name);
            }
        }
        if bf16 {
            model.vs.bfloat16();
        }
        if writer {
            truncate_metrics(ctx.metrics, &stage.name, at.step)?;
        }
        if at.step >= train.steps {
            return Ok(Opened::Done(Box::new(Trained {
                model,
                final_step: at.step,
                data: at.cursor.as_ref().map(data::stream_counts),
            })));
        }
        let pipeline =
            exc_data::pipeline::Pipeline::new(&spec, ctx.tok.clone(), at.cursor.as_ref())
                .map_err(data_err)?;
        let rx = pipeline.spawn(4);
        // After the cast to bf16 above: bf16 gradients are summed in float32.
        let accum = optim::Accumulation::new(&model.vs, micro as i64);
        // Under data parallelism the gradients are summed while backward
        // runs (DDP's overlap), unless they are summed in float32 buffers
        // (bf16 over several micro-batches), which are reduced after the
        // last backward.
        let overlap = match dist {
            Some(d) if !accum.sums_in_float32() && crate::dist::overlap_on() => {
                let params: Vec<Tensor> = optim::named_params(&model.vs)
                    .into_iter()
                    .map(|(_, t)| t)
                    .collect();
                Some(d.overlap(&params)?)
            }
            _ => None,
        };
        let task_names: Vec<String> = spec.tasks.iter().map(|t| t.name.clone()).collect();
        let window = Window::new(task_names.len() + 1, ctx.device);
        Ok(Opened::Ready(Box::new(Trainer {
            ctx,
            train,
            opt,
            accum,
            dist,
            overlap,
            sched: schedule(train),
            loss_cfg: LossConfig {
                label_smoothing: train.label_smoothing,
                z_loss: train.z_loss,
            },
            rx,
            log: Log::open(ctx.metrics, &stage.name, at.step, writer),
            progress: Progress::new(&stage.name, at.step, train.steps, ctx.quiet || !writer),
            window,
            task_names,
            spec,
            ckdir,
            writer,
            rank,
            mine: rank * micro as usize..(rank + 1) * micro as usize,
            global_micro: (micro * world as u64) as usize,
            step: at.step,
            tokens: at.tokens,
            resumed_cursor: at.cursor,
            last_cursor: None,
            pending: None,
            left_out_noted: HashSet::new(),
            model,
        })))
    }

    /// Whether every step of the stage has been trained.
    pub fn done(&self) -> bool {
        self.step >= self.train.steps
    }

    /// The step's global batch: every rank reads all of it (the same stream
    /// a single process reads) and trains on its own micro-batches of it.
    fn next_batches(&mut self) -> Result<Vec<Batch>> {
        let mut batches = Vec::with_capacity(self.global_micro);
        for _ in 0..self.global_micro {
            let t0 = Instant::now();
            let (batch, cur) = self
                .rx
                .recv()
                .map_err(|_| Error::Input("the data pipeline stopped".into()))?
                .map_err(|e| data::stream_err(self.ctx.plan, e))?;
            self.window.wait += t0.elapsed().as_secs_f64();
            self.last_cursor = Some(cur);
            batches.push(batch);
        }
        Ok(batches)
    }

    /// Forward and backward over this rank's micro-batches; returns each
    /// micro-batch's share of the step's loss (zero for other ranks'),
    /// `[accumulate x world]`.
    fn forward_backward(&mut self, batches: &[Batch], step_tokens: u64) -> Result<Tensor> {
        let (ctx, train) = (self.ctx, self.train);
        let denom = step_tokens.max(1) as f64;
        let zero = Tensor::zeros([], (Kind::Float, ctx.device));
        let mut shares: Vec<Tensor> = (0..self.global_micro)
            .map(|_| zero.shallow_clone())
            .collect();
        let training = train.dropout > 0.0;
        for i in self.mine.clone() {
            let batch = &batches[i];
            let sb = if train.pack {
                Seq2SeqBatch::from_packed(batch, ctx.device)?
            } else {
                let (rows, device) = (batch.batch_size, ctx.device);
                let inputs = tensor2(
                    &batch.encoder_input_tokens,
                    rows,
                    batch.inputs_length,
                    device,
                );
                let targets = tensor2(
                    &batch.decoder_target_tokens,
                    rows,
                    batch.targets_length,
                    device,
                );
                Seq2SeqBatch::from_padded(&inputs, &targets, 0, 0)
            };
            let logits = self.model.model.forward(&sb, training)?;
            let out = seq2seq_loss(&logits, &sb.labels, self.loss_cfg);
            // The step's loss is the mean over all its target tokens, on
            // every rank: each micro-batch adds its sum over the total, so
            // neither `accumulate` nor the world size changes what is learnt.
            let share = &out.sum / denom;
            if let (Some(o), true) = (&self.overlap, i + 1 == self.mine.end) {
                o.arm()?;
            }
            self.accum.backward(&share)?;
            if self.window.per_task() {
                add_task_nll(batch, &out.nll, &mut self.window.task_nll, ctx.device)?;
            }
            shares[i] = share.detach();
        }
        Ok(Tensor::stack(&shares, 0))
    }

    /// Sums the gradients (and the loss shares `losses`) over the ranks.
    fn sync_gradients(&mut self, losses: &Tensor) -> Result<()> {
        let step = self.step;
        let what = || format!("the gradient allreduce of step {step}");
        let w = &mut self.window;
        match (self.dist, &mut self.overlap) {
            (Some(_), Some(o)) => {
                let t0 = Instant::now();
                let r = tch::no_grad(|| o.finish(std::slice::from_ref(losses), &what()))?;
                w.comm += t0.elapsed().as_secs_f64();
                w.comm_bytes += r.bytes;
                (w.buckets, w.early) = (w.buckets + r.buckets, w.early + r.during_backward);
                self.accum.finish()
            }
            // The loss shares ride in the gradients' collective: every rank
            // then holds the same step loss, so a NaN stops all at once.
            (Some(d), None) => self.accum.finish_with(std::slice::from_ref(losses), |ts| {
                let t0 = Instant::now();
                let r = tch::no_grad(|| d.allreduce_sum(ts, &what()))?;
                w.comm += t0.elapsed().as_secs_f64();
                w.comm_bytes += r.bytes;
                Ok(())
            }),
            (None, _) => self.accum.finish(),
        }
    }

    /// Trains one step and says what is due after it. The step's loss is
    /// read back one step late (reading it now would make the host wait for
    /// the device every step), except when something is logged, scored or
    /// saved: then it is read first, so a NaN is always caught before a
    /// checkpoint could hold its update.
    pub fn step(&mut self) -> Result<Due> {
        self.step += 1;
        let (step, train, ctx) = (self.step, self.train, self.ctx);
        // Dropout draws from torch's global RNG: reseeding per step makes a
        // resumed run draw exactly what the uninterrupted one drew. Each
        // rank draws its own masks (rank 0 those of a single process).
        tch::manual_seed(
            (train.seed.wrapping_mul(1_000_003) ^ step ^ ((self.rank as u64) << 40)) as i64,
        );
        let lr = self.sched.lr(step as i64);
        let batches = self.next_batches()?;
        let step_tokens: u64 = batches.iter().map(loss_tokens).sum();
        for b in &batches {
            self.window.count_tasks(b);
        }
        let losses = self.forward_backward(&batches, step_tokens)?;
        self.window.tokens += step_tokens;
        self.tokens += step_tokens;
        self.sync_gradients(&losses)?;
        if let Some(c) = train.clip {
            optim::clip_grad_norm(&self.model.vs, c)?;
        }
        self.opt.step(lr)?;
        optim::zero_grad(&self.model.vs)?;

        let last = step == train.steps;
        let every = |n: u64| n > 0 && step.is_multiple_of(n);
        let due = Due {
            lr,
            log: every(ctx.log_every.max(1)) || last,
            eval: train.eval_every.is_some_and(every) || last,
            save: every(train.checkpoint_every) || last,
        };
        let previous = self.pending.replace(Pending {
            step,
            losses,
            batches,
        });
        let mut settle: Vec<Pending> = previous.into_iter().collect();
        if due.log || due.eval || due.save || ctx.stop_after == Some(step) {
            settle.extend(self.pending.take());
        }
        for p in settle {
            let at = p.step;
            let loss = p.settle(self)?;
            self.window.loss += loss;
            self.window.n += 1;
            self.progress.step(at, loss);
        }
        Ok(due)
    }

    /// Writes the logging window's line of `metrics.jsonl` and starts the
    /// next window.
    pub fn log(&mut self, lr: f64) -> Result<()> {
        let stage = &self.ctx.stage.name;
        if let (Some(d), true) = (self.dist, self.window.per_task()) {
            let sums = std::slice::from_ref(&self.window.task_nll);
            tch::no_grad(|| d.allreduce_sum(sums, "the per-task loss sum"))?;
        }
        let line = self.window.close(
            stage,
            self.step,
            lr,
            self.tokens,
            self.dist.is_some(),
            &self.task_names,
        )?;
        self.log.write(self.step, &line)?;
        self.progress.log(self.step, line.loss, line.tokens_per_s);
        Ok(())
    }

    /// The validation loss per task (rank 0; logged), and with `select`
    /// the selection scores of this step's checkpoint.
    pub fn evaluate(
        &mut self,
        select: bool,
    ) -> Result<(Option<f64>, indexmap::IndexMap<String, f64>)> {
        let (ctx, train, step) = (self.ctx, self.train, self.step);
        let stage = ctx.stage.name.clone();
        let mut eval_loss = None;
        if self.writer {
            let ValidationLoss { losses, left_out } =
                with_reference_kernels(&mut self.model.model, |m| validation_loss(ctx, m, train))?;
            let new: indexmap::IndexMap<String, String> = left_out
                .into_iter()
                .filter(|(task, _)| self.left_out_noted.insert(task.clone()))
                .collect();
            if !new.is_empty() {
                for (task, why) in &new {
                    self.progress.note(&format!(
                        "the validation loss leaves out task `{task}`: {why}"
                    ));
                }
                let line = LeftOutLine {
                    stage: stage.clone(),
                    step,
                    valid_loss_left_out: new,
                };
                self.log.write(step, &line)?;
            }
            if !losses.is_empty() {
                let mean = losses.iter().map(|l| l.1).sum::<f64>() / losses.len() as f64;
                eval_loss = Some(mean);
                let line = ValidLossLine {
                    stage: stage.clone(),
                    step,
                    valid_loss: losses.into_iter().collect(),
                    valid_loss_mean: mean,
                };
                self.log.write(step, &line)?;
            }
        }
        let mut scores = indexmap::IndexMap::new();
        if let Some(sel) = ctx.select.as_ref().filter(|_| select) {
            scores = with_reference_kernels(&mut self.model.model, |m| {
                selection_scores(ctx, sel, m, train, step)
            })?;
            let line = ValidScoreLine {
                stage,
                step,
                split: sel.split.clone(),
                valid_score: scores.clone(),
            };
            self.log.write(step, &line)?;
            if !ctx.quiet && self.writer {
                let list: Vec<String> = scores.iter().map(|(t, v)| format!("{t} {v:.1}")).collect();
                self.progress.note(&format!(
                    "step {step}: {} score {}",
                    sel.split,
                    list.join(", ")
                ));
            }
        }
        Ok((eval_loss, scores))
    }

    /// Commits this step's checkpoint (rank 0), marks the best and prunes.
    pub fn save(
        &mut self,
        eval_loss: Option<f64>,
        scores: indexmap::IndexMap<String, f64>,
    ) -> Result<()> {
        let Some(cursor) = self.last_cursor.clone().filter(|_| self.writer) else {
            return Ok(());
        };
        let state = TrainState {
            step: self.step,
            cursor,
            tokens: self.tokens,
            eval_loss,
            scores,
            precision: Some(param_precision(&self.model.vs).to_string()),
        };
        let cfg = self.model.model.cfg.clone();
        let (vs, opt, tok) = (&self.model.vs, &self.opt, &self.ctx.tok);
        ckpt::write(&self.ckdir, self.step, |d| {
            save_weights(vs, &cfg, opt, d)?;
            // A complete HF model directory: transformers loads the
            // checkpoint with the tokenizer it was trained with.
            crate::hf_dir::write_tokenizer(d, tok)?;
            let json =
                serde_json::to_vec_pretty(&state).map_err(|e| Error::Checkpoint(e.to_string()))?;
            crate::checkpoint::write_atomic(&d.join(ckpt::STATE), &json)
        })?;
        ckpt::mark_best(&self.ckdir)?;
        ckpt::prune(&self.ckdir, self.train.keep as usize)
    }

    /// Ends the run here when `--stop-after` asked for this step.
    pub fn stop_if_asked(&mut self) -> Result<()> {
        if self.ctx.stop_after != Some(self.step) {
            return Ok(());
        }
        self.progress.finish();
        Err(Error::Input(format!(
            "stopped after step {} as asked (--stop-after)",
            self.step
        )))
    }

    /// The trained model and what became of each task's rows.
    pub fn finish(mut self) -> Trained {
        let counts = self
            .last_cursor
            .as_ref()
            .or(self.resumed_cursor.as_ref())
            .map(data::stream_counts);
        if let Some(note) = counts.as_ref().and_then(data::dropped_note) {
            self.progress.note(&note);
        }
        self.progress.finish();
        Trained {
            model: self.model,
            final_step: self.step,
            data: counts,
        }
    }

    /// Where training can go on from after this stage blew up: the newest
    /// committed checkpoint that exists, else the weights it started from.
    fn kept(&self) -> String {
        if let (Some((s, dir)), _) = ckpt::latest(&self.ckdir) {
            return format!(
                "the last good checkpoint (step {s}) is kept in `{}`",
                dir.display()
            );
        }
        let first = match self.train.checkpoint_every {
            0 => "only at the stage's end".to_string(),
            n => format!("at step {n}"),
        };
        match self.ctx.from {
            Some(w) => format!(
                "this stage has no checkpoint yet (its first is due {first}); the weights it \
                 started from are intact in `{}`",
                w.display()
            ),
            None => format!(
                "no checkpoint was written yet (the first is due {first}), so nothing is kept"
            ),
        }
    }
}

/// A step whose losses have not been read back from the device yet.
struct Pending {
    step: u64,
    /// Each micro-batch's share of the step's loss (its summed token loss
    /// over the step's tokens), every rank's, detached: `[micro x world]`.
    losses: Tensor,
    /// The micro-batches, kept to name their tasks if a loss is not finite.
    batches: Vec<Batch>,
}

impl Pending {
    /// Reads the step's losses (waiting for the device) and returns the
    /// step's loss (the sum of the shares: the mean over the step's target
    /// tokens), or the error that stops the run on a NaN or infinite loss.
    fn settle(self, t: &Trainer) -> Result<f64> {
        let values: Vec<f64> =
            Vec::try_from(self.losses.to_kind(Kind::Double).to_device(Device::Cpu))
                .map_err(|e| Error::Input(format!("reading the loss back: {e}")))?;
        for (value, batch) in values.iter().zip(&self.batches) {
            if !value.is_finite() {
                return Err(Error::Input(format!(
                    "the loss is {value} at step {} of stage `{}`, on a batch of {} examples \
                     from {}; stopped without saving it: {}\n  help: resuming would replay the \
                     same data and diverge again; start over into a new --out with a smaller \
                     learning rate (the mixture's `lr`), `clip` or `z_loss`",
                    self.step,
                    t.ctx.stage.name,
                    batch.examples,
                    batch_tasks(batch, &t.spec),
                    t.kept()
                )));
            }
        }
        Ok(values.iter().sum::<f64>())
    }
}
