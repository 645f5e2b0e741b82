//! The calls into `dist.cpp`: a process group as an opaque handle that the
//! shim allocates and [`free`] releases.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, CStr, CString};

use tch::Tensor;
use torch_sys::C_tensor;

use crate::ffi::{handles, status, take_free};

/// `exc_group` in dist.cpp.
#[repr(C)]
pub(crate) struct RawGroup {
    _opaque: [u8; 0],
}

/// `exc_overlap` in dist.cpp.
#[repr(C)]
pub(crate) struct RawOverlap {
    _opaque: [u8; 0],
}

extern "C" {
    fn exc_dist_backends() -> *const c_char;
    fn exc_dist_new(
        backend: *const c_char,
        host: *const c_char,
        port: c_int,
        serve: bool,
        prefix: *const c_char,
        rank: c_int,
        world: c_int,
        timeout_ms: i64,
        out: *mut *mut RawGroup,
    ) -> *mut c_char;
    fn exc_dist_free(g: *mut RawGroup);
    fn exc_dist_allreduce_sum(
        g: *mut RawGroup,
        ts: *const *mut C_tensor,
        n: usize,
        bucket_bytes: i64,
        out: *mut i64,
    ) -> *mut c_char;
    fn exc_dist_broadcast(
        g: *mut RawGroup,
        ts: *const *mut C_tensor,
        n: usize,
        root: c_int,
    ) -> *mut c_char;
    fn exc_dist_barrier(g: *mut RawGroup) -> *mut c_char;
    fn exc_dist_store_set(
        g: *mut RawGroup,
        key: *const c_char,
        data: *const u8,
        len: usize,
    ) -> *mut c_char;
    fn exc_overlap_new(
        g: *mut RawGroup,
        ps: *const *mut C_tensor,
        n: usize,
        bucket_bytes: i64,
        out: *mut *mut RawOverlap,
    ) -> *mut c_char;
    fn exc_overlap_free(o: *mut RawOverlap);
    fn exc_overlap_arm(o: *mut RawOverlap) -> *mut c_char;
    fn exc_overlap_finish(
        o: *mut RawOverlap,
        extra: *const *mut C_tensor,
        n: usize,
        out: *mut i64,
    ) -> *mut c_char;
    fn exc_overlap_order(
        o: *mut RawOverlap,
        out: *mut i64,
        n: usize,
        len: *mut usize,
    ) -> *mut c_char;
    fn exc_overlap_relayout(o: *mut RawOverlap, order: *const i64, n: usize) -> *mut c_char;
    fn exc_dist_store_delete(g: *mut RawGroup, key: *const c_char) -> *mut c_char;
    fn exc_dist_store_get(
        g: *mut RawGroup,
        key: *const c_char,
        data: *mut *mut u8,
        len: *mut usize,
    ) -> *mut c_char;
}

fn cstr(what: &str, s: &str) -> Result<CString, String> {
    CString::new(s).map_err(|_| format!("{what} `{s}` holds a NUL byte"))
}

pub(crate) fn backends() -> String {
    // SAFETY: the shim returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(exc_dist_backends()) }
        .to_string_lossy()
        .into_owned()
}

/// The arguments of `exc_dist_new`.
pub(crate) struct NewArgs<'a> {
    pub backend: &'a str,
    pub host: &'a str,
    pub port: u16,
    pub serve: bool,
    pub prefix: &'a str,
    pub rank: usize,
    pub world: usize,
    pub timeout_ms: i64,
}

pub(crate) fn new(a: &NewArgs) -> Result<*mut RawGroup, String> {
    let backend = cstr("backend", a.backend)?;
    let host = cstr("host", a.host)?;
    let prefix = cstr("store prefix", a.prefix)?;
    let rank = c_int::try_from(a.rank).map_err(|_| format!("rank {} is too large", a.rank))?;
    let world = c_int::try_from(a.world).map_err(|_| format!("world {} is too large", a.world))?;
    let mut out: *mut RawGroup = std::ptr::null_mut();
    // SAFETY: the strings live for the call; `out` is written only on success.
    status(unsafe {
        exc_dist_new(
            backend.as_ptr(),
            host.as_ptr(),
            c_int::from(a.port),
            a.serve,
            prefix.as_ptr(),
            rank,
            world,
            a.timeout_ms,
            &mut out,
        )
    })?;
    Ok(out)
}

pub(crate) fn free(g: *mut RawGroup) {
    // SAFETY: `g` came from `new` and is freed once, by `Group`'s drop.
    unsafe { exc_dist_free(g) }
}

