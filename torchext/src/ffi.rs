//! The calls into `ext.cpp`. Each shim function takes tch's tensor handles
//! (`*mut C_tensor`, a heap `torch::Tensor` that tch owns), catches every
//! C++ exception and returns its message as a malloc'd string, NULL on
//! success.
#![allow(unsafe_code)]

use std::ffi::{c_char, CStr};

use tch::Tensor;
use torch_sys::C_tensor;

extern "C" {
    fn exc_torchext_free(p: *mut c_char);
    fn exc_foreach_zero_(ts: *const *mut C_tensor, n: usize) -> *mut c_char;
    fn exc_foreach_copy_(
        ts: *const *mut C_tensor,
        src: *const *mut C_tensor,
        n: usize,
    ) -> *mut c_char;
    fn exc_foreach_mul_tensor_(ts: *const *mut C_tensor, n: usize, t: *mut C_tensor)
        -> *mut c_char;
    fn exc_foreach_add_list_(
        ts: *const *mut C_tensor,
        other: *const *mut C_tensor,
        n: usize,
        alpha: f64,
    ) -> *mut c_char;
    fn exc_foreach_norm(
        ts: *const *mut C_tensor,
        n: usize,
        ord: f64,
        out: *mut *mut C_tensor,
    ) -> *mut c_char;
    fn exc_set_grads(
        params: *const *mut C_tensor,
        grads: *const *mut C_tensor,
        n: usize,
    ) -> *mut c_char;
    fn exc_device_memory(device: i64, out: *mut i64) -> *mut c_char;
    fn exc_device_reset_peak(device: i64) -> *mut c_char;
    fn exc_device_empty_cache() -> *mut c_char;
    fn exc_set_tf32_matmul(on: bool) -> *mut c_char;
    fn exc_tf32_matmul() -> bool;
    fn exc_ops_start() -> *mut c_char;
    fn exc_ops_stop() -> *mut c_char;
    fn exc_ops_all() -> u64;
    fn exc_ops_host_reads() -> u64;
    fn exc_ops_multi_fallbacks() -> u64;
    fn exc_ops_calls() -> *mut c_char;
}

/// The handles of `ts`, valid while `ts` is borrowed.
pub(crate) fn handles(ts: &[Tensor]) -> Vec<*mut C_tensor> {
    ts.iter().map(|t| t.as_ptr() as *mut C_tensor).collect()
}

/// Takes a message the shim malloc'd (NULL: none) and frees it.
fn take(p: *mut c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: a non-NULL result is a NUL-terminated string from ext.cpp's
    // `message` or `copy` (malloc'd, or its static out-of-memory text),
    // read once here and released with the shim's free, which knows both.
    let text = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    // SAFETY: as above; `p` is not used after this.
    unsafe { exc_torchext_free(p) };
    Some(text)
}

/// Frees a buffer the shim malloc'd (not a message: nothing is read).
pub(crate) fn take_free(p: *mut c_char) {
    if !p.is_null() {
        // SAFETY: `p` was malloc'd by the shim and is not used after this.
        unsafe { exc_torchext_free(p) };
    }
}

pub(crate) fn status(p: *mut c_char) -> Result<(), String> {
    match take(p) {
        None => Ok(()),
        Some(m) => Err(m),
    }
}

pub(crate) fn zero_(ts: &[Tensor]) -> Result<(), String> {
    let h = handles(ts);
    // SAFETY: `h` holds `h.len()` live handles borrowed from `ts`; the shim
    // only reads them during the call.
    status(unsafe { exc_foreach_zero_(h.as_ptr(), h.len()) })
}

pub(crate) fn copy_(dst: &[Tensor], src: &[Tensor]) -> Result<(), String> {
    let (d, s) = (handles(dst), handles(src));
    // SAFETY: both lists hold `d.len()` live handles (the caller checked the
    // lengths), only read during the call.
    status(unsafe { exc_foreach_copy_(d.as_ptr(), s.as_ptr(), d.len()) })
}

pub(crate) fn mul_tensor_(ts: &[Tensor], factor: &Tensor) -> Result<(), String> {
    let h = handles(ts);
    let f = factor.as_ptr() as *mut C_tensor;
    // SAFETY: live handles borrowed for the call, only read by the shim.
    status(unsafe { exc_foreach_mul_tensor_(h.as_ptr(), h.len(), f) })
}

