#!/usr/bin/env bash
# Data-parallel scaling on this machine: `exc run` of the quickstart's
# pre-training (tiny T5.1.1, packed 128/32 rows) at the same batch PER RANK
# with 1 rank and with N ranks (Gloo, one thread each), in one run of this
# script. Prints, per world size, the training throughput (target tokens/s
# over the logging windows after the first), the share of wall time rank 0
# spent in the gradient allreduce, the bytes reduced per step, and the
# scaling efficiency tokens/s(N) / (N x tokens/s(1)).
#
#   bash runtime/bench/scaling.sh [N]      # N default 2; STEPS=60 PER_RANK=8
#
# On a machine with fewer than N free cores the ranks share cores and the
# efficiency measures that, not the collectives: say so with the figure.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/libtorch.sh
source scripts/libtorch.sh
n="${1:-2}"
steps="${STEPS:-60}"
per_rank="${PER_RANK:-8}"
cargo build --release --locked --quiet
exc="$PWD/target/release/exc"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mixture() { # world size -> mixture file
    local m="$work/w$1.exmix"
    sed -e "s|use \"../../tasks\"|use \"$PWD/tasks\"|" \
        -e "s/steps 200/steps $steps/" \
        -e "s/batch 8/batch $((per_rank * $1))/" \
        -e "s/checkpoint_every 100/checkpoint_every $steps/" \
        -e '/^  evaluate /d' \
        examples/quickstart/quickstart.exmix >"$m"
    echo "$m"
}

run() { # world size
    local out="$work/out$1" flags=()
    [ "$1" -gt 1 ] && flags=(--nproc "$1")
    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE "$exc" run "$(mixture "$1")" \
        --data-dir examples/quickstart/data --tokenizer examples/quickstart/spiece.model \
        --out "$out" --device cpu --log-every 10 --quiet "${flags[@]}" >/dev/null
    python3 - "$out/metrics.jsonl" "$1" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows = [r for r in rows if "tokens_per_s" in r][1:]  # the first window warms up
tps = sum(r["tokens_per_s"] for r in rows) / len(rows)
comm = sum(r.get("comm", 0.0) for r in rows) / len(rows)
nbytes = rows[-1].get("comm_bytes_per_step", 0)
print(f"{sys.argv[2]} {tps:.1f} {comm:.4f} {nbytes}")
EOF
}

echo "cores: $(nproc); per-rank batch $per_rank; $steps steps; one thread per rank"
one="$(run 1)"
many="$(run "$n")"
python3 - "$one" "$many" <<'EOF'
import sys
(w1, t1, _, _), (wn, tn, cn, bn) = (s.split() for s in sys.argv[1:3])
t1, tn, wn = float(t1), float(tn), int(wn)
print(f"world 1: {t1:10.1f} target tokens/s")
print(f"world {wn}: {tn:10.1f} target tokens/s, allreduce {100 * float(cn):.1f}% of wall time, "
      f"{int(bn) / 1e6:.2f} MB reduced per step")
print(f"scaling efficiency (world {wn} vs {wn} x world 1): {tn / (wn * t1):.2f}")
EOF
