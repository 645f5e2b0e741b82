"""Writes tokenizer parity goldens for exc-data.

Usage (from the repo root):
    python3 -m venv /work/.venvs/data-golden
    /work/.venvs/data-golden/bin/pip install -r data/golden/requirements.txt
    /work/.venvs/data-golden/bin/python data/golden/gen_tokenizer.py

Reads the real T5 vocabulary and English text from fixtures/data and writes
data/golden/tokenizer.jsonl: one case per line with the text and the ids that
three oracles give (EOS included):
  "hf":   transformers' T5Converter applied to spiece.model (the path our
          Rust converter reimplements),
  "json": the `tokenizers` library on the fixture tokenizer.json,
  "spm":  Python sentencepiece on spiece.model, plus </s>.
"json" and "spm" are written only when they differ from "hf", which keeps
the file small and makes every divergence visible.
"""
import json
import os
import sys

import sentencepiece as spm
import tokenizers
import transformers
from transformers.convert_slow_tokenizer import T5Converter

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "fixtures", "data")
TOK = os.path.join(FIXTURES, "t5_tokenizer")

SPECIAL = [
    "",
    " ",
    "   ",
    "Hello world",
    "  leading spaces",
    "trailing spaces   ",
    "runs  of   spaces    here",
    "tabs\tand\ttabs",
    "new\nlines\n\nand\r\nCRLF",
    "<extra_id_0>",
    "The <extra_id_0> walks in <extra_id_1> park <extra_id_99>",
    "x<extra_id_5>y",
    "</s> <pad> <unk> inline",
    "\ufb01ne ligature \ufb02ow",
    "full-width \uff21\uff22\uff23\uff11\uff12\uff13\uff01",
    "Caf\u00e9 na\u00efve r\u00e9sum\u00e9",
    "Cafe\u0301 decomposed",
    "half-width \uff76\uff80\uff76\uff85",
    "circled \u2460\u2461\u2462",
    "\u2122 \u210c \u00bd \u00b2",
    "non\u00a0breaking\u00a0space",
    "zero\u200bwidth\u200bspace",
    "emoji \U0001F600 and \u4e2d\u6587",
    "Stra\u00dfe \u00fcber",
    "ellipsis\u2026 \u201cquotes\u201d em\u2014dash",
    "translate English to German: That is good.",
    "cola sentence: The book was read by John.",
]


def text_cases():
    cases = list(SPECIAL)
    for name, limit in (("wiki_00.txt", None), ("botchan.txt", 1200)):
        with open(os.path.join(FIXTURES, "text", name), encoding="utf-8") as f:
            lines = f.read().split("\n")
        if limit:
            lines = lines[:limit]
        cases.extend(lines)
        # Whole multi-line paragraphs exercise newline handling in context.
        for i in range(0, min(len(lines), 400), 40):
            cases.append("\n".join(lines[i : i + 5]))
    return cases


def main():
    sp = spm.SentencePieceProcessor(model_file=os.path.join(TOK, "spiece.model"))
    # The converter itself: T5TokenizerFast(vocab_file=..., from_slow=True)
    # loses the prefix space in transformers 4.57, so call T5Converter directly.
    slow = transformers.T5Tokenizer(os.path.join(TOK, "spiece.model"), legacy=True)
    hf = T5Converter(slow).converted()
    tj = tokenizers.Tokenizer.from_file(os.path.join(TOK, "tokenizer.json"))
    out_path = os.path.join(HERE, "tokenizer.jsonl")
    n = n_spm = n_json = 0
    with open(out_path, "w", encoding="utf-8") as out:
        for text in text_cases():
            h = hf.encode(text).ids
            j = tj.encode(text).ids
            s = sp.encode(text) + [sp.piece_to_id("</s>")]
            case = {"text": text, "hf": h}
            if j != h:
                case["json"] = j
                n_json += 1
            if s != h:
                case["spm"] = s
                n_spm += 1
            out.write(json.dumps(case, ensure_ascii=False) + "\n")
            n += 1
    print(
        f"{n} cases -> {out_path}; spm differs on {n_spm}, tokenizer.json on {n_json}"
        f" (sentencepiece {spm.__version__}, transformers {transformers.__version__},"
        f" tokenizers {tokenizers.__version__})",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
