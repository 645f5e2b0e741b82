//! Data parallelism: which rank of how many this process is (from the
//! launcher's environment: torchrun, SLURM, or `exc run --nproc`), and the
//! process group it trains with (c10d through `exc-torchext`: Gloo on CPU,
//! NCCL on CUDA).
//!
//! The group is process-wide, as torch.distributed's default group is: a
//! run has one, and the training loop, evaluation and the run directory's
//! writer all ask [`current`]. A process started alone (no launcher) is
//! rank 0 of 1 and creates no group.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use exc_torchext::dist::{Group, GroupOptions, Overlap, Overlapped, Reduced};
use tch::{Device, Tensor};

use crate::error::{Error, Result};

/// Who started the processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Launcher {
    /// One process, no launcher.
    Single,
    /// `exc run --nproc N`.
    Nproc,
    /// torchrun (or anything that sets its variables).
    Torchrun,
    /// `srun`.
    Slurm,
}

/// This process's place in the group, as the environment says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct World {
    pub rank: usize,
    pub world: usize,
    pub local_rank: usize,
    pub local_world: usize,
    pub master_addr: String,
    pub master_port: u16,
    pub launcher: Launcher,
    /// torchrun's restart count: a restarted group uses fresh store keys.
    pub restart: u64,
    /// torchrun's agent already serves the store at MASTER_ADDR:MASTER_PORT.
    pub agent_store: bool,
}

/// The port SLURM jobs use when MASTER_PORT is not set: fixed per job, so
/// that every task of it agrees without talking.
fn slurm_port(job: Option<&str>) -> u16 {
    let id: u64 = job.and_then(|j| j.parse().ok()).unwrap_or(0);
    20_000 + (id % 10_000) as u16
}

impl World {
    pub fn single() -> World {
        World {
            rank: 0,
            world: 1,
            local_rank: 0,
            local_world: 1,
            master_addr: "127.0.0.1".into(),
            master_port: 29500,
            launcher: Launcher::Single,
            restart: 0,
            agent_store: false,
        }
    }

    /// From this process's environment.
    pub fn from_env() -> Result<World> {
        World::from_vars(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// From variables looked up by `get`: torchrun's (`RANK`, `WORLD_SIZE`,
    /// `LOCAL_RANK`, `LOCAL_WORLD_SIZE`, `MASTER_ADDR`, `MASTER_PORT`) when
    /// `RANK` is set, else SLURM's (`SLURM_PROCID`, `SLURM_NTASKS`,
    /// `SLURM_LOCALID`, the first host of the step's node list), else one
    /// process.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<World> {
        let num = |k: &str| -> Result<Option<usize>> {
            get(k)
                .map(|v| {
                    v.trim()
                        .parse::<usize>()
                        .map_err(|_| Error::Input(format!("{k}={v} is not a whole number")))
                })
                .transpose()
        };
        let port = |v: String| -> Result<u16> {
            v.trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| Error::Input(format!("MASTER_PORT={v} is not a port (1-65535)")))
        };
        let w = if let Some(rank) = num("RANK")? {
            let world = num("WORLD_SIZE")?.ok_or_else(|| {
                Error::Input("RANK is set but WORLD_SIZE is not (torchrun sets both)".into())
            })?;
            let launcher = if get("EXC_LAUNCHER").as_deref() == Some("nproc") {
                Launcher::Nproc
            } else {
                Launcher::Torchrun
            };
            World {
                rank,
                world,
                local_rank: num("LOCAL_RANK")?.unwrap_or(rank),
                local_world: num("LOCAL_WORLD_SIZE")?.unwrap_or(world),
                master_addr: get("MASTER_ADDR").unwrap_or_else(|| "127.0.0.1".into()),
                master_port: get("MASTER_PORT").map(port).transpose()?.unwrap_or(29500),
                launcher,
                restart: num("TORCHELASTIC_RESTART_COUNT")?.unwrap_or(0) as u64,
                agent_store: get("TORCHELASTIC_USE_AGENT_STORE").as_deref() == Some("True"),
            }
        } else if let (Some(rank), Some(world)) = (num("SLURM_PROCID")?, num("SLURM_NTASKS")?) {
            let nodes = get("SLURM_STEP_NODELIST").or_else(|| get("SLURM_JOB_NODELIST"));
            let master = match get("MASTER_ADDR") {
                Some(a) => a,
                None => nodes.as_deref().and_then(first_host).ok_or_else(|| {
                    Error::Input(
                        "under SLURM without MASTER_ADDR, the first host of SLURM_STEP_NODELIST \
                         (or SLURM_JOB_NODELIST) is the master, but neither is set"
                            .into(),
                    )
                })?,
            };
            let local_world = get("SLURM_NTASKS_PER_NODE")
                .and_then(|v| v.split('(').next()?.trim().parse().ok())
                .unwrap_or(world);
            World {
                rank,
                world,
                local_rank: num("SLURM_LOCALID")?.unwrap_or(0),
                local_world,
                master_addr: master,
                master_port: match get("MASTER_PORT") {
                    Some(p) => port(p)?,
                    None => slurm_port(get("SLURM_JOB_ID").as_deref()),
                },
                launcher: Launcher::Slurm,
                restart: num("SLURM_RESTART_COUNT")?.unwrap_or(0) as u64,
                agent_store: false,
            }
        } else {
            World::single()
        };
        if w.world == 0 || w.rank >= w.world {
            return Err(Error::Input(format!(
                "rank {} of world size {}: a rank must be below the world size",
                w.rank, w.world
            )));
        }
        if w.local_rank >= w.local_world.max(1) {
            return Err(Error::Input(format!(
                "local rank {} of {} on this machine: a local rank must be below the local \
                 world size",
                w.local_rank, w.local_world
            )));
        }
        Ok(w)
    }

