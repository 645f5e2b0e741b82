#!/usr/bin/env bash
# Data-parallel scaling on this machine: `exc run` of the quickstart's
# pre-training (tiny T5.1.1, packed 128/32 rows) at the same batch PER RANK
# with 1 rank and with N ranks (Gloo, one thread each), in one run of this
# script. Prints, per world size, the training throughput (target tokens/s
# over the logging windows after the first), the share of wall time rank 0
# waited for the gradient sums after backward, the bytes reduced per step,
# the share of buckets launched during backward, and the scaling efficiency
# tokens/s(N) / (N x tokens/s(1)); N ranks twice: the allreduce overlapped
# with backward, and after it (EXC_DIST_OVERLAP=0), which is what the
# overlap buys. The model's 17 MB of gradients go in buckets of BUCKET_MB
# (default 2; DDP's 25 would make one bucket, which cannot overlap).
#
#   bash runtime/bench/scaling.sh [N]      # N default 2; STEPS=60 PER_RANK=8 BUCKET_MB=2
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
export EXC_DIST_BUCKET_MB="${BUCKET_MB:-2}"
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

run() { # world size, overlap (1 or 0)
    local out="$work/out$1-$2" flags=()
    [ "$1" -gt 1 ] && flags=(--nproc "$1")
    EXC_DIST_OVERLAP="$2" OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE "$exc" run "$(mixture "$1")" \
        --data-dir examples/quickstart/data --tokenizer examples/quickstart/spiece.model \
        --out "$out" --device cpu --log-every 10 --quiet "${flags[@]}" >/dev/null
    python3 - "$out/metrics.jsonl" "$1" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows = [r for r in rows if "tokens_per_s" in r][1:]  # the first window warms up
tps = sum(r["tokens_per_s"] for r in rows) / len(rows)
comm = sum(r.get("comm", 0.0) for r in rows) / len(rows)
early = sum(r.get("comm_overlapped", 0.0) for r in rows) / len(rows)
nbytes = rows[-1].get("comm_bytes_per_step", 0)
print(f"{sys.argv[2]} {tps:.1f} {comm:.4f} {nbytes} {early:.2f}")
EOF
}

echo "cores: $(nproc); per-rank batch $per_rank; $steps steps; one thread per rank"
one="$(run 1 1)"
overlapped="$(run "$n" 1)"
after="$(run "$n" 0)"
python3 - "$one" "$overlapped" "$after" <<'EOF'
import sys
one, *many = (s.split() for s in sys.argv[1:])
t1 = float(one[1])
print(f"world 1:  {t1:10.1f} target tokens/s")
for (wn, tn, cn, bn, early), how in zip(many, ["overlapped with backward", "after backward"]):
    tn, wn = float(tn), int(wn)
    print(f"world {wn}: {tn:10.1f} target tokens/s, allreduce {how}: waited {100 * float(cn):.1f}% "
          f"of wall time, {100 * float(early):.0f}% of buckets launched during backward, "
          f"{int(bn) / 1e6:.2f} MB per step; efficiency {tn / (wn * t1):.2f}")
EOF
