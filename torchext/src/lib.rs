//! What tch does not bind, from a small C++ shim over libtorch (`ext.cpp`):
//!
//! - multi-tensor (`_foreach_*`) kernels: one op over a list of tensors,
//!   which on CUDA launches one kernel per chunk of the list instead of one
//!   per tensor (zeroing, copying, scaling and norming a model's ~300
//!   gradients or parameters are then a handful of launches, not ~300 each);
//! - an op counter over ATen's dispatcher ([`count_ops`]): how many ops a
//!   piece of code dispatches, and which, measured on any device. On a GPU
//!   each leaf op that computes is a kernel launch, so the count is how a
//!   CPU run checks a change that is meant to save launches, and it shows
//!   whether a step reads anything back to the host (`aten::_local_scalar_dense`).
//!
//! The workspace forbids unsafe code; the one module here that needs it
//! (`ffi`) passes tch's tensor handles to the shim and takes back new ones.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tch::{TchError, Tensor};

mod ffi;

/// An error from the shim (a C++ exception's message).
fn shim_error(call: &str, message: String) -> TchError {
    TchError::Torch(format!("{call}: {message}"))
}

fn same_len(call: &str, a: usize, b: usize) -> Result<(), TchError> {
    if a == b {
        Ok(())
    } else {
        Err(shim_error(
            call,
            format!("lists of different lengths ({a} and {b})"),
        ))
    }
}

/// `tensors[i].zero_()` for every `i`, as one multi-tensor op.
pub fn foreach_zero_(tensors: &[Tensor]) -> Result<(), TchError> {
    if tensors.is_empty() {
        return Ok(());
    }
    ffi::zero_(tensors).map_err(|m| shim_error("_foreach_zero_", m))
}

/// `dst[i].copy_(&src[i])` for every `i` (casting to `dst[i]`'s kind).
pub fn foreach_copy_(dst: &[Tensor], src: &[Tensor]) -> Result<(), TchError> {
    same_len("_foreach_copy_", dst.len(), src.len())?;
    if dst.is_empty() {
        return Ok(());
    }
    ffi::copy_(dst, src).map_err(|m| shim_error("_foreach_copy_", m))
}

/// `tensors[i] *= factor` for every `i`, with `factor` a 0-dim tensor on
/// the tensors' device (so no value is read back to the host).
pub fn foreach_mul_(tensors: &[Tensor], factor: &Tensor) -> Result<(), TchError> {
    if tensors.is_empty() {
        return Ok(());
    }
    ffi::mul_tensor_(tensors, factor).map_err(|m| shim_error("_foreach_mul_", m))
}

/// `dst[i] += alpha * other[i]` for every `i`.
pub fn foreach_add_(dst: &[Tensor], other: &[Tensor], alpha: f64) -> Result<(), TchError> {
    same_len("_foreach_add_", dst.len(), other.len())?;
    if dst.is_empty() {
        return Ok(());
    }
    ffi::add_list_(dst, other, alpha).map_err(|m| shim_error("_foreach_add_", m))
}

/// The `ord`-norm of each tensor, computed and returned in float32 (0-dim
/// tensors on the tensors' device).
pub fn foreach_norm(tensors: &[Tensor], ord: f64) -> Result<Vec<Tensor>, TchError> {
    if tensors.is_empty() {
        return Ok(Vec::new());
    }
    ffi::norm(tensors, ord).map_err(|m| shim_error("_foreach_norm", m))
}

/// What [`count_ops`] saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpCount {
    /// Every op dispatched, nested ones included.
    pub all: u64,
    /// Leaf ops by name (`aten::add_`, ...): ops that dispatched no other
    /// op, and multi-tensor ops (`aten::_foreach_*`) as one each, which is
    /// what they are on CUDA (one kernel per chunk of the list); on CPU they
    /// dispatch the per-tensor op for each tensor, which is not counted.
    pub leaves: BTreeMap<String, u64>,
}

/// Leaf ops that launch no kernel: they make or reshape tensor metadata
/// (views, empty allocations, detaching). The list is what T5's step uses.
const METADATA_OPS: &[&str] = &[
    "aten::empty",
    "aten::empty_strided",
    "aten::as_strided",
    "aten::view",
    "aten::_unsafe_view",
    "aten::_reshape_alias",
    "aten::alias",
    "aten::t",
    "aten::transpose",
    "aten::permute",
    "aten::expand",
    "aten::unsqueeze",
    "aten::squeeze",
    "aten::select",
    "aten::slice",
    "aten::narrow",
    "aten::unbind",
    "aten::split",
    "aten::split_with_sizes",
    "aten::chunk",
    "aten::detach",
    "aten::detach_",
    "aten::lift_fresh",
    "aten::resolve_conj",
    "aten::resolve_neg",
    "aten::resize_",
    "aten::set_",
    "aten::result_type",
    "aten::is_nonzero",
];

impl OpCount {
    /// Leaf ops that compute (not in the metadata list): on a GPU, about
    /// one kernel launch each (a multi-tensor op launches one per chunk).
    pub fn compute(&self) -> u64 {
        self.leaves
            .iter()
            .filter(|(name, _)| !METADATA_OPS.contains(&name.as_str()))
            .map(|(_, n)| n)
            .sum()
    }

    /// How many times `name` ran as a leaf.
    pub fn leaf(&self, name: &str) -> u64 {
        self.leaves.get(name).copied().unwrap_or(0)
    }

    /// Values read back to the host (`.item()`, `f64::try_from`, ...): each
    /// waits for the device to finish everything queued before it.
    pub fn host_reads(&self) -> u64 {
        self.leaf("aten::_local_scalar_dense")
    }

    /// The `n` most frequent compute ops, most frequent first.
    pub fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut ops: Vec<(String, u64)> = self
            .leaves
            .iter()
            .filter(|(name, _)| !METADATA_OPS.contains(&name.as_str()))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        ops.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ops.truncate(n);
        ops
    }
}

/// One counting at a time: the callback and its counts are process-wide.
static COUNTING: Mutex<()> = Mutex::new(());

/// Runs `f` and counts the ATen ops it dispatches (on every thread: the
/// autograd engine's too). Ops dispatched by other threads meanwhile are
/// counted as well, so count in a quiet process (a benchmark, or a test
/// binary with one test).
pub fn count_ops<T>(f: impl FnOnce() -> T) -> Result<(T, OpCount), TchError> {
    let _one = COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    ffi::ops_start().map_err(|m| shim_error("op counter", m))?;
    let out = f();
    ffi::ops_stop().map_err(|m| shim_error("op counter", m))?;
    let mut leaves = BTreeMap::new();
    for line in ffi::ops_leaves().lines() {
        if let Some((name, n)) = line.rsplit_once('\t') {
            if let Ok(n) = n.parse::<u64>() {
                leaves.insert(name.to_string(), n);
            }
        }
    }
    Ok((
        out,
        OpCount {
            all: ffi::ops_all(),
            leaves,
        },
    ))
}
