#!/usr/bin/env bash
# The GPU benchmark of issue 8 in one command, inside ten minutes.
#
#   bash runtime/bench/gpu.sh --prepare   # here, on the build machine: builds the
#                                         # release bench binary and copies it, the
#                                         # text and the tokenizer to runtime/bench/.gpu
#   bash runtime/bench/gpu.sh             # on the H100/H200 machine (carry
#                                         # runtime/bench/.gpu): builds nothing
#   bash runtime/bench/gpu.sh --dry-run   # the same stages on CPU with a tiny model
#
# On the GPU it runs, in this order (what the issue's "done when" needs
# first), each stage under what is left of a 570 s budget:
#   A  T5.1.1-base 512/114 bf16 at batch 128 (exc), and transformers eager and
#      torch.compile on the same weights and batches (ratios, loss agreement)
#   F  `exc run` end to end on the device: the miniature (packed pre-training,
#      `precision auto` = bf16 on CUDA, `--kernels auto` = mem-efficient
#      attention and fused norm after their device checks, checkpoint selection, per-task
#      fine-tuning, evaluation), 20 steps a stage; prints its report
#   G  `exc run --nproc gpu` of the miniature over NCCL (every GPU; a group of
#      one on a single GPU, against F), the allreduce overlapped and not
#   E  loss over 200 steps (base, batch 32): optimised path vs the unoptimised
#      one (fp32, math attention, composite norm, tensor-by-tensor Adafactor)
#   C  T5.1.1-base: the largest batch that fits (tries 512, 384, 256, 192)
#   B  T5.1.1-large 512/114 bf16 at batch 64, with transformers eager
#   D  levers at base/128, each turned off alone: math attention, composite
#      RMS norm, tensor-by-tensor Adafactor
# then prints one table. Everything is written to a work folder
# ($EXC_GPU_WORK, default /tmp/exc-gpu); $OUT (else runtime/bench/out) gets
# three files, refreshed after every stage, because the device tool brings
# back at most 8: summary.txt (the table), gpu.log (all output) and
# results.tgz (every stage's JSON and log, the miniature run without its
# weights).
# The python3 there must hold torch 2.11.0 (cu130) and transformers; its
# torch/lib and nvidia/*/lib provide libtorch to the binary built here.

set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
kit="$here/.gpu"
mode="${1:-gpu}"

if [ "$mode" = "--prepare" ]; then
    set -e
    cd "$root"
    # shellcheck disable=SC1091
    source scripts/libtorch.sh
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
    cargo build --release -p exc-runtime --example bench_train
    cargo build --release --locked --bin exc
    mkdir -p "$kit/text"
    cp "$CARGO_TARGET_DIR/release/examples/bench_train" "$kit/"
    cp "$CARGO_TARGET_DIR/release/exc" "$kit/"
    cp "${EXC_BENCH_TEXT:-$root/fixtures/data/text}"/*.txt "$kit/text/"
    cp "${EXC_BENCH_TOKENIZER:-$root/fixtures/data/t5_tokenizer/spiece.model}" "$kit/spiece.model"
    du -sh "$kit"
    echo "ready: carry runtime/bench/.gpu and run: bash runtime/bench/gpu.sh"
    exit 0
fi

out="${OUT:-$here/out}"
work="${EXC_GPU_WORK:-/tmp/exc-gpu}"
rm -rf "$work"
mkdir -p "$out" "$work"
exec > >(tee "$work/gpu.log") 2>&1
bin="${EXC_BENCH_BIN:-$kit/bench_train}"
py="${EXC_TORCH_PYTHON:-python3}"
budget="${EXC_BENCH_BUDGET_S:-570}"
if [ "$mode" = "--dry-run" ]; then
    # shellcheck disable=SC1091
    source "$root/scripts/libtorch.sh" || exit 1
    py="${EXC_TORCH_PYTHON:-python3}"
    [ -x "$bin" ] || bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/bench_train"
fi
if [ ! -x "$bin" ]; then
    echo "gpu.sh: no bench binary at $bin (run: bash runtime/bench/gpu.sh --prepare)" >&2
    exit 1
fi
text="${EXC_BENCH_TEXT:-$kit/text}"
tok="${EXC_BENCH_TOKENIZER:-$kit/spiece.model}"
[ -d "$text" ] || text="$root/fixtures/data/text"
[ -f "$tok" ] || tok="$root/fixtures/data/t5_tokenizer/spiece.model"

# libtorch and the CUDA libraries from the python that holds torch.
site="$("$py" -c 'import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))')" || {
    echo "gpu.sh: $py has no torch" >&2
    exit 1
}
libs="$site/torch/lib"
for d in "$site"/nvidia/*/lib "$site"/nvidia/cu13/lib; do
    [ -d "$d" ] && libs="$libs:$d"
