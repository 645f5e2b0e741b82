//! Link-time fixes for libtorch in `exc-torch` and the root package's tests
//! (see runtime/build.rs: link arguments of a dependency never reach a
//! downstream binary). `exc` itself never links libtorch (cli/src/torch_cmd.rs),
//! so nothing here applies to it: `--no-as-needed -ltorch_cuda` would load
//! libtorch into every `exc check`.
//!
//! Keeps `libtorch_cuda` linked even though nothing references its symbols,
//! so CUDA registers itself on GPU machines, and sets an rpath to the
//! libtorch this was built against so `exc-torch` runs without LD_LIBRARY_PATH.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Set by torch-sys (links = "tch") for crates that depend on it directly.
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        return;
    };
    let mut args = vec![format!("-Wl,-rpath,{lib}")];
    if Path::new(&lib).join("libtorch_cuda.so").exists() {
        args.extend(["-Wl,--no-as-needed", "-ltorch_cuda", "-Wl,--as-needed"].map(String::from));
    }
    for arg in args {
        println!("cargo:rustc-link-arg-bin=exc-torch={arg}");
        // tests/dist.rs reads checkpoints with exc-runtime itself.
        println!("cargo:rustc-link-arg-tests={arg}");
    }
}
