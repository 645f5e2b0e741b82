#!/usr/bin/env bash
# The main job on a fresh machine: build exc, check the task catalog and the
# examples, plan the quickstart mixture, then train and score it on the CPU
# (a tiny T5.1.1 on real RTE, STS-B and SQuAD rows plus C4-style denoising,
# shipped in examples/quickstart/); the run directory is runs/quickstart.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/libtorch.sh
source scripts/libtorch.sh

cargo build --release --locked
exc=target/release/exc
"$exc" env
"$exc" check tasks/ examples/
"$exc" plan examples/quickstart/quickstart.exmix
"$exc" render glue_rte
"$exc" run examples/quickstart/quickstart.exmix --out runs/quickstart
cat runs/quickstart/report.md
