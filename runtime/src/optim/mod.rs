//! Optimizers (Adafactor, AdamW), learning-rate schedules, global-norm
//! gradient clipping and gradient accumulation.
//!
//! tch's `nn::Optimizer` has no Adafactor and cannot save its state, so the
//! optimizers here are our own: they hold the parameters of a `VarStore`
//! (sorted by name), update them in place under `no_grad`, and save their
//! state as safetensors so a resumed run continues bit for bit.

pub mod adafactor;
pub mod adamw;
pub mod schedule;

/// Deterministic tensors for the optimizers' tests (tests run in parallel
/// threads that share libtorch's RNG, so no random draws).
#[cfg(test)]
pub(crate) fn wave(size: &[i64], phase: f64, scale: f64) -> tch::Tensor {
    let n: i64 = size.iter().product();
    ((tch::Tensor::arange(n, (tch::Kind::Float, tch::Device::Cpu)) * 0.37 + phase).sin() * scale)
        .view(size)
}

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use tch::{Kind, Tensor};

use crate::checkpoint;
use crate::error::{Error, Result};

pub use adafactor::{Adafactor, AdafactorConfig, Grouping};
pub use adamw::{AdamW, AdamWConfig};
pub use schedule::Schedule;

/// The trainable variables of `vs`, sorted by name.
pub fn named_params(vs: &tch::nn::VarStore) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .filter(|(_, t)| t.requires_grad())
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Optimizer state as named tensors plus string metadata (kind, step).
pub trait OptimState {
    fn state_tensors(&self) -> (Vec<(String, Tensor)>, BTreeMap<String, String>);
    fn load_state(
        &mut self,
        tensors: &HashMap<String, Tensor>,
        meta: &BTreeMap<String, String>,
    ) -> Result<()>;

    /// Saves the state atomically to a safetensors file.
    fn save(&self, path: &Path) -> Result<()> {
        let (tensors, meta) = self.state_tensors();
        checkpoint::write_safetensors(path, &tensors, &meta)
    }

    /// Restores a state written by [`OptimState::save`].
    fn restore(&mut self, path: &Path) -> Result<()> {
        let meta = checkpoint::read_metadata(path)?;
        let tensors: HashMap<String, Tensor> =
            Tensor::read_safetensors(path)?.into_iter().collect();
        self.load_state(&tensors, &meta)
    }
}

fn check_kind(meta: &BTreeMap<String, String>, want: &str) -> Result<()> {
    match meta.get("optimizer") {
        Some(k) if k == want => Ok(()),
        other => Err(Error::Checkpoint(format!(
            "optimizer state is for `{}`, not `{want}`",
            other.map_or("unknown", |s| s.as_str())
        ))),
    }
}

fn meta_step(meta: &BTreeMap<String, String>) -> Result<i64> {
    meta.get("step")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::Checkpoint("optimizer state has no `step`".into()))
}

/// Clears the gradients of `vs`.
pub fn zero_grad(vs: &tch::nn::VarStore) {
    for (_, t) in vs.variables() {
        let mut g = t.grad();
        if g.defined() {
            let _ = g.detach_().zero_();
        }
    }
}

/// Scales gradients so their global L2 norm is at most `max_norm`; returns
/// the norm before clipping (as `torch.nn.utils.clip_grad_norm_`) as a
/// scalar tensor on the gradients' device. Nothing is read back to the
/// host: the scale `min(1, max_norm / (norm + 1e-6))` is applied on the
/// device (a multiplication by exactly 1 when the norm is within bounds),
/// so a training step never waits for the GPU here.
pub fn clip_grad_norm(vs: &tch::nn::VarStore, max_norm: f64) -> Option<Tensor> {
    let grads: Vec<Tensor> = named_params(vs)
        .into_iter()
        .map(|(_, t)| t.grad())
        .filter(|g| g.defined())
        .collect();
    if grads.is_empty() {
        return None;
    }
    tch::no_grad(|| {
        let sq: Vec<Tensor> = grads
            .iter()
            .map(|g| g.to_kind(Kind::Float).square().sum(Kind::Float))
            .collect();
        let norm = Tensor::stack(&sq, 0).sum(Kind::Float).sqrt();
        let coef = (max_norm / (&norm + 1e-6)).clamp_max(1.0);
        // A 0-dim float factor does not promote a bf16 gradient.
        for mut g in grads {
            let _ = g.g_mul_(&coef);
        }
        Some(norm)
    })
}

/// Gradient accumulation: the loss of each micro-batch is divided by the
/// number of micro-batches before `backward`, so the summed gradients equal
/// those of one large batch (when micro-batches hold equal token counts).
///
/// With bf16 parameters the gradients are bf16 too, and adding several
/// micro-batches' gradients in bf16 would round after every addition. So
/// for bf16 parameters and more than one micro-batch, each micro-batch's
/// gradients are added into float32 buffers (and cleared), and
/// [`finish`](Self::finish) writes the float32 sum back, rounded once: the
/// accumulated gradient is then as precise as a single large batch's.
#[derive(Debug)]
pub struct Accumulation {
    pub micro_batches: i64,
    /// (parameter, its float32 gradient sum), when accumulating in float32.
    sums: Vec<(Tensor, Tensor)>,
}

impl Accumulation {
    /// Accumulation over `micro_batches` for the parameters of `vs`.
    pub fn new(vs: &tch::nn::VarStore, micro_batches: i64) -> Self {
        let sums = if micro_batches > 1 {
            named_params(vs)
                .into_iter()
                .filter(|(_, p)| p.kind() != Kind::Float && p.kind() != Kind::Double)
                .map(|(_, p)| {
                    let sum = Tensor::zeros(p.size(), (Kind::Float, p.device()));
                    (p, sum)
                })
                .collect()
        } else {
            Vec::new()
        };
        Accumulation {
            micro_batches,
            sums,
        }
    }

    /// Backpropagates one micro-batch's mean loss.
    pub fn backward(&mut self, loss: &Tensor) {
        (loss / self.micro_batches.max(1) as f64).backward();
        tch::no_grad(|| {
            for (p, sum) in &mut self.sums {
                let mut g = p.grad();
                if g.defined() {
                    let _ = sum.g_add_(&g.to_kind(Kind::Float));
                    let _ = g.zero_();
                }
            }
        });
    }

    /// Puts the accumulated gradients where the optimizer reads them
    /// (nothing to do unless they were summed in float32), and clears the
    /// sums for the next step.
    pub fn finish(&mut self) {
        tch::no_grad(|| {
            for (p, sum) in &mut self.sums {
                let mut g = p.grad();
                if g.defined() {
                    g.copy_(sum);
                }
                let _ = sum.zero_();
            }
        });
    }
}
