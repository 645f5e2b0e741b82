//! `exc env`: what libtorch this build runs on and what it can see.

use std::fmt::Write as _;

/// The libtorch version found at build time (`unknown` when it could not be read).
pub const LIBTORCH_VERSION: &str = env!("EXC_LIBTORCH_VERSION");

/// The libtorch library directory this build links to (and has an rpath to).
pub const LIBTORCH_LIB: &str = env!("EXC_LIBTORCH_LIB");

/// A human-readable report: libtorch version and location, CUDA and cuDNN
/// availability, the devices, and the intra/inter-op thread counts.
pub fn report() -> String {
    let mut out = String::new();
    // Writing into a String cannot fail; ignore the Ok(()) results.
    let _ = writeln!(out, "libtorch: {LIBTORCH_VERSION}");
    let _ = writeln!(out, "libtorch lib: {LIBTORCH_LIB}");
    let cuda = tch::Cuda::is_available();
    let _ = writeln!(
        out,
        "CUDA hooks registered: {}",
        yes_no(tch::utils::has_cuda())
    );
    let _ = writeln!(out, "CUDA available: {}", yes_no(cuda));
    let _ = writeln!(
        out,
        "cuDNN available: {}",
        yes_no(tch::Cuda::cudnn_is_available())
    );
    if cuda {
        let _ = writeln!(out, "cuDNN version: {}", tch::utils::version_cudnn());
        let _ = writeln!(
            out,
            "CUDA runtime version: {}",
            tch::utils::version_cudart()
        );
    }
    let n = if cuda { tch::Cuda::device_count() } else { 0 };
    let _ = writeln!(out, "devices: cpu{}", cuda_devices(n));
    let _ = writeln!(
        out,
        "threads: {} (inter-op {})",
        tch::get_num_threads(),
        tch::get_num_interop_threads()
    );
    let _ = writeln!(
        out,
        "MKL: {}, OpenMP: {}",
        yes_no(tch::utils::has_mkl()),
        yes_no(tch::utils::has_openmp())
    );
    let backends = exc_torchext::dist::backends();
    let _ = writeln!(
        out,
        "distributed backends: {}",
        if backends.is_empty() {
            "none (built without Gloo's headers or NCCL)".to_string()
        } else {
            backends.join(", ")
        }
    );
    let _ = match crate::dist::World::from_env() {
        Ok(w) if w.world > 1 => writeln!(
            out,
            "distributed: rank {} of {} (local {} of {}), launcher {:?}, master {}:{}",
            w.rank, w.world, w.local_rank, w.local_world, w.launcher, w.master_addr, w.master_port
        ),
        Ok(_) => writeln!(
            out,
            "distributed: one process (no RANK/WORLD_SIZE or SLURM_PROCID)"
        ),
        Err(e) => writeln!(out, "distributed: the environment is wrong: {e}"),
    };
    out
}

fn cuda_devices(n: i64) -> String {
    (0..n).map(|i| format!(", cuda:{i}")).collect()
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// `cpu`, `cuda` or `cuda:N` -> a device; none given means CUDA when available.
/// Shared by every command that takes `--device`.
pub fn parse_device(spec: Option<&str>) -> crate::Result<tch::Device> {
    use tch::Device;
    match spec {
        None => Ok(Device::cuda_if_available()),
        Some("cpu") => Ok(Device::Cpu),
        Some("cuda") => Ok(Device::Cuda(0)),
        Some(s) => s
            .strip_prefix("cuda:")
            .and_then(|n| n.parse().ok())
            .map(Device::Cuda)
            .ok_or_else(|| {
                crate::Error::Input(format!("unknown device `{s}` (cpu, cuda or cuda:N)"))
            }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn report_names_libtorch_and_threads() {
        let r = super::report();
        assert!(r.contains("libtorch: 2.11.0"), "{r}");
        assert!(r.contains("threads: "), "{r}");
    }
}
