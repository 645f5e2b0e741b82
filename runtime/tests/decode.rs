//! Decoding parity with transformers' `generate` on the committed goldens.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{golden, model_dir};
use exc_runtime::checkpoint;
use exc_runtime::decode::{self, GenerateConfig, LengthPenalty};
use tch::{Device, Kind, Tensor};

fn rows(t: &Tensor) -> Vec<Vec<i64>> {
    let (b, _) = t.size2().unwrap();
    (0..b)
        .map(|i| Vec::<i64>::try_from(&t.get(i)).unwrap())
        .collect()
}

/// Inputs without their padding, as a user would give them.
fn inputs(g: &common::Golden) -> Vec<Vec<i64>> {
    let ids = rows(&g.get("input_ids"));
    let mask = rows(&g.get("input_mask"));
    ids.into_iter()
        .zip(mask)
        .map(|(r, m)| {
            r.into_iter()
                .zip(m)
                .filter(|(_, m)| *m == 1)
                .map(|(t, _)| t)
                .collect()
        })
        .collect()
}

/// HF output rows: drop the start token and trailing padding after EOS.
fn expected(t: &Tensor, eos: i64) -> Vec<Vec<i64>> {
    rows(t)
        .into_iter()
        .map(|r| {
            let mut out = Vec::new();
            for &x in &r[1..] {
                out.push(x);
                if x == eos {
                    break;
                }
            }
            out
        })
        .collect()
}

fn check(name: &str, key: &str, beams: i64, max_new: i64, lp: f64, eos_key: Option<&str>) {
    let l = checkpoint::load_model(&model_dir(name), Device::Cpu, Kind::Float).unwrap();
    let g = golden(name);
    let mut cfg = GenerateConfig::for_model(&l.model);
    cfg.num_beams = beams;
    cfg.max_new_tokens = max_new;
    cfg.length_penalty = LengthPenalty::Power(lp);
    if let Some(k) = eos_key {
        cfg.eos_id = g.get(k).int64_value(&[0]);
    }
    let got = decode::generate(&l.model, &inputs(&g), &cfg, Device::Cpu).unwrap();
    let want = expected(&g.get(key), cfg.eos_id);
    // Greedy without EOS keeps going with the start token's id as padding; HF too.
    assert_eq!(got, want, "{name} {key}");
}

#[test]
fn greedy_matches_transformers() {
    check("t5_1_1_tiny", "greedy", 1, 10, 1.0, None);
    check("t5_tiny", "greedy", 1, 10, 1.0, None);
}

#[test]
fn greedy_stops_at_eos_like_transformers() {
    check(
        "t5_1_1_tiny",
        "greedy_eos",
        1,
        10,
        1.0,
        Some("greedy_eos_id"),
    );
    check("t5_tiny", "greedy_eos", 1, 10, 1.0, Some("greedy_eos_id"));
}

#[test]
fn beam_search_matches_transformers() {
    for name in ["t5_1_1_tiny", "t5_tiny"] {
        check(name, "beam3_lp1", 3, 8, 1.0, Some("greedy_eos_id"));
        check(name, "beam3_lp06", 3, 8, 0.6, Some("greedy_eos_id"));
    }
}

#[test]
fn rank_classification_prefers_the_likelier_choice() {
    let l = checkpoint::load_model(&model_dir("t5_1_1_tiny"), Device::Cpu, Kind::Float).unwrap();
    let g = golden("t5_1_1_tiny");
    let input = inputs(&g).remove(0);
    // The greedy continuation is the model's likeliest; a random one is not.
    let greedy = expected(&g.get("greedy"), 1).remove(0);
    let other: Vec<i64> = greedy.iter().map(|t| (t + 7) % 96).collect();
    let (best, nll) =
        decode::rank_classify(&l.model, &input, &[other, greedy], Device::Cpu).unwrap();
    assert_eq!(best, 1, "{nll:?}");
    assert!(nll.iter().all(|x| x.is_finite()));
}
