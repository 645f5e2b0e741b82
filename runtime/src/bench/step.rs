//! One pre-training step as `exc run` takes it (forward, loss, backward,
//! Adafactor), set up with the speed levers the benchmark measures:
//! precision, attention kernels and the optimizer's grouping.

use std::path::Path;
use std::time::Instant;

use tch::{nn, Device, Tensor};

use crate::error::Result;
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
