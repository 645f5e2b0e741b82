//! Adafactor (Shazeer & Stern, 2018) as T5 and T5X train with it:
//! factored second moments, decay rate 0.8 (beta2_t = 1 - t^-0.8), update
//! clipping at RMS 1.0, step size multiplied by the parameter's RMS, no
//! momentum by default. The arithmetic follows transformers'
//! `transformers.optimization.Adafactor` op for op (the parity goldens run
//! it with `relative_step=False, scale_parameter=True, decay_rate=-0.8`);
//! `min_dim_size_to_factor` adds T5X's rule of factoring only large matrices.
//!
//! Speed: parameters of one shape (T5-base has 282 tensors but only a
//! handful of shapes) are updated together as one stacked tensor, so a
//! step costs about 25 kernel launches per shape instead of about 25 per
//! tensor; the new values go back into the parameters with one
//! multi-tensor copy per group (`exc_torchext::foreach_copy_`). Multi-tensor
//! kernels alone would not do better: Adafactor's factored statistics are
//! reductions along rows and columns, which have no `_foreach_` form, while
//! a stack reduces every member at once. The state is kept stacked and
//! saved per parameter name, so files do not depend on it.
//! With `master_weights`, an fp32 copy of the parameters is updated and the
//! (bf16) model parameters are its rounding, so that small updates are not
//! lost to bf16 rounding.

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
    /// Whether parameters of equal shape are updated as one stacked tensor
    /// (fewer kernel launches, a few more memory passes). Results agree
    /// with tensor-by-tensor updates to float32 rounding.
    pub group_by_shape: Grouping,
    /// Keep float32 master weights (for bf16 parameters): they are created
    /// from the parameters when the optimizer is, so build the optimizer
    /// before casting the model to bf16.
    pub master_weights: bool,
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
            group_by_shape: Grouping::Auto,
            master_weights: false,
        }
    }
}

/// When [`Adafactor`] stacks same-shape parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// On CUDA, where each launch costs microseconds of host time; not on
    /// CPU, where launches are cheap and the stacking copies cost more.
    Auto,
    Always,
    Never,
}

/// Second-moment statistics, stacked over a group's members (dim 0).
#[derive(Debug)]
enum Second {
    Factored { row: Tensor, col: Tensor },
    Full(Tensor),
}

/// Parameters of one shape and kind, with their stacked state.
#[derive(Debug)]
struct Group {
    names: Vec<String>,
    params: Vec<Tensor>,
    second: Second,
    first: Option<Tensor>,
    master: Option<Tensor>,
}

/// Adafactor over a fixed list of named parameters.
#[derive(Debug)]
pub struct Adafactor {
    cfg: AdafactorConfig,
    groups: Vec<Group>,
    step: i64,
}

/// Root mean square of each member of a stacked tensor, `[n, 1, ..., 1]`.
fn rms(t: &Tensor) -> Tensor {
    let dims: Vec<i64> = (1..t.dim() as i64).collect();
    let per = t.numel() as f64 / t.size().first().copied().unwrap_or(1).max(1) as f64;
    if dims.is_empty() {
        return t.abs();
    }
    t.norm_scalaropt_dim(2, dims.as_slice(), true) / per.sqrt()
}

/// Copies the stacked new values `new` into the group's parameters. For
/// several members they are first rounded to the parameters' kind in one op
/// over the stack, so that the multi-tensor copy has lists of one kind,
/// which CUDA fuses (a copy that also casts may run tensor by tensor); a
/// lone member is copied (and cast) directly.
fn write_back(params: &[Tensor], new: &Tensor) -> Result<()> {
    let kind = params.first().map_or(Kind::Float, Tensor::kind);
    let new = if params.len() > 1 && new.kind() != kind {
        new.to_kind(kind)
    } else {
        new.shallow_clone()
    };
    exc_torchext::foreach_copy_(params, &new.unbind(0))?;
    Ok(())
}

