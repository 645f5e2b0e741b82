//! AdamW (Loshchilov & Hutter) with PyTorch's `torch.optim.AdamW` arithmetic:
//! decoupled decay `p *= 1 - lr * wd`, bias-corrected moments.

use std::collections::{BTreeMap, HashMap};

use tch::{Kind, Tensor};

use super::{named_params, OptimState};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct AdamWConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

#[derive(Debug)]
struct Slot {
    name: String,
    param: Tensor,
    m: Tensor,
    v: Tensor,
}

#[derive(Debug)]
pub struct AdamW {
    cfg: AdamWConfig,
    slots: Vec<Slot>,
    step: i64,
}

impl AdamW {
    pub fn new(vs: &tch::nn::VarStore, cfg: AdamWConfig) -> Self {
        let slots = named_params(vs)
            .into_iter()
            .map(|(name, param)| {
                let z = Tensor::zeros(param.size(), (Kind::Float, param.device()));
                Slot {
                    name,
                    m: z.zeros_like(),
                    v: z,
                    param,
                }
            })
            .collect();
        AdamW {
            cfg,
            slots,
            step: 0,
        }
    }

    pub fn step(&mut self, lr: f64) {
        self.step += 1;
        let c = &self.cfg;
        let bc1 = 1.0 - c.beta1.powi(self.step as i32);
        let bc2 = 1.0 - c.beta2.powi(self.step as i32);
        tch::no_grad(|| {
            for s in &mut self.slots {
                let g = s.param.grad();
                if !g.defined() {
                    continue;
                }
                let g = g.to_kind(Kind::Float);
                let mut p = s.param.to_kind(Kind::Float);
                p = &p * (1.0 - lr * c.weight_decay);
                let _ = s.m.lerp_(&g, 1.0 - c.beta1);
                let _ =
                    s.v.g_mul_scalar_(c.beta2)
                        .g_add_(&(&g * &g * (1.0 - c.beta2)));
                let denom = s.v.sqrt() / bc2.sqrt() + c.eps;
                let new = p - (&s.m / denom) * (lr / bc1);
                s.param.copy_(&new.to_kind(s.param.kind()));
            }
        });
    }
}

impl OptimState for AdamW {
    fn state_tensors(&self) -> (Vec<(String, Tensor)>, BTreeMap<String, String>) {
        let mut out = Vec::new();
        for s in &self.slots {
            out.push((format!("{}.m", s.name), s.m.shallow_clone()));
            out.push((format!("{}.v", s.name), s.v.shallow_clone()));
        }
        let meta = BTreeMap::from([
            ("optimizer".to_string(), "adamw".to_string()),
            ("step".to_string(), self.step.to_string()),
        ]);
        (out, meta)
    }

    fn load_state(
        &mut self,
        tensors: &HashMap<String, Tensor>,
        meta: &BTreeMap<String, String>,
    ) -> Result<()> {
        super::check_kind(meta, "adamw")?;
        self.step = super::meta_step(meta)?;
        tch::no_grad(|| -> Result<()> {
            for s in &mut self.slots {
                for (key, dst) in [
                    (format!("{}.m", s.name), &mut s.m),
                    (format!("{}.v", s.name), &mut s.v),
                ] {
                    let src = tensors.get(&key).ok_or_else(|| {
                        Error::Checkpoint(format!("optimizer state lacks `{key}`"))
                    })?;
                    dst.f_copy_(src)?;
                }
            }
            Ok(())
        })
    }
}
