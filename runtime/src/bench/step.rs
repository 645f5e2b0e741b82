//! One pre-training step as `exc run` takes it (forward, loss, backward,
//! Adafactor), set up with the speed levers the benchmark measures:
//! precision, attention kernels and the optimizer's grouping.

use std::path::Path;
use std::time::Instant;

use tch::{nn, Device, Kind, Tensor};

use crate::error::Result;
use crate::model::layers::RmsNorm;
use crate::model::{seq2seq_loss, AttentionImpl, LossConfig, NormImpl, Seq2SeqBatch, T5Config, T5};
use crate::optim::{self, Adafactor, AdafactorConfig, Grouping};

/// Parameter and activation precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// float32 everywhere (TF32 matmuls on GPU when allowed).
    Fp32,
    /// bf16 parameters and activations, float32 norms, softmax and loss,
    /// float32 master weights and optimizer state.
    Bf16,
}

/// What a step is made of.
#[derive(Debug, Clone)]
pub struct StepSetup {
    pub cfg: T5Config,
    pub device: Device,
    pub precision: Precision,
    pub attention: AttentionImpl,
    pub norm: NormImpl,
    /// When Adafactor stacks same-shape tensors.
    pub grouping: Grouping,
    pub seed: i64,
}

/// The model and optimizer being benchmarked.
pub struct Trainer {
    pub vs: nn::VarStore,
    pub model: T5,
    pub opt: Adafactor,
    device: Device,
}

/// Seconds of each part of one device-synchronised step.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Breakdown {
    /// Waiting for the pipeline, making tensors, copying them to the device.
    pub data: f64,
    /// Forward pass and loss.
    pub forward: f64,
    pub backward: f64,
    /// zero_grad and the Adafactor update.
    pub optimizer: f64,
}

impl Breakdown {
    pub fn total(&self) -> f64 {
        self.data + self.forward + self.backward + self.optimizer
    }

    /// The element-wise mean of several breakdowns.
    pub fn mean(all: &[Breakdown]) -> Breakdown {
        if all.is_empty() {
            return Breakdown::default();
        }
        let n = all.len().max(1) as f64;
        let sum = |f: fn(&Breakdown) -> f64| all.iter().map(f).sum::<f64>() / n;
        Breakdown {
            data: sum(|b| b.data),
            forward: sum(|b| b.forward),
            backward: sum(|b| b.backward),
            optimizer: sum(|b| b.optimizer),
        }
    }
}

/// The ATen ops one part of a step dispatched ([`exc_torchext::count_ops`]).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PartOps {
    /// Ops called that reach a kernel: on a GPU, about one launch each.
    pub launches: u64,
    /// Values read back to the host (each waits for the device).
    pub host_reads: u64,
    /// Every op dispatched, nested ones and views included.
    pub dispatched: u64,
    /// Per-tensor ops inside multi-tensor calls (a fallback from their
    /// fused kernels: always on CPU; on CUDA, 0 when every call fused).
    pub multi_tensor_fallbacks: u64,
    /// The most frequent of those ops.
    pub top: Vec<(String, u64)>,
}

impl From<exc_torchext::OpCount> for PartOps {
    fn from(c: exc_torchext::OpCount) -> Self {
        PartOps {
            launches: c.launches(),
            host_reads: c.host_reads,
            dispatched: c.all,
            multi_tensor_fallbacks: c.multi_tensor_fallbacks,
            top: c.top(6),
        }
    }
}

/// The ops of one training step, part by part.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct StepOps {
    pub forward: PartOps,
    pub backward: PartOps,
    /// The Adafactor update.
    pub optimizer: PartOps,
    pub zero_grad: PartOps,
}

impl StepOps {
    /// The parts with their names, in step order.
    pub fn parts(&self) -> [(&'static str, &PartOps); 4] {
        [
            ("forward", &self.forward),
            ("backward", &self.backward),
            ("optimizer", &self.optimizer),
            ("zero_grad", &self.zero_grad),
        ]
    }
}

/// Waits for the device to finish queued work (no-op on CPU).
pub fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

impl Trainer {
    /// Builds the model in float32 from `seed` (saved to `save_init` in
    /// the HF layout when given, for the reference), the optimizer (with
    /// master weights taken from the float32 values for bf16), then casts.
    pub fn new(s: &StepSetup, save_init: Option<&Path>) -> Result<Trainer> {
        tch::manual_seed(s.seed);
        let mut vs = nn::VarStore::new(s.device);
        let mut model = T5::new(&vs.root(), &s.cfg)?;
        model.set_attention(s.attention);
        model.set_norm(s.norm);
        if let Some(dir) = save_init {
            crate::checkpoint::save_model(&vs, &s.cfg, dir)?;
        }
        let bf16 = s.precision == Precision::Bf16;
        let opt = Adafactor::new(
            &vs,
            AdafactorConfig {
                group_by_shape: s.grouping,
                master_weights: bf16,
                ..AdafactorConfig::default()
            },
        );
        if bf16 {
            vs.bfloat16();
        }
        Ok(Trainer {
            vs,
            model,
            opt,
            device: s.device,
        })
    }

