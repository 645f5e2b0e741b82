//! T5 span corruption, step for step as t5's `preprocessors.py` defines it:
//! `select_random_chunk` (documents longer than 65536 tokens give one random
//! chunk), `reduce_concat_tokens` (128 documents concatenated),
//! `split_tokens` (segments of the raw length from `random_spans_helper`),
//! `random_spans_noise_mask`, and `noise_span_to_unique_sentinel` /
//! `nonnoise_span_to_unique_sentinel` with sentinels counting down from
//! `<extra_id_0>`. EOS is appended to both sides, as seqio's
//! `append_eos_after_trim` does.
//!
//! t5 draws its shuffles from TensorFlow's stateless RNG, which we do not
//! reproduce; every deterministic step is the same, and the shuffles use
//! [`Rng`], which `golden/gen_span.py` reimplements to check exact masks.

use crate::error::{DataError, Result};
use crate::objective::Example;
use crate::rng::Rng;

/// Span-corruption settings (T5: 0.15 and 3.0).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpanCorruption {
    /// Share of tokens that are noise.
    pub noise_density: f64,
    /// Mean length of a noise span.
    pub mean_noise_span_length: f64,
    /// Documents longer than this give one random chunk of it (t5: 65536).
    pub max_chunk: usize,
    /// How many documents are concatenated before splitting (t5: 128).
    pub concat_documents: usize,
}

impl SpanCorruption {
    /// The T5 / ExT5 settings.
    pub fn t5() -> Self {
        SpanCorruption {
            noise_density: 0.15,
            mean_noise_span_length: 3.0,
            max_chunk: 65536,
            concat_documents: 128,
        }
    }

    fn check(&self) -> Result<()> {
        if !(self.noise_density > 0.0 && self.noise_density < 1.0) {
            return Err(DataError::Config(format!(
                "noise density {} must be between 0 and 1",
                self.noise_density
            )));
        }
        if self.mean_noise_span_length < 1.0 || self.max_chunk == 0 || self.concat_documents == 0 {
            return Err(DataError::Config(
                "mean noise span length must be at least 1, chunk and group sizes positive".into(),
            ));
        }
        Ok(())
    }

    /// `random_spans_helper`: the raw token count whose corruption fills
    /// `inputs_length` (with one sentinel per span and EOS), and the targets
    /// length it needs. 512 gives (568, 114).
    pub fn raw_length_for(&self, inputs_length: usize) -> Result<(usize, usize)> {
        self.check()?;
        if inputs_length < 2 {
            return Err(DataError::Config("inputs length must be at least 2".into()));
        }
        // Python's round() rounds half to even; so must we.
        let lengths = |tokens: usize| {
            let noise = (tokens as f64 * self.noise_density).round_ties_even() as usize;
            let nonnoise = tokens - noise;
            let spans = (noise as f64 / self.mean_noise_span_length).round_ties_even() as usize;
            (nonnoise + spans + 1, noise + spans + 1)
        };
        let mut tokens = inputs_length - 1;
        while lengths(tokens + 1).0 <= inputs_length {
            tokens += 1;
        }
        let (inputs, mut targets) = lengths(tokens);
        // t5's "minor hack" so that targets equal inputs at density 0.5.
        if self.noise_density == 0.5 && targets > inputs {
            tokens -= 1;
            targets -= 1;
        }
        Ok((tokens, targets))
    }

    /// `random_spans_noise_mask`: which of `length` tokens are noise. Spans
    /// alternate non-noise, noise, ..., so the mask starts with non-noise
    /// and ends with noise (t5's default, without `random_roll`).
    pub fn noise_mask(&self, length: usize, rng: &mut Rng) -> Vec<bool> {
        let orig = length;
        let length = length.max(2);
        // TensorFlow computes these in float32 and rounds half to even.
        let noise = (length as f32 * self.noise_density as f32).round_ties_even() as usize;
        let noise = noise.clamp(1, length - 1);
        let spans = (noise as f32 / self.mean_noise_span_length as f32).round_ties_even() as usize;
        // t5 needs at least one span and (implicitly) no more spans than
        // non-noise tokens; the latter only binds at densities near 1.
        let spans = spans.max(1).min(length - noise);
        let noise_lengths = segmentation(noise, spans, rng);
        let nonnoise_lengths = segmentation(length - noise, spans, rng);
        let mut mask = Vec::with_capacity(length);
        for (keep, drop) in nonnoise_lengths.iter().zip(&noise_lengths) {
            mask.extend(std::iter::repeat_n(false, *keep));
            mask.extend(std::iter::repeat_n(true, *drop));
        }
        mask.truncate(orig);
        mask
    }

    /// Corrupts one segment: inputs keep non-noise tokens and put a sentinel
    /// where each noise span was; targets hold each sentinel followed by its
    /// span. `first_sentinel` is `<extra_id_0>`'s id; later spans count down.
    pub fn corrupt(&self, tokens: &[i32], rng: &mut Rng, first_sentinel: i32, eos: i32) -> Example {
        let mask = self.noise_mask(tokens.len(), rng);
        let (mut inputs, mut targets) = apply_mask(tokens, &mask, first_sentinel);
        inputs.push(eos);
        targets.push(eos);
        Example { inputs, targets }
    }
}

