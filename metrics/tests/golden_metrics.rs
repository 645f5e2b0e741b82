//! Every metric against `golden/cases.json`, written by `golden/gen.py` from
//! the reference implementations. Keys listed as exact must be bitwise equal;
//! the rest within 1e-9 relative.

mod common;

use common::{close, golden, strings};
use exc_metrics::{compute, MetricError, Options};

#[test]
fn metric_cases_match_references() {
    let g = golden("cases.json");
    let cases = g["cases"].as_array().unwrap();
    let (mut exact, mut float, mut bitwise_floats) = (0, 0, 0);
    let mut failures = Vec::new();
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let metric = c["metric"].as_str().unwrap();
        let preds = strings(&c["predictions"]);
        let targets = c["targets"].as_array().unwrap().clone();
        let opts = Options(
            c["options"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect(),
        );
        let got = compute(metric, &preds, &targets, &opts);
        if c["error"].is_string() {
            assert!(
                matches!(got, Err(MetricError::Undefined(_))),
                "{name}: {got:?}"
            );
            continue;
        }
        let report = got.unwrap_or_else(|e| panic!("{name}: {e}"));
        let exact_keys = strings(&c["exact"]);
        for (k, want) in c["expected"].as_object().unwrap() {
            let got = *report
                .scores
                .get(k)
                .unwrap_or_else(|| panic!("{name}: no score `{k}` in {:?}", report.scores));
            let want = want.as_f64().unwrap();
            if exact_keys.contains(k) {
                exact += 1;
                if got != want {
                    failures.push(format!("{name}.{k}: {got} != {want} (exact)"));
                }
            } else {
                float += 1;
                bitwise_floats += usize::from(got == want);
                if !close(got, want) {
                    failures.push(format!("{name}.{k}: {got} vs {want}"));
                }
            }
        }
        if let Some(sig) = c.get("signature").and_then(|s| s.as_str()) {
            assert_eq!(report.info["signature"], sig, "{name}");
        }
    }
    eprintln!(
        "{} cases: {exact} exact values equal, {float} float values within 1e-9 ({bitwise_floats} bitwise equal)",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A nan (or, for pearson, an infinity) is named as the reason the score is
/// undefined: it used to read as "an input is constant" (pearson) or rank
/// as the largest value (spearman gave 50.0).
#[test]
fn non_finite_predictions_are_named() {
    let targets: Vec<serde_json::Value> = vec![1.0.into(), 2.0.into(), 3.0.into(), 4.0.into()];
    for (metric, bad) in [
        ("pearson", "1e400"),
        ("pearson", "inf"),
        ("pearson", "nan"),
        ("spearman", "nan"),
    ] {
        let preds: Vec<String> = ["1.5", bad, "2.5", "4"].map(String::from).to_vec();
        match compute(metric, &preds, &targets, &Options::default()) {
            Err(MetricError::Undefined(m)) => {
                assert!(m.contains(&format!("prediction 1 is `{bad}`")), "{m}");
                assert!(!m.contains("constant"), "{m}");
            }
            other => panic!("{metric} with `{bad}`: {other:?}"),
        }
    }
}
