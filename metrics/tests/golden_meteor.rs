//! METEOR against nltk's meteor_score. Without WordNet the match is exact
//! (nltk given a WordNet with no synsets); with `EXC_WORDNET_DIR` pointing at
//! WordNet 3.0 dict files it is checked against nltk with real WordNet.
//! Either way the test prints how far the WordNet-less score is from nltk's
//! full score, the difference the README documents.

mod common;

use std::sync::Arc;

use common::{close, golden};
use exc_metrics::meteor::{single_meteor, MeteorConfig};
use exc_metrics::wordnet::WordNet;

#[test]
fn meteor_matches_nltk() {
    let g = golden("meteor.json");
    let pairs = g["pairs"].as_array().unwrap();
    let plain = MeteorConfig::default();
    let (mut max_diff, mut sum_diff, mut differing) = (0.0f64, 0.0, 0);
    for p in pairs {
        let (r, h) = (
            p["reference"].as_str().unwrap(),
            p["hypothesis"].as_str().unwrap(),
        );
        let got = single_meteor(&plain, r, h);
        let want = p["without_wordnet"].as_f64().unwrap();
        assert!(close(got, want), "{r:?} / {h:?}: {got} vs {want}");
        let full = p["with_wordnet"].as_f64().unwrap();
        let d = (full - got).abs();
        max_diff = max_diff.max(d);
        sum_diff += d;
        differing += usize::from(d > 1e-12);
    }
    eprintln!(
        "meteor without WordNet vs nltk with WordNet: {differing}/{} pairs differ, mean |diff| {:.5}, max {:.5}",
        pairs.len(),
        sum_diff / pairs.len() as f64,
        max_diff
    );
    report_jar_gap(pairs, &plain, "without WordNet");
    // METEOR 1.5's English parameters, for comparison only.
    let m15 = MeteorConfig {
        alpha: 0.85,
        beta: 0.2,
        gamma: 0.6,
        ..MeteorConfig::default()
    };
    report_jar_gap(
        pairs,
        &m15,
        "without WordNet, alpha=0.85 beta=0.2 gamma=0.6",
    );
    let Ok(dir) = std::env::var("EXC_WORDNET_DIR") else {
        eprintln!("EXC_WORDNET_DIR not set: WordNet parity skipped");
        return;
    };
    let wn = Arc::new(WordNet::load(std::path::Path::new(&dir)).unwrap());
    let cfg = MeteorConfig {
        wordnet: Some(wn),
        ..MeteorConfig::default()
    };
    for p in pairs {
        let (r, h) = (
            p["reference"].as_str().unwrap(),
            p["hypothesis"].as_str().unwrap(),
        );
        let got = single_meteor(&cfg, r, h);
        let want = p["with_wordnet"].as_f64().unwrap();
        assert!(close(got, want), "wordnet {r:?} / {h:?}: {got} vs {want}");
    }
    eprintln!("{} pairs equal to nltk with WordNet", pairs.len());
    report_jar_gap(pairs, &cfg, "with WordNet");
}

#[allow(clippy::unwrap_used)] // a test helper: a malformed golden should fail loudly
/// Prints how far our METEOR is from the METEOR 1.5 jar (GEM's), where the
/// golden has the jar's score. Information for the README, not a check.
fn report_jar_gap(pairs: &[serde_json::Value], cfg: &MeteorConfig, label: &str) {
    let (mut n, mut sum, mut sum_abs, mut max, mut ours, mut jar) = (0, 0.0, 0.0, 0.0f64, 0.0, 0.0);
    for p in pairs {
        let Some(j) = p["jar"].as_f64() else { continue };
        let got = single_meteor(
            cfg,
            p["reference"].as_str().unwrap(),
            p["hypothesis"].as_str().unwrap(),
        );
        n += 1;
        sum += got - j;
        sum_abs += (got - j).abs();
        max = max.max((got - j).abs());
        ours += got;
        jar += j;
    }
    if n > 0 {
        let n = n as f64;
        eprintln!(
            "meteor {label} vs METEOR 1.5 jar on {n} pairs: mean ours {:.4}, jar {:.4}, mean diff {:+.4}, mean |diff| {:.4}, max |diff| {:.4}",
            ours / n, jar / n, sum / n, sum_abs / n, max
        );
    }
}