pub(crate) fn allreduce_sum(
    g: *mut RawGroup,
    ts: &[Tensor],
    bucket: i64,
) -> Result<[i64; 2], String> {
    let h = handles(ts);
    let mut out = [0i64; 2];
    // SAFETY: `g` is live; `h` holds live handles borrowed from `ts` for the
    // call; `out` has room for the two values written.
    status(unsafe { exc_dist_allreduce_sum(g, h.as_ptr(), h.len(), bucket, out.as_mut_ptr()) })?;
    Ok(out)
}

pub(crate) fn broadcast(g: *mut RawGroup, ts: &[Tensor], root: usize) -> Result<(), String> {
    let h = handles(ts);
    let root = c_int::try_from(root).map_err(|_| format!("root {root} is too large"))?;
    // SAFETY: as `allreduce_sum`.
    status(unsafe { exc_dist_broadcast(g, h.as_ptr(), h.len(), root) })
}

pub(crate) fn barrier(g: *mut RawGroup) -> Result<(), String> {
    // SAFETY: `g` is live.
    status(unsafe { exc_dist_barrier(g) })
}

pub(crate) fn store_set(g: *mut RawGroup, key: &str, data: &[u8]) -> Result<(), String> {
    let key = cstr("store key", key)?;
    // SAFETY: `g` is live; key and data are borrowed for the call.
    status(unsafe { exc_dist_store_set(g, key.as_ptr(), data.as_ptr(), data.len()) })
}

pub(crate) fn store_get(g: *mut RawGroup, key: &str) -> Result<Vec<u8>, String> {
    let key = cstr("store key", key)?;
    let (mut p, mut n): (*mut u8, usize) = (std::ptr::null_mut(), 0);
    // SAFETY: `g` is live; `p` and `n` are written on success only.
    status(unsafe { exc_dist_store_get(g, key.as_ptr(), &mut p, &mut n) })?;
    // SAFETY: on success `p` is a malloc'd buffer of at least `n` bytes
    // (one when `n` is 0), read once here and freed by the shim's free.
    let v = unsafe { std::slice::from_raw_parts(p, n) }.to_vec();
    take_free(p.cast());
    Ok(v)
}

pub(crate) fn store_delete(g: *mut RawGroup, key: &str) -> Result<(), String> {
    let key = cstr("store key", key)?;
    // SAFETY: `g` is live; the key is borrowed for the call.
    status(unsafe { exc_dist_store_delete(g, key.as_ptr()) })
}

pub(crate) fn overlap_new(
    g: *mut RawGroup,
    params: &[Tensor],
    bucket: i64,
) -> Result<*mut RawOverlap, String> {
    let h = handles(params);
    let mut out: *mut RawOverlap = std::ptr::null_mut();
    // SAFETY: `g` is live; the shim copies the tensors (reference counts)
    // out of the borrowed handles; `out` is written on success only.
    status(unsafe { exc_overlap_new(g, h.as_ptr(), h.len(), bucket, &mut out) })?;
    Ok(out)
}

pub(crate) fn overlap_free(o: *mut RawOverlap) {
    // SAFETY: `o` came from `overlap_new` and is freed once, by `Overlap`'s drop.
    unsafe { exc_overlap_free(o) }
}

pub(crate) fn overlap_arm(o: *mut RawOverlap) -> Result<(), String> {
    // SAFETY: `o` is live.
    status(unsafe { exc_overlap_arm(o) })
}

pub(crate) fn overlap_finish(o: *mut RawOverlap, extra: &[Tensor]) -> Result<[i64; 3], String> {
    let h = handles(extra);
    let mut out = [0i64; 3];
    // SAFETY: `o` is live; `h` holds live handles for the call; `out` has
    // room for the three values written.
    status(unsafe { exc_overlap_finish(o, h.as_ptr(), h.len(), out.as_mut_ptr()) })?;
    Ok(out)
}

pub(crate) fn overlap_order(o: *mut RawOverlap, max: usize) -> Result<Vec<i64>, String> {
    let mut out = vec![0i64; max];
    let mut len = 0usize;
    // SAFETY: `o` is live; `out` has room for `max` values, `len` is written.
    status(unsafe { exc_overlap_order(o, out.as_mut_ptr(), max, &mut len) })?;
    out.truncate(len);
    Ok(out)
}

pub(crate) fn overlap_relayout(o: *mut RawOverlap, order: &[i64]) -> Result<(), String> {
    // SAFETY: `o` is live; `order` is borrowed for the call.
    status(unsafe { exc_overlap_relayout(o, order.as_ptr(), order.len()) })
}
