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
    named_variables(vs)
        .into_iter()
        .filter(|(_, t)| t.requires_grad())
        .collect()
}

/// Every variable of `vs` (parameters and buffers), in name order: the
/// same order in every process (a VarStore's map has none).
pub fn named_variables(vs: &tch::nn::VarStore) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
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

/// The defined gradients of `vs`'s trainable variables, in name order.
fn grads(vs: &tch::nn::VarStore) -> Vec<Tensor> {
    named_params(vs)
        .into_iter()
        .map(|(_, t)| t.grad())
        .filter(Tensor::defined)
        .collect()
}

/// Removes the gradients of `vs` (torch's `zero_grad(set_to_none=True)`):
/// the next backward writes each gradient instead of adding it to a zeroed
/// one, which saves a kernel and a pass over it per parameter, and zeroing
/// launches nothing.
pub fn zero_grad(vs: &tch::nn::VarStore) -> Result<()> {
    let params: Vec<Tensor> = named_params(vs).into_iter().map(|(_, p)| p).collect();
    exc_torchext::clear_grads(&params)?;
    Ok(())
}

/// Scales gradients so their global L2 norm is at most `max_norm`; returns
/// the norm before clipping (as `torch.nn.utils.clip_grad_norm_`) as a
/// scalar tensor on the gradients' device. Nothing is read back to the
/// host: the scale `min(1, max_norm / (norm + 1e-6))` is applied on the
/// device (a multiplication by exactly 1 when the norm is within bounds),
/// so a training step never waits for the GPU here. The per-tensor norms
/// (float32, also for bf16 gradients) and the scaling are multi-tensor ops,
/// as torch's `clip_grad_norm_(foreach=True)` does them.
pub fn clip_grad_norm(vs: &tch::nn::VarStore, max_norm: f64) -> Result<Option<Tensor>> {
    let grads = grads(vs);
    if grads.is_empty() {
        return Ok(None);
    }
    let norm = tch::no_grad(|| -> Result<Tensor> {
        let norms = exc_torchext::foreach_norm(&grads, 2.0)?;
        let norm = Tensor::stack(&norms, 0).norm();
        let coef = (max_norm / (&norm + 1e-6)).clamp_max(1.0);
        // The factor in each list's own kind: CUDA fuses a multi-tensor
        // multiply only when the factor's kind is the list's (torch's own
        // clipping multiplies bf16 gradients by a bf16 factor too). A factor
        // of 1 (within bounds) is exact in every kind.
        let mut kinds: Vec<Kind> = Vec::new();
        for g in &grads {
            if !kinds.contains(&g.kind()) {
                kinds.push(g.kind());
            }
        }
        for kind in kinds {
            let same: Vec<Tensor> = grads
                .iter()
                .filter(|g| g.kind() == kind)
                .map(Tensor::shallow_clone)
                .collect();
            exc_torchext::foreach_mul_(&same, &coef.to_kind(kind))?;
        }
        Ok(norm)
    })?;
    Ok(Some(norm))
}

/// Gradient accumulation: the caller scales each micro-batch's loss by its
/// share of the step (the training loop: its summed token loss over the
/// step's token count, across every rank's micro-batches), so the summed
/// gradients are those of one large batch whatever the split.
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
    /// The other trainable parameters (their gradients accumulate in place).
    in_place: Vec<Tensor>,
}

impl Accumulation {
    /// Accumulation over `micro_batches` for the parameters of `vs`.
    pub fn new(vs: &tch::nn::VarStore, micro_batches: i64) -> Self {
        let (mut sums, mut in_place) = (Vec::new(), Vec::new());
        for (_, p) in named_params(vs) {
            if micro_batches > 1 && p.kind() != Kind::Float && p.kind() != Kind::Double {
                let sum = Tensor::zeros(p.size(), (Kind::Float, p.device()));
                sums.push((p, sum));
            } else {
                in_place.push(p);
            }
        }
        Accumulation {
            micro_batches,
            sums,
            in_place,
        }
    }

    /// Backpropagates one micro-batch's share of the step's loss (scaled
    /// by the caller).
    pub fn backward(&mut self, loss: &Tensor) -> Result<()> {
        loss.backward();
        let (params, sums, grads) = self.defined();
        tch::no_grad(|| -> Result<()> {
            // float32 += bf16: the shim's add promotes per tensor.
            exc_torchext::foreach_add_(&sums, &grads, 1.0)?;
            exc_torchext::clear_grads(&params)?;
            Ok(())
        })
    }

    /// [`finish`](Self::finish), after `reduce` has summed the gradients
    /// over the ranks of a data-parallel group, with `extra` tensors (the
    /// step's loss) in the same collective: the float32 sums when
    /// accumulating in float32 (so ranks add before the one rounding), else
    /// the gradients. A parameter no micro-batch reached gets a zero
    /// gradient first, so every rank reduces the same list.
    pub fn finish_with(
        &mut self,
        extra: &[Tensor],
        reduce: impl FnOnce(&[Tensor]) -> Result<()>,
    ) -> Result<()> {
        let mut list: Vec<Tensor> = self.sums.iter().map(|(_, s)| s.shallow_clone()).collect();
        tch::no_grad(|| -> Result<()> {
            for p in &self.in_place {
                let mut g = p.grad();
                if !g.defined() {
                    exc_torchext::set_grads(std::slice::from_ref(p), &[p.zeros_like()])?;
                    g = p.grad();
                }
                list.push(g);
            }
            Ok(())
        })?;
        list.extend(extra.iter().map(Tensor::shallow_clone));
        reduce(&list)?;
        self.finish()
    }

    /// Whether gradients are summed in float32 buffers (bf16 parameters
    /// over several micro-batches) rather than in place in `.grad`.
    pub fn sums_in_float32(&self) -> bool {
        !self.sums.is_empty()
    }

    /// Puts the accumulated gradients where the optimizer reads them
    /// (nothing to do unless they were summed in float32), rounded once to
    /// the parameters' kind, and clears the sums for the next step.
    pub fn finish(&mut self) -> Result<()> {
        if self.sums.is_empty() {
            return Ok(());
        }
        tch::no_grad(|| -> Result<()> {
            let (params, sums): (Vec<Tensor>, Vec<Tensor>) = self
                .sums
                .iter()
                .map(|(p, s)| (p.shallow_clone(), s.shallow_clone()))
                .unzip();
            let grads: Vec<Tensor> = params
                .iter()
                .zip(&sums)
                .map(|(p, s)| s.to_kind(p.kind()))
                .collect();
            exc_torchext::set_grads(&params, &grads)?;
            exc_torchext::foreach_zero_(&sums)?;
            Ok(())
        })
    }

    /// The parameters with a gradient, their float32 sums and gradients.
    fn defined(&self) -> (Vec<Tensor>, Vec<Tensor>, Vec<Tensor>) {
        let mut out = (Vec::new(), Vec::new(), Vec::new());
        for (p, sum) in &self.sums {
            let g = p.grad();
            if g.defined() {
                out.0.push(p.shallow_clone());
                out.1.push(sum.shallow_clone());
                out.2.push(g);
            }
        }
        out
    }
}
