#!/usr/bin/env bash
# Sets up libtorch 2.11.0 for tch 0.24 (crate exc-runtime) and exports what
# torch-sys's build script needs.
#
#   source scripts/libtorch.sh        # in the current shell (CI does this)
#   bash scripts/libtorch.sh          # installs, then prints the exports
#
# Order of preference:
#   1. LIBTORCH already set (a libtorch directory with lib/ and include/):
#      used as is, only the library paths are exported.
#   2. A cached virtual environment with torch==2.11.0, outside the repo at
#      ${EXC_TORCH_VENV:-$HOME/.cache/exc/torch-2.11.0}; created with pip
#      (PyPI only: the wheel carries libtorch) when absent, reused otherwise.
#      tch then builds with LIBTORCH_USE_PYTORCH=1 and that python on PATH.
#
# EXC_TORCH_EXTRA_PIP lists extra packages to put in the same venv (the
# parity script uses `transformers`). The rpath that runtime/build.rs and
# the root build.rs emit means binaries run without LD_LIBRARY_PATH; we still
# export it so `cargo test` of any crate works.

# Gloo's headers (Debian's libgloo-dev) let exc-torchext compile c10d's
# ProcessGroupGloo, the CPU backend of data-parallel training; the symbols
# come from libtorch itself. Without them exc builds with no CPU backend.
_exc_gloo_headers() {
    if [ -n "${GLOO_INCLUDE:-}" ] || [ -f /usr/include/gloo/context.h ]; then
        return 0
    fi
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "libtorch.sh: installing libgloo-dev with apt-get (Gloo's headers)" >&2
        apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgloo-dev >/dev/null 2>&1 || true
    fi
    if [ ! -f /usr/include/gloo/context.h ]; then
        echo "libtorch.sh: no Gloo headers (apt-get install libgloo-dev, or set GLOO_INCLUDE):" \
            "exc builds without CPU data parallelism" >&2
    fi
}

# Works both sourced and executed: never `exit` from a sourced script.
_exc_torch_main() {
    _exc_gloo_headers
    local want_version="2.11.0"
    if [ -n "${LIBTORCH:-}" ]; then
        if [ ! -d "$LIBTORCH/lib" ]; then
            echo "libtorch.sh: LIBTORCH=$LIBTORCH has no lib/ directory" >&2
            return 1
        fi
        export LIBTORCH
        export LD_LIBRARY_PATH="$LIBTORCH/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        echo "libtorch.sh: using LIBTORCH=$LIBTORCH" >&2
        return 0
    fi

    local venv="${EXC_TORCH_VENV:-$HOME/.cache/exc/torch-$want_version}"
    local py="$venv/bin/python"
    local have=""
    if [ -x "$py" ]; then
        have="$("$py" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)"
    fi
    if [ "$have" != "$want_version" ]; then
        local base_py="${EXC_PYTHON:-}"
        if [ -z "$base_py" ]; then
            for cand in python3.11 python3 python; do
                if command -v "$cand" >/dev/null 2>&1; then
                    base_py="$(command -v "$cand")"
                    break
                fi
            done
        fi
        if [ -z "$base_py" ]; then
            echo "libtorch.sh: no python3 found; install Python 3 or set LIBTORCH" >&2
            return 1
        fi
        echo "libtorch.sh: installing torch==$want_version into $venv (one-off, a few minutes)" >&2
        mkdir -p "$(dirname "$venv")"
        if [ ! -x "$py" ]; then
            # Debian's python3 lacks ensurepip unless python3-venv is installed.
            if ! "$base_py" -m venv "$venv" 2>/dev/null; then
                rm -rf "$venv"
                if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
                    echo "libtorch.sh: installing python3-venv with apt-get" >&2
                    apt-get update -qq >/dev/null 2>&1 || true
                    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null || true
                fi
                "$base_py" -m venv "$venv" || {
                    echo "libtorch.sh: could not create a venv with $base_py" >&2
                    return 1
                }
            fi
        fi
        "$py" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
        # shellcheck disable=SC2086
        "$py" -m pip install --quiet "torch==$want_version" ${EXC_TORCH_EXTRA_PIP:-} || {
            echo "libtorch.sh: pip install torch==$want_version failed" >&2
            return 1
        }
    elif [ -n "${EXC_TORCH_EXTRA_PIP:-}" ]; then
        # shellcheck disable=SC2086
        "$py" -m pip install --quiet ${EXC_TORCH_EXTRA_PIP} || return 1
    fi

    local torch_lib
    torch_lib="$("$py" -W ignore -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null)" || return 1
    # ProcessGroupNCCL's header needs CUDA's crt/ and cccl headers, which
    # the CUDA wheel's dependencies leave out: two small packages (~3 MB),
    # pinned to torch 2.11.0's CUDA 13.0, let exc-torchext compile NCCL in.
    local cu13="$torch_lib/../../nvidia/cu13/include"
    if [ -f "$torch_lib/libtorch_cuda.so" ] && [ ! -f "$cu13/crt/host_config.h" -o ! -d "$cu13/nv" ]; then
        "$py" -m pip install --quiet --no-deps "nvidia-cuda-crt==13.0.88" "nvidia-cuda-cccl==13.0.85" ||
            echo "libtorch.sh: CUDA's headers did not install: exc builds without NCCL" >&2
    fi
    export LIBTORCH_USE_PYTORCH=1
    export PATH="$venv/bin:$PATH"
    export EXC_TORCH_PYTHON="$py"
    export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "libtorch.sh: torch $want_version from $venv" >&2
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    _exc_torch_main
    if [ -n "${LIBTORCH:-}" ]; then
        echo "export LIBTORCH=$LIBTORCH"
    else
        echo "export LIBTORCH_USE_PYTORCH=1"
    fi
    echo "export PATH=$PATH"
    echo "export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
else
    _exc_torch_main || {
        echo "libtorch.sh: set-up failed" >&2
        return 1
    }
fi
