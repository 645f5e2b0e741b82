#!/usr/bin/env bash
# A fault-injection round through the real binary: writes N catalog mutants
# with the mutator of compiler/tests/fuzz_mutants.rs, runs `exc check` on
# each (in a scratch project holding tasks/glue) and counts panics (exit
# 101), aborts (killed by a signal, e.g. a stack overflow), errors printed
# without a file:line:col, and the slowest run.
#   scripts/fuzz_round.sh [N] [SEED]      (EXC=path/to/exc, default target/debug/exc)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3000}
seed=${2:-1}
exc=$(realpath "${EXC:-target/debug/exc}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
EXC_FUZZ_MUTANTS=$n EXC_FUZZ_SEED=$seed EXC_FUZZ_WRITE="$work/mutants" \
    cargo test -q -p exc-compiler --test fuzz_mutants >/dev/null 2>&1
mkdir -p "$work/project/tasks"
cp -r tasks/glue "$work/project/tasks/"
touch "$work/project/exc.toml"
tried=0 panics=0 aborts=0 unplaced=0 other=0 max_ms=0 slowest=""
for m in "$work"/mutants/*; do
    f="$work/project/m.${m##*.}"
    cp "$m" "$f"
    start=${EPOCHREALTIME/./}
    set +e
    (cd "$work/project" && NO_COLOR=1 timeout 60 "$exc" check --no-time "$(basename "$f")") \
        >/dev/null 2>"$work/err"
    rc=$?
    set -e
    ms=$(((${EPOCHREALTIME/./} - start) / 1000))
    tried=$((tried + 1))
    if ((ms > max_ms)); then max_ms=$ms slowest=$(basename "$m"); fi
    case $rc in
        0 | 1 | 2) ;;
        101) panics=$((panics + 1)); cp "$m" "/tmp/exc-round-panic-$(basename "$m")" ;;
        124 | 1[2-9][0-9]) aborts=$((aborts + 1)); cp "$m" "/tmp/exc-round-abort-$(basename "$m")" ;;
        *) other=$((other + 1)) ;;
    esac
    errors=$(grep -c '^  x ' "$work/err" || true)
    placed=$(grep -cE -- '-\[[^]]*:[0-9]+:[0-9]+\]' "$work/err" || true)
    if ((errors > placed)); then
        unplaced=$((unplaced + errors - placed))
        cp "$m" "/tmp/exc-round-unplaced-$(basename "$m")"
    fi
done
echo "seed $seed: $tried mutants through $exc: $panics panics, $aborts aborts or timeouts," \
    "$other other exit codes, $unplaced errors without file:line:col; slowest ${max_ms} ms ($slowest)"