/// `_random_segmentation`: `items` split into `segments` non-empty runs at
/// uniformly random cut points. Returns the run lengths.
fn segmentation(items: usize, segments: usize, rng: &mut Rng) -> Vec<usize> {
    // A cut before item i+1 for each 1 among the items-1 shuffled indicators.
    let mut cuts: Vec<bool> = (0..items.saturating_sub(1))
        .map(|i| i + 1 < segments)
        .collect();
    rng.shuffle(&mut cuts);
    let mut lengths = Vec::with_capacity(segments);
    let mut run = 1;
    for cut in cuts {
        if cut {
            lengths.push(run);
            run = 1;
        } else {
            run += 1;
        }
    }
    lengths.push(run);
    lengths
}

/// Both sides of the corruption for a given mask (no EOS).
pub fn apply_mask(tokens: &[i32], mask: &[bool], first_sentinel: i32) -> (Vec<i32>, Vec<i32>) {
    let noise = mask.iter().filter(|&&m| m).count();
    let mut inputs = Vec::with_capacity(tokens.len() - noise + noise / 2 + 1);
    let mut targets = Vec::with_capacity(noise * 2 + 1);
    // Sentinel counters for each side: a new span of the side's replaced
    // tokens takes the next sentinel (t5's cumsum over span starts).
    let (mut in_sentinel, mut tg_sentinel) = (first_sentinel, first_sentinel);
    let mut prev: Option<bool> = None;
    for (&tok, &is_noise) in tokens.iter().zip(mask) {
        let starts_span = prev != Some(is_noise);
        if is_noise {
            if starts_span {
                inputs.push(in_sentinel);
                in_sentinel -= 1;
            }
            targets.push(tok);
        } else {
            if starts_span {
                targets.push(tg_sentinel);
                tg_sentinel -= 1;
            }
            inputs.push(tok);
        }
        prev = Some(is_noise);
    }
    (inputs, targets)
}

/// `select_random_chunk` + `reduce_concat_tokens` + `split_tokens`, streaming:
/// documents go in one at a time, raw segments come out as soon as they are
/// whole; a group's remainder comes out when the group is complete.
#[derive(Debug, Clone)]
pub struct Chunker {
    spec: SpanCorruption,
    raw_length: usize,
    buf: Vec<i32>,
    docs_in_group: usize,
}

impl Chunker {
    /// A chunker cutting segments of `raw_length` tokens.
    pub fn new(spec: SpanCorruption, raw_length: usize) -> Result<Self> {
        spec.check()?;
        if raw_length == 0 {
            return Err(DataError::Config(
                "raw segment length must be positive".into(),
            ));
        }
        Ok(Chunker {
            spec,
            raw_length,
            buf: Vec::new(),
            docs_in_group: 0,
        })
    }

    /// Adds one document's tokens (no EOS); pushes finished segments to `out`.
    /// `rng` picks the chunk of an over-long document.
    pub fn push(&mut self, tokens: &[i32], rng: &mut Rng, out: &mut Vec<Vec<i32>>) {
        if tokens.is_empty() {
            return; // t5 filters empty documents before grouping
        }
        let max = self.spec.max_chunk;
        let chunk = if tokens.len() > max {
            let chunks = tokens.len().div_ceil(max);
            let start = max * rng.below(chunks as u64) as usize;
            &tokens[start..(start + max).min(tokens.len())]
        } else {
            tokens
        };
        for &t in chunk {
            self.buf.push(t);
            if self.buf.len() == self.raw_length {
                out.push(std::mem::take(&mut self.buf));
            }
        }
        self.docs_in_group += 1;
        if self.docs_in_group == self.spec.concat_documents {
            self.finish_group(out);
        }
    }

    /// Ends the current group (at the end of the source).
    pub fn finish_group(&mut self, out: &mut Vec<Vec<i32>>) {
        if !self.buf.is_empty() {
            out.push(std::mem::take(&mut self.buf));
        }
        self.docs_in_group = 0;
    }

    /// True when no group is in progress (a safe point for a cursor).
    pub fn at_group_start(&self) -> bool {
        self.docs_in_group == 0 && self.buf.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t5_lengths() {
        let sc = SpanCorruption::t5();
        assert_eq!(sc.raw_length_for(512).unwrap(), (568, 114));
    }

    #[test]
    fn apply_mask_matches_t5_docstring() {
        // [a b c d e f g] with c,d and g noise.
        let toks = [10, 11, 12, 13, 14, 15, 16];
        let mask = [false, false, true, true, false, false, true];
        let (i, t) = apply_mask(&toks, &mask, 99);
        assert_eq!(i, vec![10, 11, 99, 14, 15, 98]);
        assert_eq!(t, vec![99, 12, 13, 98, 16]);
    }

    #[test]
    fn full_segment_fills_inputs_exactly() {
        let sc = SpanCorruption::t5();
        let toks: Vec<i32> = (100..668).collect();
        for seed in 0..20 {
            let ex = sc.corrupt(&toks, &mut Rng::new(seed), 32099, 1);
            assert_eq!(ex.inputs.len(), 512);
            assert_eq!(ex.targets.len(), 114);
        }
    }
}