impl Group {
    fn new(cfg: &AdafactorConfig, names: Vec<String>, params: Vec<Tensor>) -> Group {
        let n = params.len() as i64;
        let size = params.first().map(|p| p.size()).unwrap_or_default();
        let dev = params
            .first()
            .map(|p| p.device())
            .unwrap_or(tch::Device::Cpu);
        let opts = (Kind::Float, dev);
        let mut stacked = vec![n];
        stacked.extend_from_slice(&size);
        let d = size.len();
        let factored = d >= 2
            && size[d - 2..]
                .iter()
                .all(|&x| x >= cfg.min_dim_size_to_factor);
        let second = if factored {
            // row drops the last dim, col the second to last.
            let row = &stacked[..stacked.len() - 1];
            let mut col = stacked[..stacked.len() - 2].to_vec();
            col.push(size[d - 1]);
            Second::Factored {
                row: Tensor::zeros(row, opts),
                col: Tensor::zeros(col, opts),
            }
        } else {
            Second::Full(Tensor::zeros(&stacked, opts))
        };
        let first = cfg.beta1.map(|_| Tensor::zeros(&stacked, opts));
        let master = cfg
            .master_weights
            .then(|| tch::no_grad(|| Tensor::stack(&params, 0).to_kind(Kind::Float).detach()));
        Group {
            names,
            params,
            second,
            first,
            master,
        }
    }

    /// Updates members `start..start + len` (one stacked computation) from
    /// their gradients `grads`.
    fn update(
        &mut self,
        c: &AdafactorConfig,
        lr: f64,
        beta2t: f64,
        start: i64,
        grads: &[Tensor],
    ) -> Result<()> {
        let len = grads.len() as i64;
        let part = |t: &Tensor| t.narrow(0, start, len);
        let params = &self.params[start as usize..(start + len) as usize];
        // One member: views, no stacking copies.
        let grad = match grads {
            [g] => g.unsqueeze(0),
            _ => Tensor::stack(grads, 0),
        }
        .to_kind(Kind::Float);
        // A lone float32 parameter without master is updated in place.
        let in_place = self.master.is_none() && len == 1 && params[0].kind() == Kind::Float;
        let mut p32 = match (&self.master, params) {
            (Some(m), _) => part(m),
            (None, [p]) if in_place => p.unsqueeze(0),
            (None, _) => Tensor::stack(params, 0).to_kind(Kind::Float),
        };
        let lr_t = if c.multiply_by_parameter_scale {
            rms(&p32).clamp_min(c.eps2) * lr
        } else {
            // Filled on the device: a host scalar copied there would make
            // the host wait for the queued step.
            Tensor::full([] as [i64; 0], lr, (Kind::Float, p32.device()))
        };
        let sq = grad.square() + c.eps1;
        let mut update = match &mut self.second {
            Second::Factored { row, col } => {
                let (mut row, mut col) = (part(row), part(col));
                let _ = row
                    .g_mul_scalar_(beta2t)
                    .g_add_(&(sq.mean_dim(-1, false, Kind::Float) * (1.0 - beta2t)));
                let _ = col
                    .g_mul_scalar_(beta2t)
                    .g_add_(&(sq.mean_dim(-2, false, Kind::Float) * (1.0 - beta2t)));
                let r = (&row / row.mean_dim(-1, true, Kind::Float))
                    .rsqrt()
                    .unsqueeze(-1);
                let cf = col.unsqueeze(-2).rsqrt();
                r * cf * &grad
            }
            Second::Full(v) => {
                let mut v = part(v);
                let _ = v.g_mul_scalar_(beta2t).g_add_(&(sq * (1.0 - beta2t)));
                v.rsqrt() * &grad
            }
        };
        update = &update / (rms(&update) / c.clip_threshold).clamp_min(1.0);
        update *= &lr_t;
        if let (Some(m), Some(b1)) = (&self.first, c.beta1) {
            let mut m = part(m);
            let _ = m.g_mul_scalar_(b1).g_add_(&(&update * (1.0 - b1)));
            update = m;
        }
        if in_place || self.master.is_some() {
            // p32 is the parameter (or its master) itself: same arithmetic
            // as below, written in place.
            if c.weight_decay != 0.0 {
                let decay = &p32 * (&lr_t * c.weight_decay);
                let _ = p32.g_sub_(&decay);
            }
            let _ = p32.g_sub_(&update);
            if let Some(m) = &self.master {
                write_back(params, &part(m))?;
            }
            return Ok(());
        }
        if c.weight_decay != 0.0 {
            p32 = &p32 - &p32 * (&lr_t * c.weight_decay);
        }
        write_back(params, &(p32 - update))?;
        Ok(())
    }

