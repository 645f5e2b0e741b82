"""Writes span-corruption goldens for exc-data (data/golden/span.json).

A faithful numpy port of t5's preprocessors (random_spans_helper,
random_spans_noise_mask with its _random_segmentation, and
noise_span_to_unique_sentinel / nonnoise_span_to_unique_sentinel), in which
the one random step, the shuffle, is drawn from the SplitMix64 generator and
Fisher-Yates shuffle that exc-data's rng.rs implements. The Rust tests then
compare exact masks, inputs and targets. A second section draws masks with
numpy's own RNG (as transformers' Flax T5 pre-training example does) and
records statistics that the Rust sampler must match.

Usage: /work/.venvs/data-golden/bin/python data/golden/gen_span.py
"""
import json
import os

import numpy as np

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


class Rng:
    def __init__(self, seed):
        self.state = seed & M64

    def next_u64(self):
        self.state = (self.state + GOLDEN) & M64
        return mix(self.state)

    def below(self, n):
        if n <= 1:
            return 0
        zone = M64 - (M64 % n)
        while True:
            x = self.next_u64()
            if x < zone:
                return x % n

    def shuffle(self, items):
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]


def random_spans_helper(inputs_length, noise_density, mean_noise_span_length):
    """t5.data.preprocessors.random_spans_helper with 1 extra token per span."""

    def lengths(tokens_length):
        num_noise_tokens = int(round(tokens_length * noise_density))
        num_nonnoise_tokens = tokens_length - num_noise_tokens
        num_noise_spans = int(round(num_noise_tokens / mean_noise_span_length))
        return (
            num_nonnoise_tokens + num_noise_spans + 1,
            num_noise_tokens + num_noise_spans + 1,
        )

    tokens_length = inputs_length - 1
    while lengths(tokens_length + 1)[0] <= inputs_length:
        tokens_length += 1
    inputs_length, targets_length = lengths(tokens_length)
    if noise_density == 0.5 and targets_length > inputs_length:
        tokens_length -= 1
        targets_length -= 1
    return tokens_length, targets_length


def random_segmentation(num_items, num_segments, shuffle):
    # first_in_segment = pad(shuffle(range(num_items - 1) < num_segments - 1), [[1, 0]])
    ind = [int(i < num_segments - 1) for i in range(num_items - 1)]
    shuffle(ind)
    first_in_segment = np.pad(np.array(ind, dtype=np.int64), [[1, 0]])
    segment_id = np.cumsum(first_in_segment)
    return np.bincount(segment_id, minlength=num_segments)  # segment_sum of ones


def random_spans_noise_mask(length, noise_density, mean_noise_span_length, shuffle):
    orig_length = length
    length = max(length, 2)
    f32 = np.float32
    num_noise_tokens = int(np.round(f32(length) * f32(noise_density)))
    num_noise_tokens = min(max(num_noise_tokens, 1), length - 1)
    num_noise_spans = int(np.round(f32(num_noise_tokens) / f32(mean_noise_span_length)))
    num_noise_spans = max(num_noise_spans, 1)
    num_nonnoise_tokens = length - num_noise_tokens
    noise_span_lengths = random_segmentation(num_noise_tokens, num_noise_spans, shuffle)
    nonnoise_span_lengths = random_segmentation(num_nonnoise_tokens, num_noise_spans, shuffle)
    interleaved = np.reshape(
        np.stack([nonnoise_span_lengths, noise_span_lengths], axis=1), [num_noise_spans * 2]
    )
    span_starts = np.cumsum(interleaved)[:-1]
    span_start_indicator = np.zeros(length, dtype=np.int64)
    np.add.at(span_start_indicator, span_starts, 1)
    span_num = np.cumsum(span_start_indicator)
    is_noise = span_num % 2 == 1
    return is_noise[:orig_length]


def noise_span_to_unique_sentinel(tokens, noise_mask, sentinel_id):
    prev_token_is_noise = np.pad(noise_mask[:-1], [[1, 0]])
    first_noise_tokens = np.logical_and(noise_mask, np.logical_not(prev_token_is_noise))
    subsequent_noise_tokens = np.logical_and(noise_mask, prev_token_is_noise)
    sentinel = sentinel_id + 1 - np.cumsum(first_noise_tokens.astype(np.int64))
    tokens = np.where(first_noise_tokens, sentinel, tokens)
    return tokens[np.logical_not(subsequent_noise_tokens)]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    helper = []
    for inputs_length in (8, 16, 64, 100, 128, 256, 512, 1024, 2048):
        for density, mean in ((0.15, 3.0), (0.3, 3.0), (0.5, 3.0), (0.15, 8.0), (0.5, 1.0)):
            raw, targets = random_spans_helper(inputs_length, density, mean)
            helper.append(
                {"inputs_length": inputs_length, "noise_density": density,
                 "mean_noise_span_length": mean, "raw": raw, "targets": targets}
            )
    cases = []
    for length in (1, 2, 3, 5, 10, 17, 50, 99, 300, 568):
        for density, mean in ((0.15, 3.0), (0.5, 3.0), (0.3, 2.0)):
            for seed in (0, 1, 12345):
                rng = Rng(seed)
                mask = random_spans_noise_mask(length, density, mean, rng.shuffle)
                tokens = np.arange(100, 100 + length)
                inputs = noise_span_to_unique_sentinel(tokens, mask, 32099)
                targets = noise_span_to_unique_sentinel(tokens, np.logical_not(mask), 32099)
                cases.append(
                    {"length": length, "noise_density": density,
                     "mean_noise_span_length": mean, "seed": seed,
                     "mask": [int(m) for m in mask],
                     "inputs": inputs.tolist(), "targets": targets.tolist()}
                )
    # Statistics of the reference with numpy's RNG (Flax example style).
    np_rng = np.random.default_rng(0)
    hist = np.zeros(40)
    n_samples, noise = 4000, 0
    for _ in range(n_samples):
        mask = random_spans_noise_mask(568, 0.15, 3.0, lambda a: np_rng.shuffle(a))
        noise += mask.sum()
        edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
        starts, ends = np.where(edges == 1)[0], np.where(edges == -1)[0]
        for l in ends - starts:
            hist[min(l, 39)] += 1
    stats = {"samples": n_samples, "length": 568, "noise_share": noise / (n_samples * 568),
             "span_length_share": (hist / hist.sum()).tolist()}
    with open(os.path.join(here, "span.json"), "w") as f:
        json.dump({"helper": helper, "cases": cases, "numpy_stats": stats}, f)
    print(f"{len(helper)} helper rows, {len(cases)} mask cases -> span.json")


if __name__ == "__main__":
    main()
