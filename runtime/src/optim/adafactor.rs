//! Adafactor (Shazeer & Stern, 2018) as T5 and T5X train with it:
//! factored second moments, decay rate 0.8 (beta2_t = 1 - t^-0.8), update
//! clipping at RMS 1.0, step size multiplied by the parameter's RMS, no
//! momentum by default. The arithmetic follows transformers'
//! `transformers.optimization.Adafactor` op for op (the parity goldens run
//! it with `relative_step=False, scale_parameter=True, decay_rate=-0.8`);
//! `min_dim_size_to_factor` adds T5X's rule of factoring only large matrices.

use std::collections::{BTreeMap, HashMap};

use tch::{Kind, Tensor};

use super::{named_params, OptimState};
use crate::error::{Error, Result};

/// Adafactor hyper-parameters; `Default` is T5X's set-up.
#[derive(Debug, Clone, PartialEq)]
pub struct AdafactorConfig {
    /// beta2_t = 1 - step^(-decay_rate).
    pub decay_rate: f64,
    /// Added to squared gradients.
    pub eps1: f64,
    /// Lower bound of the parameter scale.
    pub eps2: f64,
    /// Updates are scaled down to at most this RMS.
    pub clip_threshold: f64,
    pub multiply_by_parameter_scale: bool,
    /// First-moment decay; `None` keeps no momentum (T5's default).
    pub beta1: Option<f64>,
    /// Decoupled weight decay, multiplied by the (scaled) step size.
    pub weight_decay: f64,
    /// Factor a matrix only when both its last two dims are at least this
    /// (T5X: 128; transformers factors every matrix, i.e. 0).
    pub min_dim_size_to_factor: i64,
}

impl Default for AdafactorConfig {
    fn default() -> Self {
        AdafactorConfig {
            decay_rate: 0.8,
            eps1: 1e-30,
            eps2: 1e-3,
            clip_threshold: 1.0,
            multiply_by_parameter_scale: true,
            beta1: None,
            weight_decay: 0.0,
            min_dim_size_to_factor: 128,
        }
    }
}

#[derive(Debug)]
enum Second {
    Factored { row: Tensor, col: Tensor },
    Full(Tensor),
}

#[derive(Debug)]
struct Slot {
    name: String,
    param: Tensor,
    second: Second,
    first: Option<Tensor>,
}

/// Adafactor over a fixed list of named parameters.
#[derive(Debug)]
pub struct Adafactor {
    cfg: AdafactorConfig,
    slots: Vec<Slot>,
    step: i64,
}

fn rms(t: &Tensor) -> Tensor {
    t.norm() / (t.numel() as f64).sqrt()
}

impl Adafactor {
    /// Optimises every trainable variable of `vs` (sorted by name, so the
    /// state layout is stable across runs).
    pub fn new(vs: &tch::nn::VarStore, cfg: AdafactorConfig) -> Self {
        let slots = named_params(vs)
            .into_iter()
            .map(|(name, param)| {
                let size = param.size();
                let opts = (Kind::Float, param.device());
                let n = size.len();
                let factored = n >= 2
                    && size[n - 2..]
                        .iter()
                        .all(|&d| d >= cfg.min_dim_size_to_factor);
                let second = if factored {
                    let mut col = size[..n - 2].to_vec();
                    col.push(size[n - 1]);
                    Second::Factored {
                        row: Tensor::zeros(&size[..n - 1], opts),
                        col: Tensor::zeros(col, opts),
                    }
                } else {
                    Second::Full(Tensor::zeros(&size, opts))
                };
                let first = cfg.beta1.map(|_| Tensor::zeros(&size, opts));
                Slot {
                    name,
                    param,
                    second,
                    first,
                }
            })
            .collect();
        Adafactor {
            cfg,
            slots,
            step: 0,
        }
    }

    /// Steps taken so far.
    pub fn step_count(&self) -> i64 {
        self.step
    }

