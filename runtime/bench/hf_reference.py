"""The PyTorch reference of `exc bench train`: transformers'
T5ForConditionalGeneration with the same config, initial weights and
batches as the exc run, trained with transformers' Adafactor as T5 uses it,
timed the same way (warm-up steps, then N steps with one synchronisation at
the end, then a few device-synchronised steps for the breakdown).

bf16 is autocast over float32 parameters (what the HF Trainer and nanoT5
do); `--mode compile` wraps the model in torch.compile as nanoT5 does.
Batches are on the device before timing starts, so this side has no data
wait. Prints one line `EXC_REF_RESULT {json}` for the Rust side to read.

The exc binary writes this file out and runs it; it can also be run by
hand: python hf_reference.py --model-dir D --batches B.safetensors ...
"""

import argparse
import json
import resource
import sys
import time

import torch
from safetensors.torch import load_file
from transformers import T5ForConditionalGeneration
from transformers.optimization import Adafactor


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--batches", required=True)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--breakdown-steps", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="bf16")
    ap.add_argument("--mode", choices=["eager", "compile"], default="eager")
    ap.add_argument("--attn", default="sdpa")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--lr", type=float, default=0.01)
    a = ap.parse_args()

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    if cuda:
        # TF32 for float32 matmuls, as the exc side allows it.
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    model = T5ForConditionalGeneration.from_pretrained(
        a.model_dir, attn_implementation=a.attn, dtype=torch.float32
    ).to(dev)
    model.train()
    # T5's Adafactor: fixed LR, parameter scaling, decay 0.8, clipping 1.0.
    opt = Adafactor(
        model.parameters(),
        lr=a.lr,
        scale_parameter=True,
        relative_step=False,
        warmup_init=False,
        decay_rate=-0.8,
        clip_threshold=1.0,
        beta1=None,
        weight_decay=0.0,
    )
    fwd = torch.compile(model) if a.mode == "compile" else model
    raw = load_file(a.batches)
    k = raw["input_ids"].shape[0]
    batches = [
        {name: raw[name][i].to(dev) for name in ("input_ids", "attention_mask", "decoder_input_ids", "labels")}
        for i in range(k)
    ]
    bf16 = a.precision == "bf16"

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def forward(b):
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            return fwd(**b).loss

    # Whether this side trains the relative position bias at all: a fused
    # SDPA backend that returns no gradient for the mask leaves it at zero.
    bias_table = model.encoder.block[0].layer[0].SelfAttention.relative_attention_bias.weight
    bias_grad = []

    def step(i):
        loss = forward(batches[i % k])
        loss.backward()
        if not bias_grad:
            g = bias_table.grad
            bias_grad.append(float(g.float().norm()) if g is not None else 0.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.detach()

    t = time.perf_counter()
    losses = []
    for i in range(a.warmup):
        losses.append(step(i))
    sync()
    warmup_s = time.perf_counter() - t
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    for i in range(a.warmup, a.warmup + a.steps):
        losses.append(step(i))
    sync()
    total = time.perf_counter() - t

    parts = []
    for j in range(a.breakdown_steps):
        b = batches[(a.warmup + a.steps + j) % k]
        sync()
        t0 = time.perf_counter()
        loss = forward(b)
        sync()
        t1 = time.perf_counter()
        loss.backward()
        sync()
        t2 = time.perf_counter()
        opt.step()
        opt.zero_grad(set_to_none=True)
        sync()
        t3 = time.perf_counter()
        parts.append((t1 - t0, t2 - t1, t3 - t2))
    n = max(len(parts), 1)
    mean = [sum(p[i] for p in parts) / n for i in range(3)]
    out = {
        "mode": a.mode,
        "attn": a.attn,
        "precision": a.precision,
        "device": torch.cuda.get_device_name(dev) if cuda else "cpu",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "steps": a.steps,
        "step_s": total / max(a.steps, 1),
        "warmup_s": warmup_s,
        "losses": [float(x) for x in losses],
        "sdpa_backend": sdpa_backend(dev, bf16) if a.attn == "sdpa" else None,
        "bias_grad_norm": bias_grad[0] if bias_grad else None,
        "breakdown": {"forward": mean[0], "backward": mean[1], "optimizer": mean[2]},
        "peak_allocated_bytes": torch.cuda.max_memory_allocated() if cuda else None,
        "peak_reserved_bytes": torch.cuda.max_memory_reserved() if cuda else None,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    print("EXC_REF_RESULT " + json.dumps(out), flush=True)


def sdpa_backend(dev, bf16):
    """The backend SDPA picks here for T5-base's attention with a position
    bias that needs a gradient (what transformers' T5 hands it)."""
    kind = torch.bfloat16 if bf16 else torch.float32
    q = torch.zeros(2, 12, 128, 64, device=dev, dtype=kind)
    bias = torch.zeros(1, 12, 128, 128, device=dev, dtype=kind, requires_grad=True)
    try:
        choice = torch._fused_sdp_choice(q, q, q, bias, 0.0, False, scale=1.0)
        return torch.nn.attention.SDPBackend(choice).name
    except Exception as e:  # a diagnostic only: never fail the run for it
        return f"unknown ({e})"


if __name__ == "__main__":
    sys.exit(main())