    /// Named views of member `i`'s state.
    fn state_of(&self, i: usize) -> Vec<(String, Tensor)> {
        let name = &self.names[i];
        let at = |t: &Tensor| t.select(0, i as i64);
        let mut out = match &self.second {
            Second::Factored { row, col } => vec![
                (format!("{name}.v_row"), at(row)),
                (format!("{name}.v_col"), at(col)),
            ],
            Second::Full(v) => vec![(format!("{name}.v"), at(v))],
        };
        if let Some(m) = &self.first {
            out.push((format!("{name}.m"), at(m)));
        }
        if let Some(m) = &self.master {
            out.push((format!("{name}.master"), at(m)));
        }
        out
    }
}

impl Adafactor {
    /// Optimises every trainable variable of `vs` (sorted by name, so the
    /// state layout is stable across runs).
    pub fn new(vs: &tch::nn::VarStore, cfg: AdafactorConfig) -> Self {
        // Group members in name order; groups in order of first appearance.
        let mut keys: Vec<(Vec<i64>, Kind)> = Vec::new();
        let mut members: Vec<(Vec<String>, Vec<Tensor>)> = Vec::new();
        for (name, param) in named_params(vs) {
            let key = (param.size(), param.kind());
            let group = match cfg.group_by_shape {
                Grouping::Auto => param.device().is_cuda(),
                Grouping::Always => true,
                Grouping::Never => false,
            };
            let at = if group {
                keys.iter().position(|k| *k == key)
            } else {
                None
            };
            let at = at.unwrap_or_else(|| {
                keys.push(key);
                members.push((Vec::new(), Vec::new()));
                members.len() - 1
            });
            members[at].0.push(name);
            members[at].1.push(param);
        }
        let groups = members
            .into_iter()
            .map(|(names, params)| Group::new(&cfg, names, params))
            .collect();
        Adafactor {
            cfg,
            groups,
            step: 0,
        }
    }

    /// Steps taken so far.
    pub fn step_count(&self) -> i64 {
        self.step
    }

    /// Number of stacked updates a step makes (for launch-count reports).
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// One update with learning rate `lr` from the gradients in `.grad()`;
    /// parameters without a gradient are left alone.
    pub fn step(&mut self, lr: f64) -> Result<()> {
        self.step += 1;
        let c = self.cfg.clone();
        let beta2t = 1.0 - (self.step as f64).powf(-c.decay_rate);
        tch::no_grad(|| {
            for g in &mut self.groups {
                let grads: Vec<Tensor> = g.params.iter().map(|p| p.grad()).collect();
                if grads.iter().all(Tensor::defined) {
                    g.update(&c, lr, beta2t, 0, &grads)?;
                } else {
                    // Rare (a parameter unused by the loss): member by member.
                    for (i, grad) in grads.iter().enumerate() {
                        if grad.defined() {
                            g.update(&c, lr, beta2t, i as i64, std::slice::from_ref(grad))?;
                        }
                    }
                }
            }
            Ok(())
        })
    }
}

