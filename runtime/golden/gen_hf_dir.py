"""Goldens for runtime/tests/hf_dir.rs: transformers' reading of the model
directory exc writes into every checkpoint (weights, config, tokenizer,
generation config).

Run from the repository root, with the stack of requirements.txt in the
torch venv of scripts/libtorch.sh (transformers 5.24.0):

    source scripts/libtorch.sh
    "$EXC_TORCH_PYTHON" runtime/golden/gen_hf_dir.py

It has exc write the directory (the ignored test
`write_model_dir_for_the_golden_script`), loads it with
`AutoTokenizer.from_pretrained` and `T5ForConditionalGeneration.from_pretrained`,
and writes runtime/golden/hf_dir/transformers.json: the files, the
tokenizer's class and size, the model's missing and unexpected weights, the
generation config, and transformers' ids for a set of texts.
"""

import json
import os
import subprocess
import tempfile

import transformers
from transformers import AutoTokenizer, GenerationConfig, T5ForConditionalGeneration

TEXTS = [
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "  leading and   inner   spaces  ",
    "Résumé: naïve café, Zürich — 3.5 km.",
    "rte sentence1: A man is playing a guitar. sentence2: A person plays music.",
    "The <extra_id_0> walks in <extra_id_1> park",
    "Numbers 1234567 and 3.14159, dates 2026-12-06.",
    "Ce n'est pas très difficile à comprendre.",
    "Acesta este un test în limba română: ţară, şcoală.",
    "emoji 🙂 and symbols ∑ ∞ ≠",
    "",
    "tabs\tand\nnewlines",
]


def main():
    out = os.path.join("runtime", "golden", "hf_dir", "transformers.json")
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, EXC_HF_DIR_OUT=d)
        subprocess.run(
            ["cargo", "test", "-p", "exc-runtime", "--test", "hf_dir", "--",
             "--ignored", "--exact", "write_model_dir_for_the_golden_script"],
            check=True, env=env)
        files = sorted(os.listdir(d))
        tok = AutoTokenizer.from_pretrained(d)
        model, info = T5ForConditionalGeneration.from_pretrained(
            d, output_loading_info=True)
        gen = GenerationConfig.from_pretrained(d)
        golden = {
            "transformers": transformers.__version__,
            "files": files,
            "tokenizer_class": type(tok).__name__,
            "vocab_size": len(tok),
            "missing_keys": sorted(info["missing_keys"]),
            "unexpected_keys": sorted(info["unexpected_keys"]),
            "parameters": sum(p.numel() for p in model.parameters()),
            "generation_config": {
                "decoder_start_token_id": gen.decoder_start_token_id,
                "eos_token_id": gen.eos_token_id,
                "pad_token_id": gen.pad_token_id,
            },
            "cases": [{"text": t, "ids": tok(t)["input_ids"]} for t in TEXTS],
        }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(golden, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