    /// The device this rank trains on: under data parallelism a CUDA
    /// device means the GPU numbered by the local rank (torchrun's
    /// contract; CUDA_VISIBLE_DEVICES picks which GPUs those are).
    pub fn device(&self, asked: Device) -> Device {
        match asked {
            Device::Cuda(_) if self.grouped() => Device::Cuda(self.local_rank),
            d => d,
        }
    }

    /// Whether this process trains in a group: several ranks, or one that
    /// a launcher started (a group of one pays what DDP at world size 1
    /// pays, which is how its cost is measured).
    pub fn grouped(&self) -> bool {
        self.world > 1 || self.launcher != Launcher::Single
    }
}

/// The first host of a SLURM node list: `node[03-05,9],gpu1` -> `node03`.
pub fn first_host(list: &str) -> Option<String> {
    let list = list.trim();
    let end = list
        .char_indices()
        .scan(0i32, |depth, (i, c)| {
            match c {
                '[' => *depth += 1,
                ']' => *depth -= 1,
                _ => {}
            }
            Some((i, c, *depth))
        })
        .find(|&(_, c, d)| c == ',' && d == 0)
        .map_or(list.len(), |(i, _, _)| i);
    let first = &list[..end];
    match first.find('[') {
        None => (!first.is_empty()).then(|| first.to_string()),
        Some(open) => {
            let prefix = &first[..open];
            let inner = first[open + 1..].trim_end_matches(']');
            let range = inner.split(',').next()?;
            let lo = range.split('-').next()?;
            (!lo.is_empty()).then(|| format!("{prefix}{lo}"))
        }
    }
}

/// The wait bound on every collective: `EXC_DIST_TIMEOUT` seconds (set by
/// `exc run --dist-timeout`), else 30 minutes, torch.distributed's default.
pub fn timeout() -> Result<Duration> {
    match std::env::var("EXC_DIST_TIMEOUT") {
        Ok(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| {
                Error::Input(format!(
                    "EXC_DIST_TIMEOUT={v} is not a positive number of seconds"
                ))
            }),
        Err(_) => Ok(Duration::from_secs(1800)),
    }
}

