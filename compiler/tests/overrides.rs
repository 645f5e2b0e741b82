//! `--set BLOCK.KEY=VALUE` on the command line: each override reaches the
//! settings it names, is checked as the file's own value would be (its
//! mistakes located in the argument), and is recorded in the plan.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use exc_compiler::plan::{Plan, StageKind};
use exc_compiler::{compile_set, Compilation, Sets};
use std::path::PathBuf;

/// Pre-train (steps 100, c4 ratio 2), fine-tune with its own `train`
/// (steps 50, lr constant(1e-4)) and evaluate, over a custom small model.
fn stages() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/plans/stages.exmix")
}

fn compiled(sets: &[&str]) -> Compilation {
    let args: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    compile_set(
        &[stages()],
        &Sets {
            args: &args,
            only: None,
        },
    )
}

fn plan(sets: &[&str]) -> Plan {
    let c = compiled(sets);
    let shown: Vec<String> = c
        .diagnostics
        .iter()
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    assert_eq!(c.errors(), 0, "{shown:?}");
    c.plans.into_iter().next().expect("one plan")
}

/// The one error of `sets`: its code, message, help, where it is shown
/// (`file:line:col`) and the text its span covers.
fn error(sets: &[&str]) -> (&'static str, String, String, String, String) {
    let c = compiled(sets);
    let errors: Vec<_> = c.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let d = errors[0];
    let span = d.span.expect("located");
    let text = c.loaded.sources.get(span.file).unwrap().text[span.start..span.end].to_string();
    (
        d.code,
        d.message.clone(),
        d.help.clone().unwrap_or_default(),
        d.location(&c.loaded.sources),
        text,
    )
}

fn stage(p: &Plan, kind: StageKind) -> &exc_compiler::plan::StagePlan {
    p.runs[0].stages.iter().find(|s| s.kind == kind).unwrap()
}

#[test]
fn a_block_override_reaches_every_stage_over_their_own_settings() {
    let p = plan(&["train.lr=rsqrt(peak=0.005,warmup=1000)"]);
    for kind in [StageKind::Pretrain, StageKind::Finetune] {
        let lr = &stage(&p, kind).train.as_ref().unwrap().lr;
        assert_eq!(
            *lr,
            exc_compiler::train_settings::LrSchedule::Rsqrt(exc_compiler::train_settings::Rsqrt {
                peak: Some(0.005),
                warmup: Some(1000),
            })
        );
    }
    // Settings it does not name keep the file's values.
    assert_eq!(
        stage(&p, StageKind::Finetune).train.as_ref().unwrap().steps,
        50
    );
}

#[test]
fn a_stage_override_reaches_that_stage_only() {
    let p = plan(&["finetune.train.steps=7"]);
    assert_eq!(
        stage(&p, StageKind::Finetune).train.as_ref().unwrap().steps,
        7
    );
    assert_eq!(
        stage(&p, StageKind::Pretrain).train.as_ref().unwrap().steps,
        100
    );
}

#[test]
fn model_and_c4_overrides_change_the_plan() {
    let file = plan(&[]);
    let p = plan(&[
        "model.dropout_rate=0",
        "c4.ratio=4",
        "model.feed_forward_proj=relu",
    ]);
    let config = p.model.config.as_ref().unwrap();
    assert_eq!(config.dropout_rate, 0.0);
    assert_eq!(config.feed_forward_proj, "relu");
    // The file's own custom settings stay.
    assert_eq!(config.d_model, 64);
    let c4 = stage(&p, StageKind::Pretrain).c4.as_ref().unwrap();
    assert_eq!(c4.ratio, 4.0);
    assert!((c4.rate - 0.8).abs() < 1e-12);
    // Four C4 examples per supervised one: the tasks' shares shrink.
    let share = |p: &Plan| stage(p, StageKind::Pretrain).tasks[0].rate;
    assert!(share(&p) < share(&file));
}

#[test]
fn the_plan_records_its_overrides_and_is_hashed_with_them() {
    let file = plan(&[]);
    assert!(file.overrides.is_empty());
    let p = plan(&[" c4.ratio=2 "]);
    // The same value as the file's: only the record differs, and the hash.
    assert_eq!(p.runs, file.runs);
    assert_eq!(p.overrides, ["c4.ratio=2"]);
    assert_ne!(p.hash, file.hash);
    assert!(p.verify());
    let back = Plan::from_json(&p.to_json()).unwrap();
    assert_eq!(back.overrides, p.overrides);
    assert!(back.verify());
    // A plan without overrides writes no `overrides` field: its hash is
    // the one it had before overrides existed.
    assert!(!file.to_json().contains("overrides"));
}

