//! Collectives over libtorch's c10d ([`Group`]): a TCPStore rendezvous and
//! ProcessGroupGloo (CPU tensors) or ProcessGroupNCCL (CUDA tensors), the
//! engine PyTorch's DDP runs on.

use tch::{TchError, Tensor};

use crate::ffi_dist::{self, NewArgs, RawGroup, RawOverlap};
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

/// What one [`Overlap::finish`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overlapped {
    /// Collectives (gradient buckets, and one for the extra tensors).
    pub buckets: usize,
    pub bytes: u64,
    /// Buckets launched while backward was still running.
    pub during_backward: usize,
}

/// The gradient allreduce overlapped with backward, as DDP's reducer does
/// it: each parameter's gradient, once autograd has accumulated it, marks
/// its bucket; a full bucket's allreduce is launched at once, in bucket
/// order on every rank. Arm it before the step's last backward, finish it
/// after. Dropping it removes the hooks.
pub struct Overlap<'g> {
    raw: *mut RawOverlap,
    group: &'g Group,
    params: usize,
}

impl<'g> Overlap<'g> {
    /// Hooks `params` (leaves that require grad and carry no other
    /// post-accumulate hook; the same list, in the same order, on every
    /// rank) into buckets of at most `bucket_bytes`.
    pub fn new(group: &'g Group, params: &[Tensor], bucket_bytes: usize) -> Result<Self, TchError> {
        let cap = i64::try_from(bucket_bytes).unwrap_or(i64::MAX).max(1);
        let raw =
            ffi_dist::overlap_new(group.raw, params, cap).map_err(|m| shim_error("overlap", m))?;
        Ok(Overlap {
            raw,
            group,
            params: params.len(),
        })
    }

    /// The next backward's gradients are the step's: reduce them as they come.
    pub fn arm(&self) -> Result<(), TchError> {
        ffi_dist::overlap_arm(self.raw).map_err(|m| shim_error("overlap arm", m))
    }

    /// Launches what is left, sums `extra` too, waits, and writes the
    /// summed gradients (and extras) in place.
    pub fn finish(&self, extra: &[Tensor]) -> Result<Overlapped, TchError> {
        let [b, n, d] =
            ffi_dist::overlap_finish(self.raw, extra).map_err(|m| shim_error("allreduce", m))?;
        Ok(Overlapped {
            buckets: b.max(0) as usize,
            bytes: n.max(0) as u64,
            during_backward: d.max(0) as usize,
        })
    }

    /// Re-buckets by the order in which rank 0's last armed backward made
    /// the gradients ready (broadcast to every rank, so that all bucket
    /// alike): after it, the first bucket fills first and launches early.
    pub fn relayout_from_rank0(&self) -> Result<(), TchError> {
        let order = ffi_dist::overlap_order(self.raw, self.params)
            .map_err(|m| shim_error("overlap order", m))?;
        let mut padded = vec![-1i64; self.params];
        padded[..order.len()].copy_from_slice(&order);
        let t = Tensor::from_slice(&padded);
        self.group.broadcast(std::slice::from_ref(&t), 0)?;
        let got: Vec<i64> = Vec::try_from(&t)?;
        let order: Vec<i64> = got.into_iter().filter(|&i| i >= 0).collect();
        ffi_dist::overlap_relayout(self.raw, &order).map_err(|m| shim_error("overlap relayout", m))
    }
}

impl Drop for Overlap<'_> {
    fn drop(&mut self) {
        ffi_dist::overlap_free(self.raw);
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        ffi_dist::free(self.raw);
    }
}