done
export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Varying allocation sizes (the loss, the pipeline's batches) fragment less.
export PYTORCH_CUDA_ALLOC_CONF="${PYTORCH_CUDA_ALLOC_CONF:-expandable_segments:True}"
if [ "$mode" != "--dry-run" ] && ! "$py" -c 'import torch; torch.zeros(1, device="cuda")' 2>/dev/null; then
    # Expandable segments need the driver's virtual-memory calls, which a
    # sandboxed GPU may not offer: measure without them rather than fail.
    echo "gpu.sh: CUDA fails with $PYTORCH_CUDA_ALLOC_CONF; running without it"
    unset PYTORCH_CUDA_ALLOC_CONF
fi
have_tf=1
"$py" -c 'import transformers' 2>/dev/null || have_tf=0

if [ "$mode" = "--dry-run" ]; then
    dev=cpu
    base="$here/t5-cpu-small.json"; large="$here/t5-cpu-small.json"
    len=(--inputs 64 --targets 16 --threads 2)
    b128=4; b64=2; b32=2; tries=(16 8); steps=2; long=6; lever_steps=2
    refs="eager"
else
    dev=cuda
    base=t5.1.1-base; large=t5.1.1-large
    len=(--inputs 512 --targets 114)
    b128=128; b64=64; b32=32; tries=(512 384 256 192); steps=20; long=200; lever_steps=10
    refs="eager,compile"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
[ "$have_tf" = 1 ] || { echo "gpu.sh: no transformers in $py: references skipped"; refs=""; }
"$py" -c 'import torch, sys; print("python torch", torch.__version__, "cuda", torch.cuda.is_available())'

common=(--device "$dev" --text "$text" --tokenizer "$tok" --python "$py" "${len[@]}")

left() { echo $((budget - SECONDS)); }

# The table over every stage's JSON so far.
summary_py=$(cat <<'EOF'
import glob, json, os, sys
out = sys.argv[1]  # the work folder
rows = []
for f in sorted(glob.glob(os.path.join(out, "*.json"))):
    r = json.load(open(f))
    name = os.path.basename(f)[:-5]
    mfu = f"{100 * r['mfu']:.1f}%" if r.get("mfu") is not None else "n/a"
    mem = f"{r['peak_memory_bytes'] / 2**30:.1f}" if r.get("peak_memory_bytes") else "-"
    if r.get("allocator"):
        mem = f"{r['allocator']['peak_reserved_bytes'] / 2**30:.1f}/{mem}"
    refs = " ".join(f"{x['result']['mode']} {x['speedup']:.2f}x (dloss {x['max_loss_diff']:.3f})" for x in r["references"])
    refs += "".join(f" {e.split(':')[0]} FAILED" for e in r.get("reference_errors", []))
    if r.get("kernel_notes"):
        name += " (kernel refused)"
    bd = r["breakdown"]
    parts = "/".join(f"{1e3 * bd[k]:.0f}" for k in ("data", "forward", "backward", "optimizer"))
    ops = r.get("ops") or {}
    launches = "/".join(str(ops[k]["launches"]) for k in ("forward", "backward", "optimizer", "zero_grad")) if ops else "-"
    if ops:
        launches += f" ({sum(p['multi_tensor_fallbacks'] for p in ops.values())} unfused)"
    rows.append((name, r["precision"], r["attention"], r.get("norm", "-"), str(r["batch"]), f"{1e3 * r['step_s']:.1f}",
                 f"{r['examples_per_s']:.1f}", f"{r['tokens_per_s']:.0f}", f"{100 * r['data_wait_share']:.1f}%",
                 mem, f"{r['achieved_tflops']:.1f}", mfu, parts, launches, refs))
head = ("run", "prec", "attention", "norm", "batch", "step ms", "ex/s", "tok/s", "data wait", "mem GiB (resv/smi)",
        "TFLOP/s", "MFU", "data/fwd/bwd/opt ms", "calls fwd/bwd/opt/zero (per-tensor ops in multi-tensor calls)", "exc speed vs transformers")
w = [max(len(str(x[i])) for x in rows + [head]) for i in range(len(head))]
for r in [head] + rows:
    print("  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)))
a, b = (os.path.join(out, f"E-loss-{k}.json") for k in ("optimised", "unoptimised"))
if os.path.exists(a) and os.path.exists(b):
    la, lb = json.load(open(a))["losses"], json.load(open(b))["losses"]
    n = min(len(la), len(lb))
    d = [abs(x - y) for x, y in zip(la[:n], lb[:n])]
    tail = max(n // 10, 1)
    print(f"loss, optimised vs unoptimised over {n} steps: max |diff| {max(d):.4f}, "
          f"last {tail} steps mean {sum(la[n - tail:n]) / tail:.4f} vs {sum(lb[n - tail:n]) / tail:.4f}")
EOF
)
# The table over every stage's JSON so far.
summarise() { "$py" - "$work" > "$work/summary.txt" 2>&1 <<<"$summary_py"; }

# pack: what the device tool brings back, refreshed after every stage.
pack() {
    summarise
    cp "$work/summary.txt" "$out/summary.txt"
    tar czf "$out/results.tgz" -C "$work" --exclude='*.safetensors' --exclude='gpu.log' \
        --exclude='F-miniature/*/checkpoints' --exclude='F-miniature/*/*/checkpoints' . 2>/dev/null
    cp "$work/gpu.log" "$out/gpu.log"
}

# run NAME MAX_SECONDS ARGS...: one bench run under min(MAX, what is left).
run() {
    local name="$1" max="$2"
    shift 2
    local t
    t=$(left)
    [ "$t" -gt "$max" ] && t="$max"
    if [ "$t" -lt 20 ]; then
        echo "== $name: skipped, ${t}s left of the budget"
        return 1
    fi
    echo "== $name (at most ${t}s)"
    timeout --kill-after=5 "$t" "$bin" "${common[@]}" --json "$work/$name.json" "$@" 2>&1 \
        | grep -v -e 'Loading weights' -e 'tied weights mapping' | tee "$work/$name.log"
    local rc="${PIPESTATUS[0]}"
    pack
    return "$rc"
}

ref_args=()
[ -n "$refs" ] && ref_args=(--reference "$refs")
run A-base-b$b128 240 --model "$base" --batch "$b128" --steps "$steps" "${ref_args[@]}"

# F: the run path, not just the step: exc run on the device.
exc_bin="${EXC_BIN:-$kit/exc}"
[ -x "$exc_bin" ] || exc_bin="${CARGO_TARGET_DIR:-$root/target}/release/exc"
t=$(left)
[ "$t" -gt 120 ] && t=120
if [ -x "$exc_bin" ] && [ "$t" -ge 30 ]; then
    echo "== F-exc-run-miniature (at most ${t}s)"
    mini="$work/F-miniature"
    (cd "$root" && timeout --kill-after=5 "$t" "$exc_bin" run examples/miniature/miniature.exmix \
        --device "$dev" --steps 20 --eval-limit 8 --log-every 10 --out "$mini") \
        > "$work/F-exc-run-miniature.log" 2>&1
    echo "exc run rc $? (log: F-exc-run-miniature.log in results.tgz)"
    grep -E '^(note|warning|error)|step 20/20' "$work/F-exc-run-miniature.log" | head -20
    [ -f "$mini/report.md" ] && cat "$mini/report.md"
    [ -f "$mini/config.json" ] && grep -A3 '"precision"' "$mini/config.json"
    # The kernels each training stage chose (checked on the device first).
    grep -H '"kernels"' "$mini"/*/DONE 2>/dev/null
    grep -H -A3 '"peak_memory"' "$mini"/*/DONE 2>/dev/null
    pack
else
    echo "== F-exc-run-miniature: skipped (no exc binary at $exc_bin, or ${t}s left)"
fi

# G: data parallelism over NCCL: the miniature again, as a group of every
# GPU the machine has (one on an H100 x1: what a group of one costs against
# F, which ran without one), and with the allreduce after backward instead
# of overlapped with it.
t=$(left)
[ "$t" -gt 150 ] && t=150
if [ -x "$exc_bin" ] && [ "$t" -ge 60 ]; then
    nproc=gpu
    [ "$dev" = cpu ] && nproc=2 # the dry run: Gloo
    for variant in overlap after; do
        echo "== G-nccl-$variant (at most $((t / 2))s)"
        g="$work/G-nccl-$variant"
        ov=1
        [ "$variant" = after ] && ov=0
        (cd "$root" && EXC_DIST_OVERLAP=$ov timeout --kill-after=5 $((t / 2)) "$exc_bin" run \
            examples/miniature/miniature.exmix --nproc "$nproc" --device "$dev" --steps 20 --eval-limit 8 \
            --log-every 10 --out "$g") > "$work/G-nccl-$variant.log" 2>&1
        echo "exc run --nproc gpu rc $? (G-nccl-$variant.log in results.tgz)"
        grep -E 'error|step 20/20' "$work/G-nccl-$variant.log" | head -10
        for m in "${mini:-}" "$g"; do
            [ -f "$m/metrics.jsonl" ] && grep '"tokens_per_s"' "$m/metrics.jsonl" | tail -1 | cut -c1-400
        done
        pack
    done
else
    echo "== G-nccl: skipped (no exc binary, or ${t}s left)"
fi

run E-loss-optimised 60 --model "$base" --batch "$b32" --steps "$long" --warmup 0 --breakdown-steps 0
run E-loss-unoptimised 120 --model "$base" --batch "$b32" --steps "$long" --warmup 0 --breakdown-steps 0 \
    --precision fp32 --attention math --norm composite --per-tensor-optimizer
for b in "${tries[@]}"; do
    if run C-base-b"$b" 60 --model "$base" --batch "$b" --steps "$lever_steps" --warmup 2 --breakdown-steps 1; then
        break
    fi
    rm -f "$work/C-base-b$b.json"
done
ref_eager=()
[ -n "$refs" ] && ref_eager=(--reference eager)
run B-large-b$b64 150 --model "$large" --batch "$b64" --steps $((steps / 2)) "${ref_eager[@]}"
run D-math-attention 45 --model "$base" --batch "$b128" --steps "$lever_steps" --warmup 2 --attention math
run D-composite-norm 45 --model "$base" --batch "$b128" --steps "$lever_steps" --warmup 2 --norm composite
run D-per-tensor-adafactor 45 --model "$base" --batch "$b128" --steps "$lever_steps" --warmup 2 --per-tensor-optimizer

pack
cat "$work/summary.txt"
echo "gpu.sh: done in ${SECONDS}s; results in $out (summary.txt, gpu.log, results.tgz)"
