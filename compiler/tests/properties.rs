//! Properties: the parser never panics, plans are deterministic, rates sum to one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use exc_compiler::rates::{self, Member, Policy};
use exc_compiler::source::FileId;
use proptest::prelude::*;

const TASKS: &str = r#"
task a { collection c family f fields { x: text, y: class[p, q] } input "a {x}" target y metrics accuracy examples 10 sample { x: "hi", y: 1 } }
"#;

proptest! {
    #[test]
    fn parser_never_panics(text in "\\PC{0,200}") {
        let _ = exc_compiler::syntax::parse(FileId(0), &text);
    }

    #[test]
    fn parser_never_panics_on_near_misses(cut in 0usize..TASKS.len(), insert in "[{}\"|:,\\[\\]<>?a-z0-9 ]{0,4}") {
        let mut text = TASKS.to_string();
        let at = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        text.insert_str(at, &insert);
        let _ = exc_compiler::syntax::parse(FileId(0), &text);
    }

    #[test]
    fn rates_sum_to_one(
        sizes in proptest::collection::vec(0u64..5_000_000, 1..40),
        cap in proptest::option::of(1.0f64..1e6),
        temperature in 0.5f64..8.0,
        families in proptest::collection::vec(0u8..4, 40),
    ) {
        let members: Vec<Member> = sizes
            .iter()
            .zip(&families)
            .map(|(n, f)| Member { examples: Some(*n), family: f.to_string(), weight: None })
            .collect();
        for policy in [
            Policy::Proportional { cap, temperature, scale: 1.0 },
            Policy::Uniform,
            Policy::FamilyUniform { cap },
        ] {
            let r = match rates::rates(&members, &policy) {
                Err(rates::RatesError::AllZero) => {
                    prop_assert!(sizes.iter().all(|n| *n == 0), "{policy:?}: not all sizes are zero");
                    continue;
                }
                r => r.unwrap(),
            };
            let sum: f64 = r.iter().sum();
            prop_assert!((sum - 1.0).abs() < 1e-9, "{policy:?} sums to {sum}");
            prop_assert!(r.iter().all(|x| *x >= 0.0 && x.is_finite()));
        }
    }

    #[test]
    fn subsets_are_distinct_sorted_and_sized(n in 0usize..200, k in 0usize..200, seed: u64) {
        let s = rates::subset(n, k, seed);
        prop_assert_eq!(s.len(), k.min(n));
        prop_assert!(s.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(s.iter().all(|i| *i < n));
    }
}

#[test]
fn compiling_twice_gives_identical_plans() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/plans");
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in paths {
        let a = exc_compiler::compile(std::slice::from_ref(&path));
        let b = exc_compiler::compile(std::slice::from_ref(&path));
        assert_eq!(a.errors(), 0, "{}", path.display());
        let (pa, pb) = (&a.plans[0], &b.plans[0]);
        assert_eq!(pa.to_json(), pb.to_json());
        assert!(pa.verify());
        for run in &pa.runs {
            for stage in run.stages.iter().filter(|s| s.train.is_some()) {
                let total: f64 = stage.tasks.iter().map(|t| t.rate).sum::<f64>()
                    + stage.c4.as_ref().map_or(0.0, |c| c.rate);
                assert!(
                    (total - 1.0).abs() < 1e-12,
                    "{} {}: {total}",
                    path.display(),
                    stage.name
                );
            }
        }
    }
}

#[test]
fn plan_round_trips_through_json() {
    let path = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/plans/stages.exmix"
    ));
    let c = exc_compiler::compile(&[path]);
    let plan = &c.plans[0];
    let back = exc_compiler::plan::Plan::from_json(&plan.to_json()).unwrap();
    assert_eq!(back.to_json(), plan.to_json());
    assert!(exc_compiler::plan::Plan::from_json(r#"{"format": 99}"#)
        .unwrap_err()
        .contains("format 99"));
    // Plans written by an exc of format 1 (no source parts, no column
    // files) or 2 (no joins) still read, so their runs resume.
    for format in 1..exc_compiler::plan::FORMAT {
        let old = plan.to_json().replacen(
            &format!("\"format\": {}", exc_compiler::plan::FORMAT),
            &format!("\"format\": {format}"),
            1,
        );
        assert!(old.contains(&format!("\"format\": {format}")), "{old}");
        let back = exc_compiler::plan::Plan::from_json(&old).unwrap();
        assert_eq!(back.format, format);
        assert_eq!(back.runs, plan.runs);
        assert!(back.tasks.values().all(|t| t.joins.is_empty()));
    }
    // A plan newer than this exc is refused, not misread.
    let newer = plan.to_json().replacen(
        &format!("\"format\": {}", exc_compiler::plan::FORMAT),
        &format!("\"format\": {}", exc_compiler::plan::FORMAT + 1),
        1,
    );
    assert!(exc_compiler::plan::Plan::from_json(&newer)
        .unwrap_err()
        .contains("a newer plan needs a newer exc"));
}

/// KILT TriviaQA's join reaches the plan and comes back from it.
#[test]
fn a_plan_with_a_join_round_trips() {
    let path = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/paper/exmix.exmix"
    ));
    let c = exc_compiler::compile(&[path]);
    let plan = c.plans.iter().find(|p| p.mixture == "exmix").unwrap();
    let joins = &plan.tasks["kilt_triviaqa"].joins;
    assert_eq!(joins.len(), 1);
    assert_eq!(joins[0].set["input"], "question");
    let back = exc_compiler::plan::Plan::from_json(&plan.to_json()).unwrap();
    assert!(
        back.to_json() == plan.to_json(),
        "the plan changed on its way back"
    );
    assert_eq!(back.tasks["kilt_triviaqa"].joins, *joins);
}
