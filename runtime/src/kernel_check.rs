//! Numerical checks of the fast kernels against the reference ones on a
//! device, at a precision: attention (output and the position bias's
//! gradient) and the fused RMS norm. `exc run` trains with a fast kernel
//! only when its check passes (`run::kernels`); `exc bench` reports the same
//! figures (`bench`). Both read this module, neither the other.

use tch::{nn, Device, Kind, Tensor};

use crate::model::layers::RmsNorm;
use crate::model::{AttentionImpl, NormImpl};

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

/// The largest relative error of the bias gradient an attention kernel
/// may show against the math path (the benchmark's rule).
pub const ATTENTION_GRAD_TOLERANCE: f64 = 0.05;

/// Checks attention kernel `imp` against the math path on `device` at
/// `kind`: the check's figures (max |out diff|, bias-gradient relative
/// error) when it ran, and why the kernel must not be used, if so (a wrong
/// bias gradient, or the kernel failed outright, e.g. a layout it refuses).
pub fn verify_attention(
    imp: AttentionImpl,
    device: Device,
    kind: Kind,
) -> (Option<(f64, f64)>, Option<String>) {
    match crate::guard::libtorch(|| Ok(check_attention(imp, device, kind))) {
        Ok((out, grad)) if grad.is_nan() || grad > ATTENTION_GRAD_TOLERANCE => (
            Some((out, grad)),
            Some(format!(
                "the {} attention kernel gives the position bias a wrong gradient on this \
                 device (relative error {grad:.3})",
                imp.name()
            )),
        ),
        Ok(figures) => (Some(figures), None),
        Err(e) => (
            None,
            Some(format!(
                "the {} attention kernel failed its check on this device: {e}",
                imp.name()
            )),
        ),
    }
}

/// Checks the fused RMS norm against the composite one on `device` at
/// `kind`, as [`verify_attention`] does.
pub fn verify_norm(device: Device, kind: Kind) -> (Option<NormCheck>, Option<String>) {
    match crate::guard::libtorch(|| Ok(check_norm(device, kind))) {
        Ok(c) if !c.ok() => (
            Some(c),
            Some(format!(
                "the fused RMS norm is further from float32 than the composite one on this \
                 device (output, input grad, weight grad: fused {:.1e}, composite {:.1e})",
                Fmt3(c.fused),
                Fmt3(c.composite)
            )),
        ),
        Ok(c) => (Some(c), None),
        Err(e) => (
            None,
            Some(format!(
                "the fused RMS norm failed its check on this device: {e}"
            )),
        ),
    }
}

/// Three relative errors, printed `a/b/c`.
struct Fmt3([f64; 3]);

impl std::fmt::LowerExp for Fmt3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c] = self.0;
        let p = f.precision().unwrap_or(1);
        write!(f, "{a:.p$e}/{b:.p$e}/{c:.p$e}")
    }
}