    /// One update with learning rate `lr` from the gradients in `.grad()`;
    /// parameters without a gradient are left alone.
    pub fn step(&mut self, lr: f64) {
        self.step += 1;
        let c = &self.cfg;
        let beta2t = 1.0 - (self.step as f64).powf(-c.decay_rate);
        tch::no_grad(|| {
            for slot in &mut self.slots {
                let grad = slot.param.grad();
                if !grad.defined() {
                    continue;
                }
                let grad = grad.to_kind(Kind::Float);
                let mut p32 = slot.param.to_kind(Kind::Float);
                let lr_t = if c.multiply_by_parameter_scale {
                    rms(&p32).clamp_min(c.eps2) * lr
                } else {
                    Tensor::from(lr)
                        .to_kind(Kind::Float)
                        .to_device(p32.device())
                };
                let sq = grad.square() + c.eps1;
                let mut update = match &mut slot.second {
                    Second::Factored { row, col } => {
                        let _ = row
                            .g_mul_scalar_(beta2t)
                            .g_add_(&(sq.mean_dim(-1, false, Kind::Float) * (1.0 - beta2t)));
                        let _ = col
                            .g_mul_scalar_(beta2t)
                            .g_add_(&(sq.mean_dim(-2, false, Kind::Float) * (1.0 - beta2t)));
                        let r = (&*row / row.mean_dim(-1, true, Kind::Float))
                            .rsqrt()
                            .unsqueeze(-1);
                        let cf = col.unsqueeze(-2).rsqrt();
                        r * cf * &grad
                    }
                    Second::Full(v) => {
                        let _ = v.g_mul_scalar_(beta2t).g_add_(&(sq * (1.0 - beta2t)));
                        v.rsqrt() * &grad
                    }
                };
                update = &update / (rms(&update) / c.clip_threshold).clamp_min(1.0);
                update *= &lr_t;
                if let (Some(m), Some(b1)) = (&mut slot.first, c.beta1) {
                    let _ = m.g_mul_scalar_(b1).g_add_(&(&update * (1.0 - b1)));
                    update = m.shallow_clone();
                }
                if c.weight_decay != 0.0 {
                    p32 = &p32 - &p32 * (&lr_t * c.weight_decay);
                }
                let new = p32 - update;
                slot.param.copy_(&new.to_kind(slot.param.kind()));
            }
        });
    }
}

impl OptimState for Adafactor {
    fn state_tensors(&self) -> (Vec<(String, Tensor)>, BTreeMap<String, String>) {
        let mut out = Vec::new();
        for s in &self.slots {
            match &s.second {
                Second::Factored { row, col } => {
                    out.push((format!("{}.v_row", s.name), row.shallow_clone()));
                    out.push((format!("{}.v_col", s.name), col.shallow_clone()));
                }
                Second::Full(v) => out.push((format!("{}.v", s.name), v.shallow_clone())),
            }
            if let Some(m) = &s.first {
                out.push((format!("{}.m", s.name), m.shallow_clone()));
            }
        }
        let meta = BTreeMap::from([
            ("optimizer".to_string(), "adafactor".to_string()),
            ("step".to_string(), self.step.to_string()),
        ]);
        (out, meta)
    }

    fn load_state(
        &mut self,
        tensors: &HashMap<String, Tensor>,
        meta: &BTreeMap<String, String>,
    ) -> Result<()> {
        super::check_kind(meta, "adafactor")?;
        self.step = super::meta_step(meta)?;
        tch::no_grad(|| -> Result<()> {
            for s in &mut self.slots {
                let mut pairs: Vec<(String, &mut Tensor)> = match &mut s.second {
                    Second::Factored { row, col } => vec![
                        (format!("{}.v_row", s.name), row),
                        (format!("{}.v_col", s.name), col),
                    ],
                    Second::Full(v) => vec![(format!("{}.v", s.name), v)],
                };
                if let Some(m) = &mut s.first {
                    pairs.push((format!("{}.m", s.name), m));
                }
                for (key, dst) in pairs {
                    let src = tensors.get(&key).ok_or_else(|| {
                        Error::Checkpoint(format!("optimizer state lacks `{key}`"))
                    })?;
                    if src.size() != dst.size() {
                        return Err(Error::Checkpoint(format!(
                            "optimizer state `{key}` has shape {:?}, expected {:?}",
                            src.size(),
                            dst.size()
                        )));
                    }
                    dst.f_copy_(src)?;
                }
            }
            Ok(())
        })
    }
}