#[test]
fn a_value_of_the_wrong_type_is_located_in_the_argument() {
    let (code, message, _, at, text) = error(&["train.steps=fast"]);
    assert_eq!(code, "exc::check::bad_setting");
    assert_eq!(message, "`steps` in `train` must be a whole number");
    assert_eq!(at, "--set #1:1:13");
    assert_eq!(text, "fast");
}

#[test]
fn a_value_out_of_range_is_refused_with_the_files_help() {
    let (code, message, help, at, text) = error(&["c4.ratio=1", "model.dropout_rate=1.5"]);
    assert_eq!(code, "exc::check::out_of_range");
    assert_eq!(
        message,
        "`dropout_rate` in `model` must be at least 0 and less than 1, not `1.5`"
    );
    assert!(help.contains("probability of dropping"), "{help}");
    assert_eq!(at, "--set #2:1:20");
    assert_eq!(text, "1.5");
    let (code, _, help, _, text) = error(&["train.lr=rsqrt(peak=0)"]);
    assert_eq!(code, "exc::check::out_of_range");
    assert!(help.contains("greater than 0"), "{help}");
    assert_eq!(text, "0");
}

#[test]
fn an_unknown_key_block_or_stage_suggests_the_nearest() {
    let (code, message, help, at, text) = error(&["train.stpes=5"]);
    assert_eq!(code, "exc::check::unknown_setting");
    assert_eq!(message, "`stpes` is not a setting of `train`");
    assert_eq!(help, "did you mean `steps`?");
    assert_eq!((at.as_str(), text.as_str()), ("--set #1:1:7", "stpes"));
    let (code, _, help, _, text) = error(&["trian.steps=5"]);
    assert_eq!(code, "exc::set::unknown_block");
    assert_eq!(
        (help.as_str(), text.as_str()),
        ("did you mean `train`?", "trian")
    );
    let (code, _, help, _, _) = error(&["pretrain.steps=5"]);
    assert_eq!(code, "exc::set::unknown_block");
    assert_eq!(
        help,
        "a stage's settings are in its blocks: `pretrain.train.steps=…`"
    );
    let (code, message, help, _, _) = error(&["fintune.train.steps=5"]);
    assert_eq!(code, "exc::set::unknown_stage");
    assert_eq!(message, "mixture `staged` has no stage `fintune`");
    assert_eq!(help, "did you mean `finetune`?");
    let (code, _, help, _, _) = error(&["finetune.c4.ratio=5"]);
    assert_eq!(code, "exc::set::wrong_stage");
    assert_eq!(help, "only a pretrain stage mixes in C4");
}

#[test]
fn an_argument_that_does_not_parse_says_where() {
    let (code, _, _, at, _) = error(&["train.lr=rsqrt(peak=)"]);
    assert_eq!(code, "exc::syntax::unexpected");
    assert_eq!(at, "--set #1:1:21");
    let (code, message, _, _, _) = error(&["train.steps"]);
    assert_eq!(code, "exc::set::form");
    assert_eq!(message, "`--set train.steps` gives no value");
    let (code, _, _, _, text) = error(&["train..steps=1"]);
    assert_eq!(code, "exc::set::form");
    assert_eq!(text, "."); // the empty name between the dots
}

#[test]
fn a_named_model_becomes_a_custom_one_of_that_base() {
    let dir = std::env::temp_dir().join(format!("exc-overrides-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mixture = dir.join("m.exmix");
    let tasks =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/common/tasks.task");
    std::fs::write(
        &mixture,
        format!(
            "mixture m {{ use \"{}\" select collection demo exclude delta_unsized rates uniform model t5.1.1-small train {{ steps 1 batch 1 }} }}",
            tasks.display()
        ),
    )
    .unwrap();
    let args = vec!["model.num_layers=3".to_string()];
    let c = compile_set(
        &[mixture],
        &Sets {
            args: &args,
            only: None,
        },
    );
    assert_eq!(c.errors(), 0, "{:?}", c.diagnostics);
    let config = c.plans[0].model.config.as_ref().unwrap();
    assert_eq!((config.num_layers, config.d_model), (3, 512));
    let _ = std::fs::remove_dir_all(&dir);
}
