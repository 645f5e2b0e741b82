//! Compiles the shim (`src/ext.cpp`, `src/dist.cpp`, and `src/nccl.cpp`
//! where CUDA allows) against the libtorch that torch-sys links.
//!
//! torch-sys (links = "tch") passes its library directory to crates that
//! depend on it directly as `DEP_TCH_LIBTORCH_LIB`; the headers sit next to
//! it (`<root>/lib` and `<root>/include` in both the pip wheel and the
//! libtorch zip), unless `LIBTORCH_INCLUDE` names another root, as it does
//! for torch-sys. The C++ ABI flag must match the library's: torch 2.11's
//! wheels and zips all use the C++11 ABI, which is also torch-sys's default;
//! `LIBTORCH_CXX11_ABI=0` overrides it, as for torch-sys.
//!
//! Distributed backends (`dist.cpp`): Gloo's symbols are in libtorch_cpu but
//! its headers are not in the wheel, so Gloo is compiled in where they are
//! found (`GLOO_INCLUDE`, else Debian's libgloo-dev in /usr/include; only
//! declarations are used). NCCL needs libtorch_cuda and the CUDA and NCCL
//! headers (the wheel's nvidia-* packages, or `CUDA_HOME`). Each backend
//! left out is reported as a build warning and by `exc env`.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for f in ["ext.cpp", "dist.cpp", "nccl.cpp", "shim.h"] {
        println!("cargo:rerun-if-changed=src/{f}");
    }
    for v in [
        "LIBTORCH_INCLUDE",
        "LIBTORCH_CXX11_ABI",
        "GLOO_INCLUDE",
        "CUDA_HOME",
        "EXC_NO_NCCL",
    ] {
        println!("cargo:rerun-if-env-changed={v}");
    }
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
    let base = || {
        let mut b = cc::Build::new();
        b.cpp(true)
            .pic(true)
            .warnings(false)
            .include(root.join("include"))
            .include(root.join("include/torch/csrc/api/include"))
            .flag("-std=c++17")
            .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
            .flag("-DGLOG_USE_GLOG_EXPORT");
        b
    };
    let mut shim = base();
    shim.file("src/ext.cpp").file("src/dist.cpp");
    match gloo_include() {
        Some(dir) => {
            // /usr/include is searched already; naming it again reorders
            // the system headers.
            if dir != Path::new("/usr/include") {
                shim.include(dir);
            }
            shim.define("EXC_GLOO", None).define("USE_C10D_GLOO", None);
        }
        None => println!(
            "cargo:warning=exc-torchext: no Gloo headers (install libgloo-dev or set \
             GLOO_INCLUDE): this build has no CPU data parallelism"
        ),
    }
    let nccl = nccl_includes(&root, &lib);
    if nccl.is_some() {
        shim.define("EXC_NCCL", None);
    }
    shim.compile("exc_torchext");
    if let Some(dirs) = nccl {
        let mut b = base();
        for d in dirs {
            b.include(d);
        }
        b.define("USE_C10D_NCCL", None)
            .file("src/nccl.cpp")
            .compile("exc_torchext_nccl");
        println!("cargo:rustc-link-lib=dylib=torch_cuda");
        println!("cargo:rustc-link-lib=dylib=c10_cuda");
    }
    println!("cargo:rustc-link-search=native={}", lib.display());
    println!("cargo:rustc-link-lib=dylib=torch_cpu");
    println!("cargo:rustc-link-lib=dylib=c10");
}

fn gloo_include() -> Option<PathBuf> {
    let dirs = std::env::var("GLOO_INCLUDE")
        .map(|d| vec![PathBuf::from(d)])
        .unwrap_or_else(|_| {
            vec![
                PathBuf::from("/usr/include"),
                PathBuf::from("/usr/local/include"),
            ]
        });
    dirs.into_iter()
        .find(|d| d.join("gloo/context.h").is_file())
}

/// The include directories ProcessGroupNCCL.hpp needs (CUDA runtime with
/// its `crt/` headers, NCCL), or none when libtorch has no CUDA.
fn nccl_includes(root: &Path, lib: &Path) -> Option<Vec<PathBuf>> {
    if std::env::var_os("EXC_NO_NCCL").is_some() || !lib.join("libtorch_cuda.so").is_file() {
        return None;
    }
    // The wheel: <site-packages>/torch/{lib,include}, nvidia/ beside torch/.
    let site = root.parent()?;
    let mut cands = vec![
        site.join("nvidia/cu13/include"),
        site.join("nvidia/cuda_runtime/include"),
        site.join("nvidia/cuda_nvcc/include"),
        site.join("nvidia/nccl/include"),
    ];
    if let Ok(home) = std::env::var("CUDA_HOME") {
        cands.push(Path::new(&home).join("include"));
    }
    let dirs: Vec<PathBuf> = cands.into_iter().filter(|d| d.is_dir()).collect();
    let has = |f: &str| dirs.iter().any(|d| d.join(f).is_file());
    let ok = has("cuda_runtime_api.h") && has("crt/host_config.h") && has("nccl.h");
    if !ok {
        println!(
            "cargo:warning=exc-torchext: no complete CUDA and NCCL headers beside libtorch \
             (cuda_runtime_api.h, crt/host_config.h, nccl.h): this build has no NCCL"
        );
    }
    ok.then_some(dirs)
}
