//! Peak memory as the system sees it: the process's peak resident set on
//! CPU (`VmHWM`), and on a GPU the device memory in use as `nvidia-smi`
//! reports it, sampled on a thread. The sampled figure includes the CUDA
//! context and the allocator's cached blocks, which is what decides whether
//! a batch fits; the caching allocator's own peaks come from the shim
//! (`exc_torchext::device_memory`).

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

/// One `nvidia-smi` query of CUDA device `index`: (name, memory used in
/// MiB, when the driver reports it: `[N/A]` under MIG).
pub fn gpu_query(index: usize) -> Option<(String, Option<u64>)> {
    let visible = std::env::var("CUDA_VISIBLE_DEVICES").ok();
    let out = Command::new("nvidia-smi")
        .args([
            "--query-gpu=name,memory.used",
            "--format=csv,noheader,nounits",
            &format!("--id={}", smi_id(index, visible.as_deref())),
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    parse_query(&String::from_utf8_lossy(&out.stdout))
}

/// nvidia-smi numbers every GPU of the machine; CUDA numbers only those in
/// `CUDA_VISIBLE_DEVICES`, in its order (each an index or a UUID, both of
/// which `--id` takes).
fn smi_id(index: usize, visible: Option<&str>) -> String {
    visible
        .and_then(|v| v.split(',').nth(index))
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map_or_else(|| index.to_string(), str::to_string)
}

fn parse_query(text: &str) -> Option<(String, Option<u64>)> {
    let (name, used) = text.lines().next()?.rsplit_once(',')?;
    Some((name.trim().to_string(), used.trim().parse().ok()))
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
        let baseline_mib = gpu_query(index)?.1?;
        let stop = Arc::new(AtomicBool::new(false));
        let peak_mib = Arc::new(AtomicU64::new(baseline_mib));
        let (s, p) = (stop.clone(), peak_mib.clone());
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some((_, Some(used))) = gpu_query(index) {
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
    use super::*;

    #[test]
    fn rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(super::peak_rss_bytes().unwrap_or(0) > 1024 * 1024);
        }
    }

    #[test]
    fn cuda_devices_are_found_by_their_nvidia_smi_id() {
        assert_eq!(smi_id(0, None), "0");
        assert_eq!(smi_id(1, Some("3,5")), "5");
        assert_eq!(smi_id(0, Some("GPU-8f2c-aa")), "GPU-8f2c-aa");
        assert_eq!(smi_id(2, Some("3,5")), "2");
        assert_eq!(smi_id(0, Some("")), "0");
    }

    #[test]
    fn a_name_survives_an_unknown_memory_reading() {
        assert_eq!(
            parse_query("NVIDIA H100 80GB HBM3, 1234\n"),
            Some(("NVIDIA H100 80GB HBM3".into(), Some(1234)))
        );
        assert_eq!(
            parse_query("NVIDIA H200, [N/A]\n"),
            Some(("NVIDIA H200".into(), None))
        );
    }
}
