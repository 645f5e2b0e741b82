//! Compiles `src/ext.cpp` against the libtorch that torch-sys links.
//!
//! torch-sys (links = "tch") passes its library directory to crates that
//! depend on it directly as `DEP_TCH_LIBTORCH_LIB`; the headers sit next to
//! it (`<root>/lib` and `<root>/include` in both the pip wheel and the
//! libtorch zip), unless `LIBTORCH_INCLUDE` names another root, as it does
//! for torch-sys. The C++ ABI flag must match the library's: torch 2.11's
//! wheels and zips all use the C++11 ABI, which is also torch-sys's default;
//! `LIBTORCH_CXX11_ABI=0` overrides it, as for torch-sys.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/ext.cpp");
    println!("cargo:rerun-if-env-changed=LIBTORCH_INCLUDE");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        println!("cargo:warning=exc-torchext: torch-sys gave no libtorch directory");
        std::process::exit(1);
    };
    let lib = PathBuf::from(lib);
    let root = match std::env::var("LIBTORCH_INCLUDE") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => lib.parent().map(PathBuf::from).unwrap_or_default(),
    };
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_string());
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .warnings(false)
        .include(root.join("include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .file("src/ext.cpp")
        .compile("exc_torchext");
    println!("cargo:rustc-link-search=native={}", lib.display());
    println!("cargo:rustc-link-lib=dylib=torch_cpu");
    println!("cargo:rustc-link-lib=dylib=c10");
}
