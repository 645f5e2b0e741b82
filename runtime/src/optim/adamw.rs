//! AdamW (Loshchilov & Hutter) with PyTorch's `torch.optim.AdamW` arithmetic:
//! decoupled decay `p *= 1 - lr * wd`, bias-corrected moments.
//! With `master_weights`, an fp32 copy of each parameter is updated and the
//! (bf16) parameter is its rounding, as in [`super::Adafactor`].

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
    /// Keep float32 master weights (for bf16 parameters): they are created
    /// from the parameters when the optimizer is, so build the optimizer
    /// before casting the model to bf16.
    pub master_weights: bool,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
            master_weights: false,
        }
    }
}

#[derive(Debug)]
struct Slot {
    name: String,
    param: Tensor,
    m: Tensor,
    v: Tensor,
    master: Option<Tensor>,
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
                let master = cfg
                    .master_weights
                    .then(|| tch::no_grad(|| param.to_kind(Kind::Float).detach().copy()));
                Slot {
                    name,
                    m: z.zeros_like(),
                    v: z,
                    param,
                    master,
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
                let mut p = match &s.master {
                    Some(m) => m.shallow_clone(),
                    None => s.param.to_kind(Kind::Float),
                };
                p = &p * (1.0 - lr * c.weight_decay);
                let _ = s.m.lerp_(&g, 1.0 - c.beta1);
                let _ =
                    s.v.g_mul_scalar_(c.beta2)
                        .g_add_(&(&g * &g * (1.0 - c.beta2)));
                let denom = s.v.sqrt() / bc2.sqrt() + c.eps;
                let new = p - (&s.m / denom) * (lr / bc1);
                if let Some(m) = &mut s.master {
                    m.copy_(&new);
                }
                // copy_ rounds to the parameter's kind (bf16) itself.
                s.param.copy_(&new);
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
            if let Some(m) = &s.master {
                out.push((format!("{}.master", s.name), m.shallow_clone()));
            }
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
                if let Some(m) = &mut s.master {
                    // A state saved without master weights: start them from
                    // the parameters as they are.
                    let key = format!("{}.master", s.name);
                    m.f_copy_(tensors.get(&key).unwrap_or(&s.param))?;
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device};

    use super::super::wave;

    fn store() -> nn::VarStore {
        let vs = nn::VarStore::new(Device::Cpu);
        for (name, size) in [("a", [16i64, 12].as_slice()), ("b", &[12])] {
            let mut t = vs.root().var(name, size, nn::Init::Const(0.0));
            tch::no_grad(|| t.copy_(&wave(size, size.len() as f64, 0.5)));
        }
        vs
    }

    fn set_grads(vs: &nn::VarStore, step: i64) {
        for (k, (_, mut p)) in named_params(vs).into_iter().enumerate() {
            let w = wave(&p.size(), (step * 7 + k as i64) as f64, 1.0).to_kind(p.kind());
            p.zero_grad();
            (&p * w).sum(Kind::Float).backward();
        }
    }

    fn config(master_weights: bool) -> AdamWConfig {
        AdamWConfig {
            master_weights,
            ..AdamWConfig::default()
        }
    }

    #[test]
    fn master_weights_keep_bf16_training_on_the_fp32_path() {
        let reference = store();
        let mut opt = AdamW::new(&reference, config(false));
        let mut vs = store();
        let mut bf16 = AdamW::new(&vs, config(true));
        vs.bfloat16();
        for step in 0..5 {
            set_grads(&reference, step);
            opt.step(1e-3);
            set_grads(&vs, step);
            bf16.step(1e-3);
        }
        let (state, _) = bf16.state_tensors();
        let masters: HashMap<String, Tensor> = state
            .into_iter()
            .filter_map(|(n, t)| Some((n.strip_suffix(".master")?.to_string(), t)))
            .collect();
        for ((name, x), (_, y)) in named_params(&vs).iter().zip(named_params(&reference)) {
            assert_eq!(x.kind(), Kind::BFloat16);
            let m = &masters[name];
            // The parameter is its master's rounding; the master follows
            // the fp32 run up to the effect of bf16 gradients (the steps of
            // 1e-3 are below bf16's resolution at these magnitudes, so
            // without masters they would be lost).
            assert!(x.equal(&m.to_kind(Kind::BFloat16)), "{name}");
            let diff = (m - &y).abs().max().double_value(&[]);
            assert!(diff < 1e-4, "{name}: {diff}");
            assert!(!m.equal(&m.to_kind(Kind::BFloat16).to_kind(Kind::Float)));
        }
        // A state without masters takes them from the parameters.
        let (state, meta) = bf16.state_tensors();
        let rest: HashMap<String, Tensor> = state
            .into_iter()
            .filter(|(n, _)| !n.ends_with(".master"))
            .collect();
        let fresh = store();
        let mut again = AdamW::new(&fresh, config(true));
        again.load_state(&rest, &meta).unwrap();
        let (state, _) = again.state_tensors();
        let m = state.iter().find(|(n, _)| n == "a.master").unwrap();
        assert!(m.1.equal(&wave(&[16, 12], 2.0, 0.5)));
    }
}
