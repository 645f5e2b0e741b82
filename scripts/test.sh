#!/usr/bin/env bash
# The test command (README, .ci/run): formatting, lints, every crate's tests,
# and a type-check of the fuzz target. Installs libtorch on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/libtorch.sh
source scripts/libtorch.sh

step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --all --check
step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "fuzz target type-checks"
# Its own workspace (cargo-fuzz builds it with nightly flags), so its own lock, resolved here.
cargo check --manifest-path fuzz/Cargo.toml
step "tests"
# CI=true makes insta fail on a changed or missing snapshot instead of writing one.
cargo test --workspace --locked --no-fail-fast

pending=$(git ls-files --others --exclude-standard | grep -E '\.snap\.new$|\.pending-snap$' || true)
if [ -n "$pending" ]; then
    echo "pending insta snapshots (review them with cargo insta review):" >&2
    echo "$pending" >&2
    exit 1
fi
