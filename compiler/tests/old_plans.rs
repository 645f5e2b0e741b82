//! A plan an older exc wrote still reads, with the same typed settings,
//! and its hash still verifies, though this exc writes some values in
//! another form (`tests/fixtures/old_plans/README.md`).

use exc_compiler::plan::{AdamWOptions, Decay, LrSchedule, Optimizer, Plan, Precision};

const OLD: &str = include_str!("../../tests/fixtures/old_plans/old_forms.plan.json");

#[test]
fn an_older_plan_reads_as_typed_settings() {
    let plan = Plan::from_json(OLD).unwrap();
    let stages = &plan.runs[0].stages;
    let pre = stages[0].train.as_ref().unwrap();
    assert_eq!(
        pre.optimizer,
        Optimizer::AdamW(AdamWOptions {
            beta1: Some(0.9),
            weight_decay: Some(0.0),
            ..AdamWOptions::default()
        })
    );
    assert_eq!(
        pre.lr,
        LrSchedule::Cosine(Decay {
            peak: Some(1.0),
            warmup: Some(1000),
            end: Some(0.0),
        })
    );
    assert_eq!(pre.precision, Precision::Bf16);
    let fine = stages[1].train.as_ref().unwrap();
    assert_eq!(fine.optimizer, Optimizer::default());
    assert!(matches!(fine.lr, LrSchedule::Constant(c) if c.value == Some(1.0)));
}

#[test]
fn an_older_plan_verifies_against_its_own_bytes() {
    let plan = Plan::from_json(OLD).unwrap();
    // Written again, the options take their declared order and forms, so
    // the typed round trip no longer gives the bytes the hash was made of:
    assert!(!plan.verify());
    // the file's own bytes do.
    assert!(Plan::hash_matches(OLD));
    // An edit is still caught.
    let edited = OLD.replacen("\"peak\": 1", "\"peak\": 2", 1);
    assert_ne!(edited, OLD);
    assert!(!Plan::hash_matches(&edited));
    // Written by this exc, a plan verifies both ways and round-trips.
    let now = plan.seal().to_json();
    assert!(Plan::hash_matches(&now));
    let back = Plan::from_json(&now).unwrap();
    assert!(back.verify());
    assert_eq!(back.to_json(), now);
}