    /// Forward and loss; the loss tensor (not read back, to keep the
    /// host ahead of the device).
    fn forward(&self, b: &Seq2SeqBatch) -> Result<Tensor> {
        let logits = self.model.forward(b, true)?;
        Ok(seq2seq_loss(&logits, &b.labels, LossConfig::default()).loss)
    }

    /// One training step at learning rate `lr`; returns the detached loss.
    pub fn step(&mut self, b: &Seq2SeqBatch, lr: f64) -> Result<Tensor> {
        optim::zero_grad(&self.vs)?;
        let loss = self.forward(b)?;
        loss.backward();
        self.opt.step(lr)?;
        Ok(loss.detach())
    }

    /// One step timed part by part, synchronising the device between
    /// parts; `fetch` produces the batch (its time is the data part).
    pub fn timed_step(
        &mut self,
        lr: f64,
        fetch: impl FnOnce() -> Result<Seq2SeqBatch>,
    ) -> Result<(Breakdown, Tensor)> {
        let dev = self.device;
        sync(dev);
        let t = Instant::now();
        let b = fetch()?;
        sync(dev);
        let data = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let loss = self.forward(&b)?;
        sync(dev);
        let forward = t.elapsed().as_secs_f64();
        let t = Instant::now();
        loss.backward();
        sync(dev);
        let backward = t.elapsed().as_secs_f64();
        let t = Instant::now();
        self.opt.step(lr)?;
        optim::zero_grad(&self.vs)?;
        sync(dev);
        let optimizer = t.elapsed().as_secs_f64();
        Ok((
            Breakdown {
                data,
                forward,
                backward,
                optimizer,
            },
            loss.detach(),
        ))
    }
}

impl Trainer {
    /// One training step with the ATen ops of each part counted (the data
    /// is fetched outside the count). Counting slows the step: never time it.
    pub fn counted_step(
        &mut self,
        lr: f64,
        fetch: impl FnOnce() -> Result<Seq2SeqBatch>,
    ) -> Result<StepOps> {
        let b = fetch()?;
        // As `step`: the last step's gradients must not be added to.
        optim::zero_grad(&self.vs)?;
        let (loss, forward) = exc_torchext::count_ops(|| self.forward(&b))?;
        let loss = loss?;
        let ((), backward) = exc_torchext::count_ops(|| loss.backward())?;
        let (r, optimizer) = exc_torchext::count_ops(|| self.opt.step(lr))?;
        r?;
        let (r, zero_grad) = exc_torchext::count_ops(|| optim::zero_grad(&self.vs))?;
        r?;
        Ok(StepOps {
            forward: forward.into(),
            backward: backward.into(),
            optimizer: optimizer.into(),
            zero_grad: zero_grad.into(),
        })
    }
}

/// Forward output and bias-gradient agreement of `imp` with the math path
/// on `device` at `kind`, on small T5-shaped problems: (max |out diff|,
/// max |bias grad diff| / max |bias grad|), the worse of two key lengths
/// (one a multiple of 16, one not). Run before trusting a fused kernel on
/// a new card: a kernel that drops the bias gradient shows as 1.
pub fn check_attention(imp: AttentionImpl, device: Device, kind: Kind) -> (f64, f64) {
    let (a, b) = check_attention_at(imp, device, kind, 50);
    let (c, d) = check_attention_at(imp, device, kind, 64);
    (a.max(c), b.max(d))
}

fn check_attention_at(imp: AttentionImpl, device: Device, kind: Kind, nk: i64) -> (f64, f64) {
    let run = |imp: AttentionImpl| {
        let opts = (Kind::Float, device);
        let gen = |shape: [i64; 4], phase: f64| {
            let n: i64 = shape.iter().product();
            ((Tensor::arange(n, opts) * 0.731 + phase).sin()).view(shape)
        };
        let q = gen([2, 4, 40, 64], 0.0).to_kind(kind);
        let k = gen([2, 4, nk, 64], 1.0).to_kind(kind);
        let v = gen([2, 4, nk, 64], 2.0).to_kind(kind);
        let table = gen([1, 4, 40, nk], 3.0)
            .to_kind(kind)
            .set_requires_grad(true);
        // Laid out as an embedding lookup permuted to [1, heads, q, k] (the
        // key dimension at stride `heads`), the hardest layout for the
        // kernel; the model's own bias is contiguous.
        let bias = table
            .permute([0, 2, 3, 1])
            .contiguous()
            .permute([0, 3, 1, 2]);
        let mask = Tensor::arange(nk, opts)
            .ge(nk - 5)
            .view([1, 1, 1, nk])
            .to_kind(kind)
            * -1e30;
        let out = crate::model::layers::attention(&q, &k, &v, &(&bias + mask), 0.0, imp);
        out.to_kind(Kind::Float)
            .square()
            .sum(Kind::Float)
            .backward();
        (out.to_kind(Kind::Float), table.grad().to_kind(Kind::Float))
    };
    let (o1, g1) = run(AttentionImpl::Math);
    let (o2, g2) = run(imp);
    let out = (&o1 - &o2).abs().max().double_value(&[]);
    let scale = g1.abs().max().double_value(&[]).max(1e-12);
    let grad = if g2.defined() {
        (&g1 - &g2).abs().max().double_value(&[]) / scale
    } else {
        1.0
    };
    (out, grad)
}

/// How far each RMS norm path at the benchmark's precision is from the
/// composite path in float32: (output, input gradient, weight gradient),
/// each the max absolute difference over the float32 value's max absolute
/// value. In bf16 both paths are off by rounding (the weight gradient sums
/// many rounded products, so its error is the largest); the fused one is
/// trusted when it is no further off than the composite one.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct NormCheck {
    pub fused: [f64; 3],
    pub composite: [f64; 3],
}

