//! What tch does not bind, from a small C++ shim over libtorch (`ext.cpp`):
//!
//! - multi-tensor (`_foreach_*`) kernels: one op over a list of tensors,
//!   which on CUDA launches one kernel per chunk of the list instead of one
//!   per tensor (zeroing, copying, scaling and norming a model's ~300
//!   gradients or parameters are then a handful of launches, not ~300 each);
//! - an op counter over ATen's dispatcher ([`count_ops`]): which ops a
//!   piece of code calls, measured on any device. On a GPU each call that
//!   computes is about one kernel launch, so the count is how a CPU run
//!   checks a change meant to save launches; it also shows whether the code
//!   reads anything back to the host (`aten::_local_scalar_dense`).
//!
//! - TF32 for float32 matmuls ([`set_tf32_matmul`]);
//! - the accelerator's caching-allocator statistics ([`device_memory`]):
//!   peak allocated and reserved bytes, as `torch.cuda.max_memory_*` gives.
//!
//! - collectives over libtorch's c10d ([`dist::Group`]: Gloo on CPU, NCCL
//!   on CUDA), for data-parallel training.
//!
//! The workspace forbids unsafe code; the one module here that needs it
//! (`ffi`) passes tch's tensor handles to the shim and takes back new ones.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tch::{TchError, Tensor};

pub mod dist;
mod ffi;
mod ffi_dist;

/// An error from the shim (a C++ exception's message, without the C++
/// backtrace libtorch appends after "Exception raised from").
fn shim_error(call: &str, message: String) -> TchError {
    let text = message
        .split("\nException raised from")
        .next()
        .unwrap_or(&message)
        .trim_end();
    TchError::Torch(format!("{call}: {text}"))
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

/// Removes the gradients of `params` (torch's `zero_grad(set_to_none=True)`):
/// the next backward writes each gradient afresh instead of adding it to a
/// zeroed one, which saves a kernel and a pass over the gradient per tensor.
pub fn clear_grads(params: &[Tensor]) -> Result<(), TchError> {
    let none = vec![None; params.len()];
    ffi::set_grads(params, &none).map_err(|m| shim_error("clear grads", m))
}

/// Makes `grads[i]` the gradient of `params[i]` (the tensor itself, not a
/// copy; it must match the parameter's shape, kind and device).
pub fn set_grads(params: &[Tensor], grads: &[Tensor]) -> Result<(), TchError> {
    same_len("set grads", params.len(), grads.len())?;
    for (p, g) in params.iter().zip(grads) {
        if p.size() != g.size() || p.kind() != g.kind() || p.device() != g.device() {
            return Err(shim_error(
                "set grads",
                format!(
                    "a {:?} {:?} gradient on {:?} for a {:?} {:?} parameter on {:?}",
                    g.kind(),
                    g.size(),
                    g.device(),
                    p.kind(),
                    p.size(),
                    p.device()
                ),
            ));
        }
    }
    let some: Vec<Option<&Tensor>> = grads.iter().map(Some).collect();
    ffi::set_grads(params, &some).map_err(|m| shim_error("set grads", m))
}

/// The caching allocator's figures for one accelerator device, in bytes
/// (what `torch.cuda.memory_allocated` and friends report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceMemory {
    /// Held by live tensors now.
    pub allocated: u64,
    /// The most held by live tensors since the last reset.
    pub peak_allocated: u64,
    /// Reserved from the device by the allocator now (allocated + cached).
    pub reserved: u64,
    /// The most reserved since the last reset: what decides whether a
    /// batch fits.
    pub peak_reserved: u64,
}

/// The allocator's figures for accelerator `device` (CUDA: `cuda:device`).
/// An error where there is no accelerator, e.g. on a CPU-only machine.
pub fn device_memory(device: usize) -> Result<DeviceMemory, TchError> {
    let v = ffi::device_memory(device as i64).map_err(|m| shim_error("device memory", m))?;
    let b = |x: i64| u64::try_from(x).unwrap_or(0);
    Ok(DeviceMemory {
        allocated: b(v[0]),
        peak_allocated: b(v[1]),
        reserved: b(v[2]),
        peak_reserved: b(v[3]),
    })
}

/// Starts the allocator's peaks of `device` afresh.
pub fn reset_peak_memory(device: usize) -> Result<(), TchError> {
    ffi::device_reset_peak(device as i64).map_err(|m| shim_error("device memory", m))
}

/// Gives the caching allocator's unused blocks back to the accelerator
/// (`torch.cuda.empty_cache()`), e.g. before another process needs the
/// device's memory. An error where there is no accelerator.
pub fn empty_cache() -> Result<(), TchError> {
    ffi::device_empty_cache().map_err(|m| shim_error("device memory", m))
}

/// Allows (or forbids) TF32 for float32 matmuls on CUDA, process-wide
/// (`torch.set_float32_matmul_precision("high")` / `"highest"`). CPU
/// matmuls are not affected.
pub fn set_tf32_matmul(on: bool) -> Result<(), TchError> {
    ffi::set_tf32_matmul(on).map_err(|m| shim_error("TF32", m))
}

/// Whether float32 matmuls on CUDA may use TF32.
pub fn tf32_matmul() -> bool {
    ffi::tf32_matmul()
}

/// What [`count_ops`] saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpCount {
    /// Every op dispatched, nested ones and views included.
    pub all: u64,
    /// The ops the code dispatched itself (outermost, or directly inside an
    /// autograd node during backward) that reached a kernel, by name
    /// (`aten::add_`, ...): views and no-op conversions are not here. On a
    /// GPU each is about one kernel launch: a multi-tensor op
    /// (`aten::_foreach_*`) one per chunk of its list, a composite such as
    /// cross-entropy a few.
    pub calls: BTreeMap<String, u64>,
    /// Values read back to the host (`aten::_local_scalar_dense`, at any
    /// depth: `.item()`, `f64::try_from`, ...): each waits for the device
    /// to finish everything queued before it.
    pub host_reads: u64,
    /// Per-tensor ops run inside multi-tensor calls: the call fell back to
    /// one op per tensor instead of its fused kernels. Always so on CPU
    /// (libtorch has no fused CPU path); on CUDA, 0 means every
    /// multi-tensor call took the fused path (lists of mixed kinds, for
    /// one, do not).
    pub multi_tensor_fallbacks: u64,
}

impl OpCount {
    /// The calls that reached a kernel: about the kernel launches on a GPU.
    pub fn launches(&self) -> u64 {
        self.calls.values().sum()
    }

    /// How many times `name` was called.
    pub fn calls_of(&self, name: &str) -> u64 {
        self.calls.get(name).copied().unwrap_or(0)
    }

    /// The `n` most frequent calls, most frequent first.
    pub fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut ops: Vec<(String, u64)> = self.calls.iter().map(|(k, v)| (k.clone(), *v)).collect();
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
    let mut calls = BTreeMap::new();
    let text = ffi::ops_calls().map_err(|m| shim_error("op counter", m))?;
    for line in text.lines() {
        if let Some((name, n)) = line.rsplit_once('\t') {
            if let Ok(n) = n.parse::<u64>() {
                calls.insert(name.to_string(), n);
            }
        }
    }
    Ok((
        out,
        OpCount {
            all: ffi::ops_all(),
            calls,
            host_reads: ffi::ops_host_reads(),
            multi_tensor_fallbacks: ffi::ops_multi_fallbacks(),
        },
    ))
}
