//! `exc metric` logic through `command::render`, on files written here.
// Helpers outside #[test] fns may panic: a test that cannot write its input should fail.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use exc_metrics::command::{render, MetricArgs, OutputFormat, ReferencesFormat};
use exc_metrics::known_metrics;

fn file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("exc-metrics-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn args(name: &str, preds: PathBuf, refs: PathBuf, options: &[&str]) -> MetricArgs {
    MetricArgs {
        name: Some(name.into()),
        options: options.iter().map(|s| s.to_string()).collect(),
        predictions: Some(preds),
        references: Some(refs),
        references_format: ReferencesFormat::Auto,
        list: false,
        format: OutputFormat::Json,
    }
}

#[test]
fn bleu_prints_json_with_signature() {
    let p = file("bleu.pred", "the cat sat on the mat\nhello world\n");
    let r = file("bleu.ref", "the cat sat on a mat\nhello there world\n");
    let out = render(&args("bleu", p, r, &["tokenize=13a"])).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["metric"], "bleu");
    assert!(v["bleu"].as_f64().unwrap() > 0.0);
    assert_eq!(
        v["signature"],
        "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
    );
}

#[test]
fn squad_reads_jsonl_answer_lists() {
    let p = file("squad.pred", "Denver Broncos\nsanta clara\n");
    let r = file(
        "squad.jsonl",
        "[\"Denver Broncos\", \"The Broncos\"]\n[\"Levi's Stadium\"]\n",
    );
    let out = render(&args("squad", p, r, &[])).unwrap();
    assert!(out.contains("\"em\":50.0"), "{out}");
}

#[test]
fn errors_name_file_and_line() {
    let p = file("e.pred", "a\nb\n");
    let r = file("e.jsonl", "[\"a\"]\n{not json\n");
    let e = render(&args("squad", p.clone(), r.clone(), &[]))
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("e.jsonl:2: invalid JSON: key must be a string at line 1 column 2"),
        "{e}"
    );

    let r3 = file("e3.txt", "a\nb\nc\n");
    let e = render(&args("accuracy", p.clone(), r3, &[]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("has 2 lines but") && e.contains("has 3"), "{e}");

    let r2 = file("e2.txt", "yes\nperhaps\n");
    let e = render(&args("accuracy", p.clone(), r2, &["labels=yes,no"]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("e2.txt:2: `perhaps` is not one of labels `yes,no`"),
        "{e}"
    );

    let e = render(&args("blue", p.clone(), r.clone(), &[]))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "unknown metric `blue` (see `exc metric --list`)");

    let e = render(&args("bleu", p.clone(), r, &["tokenizer=13a"]))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "metric `bleu` has no option `tokenizer`");

    let missing = std::env::temp_dir().join("exc-metrics-no-such-file");
    let e = render(&args("bleu", p, missing, &[]))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("cannot read `"), "{e}");
}

#[test]
fn unknown_labels_are_reported() {
    let p = file("l.pred", "yes\nmaybe\nno\n");
    let r = file("l.txt", "yes\nno\nno\n");
    let out = render(&args("accuracy", p, r, &["labels=no,yes"])).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["invalid_predictions"], 1.0);
    assert_eq!(v["invalid_prediction_rows"], "2");
}

#[test]
fn list_names_every_metric() {
    let a = MetricArgs {
        list: true,
        name: None,
        predictions: None,
        references: None,
        ..args("x", "p".into(), "r".into(), &[])
    };
    let out = render(&MetricArgs {
        format: OutputFormat::Text,
        ..a.clone()
    })
    .unwrap();
    for m in exc_metrics::METRICS {
        assert!(out.contains(m.name), "{}", m.name);
    }
    let json: serde_json::Value = serde_json::from_str(&render(&a).unwrap()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), exc_metrics::METRICS.len());
    for n in [
        "accuracy",
        "bleu",
        "rouge",
        "squad",
        "matthews_corrcoef",
        "pearson",
        "spearman",
        "f1",
        "mean_group_metric",
    ] {
        assert!(known_metrics().contains(&n), "{n}");
    }
}

#[test]
fn wsc_simple_reads_jsonl_records() {
    let p = file("wsc.pred", "the table\nthe ball\n\nBob\n");
    let r = file(
        "wsc.jsonl",
        concat!(
            "{\"referent\": \"The table\", \"label\": 1}\n",
            "{\"referent\": \"The table\", \"label\": 0}\n",
            "{\"referent\": \"The table\", \"label\": 0}\n",
            "{\"referent\": \"Bob's hat\", \"label\": true}\n",
        ),
    );
    let out = render(&args("wsc_simple", p, r, &[])).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["accuracy"], 50.0);
    assert_eq!(v["invalid_predictions"], 1.0);
    let p = file("wsc_bad.pred", "the table\n");
    let r = file("wsc_bad.jsonl", "\"The table\"\n");
    let e = render(&args("wsc_simple", p, r, &[]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("referent"), "{e}");
}