/// The backend for `device`: NCCL on CUDA, Gloo on CPU (`EXC_DIST_BACKEND`
/// overrides).
pub fn backend_for(device: Device) -> String {
    std::env::var("EXC_DIST_BACKEND")
        .ok()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| if device.is_cuda() { "nccl" } else { "gloo" }.into())
}

/// Bytes per allreduce bucket: `EXC_DIST_BUCKET_MB` MiB, else DDP's
/// default of 25.
pub fn bucket_bytes() -> Result<usize> {
    match std::env::var("EXC_DIST_BUCKET_MB") {
        Ok(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|m| m.is_finite() && *m > 0.0)
            .map(|m| ((m * 1_048_576.0) as usize).max(1))
            .ok_or_else(|| {
                Error::Input(format!("EXC_DIST_BUCKET_MB={v} is not a positive number"))
            }),
        Err(_) => Ok(25 << 20),
    }
}

/// Whether the gradient allreduce overlaps backward (`EXC_DIST_OVERLAP=0`
/// turns it off, to measure what it buys).
pub fn overlap_on() -> bool {
    std::env::var("EXC_DIST_OVERLAP").map_or(true, |v| v.trim() != "0")
}

/// The process's group, when it is one of several.
pub struct Dist {
    pub world: World,
    pub backend: String,
    group: Group,
    tags: AtomicU64,
}

static CURRENT: OnceLock<Option<Dist>> = OnceLock::new();

/// Joins the group the environment describes (once per process; later
/// calls return the first result). A process started alone creates none.
pub fn init(world: &World, device: Device, timeout: Duration) -> Result<Option<&'static Dist>> {
    if let Some(d) = CURRENT.get() {
        return Ok(d.as_ref());
    }
    let made = if world.grouped() {
        let backend = backend_for(device);
        let group = Group::new(&GroupOptions {
            backend: backend.clone(),
            host: world.master_addr.clone(),
            port: world.master_port,
            serve: world.rank == 0 && !world.agent_store,
            prefix: format!("exc/attempt_{}/", world.restart),
            rank: world.rank,
            world: world.world,
            timeout,
        })
        .map_err(|e| {
            Error::Input(format!(
                "rank {} of {} could not join the group at {}:{} ({backend}, timeout {:.0} s): \
                 {e}\n  help: for a rendezvous that timed out, check MASTER_ADDR and MASTER_PORT, \
                 that every rank was started with the same WORLD_SIZE, and that the port is free \
                 on the master; `exc env` lists the backends this build has",
                world.rank,
                world.world,
                world.master_addr,
                world.master_port,
                timeout.as_secs_f64()
            ))
        })?;
        Some(Dist {
            world: world.clone(),
            backend,
            group,
            tags: AtomicU64::new(0),
        })
    } else {
        None
    };
    Ok(CURRENT.get_or_init(|| made).as_ref())
}

/// The process's group, if [`init`] made one.
pub fn current() -> Option<&'static Dist> {
    CURRENT.get().and_then(Option::as_ref)
}

/// (rank, world size) of this process: (0, 1) without a group.
pub fn rank_world() -> (usize, usize) {
    current().map_or((0, 1), |d| (d.world.rank, d.world.world))
}

/// Whether this process writes the run directory (rank 0 does; the others
/// compute with it and write nothing).
pub fn is_writer() -> bool {
    rank_world().0 == 0
}

impl Dist {
    fn fail(&self, what: &str, e: tch::TchError) -> Error {
        Error::Input(format!(
            "rank {} of {}: {what} failed: {e}. Another rank has probably stopped (its own \
             message says why) or hangs; the run stops here, and its last committed checkpoint \
             is kept (continue with `exc run --resume DIR`, at this world size or another)",
            self.world.rank, self.world.world
        ))
    }