impl OptimState for Adafactor {
    fn state_tensors(&self) -> (Vec<(String, Tensor)>, BTreeMap<String, String>) {
        let mut out = Vec::new();
        for g in &self.groups {
            for i in 0..g.names.len() {
                out.extend(g.state_of(i));
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
            for g in &self.groups {
                for i in 0..g.names.len() {
                    for (key, mut dst) in g.state_of(i) {
                        let src = match tensors.get(&key) {
                            Some(t) => t,
                            // A state saved without master weights: start
                            // them from the parameters as they are.
                            None if key.ends_with(".master") => &g.params[i],
                            None => {
                                return Err(Error::Checkpoint(format!(
                                    "optimizer state lacks `{key}`"
                                )))
                            }
                        };
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

    /// A store with several parameters per shape (as T5 has).
    fn store() -> nn::VarStore {
        let vs = nn::VarStore::new(Device::Cpu);
        let p = vs.root();
        for i in 0..3 {
            for (name, size, scale) in [
                ("m", [160i64, 130].as_slice(), 0.05),
                ("s", &[8, 5], 0.5),
                ("n", &[130], 1.0),
            ] {
                let mut t = p.var(&format!("{name}{i}"), size, nn::Init::Const(0.0));
                tch::no_grad(|| t.copy_(&wave(size, i as f64, scale)));
            }
        }
        vs
    }

    fn set_grads(vs: &nn::VarStore, step: i64) {
        for (k, (_, mut p)) in named_params(vs).into_iter().enumerate() {
            let loss = (&p * wave(&p.size(), (step * 7 + k as i64) as f64, 1.0)).sum(Kind::Float);
            p.zero_grad();
            loss.backward();
        }
    }

    fn train(group_by_shape: Grouping, beta1: Option<f64>) -> Vec<(String, Tensor)> {
        let vs = store();
        let cfg = AdafactorConfig {
            group_by_shape,
            beta1,
            weight_decay: 0.01,
            ..Default::default()
        };
        let mut opt = Adafactor::new(&vs, cfg);
        for step in 0..4 {
            set_grads(&vs, step);
            opt.step(0.01).unwrap();
        }
        named_params(&vs)
    }

    #[test]
    fn grouped_update_equals_tensor_by_tensor() {
        for beta1 in [None, Some(0.9)] {
            let a = train(Grouping::Always, beta1);
            let b = train(Grouping::Never, beta1);
            for ((name, x), (_, y)) in a.iter().zip(b.iter()) {
                let diff = (x - y).abs().max().double_value(&[]);
                assert!(diff < 1e-6, "{name}: {diff}");
            }
        }
        let vs = store();
        let always = AdafactorConfig {
            group_by_shape: Grouping::Always,
            ..Default::default()
        };
        assert_eq!(Adafactor::new(&vs, always).group_count(), 3);
        // Auto does not group on CPU.
        assert_eq!(
            Adafactor::new(&vs, AdafactorConfig::default()).group_count(),
            9
        );
    }

    #[test]
    fn master_weights_keep_bf16_training_on_the_fp32_path() {
        for grouping in [Grouping::Always, Grouping::Never] {
            master_run(grouping);
        }
    }

    fn master_run(grouping: Grouping) {
        let reference = train(Grouping::Always, None);
        let mut vs = store();
        let cfg = AdafactorConfig {
            group_by_shape: grouping,
            master_weights: true,
            weight_decay: 0.01,
            ..Default::default()
        };
        let mut opt = Adafactor::new(&vs, cfg);
        vs.bfloat16();
        for step in 0..4 {
            set_grads(&vs, step);
            opt.step(0.01).unwrap();
        }
        for ((name, x), (_, y)) in named_params(&vs).iter().zip(reference.iter()) {
            assert_eq!(x.kind(), Kind::BFloat16);
            // Parameters are the bf16 rounding of (nearly) the fp32 run:
            // bf16 keeps 8 bits, so relative error < 2^-8 plus the effect of
            // bf16 gradients on the update.
            let rel = ((x.to_kind(Kind::Float) - y).abs() / (y.abs() + 1e-3))
                .max()
                .double_value(&[]);
            assert!(rel < 1e-2, "{name}: {rel}");
        }
        // The state carries the masters, and a restore reads them back.
        let (tensors, _) = opt.state_tensors();
        assert!(tensors.iter().any(|(n, _)| n == "m0.master"));
    }
}
