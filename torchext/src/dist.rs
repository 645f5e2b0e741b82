//! Collectives over libtorch's c10d ([`Group`]): a TCPStore rendezvous and
//! ProcessGroupGloo (CPU tensors) or ProcessGroupNCCL (CUDA tensors), the
//! engine PyTorch's DDP runs on.

use tch::{TchError, Tensor};

use crate::ffi_dist::{self, NewArgs, RawGroup};
use crate::shim_error;

/// The backends this build can create (`gloo`, `nccl`), as compiled in.
pub fn backends() -> Vec<String> {
    ffi_dist::backends()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// How to meet the other processes.
#[derive(Debug, Clone)]
pub struct GroupOptions {
    /// `gloo` or `nccl`.
    pub backend: String,
    /// The store's host (`MASTER_ADDR`) and port (`MASTER_PORT`).
    pub host: String,
    pub port: u16,
    /// Serve the store from this process (rank 0, unless a launcher such as
    /// torchrun's agent already serves it).
    pub serve: bool,
    /// Prefix of every key this group puts in the store (a restarted group
    /// takes a new one, so it never reads its predecessor's keys).
    pub prefix: String,
    pub rank: usize,
    pub world: usize,
    /// Bound on every wait: connecting, the rendezvous, each collective.
    pub timeout: std::time::Duration,
}

/// What one [`Group::allreduce_sum`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reduced {
    pub buckets: usize,
    pub bytes: u64,
}

/// A process group. Collectives must be called in the same order on every
/// rank; each fails (never hangs) after the group's timeout, and at once
/// when a peer's connection closes.
pub struct Group {
    raw: *mut RawGroup,
    rank: usize,
    world: usize,
    backend: String,
}

// SAFETY: c10d's stores and backends are thread-safe objects that own their
// own threads; the handle is only a pointer to them.
#[allow(unsafe_code)]
unsafe impl Send for Group {}
// SAFETY: as above; every call goes through the backend's own locking.
#[allow(unsafe_code)]
unsafe impl Sync for Group {}

impl Group {
    /// Meets the other `world - 1` ranks and creates the backend.
    pub fn new(o: &GroupOptions) -> Result<Group, TchError> {
        let timeout_ms = i64::try_from(o.timeout.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        let raw = ffi_dist::new(&NewArgs {
            backend: &o.backend,
            host: &o.host,
            port: o.port,
            serve: o.serve,
            prefix: &o.prefix,
            rank: o.rank,
            world: o.world,
            timeout_ms,
        })
        .map_err(|m| shim_error("process group", m))?;
        Ok(Group {
            raw,
            rank: o.rank,
            world: o.world,
            backend: o.backend.clone(),
        })
    }

    pub fn rank(&self) -> usize {
        self.rank
    }

    pub fn world(&self) -> usize {
        self.world
    }

    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// Sums `tensors` over the group, in place, in buckets of at most
    /// `bucket_bytes` (one collective each).
    pub fn allreduce_sum(
        &self,
        tensors: &[Tensor],
        bucket_bytes: usize,
    ) -> Result<Reduced, TchError> {
        if tensors.is_empty() {
            return Ok(Reduced::default());
        }
        let cap = i64::try_from(bucket_bytes).unwrap_or(i64::MAX).max(1);
        let [b, n] = ffi_dist::allreduce_sum(self.raw, tensors, cap)
            .map_err(|m| shim_error("allreduce", m))?;
        Ok(Reduced {
            buckets: b.max(0) as usize,
            bytes: n.max(0) as u64,
        })
    }

    /// Every rank's `tensors` become rank `root`'s.
    pub fn broadcast(&self, tensors: &[Tensor], root: usize) -> Result<(), TchError> {
        if tensors.is_empty() {
            return Ok(());
        }
        ffi_dist::broadcast(self.raw, tensors, root).map_err(|m| shim_error("broadcast", m))
    }

    /// Returns once every rank has reached it.
    pub fn barrier(&self) -> Result<(), TchError> {
        ffi_dist::barrier(self.raw).map_err(|m| shim_error("barrier", m))
    }

    /// Puts bytes in the group's store under `key`.
    pub fn store_set(&self, key: &str, data: &[u8]) -> Result<(), TchError> {
        ffi_dist::store_set(self.raw, key, data).map_err(|m| shim_error("store set", m))
    }

    /// Waits (up to the timeout) for `key` in the store and returns its bytes.
    pub fn store_get(&self, key: &str) -> Result<Vec<u8>, TchError> {
        ffi_dist::store_get(self.raw, key).map_err(|m| shim_error("store get", m))
    }

    /// Every rank's `data`, in rank order (through the store: for results
    /// that are not tensors, such as predictions). `tag` must be new for
    /// each call and the same on every rank. Once every rank has read them,
    /// the keys are removed, so the store (in rank 0's memory) does not
    /// grow with each evaluation.
    pub fn all_gather_bytes(&self, tag: &str, data: &[u8]) -> Result<Vec<Vec<u8>>, TchError> {
        let key = |r: usize| format!("gather/{tag}/{r}");
        self.store_set(&key(self.rank), data)?;
        let all = (0..self.world)
            .map(|r| self.store_get(&key(r)))
            .collect::<Result<Vec<_>, _>>()?;
        self.barrier()?;
        ffi_dist::store_delete(self.raw, &key(self.rank))
            .map_err(|m| shim_error("store delete", m))?;
        Ok(all)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        ffi_dist::free(self.raw);
    }
}
