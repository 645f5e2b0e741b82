//! Link-time fixes for libtorch in the `exc` binary (see runtime/build.rs:
//! link arguments of a dependency never reach a downstream binary).
//!
//! Keeps `libtorch_cuda` linked even though nothing references its symbols,
//! so CUDA registers itself on GPU machines, and sets an rpath to the
//! libtorch this was built against so `exc` runs without LD_LIBRARY_PATH.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Set by torch-sys (links = "tch") for crates that depend on it directly.
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    if Path::new(&lib).join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