    /// Sums `tensors` over the ranks in place (bucketed as DDP buckets).
    pub fn allreduce_sum(&self, tensors: &[Tensor], what: &str) -> Result<Reduced> {
        self.group
            .allreduce_sum(tensors, bucket_bytes()?)
            .map_err(|e| self.fail(what, e))
    }

    /// The gradient allreduce of `params` overlapped with backward.
    pub fn overlap(&'static self, params: &[Tensor]) -> Result<GradSync> {
        let o = Overlap::new(&self.group, params, bucket_bytes()?)
            .map_err(|e| self.fail("hooking the gradients", e))?;
        Ok(GradSync {
            dist: self,
            overlap: o,
            relaid: false,
        })
    }

    /// Every rank's `tensors` become rank 0's.
    pub fn broadcast(&self, tensors: &[Tensor], what: &str) -> Result<()> {
        self.group
            .broadcast(tensors, 0)
            .map_err(|e| self.fail(what, e))
    }

    pub fn barrier(&self, what: &str) -> Result<()> {
        self.group.barrier().map_err(|e| self.fail(what, e))
    }

    /// Each rank's `data`, in rank order. Calls must come in the same order
    /// on every rank (each takes the next tag).
    pub fn gather(&self, data: &[u8], what: &str) -> Result<Vec<Vec<u8>>> {
        let tag = self.tags.fetch_add(1, Ordering::SeqCst);
        self.group
            .all_gather_bytes(&tag.to_string(), data)
            .map_err(|e| self.fail(what, e))
    }
}

/// A rank's gradient allreduce overlapped with backward ([`Dist::overlap`]).
pub struct GradSync {
    dist: &'static Dist,
    overlap: Overlap<'static>,
    relaid: bool,
}

impl GradSync {
    /// Call before the step's last backward.
    pub fn arm(&self) -> Result<()> {
        self.overlap
            .arm()
            .map_err(|e| self.dist.fail("arming the gradient allreduce", e))
    }

    /// Call after it: the gradients (and `extra`) summed over the ranks.
    /// After the first step the buckets are laid out anew in the order
    /// rank 0's gradients became ready.
    pub fn finish(&mut self, extra: &[Tensor], what: &str) -> Result<Overlapped> {
        let done = self
            .overlap
            .finish(extra)
            .map_err(|e| self.dist.fail(what, e))?;
        if !self.relaid {
            self.overlap
                .relayout_from_rank0()
                .map_err(|e| self.dist.fail("re-bucketing the gradients", e))?;
            self.relaid = true;
        }
        Ok(done)
    }
}

/// Waits for every rank (no-op alone).
pub fn barrier(what: &str) -> Result<()> {
    current().map_or(Ok(()), |d| d.barrier(what))
}

