#!/usr/bin/env bash
# The main job on a fresh machine: build exc, check the task catalog and the
# examples, and plan the quickstart mixture.
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
