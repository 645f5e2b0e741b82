"""Golden outputs of transformers' T5 for exc's parity tests.

Builds two tiny random models with transformers (a T5.1.1: gated-gelu, untied
LM head, asymmetric depth; and an original T5: relu, tied embeddings with the
d_model**-0.5 output scaling), saves each as an HF checkpoint directory
(config.json + model.safetensors) and writes golden.safetensors beside it:
encoder output, logits, loss with padded targets, greedy and beam outputs,
gradients, and parameters after Adafactor (configured as T5X's) and AdamW
steps. Rust tests (runtime/tests/parity.rs) compare against these files
without Python.

    source scripts/libtorch.sh   # with EXC_TORCH_EXTRA_PIP="transformers==5.24.0"
    python runtime/golden/gen.py             # rewrite the goldens
    python runtime/golden/gen.py --check DIR # load an exc-saved checkpoint in
                                             # transformers, compare logits
"""

import argparse
import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import T5Config, T5ForConditionalGeneration
from transformers.optimization import Adafactor

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 3

MODELS = {
    "t5_1_1_tiny": dict(
        vocab_size=96, d_model=32, d_kv=8, d_ff=48, num_layers=3, num_decoder_layers=2,
        num_heads=4, relative_attention_num_buckets=8, relative_attention_max_distance=20,
        feed_forward_proj="gated-gelu", tie_word_embeddings=False, dropout_rate=0.0, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
    ),
    "t5_tiny": dict(
        vocab_size=96, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8, relative_attention_max_distance=20,
        feed_forward_proj="relu", tie_word_embeddings=True, dropout_rate=0.0, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
    ),
}


def batch():
    g = torch.Generator().manual_seed(7)
    input_ids = torch.randint(2, 96, (2, 12), generator=g)
    input_mask = torch.ones_like(input_ids)
    input_ids[1, 8:] = 0  # padding
    input_mask[1, 8:] = 0
    input_ids[0, 11] = 1  # EOS
    input_ids[1, 7] = 1
    labels = torch.randint(2, 96, (2, 7), generator=g)
    labels[1, 4:] = -100  # padded targets
    return input_ids, input_mask, labels


def build(name, kw):
    torch.manual_seed(1234)
    cfg = T5Config(**kw)
    model = T5ForConditionalGeneration(cfg)
    if not kw["tie_word_embeddings"]:
        # transformers 5 ties lm_head to shared unless the checkpoint holds a
        # distinct lm_head.weight: give it one, as T5.1.1 checkpoints have.
        model.lm_head.weight = torch.nn.Parameter(torch.randn(cfg.vocab_size, cfg.d_model))
    out = os.path.join(HERE, name)
    os.makedirs(out, exist_ok=True)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    if kw["tie_word_embeddings"]:
        state = {k: v for k, v in state.items() if k in ("shared.weight",) or not (
            k.endswith("embed_tokens.weight") or k == "lm_head.weight")}
    save_file(state, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    conf = cfg.to_dict()
    conf["tie_word_embeddings"] = kw["tie_word_embeddings"]
    conf.pop("scale_decoder_outputs", None)
    conf["architectures"] = ["T5ForConditionalGeneration"]
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(conf, f, indent=2, sort_keys=True)
    # Reload: the goldens come from what transformers reads back.
    return T5ForConditionalGeneration.from_pretrained(out).float(), out


def forward_goldens(model, gold):
    input_ids, input_mask, labels = batch()
    model.eval()
    with torch.no_grad():
        out = model(input_ids=input_ids, attention_mask=input_mask, labels=labels)
        enc = model.get_encoder()(input_ids=input_ids, attention_mask=input_mask).last_hidden_state
        # A batch whose targets are all padding: transformers gives NaN, exc 0.
        greedy = model.generate(input_ids=input_ids, attention_mask=input_mask, do_sample=False,
                                num_beams=1, max_new_tokens=10)
        # EOS set to a token greedy emits mid-way, so stopping is exercised.
        eos = int(greedy[0, 4])
        greedy_eos = model.generate(input_ids=input_ids, attention_mask=input_mask, do_sample=False,
                                    num_beams=1, max_new_tokens=10, eos_token_id=eos)
        beams = {}
        for lp in (1.0, 0.6):
            beams[lp] = model.generate(input_ids=input_ids, attention_mask=input_mask, do_sample=False,
                                       num_beams=3, max_new_tokens=8, length_penalty=lp,
                                       early_stopping=True, eos_token_id=eos)
    gold.update({
        "input_ids": input_ids, "input_mask": input_mask, "labels": labels,
        "encoder_out": enc, "logits": out.logits, "loss": out.loss.reshape(1),
        "greedy": greedy, "greedy_eos": greedy_eos, "greedy_eos_id": torch.tensor([eos]),
        "beam3_lp1": beams[1.0], "beam3_lp06": beams[0.6],
    })


def train_goldens(model, gold):
    """Parameters after STEPS optimizer steps on the golden batch (dropout 0),
    and every step's gradients so Rust can check the optimizer alone."""
    input_ids, input_mask, labels = batch()
    for opt_name in ("adafactor", "adamw"):
        m = T5ForConditionalGeneration.from_pretrained(model.name_or_path).float()
        m.train()
        params = dict(m.named_parameters())
        if opt_name == "adafactor":
            # T5X's settings: LR from a schedule, decay 0.8, clipping 1.0,
            # parameter-scale multiplication, no momentum.
            opt = Adafactor(m.parameters(), lr=0.01, relative_step=False, scale_parameter=True,
                            warmup_init=False, decay_rate=-0.8, clip_threshold=1.0, beta1=None)
        else:
            opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
        for step in range(1, STEPS + 1):
            opt.zero_grad()
            loss = m(input_ids=input_ids, attention_mask=input_mask, labels=labels).loss
            loss.backward()
            for k, p in params.items():
                if p.grad is not None and opt_name == "adafactor":
                    gold[f"{opt_name}.grad{step}.{k}"] = p.grad.detach().clone()
            opt.step()
            for k, p in params.items():
                gold[f"{opt_name}.param{step}.{k}"] = p.detach().clone()


def check_saved(path):
    """Loads an exc-saved checkpoint in transformers and compares its logits
    with exc's (written by the Rust test next to it as exc_logits.safetensors)."""
    from safetensors.torch import load_file
    model = T5ForConditionalGeneration.from_pretrained(path).float().eval()
    input_ids, input_mask, labels = batch()
    with torch.no_grad():
        logits = model(input_ids=input_ids, attention_mask=input_mask, labels=labels).logits
    ref = load_file(os.path.join(path, "exc_logits.safetensors"))["logits"]
    diff = (logits - ref).abs().max().item()
    print(f"{path}: max |transformers - exc| logits = {diff:.3g}")
    return 0 if diff < 1e-5 else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", metavar="DIR", help="check an exc-saved checkpoint instead")
    args = ap.parse_args()
    if args.check:
        sys.exit(check_saved(args.check))
    torch.set_num_threads(1)
    for name, kw in MODELS.items():
        model, out = build(name, kw)
        gold = {}
        forward_goldens(model, gold)
        if name == "t5_1_1_tiny":
            train_goldens(model, gold)
        gold = {k: v.contiguous() for k, v in gold.items()}
        save_file(gold, os.path.join(out, "golden.safetensors"), metadata={"format": "pt"})
        print(name, "loss", gold["loss"].item(), "greedy", gold["greedy"].tolist())


if __name__ == "__main__":
    main()
