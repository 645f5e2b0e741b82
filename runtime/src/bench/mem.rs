//! Peak memory without unsafe code: the process's peak resident set on
//! CPU (`VmHWM`), and on a GPU the device memory in use as `nvidia-smi`
//! reports it, sampled on a thread. tch binds none of the CUDA caching
//! allocator's statistics, and the workspace forbids the FFI that would
//! reach them; the sampled figure includes the CUDA context and the
//! allocator's cached blocks, which is what decides whether a batch fits.

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Peak resident set size of this process in bytes (Linux), if readable.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// One `nvidia-smi` query of GPU `index`: (name, memory used in MiB).
pub fn gpu_query(index: usize) -> Option<(String, u64)> {
    let out = Command::new("nvidia-smi")
        .args([
            "--query-gpu=name,memory.used",
            "--format=csv,noheader,nounits",
            &format!("--id={index}"),
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next()?;
    let (name, used) = line.rsplit_once(',')?;
    Some((name.trim().to_string(), used.trim().parse().ok()?))
}

/// Samples a GPU's memory in use every 200 ms until dropped.
pub struct GpuSampler {
    stop: Arc<AtomicBool>,
    peak_mib: Arc<AtomicU64>,
    handle: Option<JoinHandle<()>>,
    /// Memory in use before the benchmark touched the GPU.
    pub baseline_mib: u64,
}

impl GpuSampler {
    /// `None` where `nvidia-smi` does not answer.
    pub fn start(index: usize) -> Option<GpuSampler> {
        let (_, baseline_mib) = gpu_query(index)?;
        let stop = Arc::new(AtomicBool::new(false));
        let peak_mib = Arc::new(AtomicU64::new(baseline_mib));
        let (s, p) = (stop.clone(), peak_mib.clone());
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some((_, used)) = gpu_query(index) {
                    p.fetch_max(used, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Some(GpuSampler {
            stop,
            peak_mib,
            handle: Some(handle),
            baseline_mib,
        })
    }

    /// The largest reading so far minus the baseline, in bytes.
    pub fn peak_bytes(&self) -> u64 {
        let peak = self.peak_mib.load(Ordering::Relaxed);
        peak.saturating_sub(self.baseline_mib) * 1024 * 1024
    }
}

impl Drop for GpuSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(super::peak_rss_bytes().unwrap_or(0) > 1024 * 1024);
        }
    }
}
