//! Span corruption against the numpy port of t5's functions
//! (`golden/gen_span.py`), plus invariants over random inputs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may panic

use exc_data::objective::span::{apply_mask, Chunker, SpanCorruption};
use exc_data::rng::Rng;
use proptest::prelude::*;
use serde_json::Value;

fn golden() -> Value {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/golden/span.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn spec(case: &Value) -> SpanCorruption {
    SpanCorruption {
        noise_density: case["noise_density"].as_f64().unwrap(),
        mean_noise_span_length: case["mean_noise_span_length"].as_f64().unwrap(),
        ..SpanCorruption::t5()
    }
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

#[test]
fn random_spans_helper_matches_t5() {
    for row in golden()["helper"].as_array().unwrap() {
        let inputs = row["inputs_length"].as_u64().unwrap() as usize;
        let got = spec(row).raw_length_for(inputs).unwrap();
        let want = (
            row["raw"].as_u64().unwrap() as usize,
            row["targets"].as_u64().unwrap() as usize,
        );
        assert_eq!(got, want, "{row}");
    }
}

#[test]
fn noise_masks_inputs_and_targets_match_t5_exactly() {
    for case in golden()["cases"].as_array().unwrap() {
        let sc = spec(case);
        let length = case["length"].as_u64().unwrap() as usize;
        let mut rng = Rng::new(case["seed"].as_u64().unwrap());
        let mask = sc.noise_mask(length, &mut rng);
        let want: Vec<bool> = ints(&case["mask"]).iter().map(|&m| m == 1).collect();
        assert_eq!(mask, want, "length {length} {case}");
        let tokens: Vec<i32> = (100..100 + length as i32).collect();
        let (inputs, targets) = apply_mask(&tokens, &mask, 32099);
        let as64 = |v: Vec<i32>| v.into_iter().map(i64::from).collect::<Vec<_>>();
        assert_eq!(as64(inputs), ints(&case["inputs"]));
        assert_eq!(as64(targets), ints(&case["targets"]));
    }
}

#[test]
fn statistics_match_the_numpy_reference() {
    let g = golden();
    let stats = &g["numpy_stats"];
    let want_share = stats["noise_share"].as_f64().unwrap();
    let want_hist: Vec<f64> = stats["span_length_share"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let sc = SpanCorruption::t5();
    let n = 4000;
    let mut hist = vec![0f64; want_hist.len()];
    let last = hist.len() - 1;
    let mut noise = 0usize;
    for i in 0..n {
        let mask = sc.noise_mask(568, &mut Rng::derive(99, &[i]));
        noise += mask.iter().filter(|&&m| m).count();
        let mut run = 0;
        for m in mask.iter().chain([false].iter()) {
            if *m {
                run += 1;
            } else if run > 0 {
                hist[run.min(last)] += 1.0;
                run = 0;
            }
        }
    }
    let share = noise as f64 / (n as f64 * 568.0);
    // Noise count per segment is deterministic (85/568): exact.
    assert!((share - want_share).abs() < 1e-9, "{share} vs {want_share}");
    let total: f64 = hist.iter().sum();
    for (len, (got, want)) in hist.iter().map(|h| h / total).zip(&want_hist).enumerate() {
        assert!(
            (got - want).abs() < 0.01,
            "span length {len}: {got} vs {want}"
        );
    }
}

proptest! {
    #[test]
    // Lengths keep spans within the 100 sentinels: past that t5 would spill
    // into ordinary ids too.
    fn corruption_is_invertible(len in 1usize..500, seed: u64, density in 0.05f64..0.6) {
        let sc = SpanCorruption { noise_density: density, ..SpanCorruption::t5() };
        let tokens: Vec<i32> = (0..len as i32).map(|i| 10 + i % 500).collect();
        let mask = sc.noise_mask(len, &mut Rng::new(seed));
        prop_assert_eq!(mask.len(), len);
        let ex = sc.corrupt(&tokens, &mut Rng::new(seed), 32099, 1);
        prop_assert_eq!(ex.inputs.last(), Some(&1));
        prop_assert_eq!(ex.targets.last(), Some(&1));
        // Rebuild the original by walking the mask: non-noise tokens come
        // from the inputs (skipping sentinels), noise tokens from the targets.
        let noise: usize = mask.iter().filter(|&&m| m).count();
        let in_sentinels = ex.inputs.iter().filter(|&&t| t > 31999).count();
        prop_assert_eq!(ex.inputs.len(), len - noise + in_sentinels + 1);
        let mut merged = Vec::new();
        let (mut ii, mut it) = (0, 0);
        let kept: Vec<i32> = ex.inputs[..ex.inputs.len()-1].to_vec();
        let noise_toks: Vec<i32> = ex.targets[..ex.targets.len()-1].iter().copied().filter(|&t| t <= 31999).collect();
        for &m in &mask {
            if m {
                merged.push(noise_toks[it]); it += 1;
            } else {
                while kept[ii] > 31999 { ii += 1; }
                merged.push(kept[ii]); ii += 1;
            }
        }
        prop_assert_eq!(&merged, &tokens);
        // Spans: as many sentinels as noise spans, at least one.
        let spans_in_mask = mask.windows(2).filter(|w| !w[0] && w[1]).count() + usize::from(mask[0]);
        prop_assert_eq!(in_sentinels, spans_in_mask);
        prop_assert!(in_sentinels >= 1 || len < 2);
    }

    #[test]
    fn chunker_keeps_every_token_in_order(docs in proptest::collection::vec(0usize..1500, 1..40)) {
        let sc = SpanCorruption { concat_documents: 7, ..SpanCorruption::t5() };
        let mut ch = Chunker::new(sc, 568).unwrap();
        let mut out = Vec::new();
        let mut all: Vec<i32> = Vec::new();
        let mut next = 0i32;
        for (i, &n) in docs.iter().enumerate() {
            let doc: Vec<i32> = (next..next + n as i32).collect();
            next += n as i32;
            all.extend(&doc);
            ch.push(&doc, &mut Rng::new(i as u64), &mut out);
        }
        ch.finish_group(&mut out);
        prop_assert!(ch.at_group_start());
        prop_assert!(out.iter().all(|s| !s.is_empty() && s.len() <= 568));
        let flat: Vec<i32> = out.concat();
        prop_assert_eq!(flat, all);
    }
}

#[test]
fn long_documents_give_one_random_chunk() {
    let sc = SpanCorruption {
        max_chunk: 1000,
        ..SpanCorruption::t5()
    };
    let mut ch = Chunker::new(sc, 568).unwrap();
    let doc: Vec<i32> = (0..2500).collect();
    let mut out = Vec::new();
    ch.push(&doc, &mut Rng::new(3), &mut out);
    ch.finish_group(&mut out);
    let flat = out.concat();
    assert!(flat.len() == 1000 || flat.len() == 500);
    assert_eq!(flat[0] % 1000, 0);
}