pub(crate) fn add_list_(dst: &[Tensor], other: &[Tensor], alpha: f64) -> Result<(), String> {
    let (d, o) = (handles(dst), handles(other));
    // SAFETY: both lists hold `d.len()` live handles, only read by the shim.
    status(unsafe { exc_foreach_add_list_(d.as_ptr(), o.as_ptr(), d.len(), alpha) })
}

pub(crate) fn norm(ts: &[Tensor], ord: f64) -> Result<Vec<Tensor>, String> {
    let h = handles(ts);
    let mut out: Vec<*mut C_tensor> = vec![std::ptr::null_mut(); h.len()];
    // SAFETY: `h` holds live handles; `out` has room for one new handle per
    // input, which the shim fills only on success.
    status(unsafe { exc_foreach_norm(h.as_ptr(), h.len(), ord, out.as_mut_ptr()) })?;
    Ok(out
        .into_iter()
        // SAFETY: each is a `new torch::Tensor` from the shim that nothing
        // else owns; tch's `Tensor` takes it over and frees it on drop.
        .map(|p| unsafe { Tensor::from_ptr(p) })
        .collect())
}

/// `grads[i]` `None`: no gradient.
pub(crate) fn set_grads(params: &[Tensor], grads: &[Option<&Tensor>]) -> Result<(), String> {
    let p = handles(params);
    let g: Vec<*mut C_tensor> = grads
        .iter()
        .map(|g| g.map_or(std::ptr::null_mut(), |t| t.as_ptr() as *mut C_tensor))
        .collect();
    // SAFETY: both lists hold `p.len()` entries (the caller checked), live
    // handles or NULL; the shim copies the tensors (reference counts), so
    // nothing it keeps points into these lists.
    status(unsafe { exc_set_grads(p.as_ptr(), g.as_ptr(), p.len()) })
}

pub(crate) fn device_memory(device: i64) -> Result<[i64; 4], String> {
    let mut out = [0i64; 4];
    // SAFETY: `out` has room for the four values the shim writes.
    status(unsafe { exc_device_memory(device, out.as_mut_ptr()) })?;
    Ok(out)
}

pub(crate) fn device_reset_peak(device: i64) -> Result<(), String> {
    // SAFETY: no pointers; errors come back as a message.
    status(unsafe { exc_device_reset_peak(device) })
}

pub(crate) fn device_empty_cache() -> Result<(), String> {
    // SAFETY: takes no arguments; the result is a message or NULL.
    status(unsafe { exc_device_empty_cache() })
}

pub(crate) fn set_tf32_matmul(on: bool) -> Result<(), String> {
    // SAFETY: no pointers; errors come back as a message.
    status(unsafe { exc_set_tf32_matmul(on) })
}

pub(crate) fn tf32_matmul() -> bool {
    // SAFETY: reads a flag of libtorch's global context.
    unsafe { exc_tf32_matmul() }
}

pub(crate) fn ops_start() -> Result<(), String> {
    // SAFETY: no arguments; the shim serialises nothing, the caller holds
    // the crate's counting lock.
    status(unsafe { exc_ops_start() })
}

pub(crate) fn ops_stop() -> Result<(), String> {
    // SAFETY: as `ops_start`.
    status(unsafe { exc_ops_stop() })
}

pub(crate) fn ops_all() -> u64 {
    // SAFETY: reads an atomic counter.
    unsafe { exc_ops_all() }
}

pub(crate) fn ops_host_reads() -> u64 {
    // SAFETY: reads an atomic counter.
    unsafe { exc_ops_host_reads() }
}

pub(crate) fn ops_multi_fallbacks() -> u64 {
    // SAFETY: reads an atomic counter.
    unsafe { exc_ops_multi_fallbacks() }
}

pub(crate) fn ops_calls() -> Result<String, String> {
    // SAFETY: returns a malloc'd string, or NULL on allocation failure.
    take(unsafe { exc_ops_calls() })
        .ok_or_else(|| "out of host memory while copying the op counts".to_string())
}