impl NormCheck {
    /// Whether the fused path is within twice the composite path's error
    /// (plus float32 rounding) on every figure.
    pub fn ok(&self) -> bool {
        self.fused
            .iter()
            .zip(&self.composite)
            .all(|(f, c)| *f <= 2.0 * c + 1e-5)
    }
}

/// Compares the fused RMS norm with the composite path on `device` at
/// `kind` (forward, input and weight gradients) on a T5-shaped problem,
/// both against the composite path in float32. Run before trusting the
/// fused kernel on a new card.
pub fn check_norm(device: Device, kind: Kind) -> NormCheck {
    let run = |imp: NormImpl, kind: Kind| {
        let mut vs = nn::VarStore::new(device);
        let mut norm = RmsNorm::new(&vs.root(), 256, 1e-6);
        norm.set_impl(imp);
        let opts = (Kind::Float, device);
        let n = 4 * 64 * 256;
        let x = ((Tensor::arange(n, opts) * 0.731).sin() * 3.0)
            .view([4, 64, 256])
            .to_kind(kind)
            .set_requires_grad(true);
        tch::no_grad(|| {
            for (_, mut w) in vs.variables() {
                let scale = (Tensor::arange(256, opts) * 0.37).cos() + 1.5;
                w.copy_(&scale);
            }
        });
        if kind == Kind::BFloat16 {
            vs.bfloat16();
        }
        let y = norm.forward(&x);
        let up = (Tensor::arange(n, opts) * 0.113).cos().view([4, 64, 256]);
        (y.to_kind(Kind::Float) * up).sum(Kind::Float).backward();
        let wg = vs
            .variables()
            .into_iter()
            .find(|(k, _)| k == "weight")
            .map(|(_, v)| v.grad().to_kind(Kind::Float));
        [
            y.to_kind(Kind::Float),
            x.grad().to_kind(Kind::Float),
            wg.unwrap_or_else(|| Tensor::zeros([256], opts)),
        ]
    };
    let truth = run(NormImpl::Composite, Kind::Float);
    let errors = |got: [Tensor; 3]| {
        let mut out = [0.0; 3];
        for (o, (g, t)) in out.iter_mut().zip(got.iter().zip(&truth)) {
            let scale = t.abs().max().double_value(&[]).max(1e-12);
            *o = (g - t).abs().max().double_value(&[]) / scale;
        }
        out
    };
    NormCheck {
        fused: errors(run(NormImpl::Fused, kind)),
        composite: errors(run(NormImpl::Composite, kind)),
    }
}
