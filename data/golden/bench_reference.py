"""Python reference for data/examples/bench.rs: tokenizer throughput and the
C4 path (tokenize with transformers' fast T5 tokenizer, numpy span
corruption as in transformers' Flax T5 pre-training example, concatenate and
split into 568-token segments). Prints `name value unit` lines.
"""
import json
import os
import sys
import time

import numpy as np
import sentencepiece as spm
import transformers

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "data")


def noise_mask(length, rng, density=0.15, mean=3.0):
    # transformers/examples/flax/language-modeling/run_t5_mlm_flax.py, in short.
    num_noise = int(np.round(length * density))
    num_spans = max(int(np.round(num_noise / mean)), 1)
    num_nonnoise = length - num_noise

    def seg(n, k):
        ind = np.arange(n - 1) < (k - 1)
        rng.shuffle(ind)
        ind = np.pad(ind, [[1, 0]])
        sid = np.cumsum(ind)
        _, lengths = np.unique(sid, return_counts=True)
        return lengths

    inter = np.reshape(np.stack([seg(num_nonnoise, num_spans), seg(num_noise, num_spans)], axis=1), [num_spans * 2])
    starts = np.cumsum(inter)[:-1]
    ind = np.zeros((length,), dtype=np.int8)
    ind[starts] = True
    return np.cumsum(ind) % 2 == 1


def to_sentinel(ids, mask, sentinel=32099):
    prev = np.pad(mask[:-1], [[1, 0]])
    first = mask & ~prev
    sub = mask & prev
    s = np.where(first, sentinel + 1 - np.cumsum(first), ids)
    return s[~sub]


def main():
    docs = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
    sp = spm.SentencePieceProcessor(model_file=os.path.join(FIXTURES, "t5_tokenizer", "spiece.model"))
    t0 = time.perf_counter()
    n = sum(len(x) for x in sp.encode(docs))
    print(f"python sentencepiece (1 thread): {n / (time.perf_counter() - t0):.0f} tokens/s")
    hf = transformers.T5TokenizerFast(tokenizer_file=os.path.join(FIXTURES, "t5_tokenizer", "tokenizer.json"))
    t0 = time.perf_counter()
    n = sum(len(x) for x in hf(docs, add_special_tokens=False)["input_ids"])
    print(f"python transformers fast (1 thread): {n / (time.perf_counter() - t0):.0f} tokens/s")
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    raw = 0
    buf = []
    for ids in hf(docs, add_special_tokens=False)["input_ids"]:
        buf.extend(ids)
        while len(buf) >= 568:
            seg, buf = np.array(buf[:568]), buf[568:]
            mask = noise_mask(568, rng)
            inputs = np.append(to_sentinel(seg, mask), 1)
            targets = np.append(to_sentinel(seg, ~mask), 1)
            assert len(inputs) == 512 and len(targets) == 114
            raw += 568
    print(f"python full path (1 thread): {raw / (time.perf_counter() - t0):.0f} raw tokens/s")


if __name__ == "__main__":
    main()