/// `f` over this rank's share of `items` (contiguous runs of `chunk`
/// items, the ranks taking consecutive runs), the results gathered from
/// every rank in order: what one process computing `f` over all items, a
/// `chunk` at a time, returns.
pub fn sharded<T, R>(
    items: &[T],
    chunk: usize,
    what: &str,
    f: impl FnOnce(&[T]) -> Result<Vec<R>>,
) -> Result<Vec<R>>
where
    R: serde::Serialize + serde::de::DeserializeOwned,
{
    let Some(d) = current() else {
        return f(items);
    };
    let (rank, world) = (d.world.rank, d.world.world);
    let chunks = items.len().div_ceil(chunk.max(1));
    let per = chunks.div_ceil(world);
    let lo = (rank * per * chunk).min(items.len());
    let hi = ((rank + 1) * per * chunk).min(items.len());
    // An error here is sent to the others as such, so that they stop with
    // it instead of waiting for this rank's share.
    let mine: std::result::Result<Vec<R>, String> = f(&items[lo..hi]).map_err(|e| e.to_string());
    let bytes = serde_json::to_vec(&mine).map_err(|e| Error::Input(e.to_string()))?;
    let mut out = Vec::with_capacity(items.len());
    for (r, part) in d.gather(&bytes, what)?.into_iter().enumerate() {
        let part: std::result::Result<Vec<R>, String> = serde_json::from_slice(&part)
            .map_err(|e| Error::Input(format!("{what}: rank {r} sent {e}")))?;
        match part {
            Ok(v) => out.extend(v),
            Err(e) if r == rank => return Err(Error::Input(e)),
            Err(e) => return Err(Error::Input(format!("{what} failed on rank {r}: {e}"))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn torchrun_variables() {
        let w = World::from_vars(vars(&[
            ("RANK", "3"),
            ("WORLD_SIZE", "8"),
            ("LOCAL_RANK", "1"),
            ("LOCAL_WORLD_SIZE", "2"),
            ("MASTER_ADDR", "node7"),
            ("MASTER_PORT", "29600"),
            ("TORCHELASTIC_RESTART_COUNT", "2"),
            ("TORCHELASTIC_USE_AGENT_STORE", "True"),
        ]))
        .unwrap();
        assert_eq!((w.rank, w.world, w.local_rank, w.local_world), (3, 8, 1, 2));
        assert_eq!((w.master_addr.as_str(), w.master_port), ("node7", 29600));
        assert_eq!(
            (w.launcher, w.restart, w.agent_store),
            (Launcher::Torchrun, 2, true)
        );
        assert_eq!(w.device(Device::Cuda(0)), Device::Cuda(1));
        assert_eq!(w.device(Device::Cpu), Device::Cpu);
    }

    #[test]
    fn slurm_variables() {
        let w = World::from_vars(vars(&[
            ("SLURM_PROCID", "5"),
            ("SLURM_NTASKS", "16"),
            ("SLURM_LOCALID", "1"),
            ("SLURM_NTASKS_PER_NODE", "4(x4)"),
            ("SLURM_STEP_NODELIST", "gpu[017-020,031],login2"),
            ("SLURM_JOB_ID", "123456"),
        ]))
        .unwrap();
        assert_eq!(
            (w.rank, w.world, w.local_rank, w.local_world),
            (5, 16, 1, 4)
        );
        assert_eq!(w.master_addr, "gpu017");
        assert_eq!(w.master_port, 23456);
        assert_eq!(w.launcher, Launcher::Slurm);
        // MASTER_ADDR wins.
        let w = World::from_vars(vars(&[
            ("SLURM_PROCID", "0"),
            ("SLURM_NTASKS", "2"),
            ("MASTER_ADDR", "10.0.0.1"),
            ("MASTER_PORT", "1234"),
        ]))
        .unwrap();
        assert_eq!((w.master_addr.as_str(), w.master_port), ("10.0.0.1", 1234));
    }

    #[test]
    fn node_lists() {
        assert_eq!(first_host("node1").as_deref(), Some("node1"));
        assert_eq!(first_host("a[3-5],b").as_deref(), Some("a3"));
        assert_eq!(first_host("a[09,11-12]").as_deref(), Some("a09"));
        assert_eq!(first_host("x,y[1-2]").as_deref(), Some("x"));
        assert_eq!(first_host(""), None);
    }

    #[test]
    fn alone_and_bad_values() {
        assert_eq!(World::from_vars(vars(&[])).unwrap(), World::single());
        for bad in [
            vec![("RANK", "2"), ("WORLD_SIZE", "2")],
            vec![("RANK", "0")],
            vec![("RANK", "x"), ("WORLD_SIZE", "2")],
            vec![("RANK", "0"), ("WORLD_SIZE", "2"), ("MASTER_PORT", "70000")],
            vec![
                ("RANK", "0"),
                ("WORLD_SIZE", "2"),
                ("LOCAL_RANK", "3"),
                ("LOCAL_WORLD_SIZE", "2"),
            ],
            vec![("SLURM_PROCID", "0"), ("SLURM_NTASKS", "2")],
        ] {
            let e = World::from_vars(vars(&bad)).unwrap_err().to_string();
            assert!(!e.is_empty(), "{bad:?}");
        }
    }
}
