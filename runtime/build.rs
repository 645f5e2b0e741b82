//! Link-time fixes for libtorch that torch-sys cannot make for us.
//!
//! torch-sys asks for `torch_cuda` but the linker's default `--as-needed`
//! drops it because no symbol of ours references it, and then CUDA is never
//! registered (`Cuda::is_available()` is false on a GPU machine). Link
//! arguments from a dependency do not reach downstream binaries, so this
//! script only covers this crate's own tests, examples and benches; the
//! root package `exc` has a build.rs doing the same for the binary.
//! The rpath lets those binaries find libtorch without LD_LIBRARY_PATH.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Set by torch-sys (links = "tch") for crates that depend on it directly.
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB").unwrap_or_default();
    let version = if lib.is_empty() {
        "unknown".to_string()
    } else {
        libtorch_version(Path::new(&lib))
    };
    println!("cargo:rustc-env=EXC_LIBTORCH_LIB={lib}");
    println!("cargo:rustc-env=EXC_LIBTORCH_VERSION={version}");
    if lib.is_empty() {
        return;
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    if Path::new(&lib).join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}

/// The version of the libtorch we link, read from the files the two
/// distributions ship (tch exposes no runtime call for it): a pip wheel has
/// `torch/version.py` next to `torch/lib`, a libtorch zip has `build-version`.
fn libtorch_version(lib: &Path) -> String {
    let Some(root) = lib.parent() else {
        return "unknown".to_string();
    };
    if let Ok(text) = std::fs::read_to_string(root.join("build-version")) {
        return text.trim().to_string();
    }
    if let Ok(text) = std::fs::read_to_string(root.join("version.py")) {
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("__version__") {
                let v = rest.trim_start_matches([' ', '=', ':']).trim();
                let v = v.trim_start_matches("str").trim();
                return v.trim_matches(['\'', '"', ' ']).to_string();
            }
        }
    }
    "unknown".to_string()
}
