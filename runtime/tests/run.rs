//! `exc run` end to end on the shipped quickstart data: a short run writes a
//! complete run directory; an interrupted run resumed with `--resume` ends
//! with weights byte-identical to an uninterrupted one (also when the
//! process dies half-way through writing a checkpoint); a corrupt checkpoint
//! is reported and the one before it used.
//!
//! The model is the quickstart's tiny T5.1.1 and the steps are few, so the
//! whole file runs in well under two minutes on two cores.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use exc_runtime::run::{self, runfiles, RunArgs};

/// libtorch's RNG is process-global (model initialisation draws from it), so
/// runs in one process must not overlap: the tests take turns.
static TORCH: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    TORCH.lock().unwrap_or_else(|e| e.into_inner())
}

fn same_weights(a: &Path, b: &Path, step: u64) {
    assert!(
        weights(a, step) == weights(b, step),
        "weights at step {step} differ between `{}` and `{}`",
        a.display(),
        b.display()
    );
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("exc-run-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn args(out: &Path, steps: u64) -> RunArgs {
    let q = root().join("examples/quickstart");
    RunArgs {
        mixture: Some(q.join("quickstart.exmix")),
        data_dir: Some(q.join("data")),
        out: Some(out.to_path_buf()),
        device: Some("cpu".into()),
        steps: Some(steps),
        eval_limit: Some(4),
        log_every: Some(2),
        quiet: true,
        ..RunArgs::default()
    }
}

/// Resumes the run in `out` with what it recorded (`--log-every` included).
fn resume(out: &Path) -> RunArgs {
    RunArgs {
        resume: Some(out.to_path_buf()),
        quiet: true,
        ..RunArgs::default()
    }
}

/// A mixture of one tiny T5.1.1 (32 wide, one layer each side) over the
/// catalog, with `body` after its `use` line, written to `dir/NAME.exmix`.
fn tiny_mixture(dir: &Path, name: &str, body: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let mixture = dir.join(format!("{name}.exmix"));
    let text = format!(
        "mixture {name} {{\n  use \"{}\"\n  model custom t5.1.1-small {{ d_model 32, d_ff 64, d_kv 8, num_heads 4, num_layers 1, num_decoder_layers 1 }}\n{body}\n}}\n",
        root().join("tasks").display()
    );
    std::fs::write(&mixture, text).unwrap();
    mixture
}

/// Runs `mixture` on CPU over `data` into `out`, quietly, with the
/// quickstart's tokenizer.
fn tiny_args(mixture: &Path, data: &Path, out: &Path, log_every: u64) -> RunArgs {
    RunArgs {
        mixture: Some(mixture.to_path_buf()),
        data_dir: Some(data.to_path_buf()),
        tokenizer: Some(root().join("examples/quickstart/spiece.model")),
        out: Some(out.to_path_buf()),
        device: Some("cpu".into()),
        log_every: Some(log_every),
        quiet: true,
        ..RunArgs::default()
    }
}

/// What TensorBoard shows of one run directory: the scalars of its event
/// files read in name order, where every `SessionLog.START` after the
/// first drops what was read with a step at or past its own (TensorBoard's
/// `_CheckForRestartAndMaybePurge`); keyed by (tag, step).
fn tensorboard_view(dir: &Path) -> std::collections::BTreeMap<(String, i64), f32> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|f| f.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let (mut view, mut started) = (std::collections::BTreeMap::new(), false);
    for f in files {
        for e in run::tensorboard::read_events(&f).unwrap() {
            if e.session_start {
                if started {
                    view.retain(|(_, step): &(String, i64), _| *step < e.step);
                }
                started = true;
            }
            for s in e.summary.unwrap_or_default() {
                view.insert((s.tag, e.step), s.value);
            }
        }
    }
    view
}

fn weights(out: &Path, step: u64) -> Vec<u8> {
    let p = out.join(format!(
        "pretrain/checkpoints/step-{step:08}/model.safetensors"
    ));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn short_run_writes_a_complete_run_directory() {
    let _guard = serial();
    let out = tmp("complete");
    let done = run::run(&args(&out, 6)).unwrap();
    assert_eq!(done.run_dirs, vec![out.clone()]);
    for f in [
        "plan.json",
        "plan.sha256",
        "config.json",
        "metrics.jsonl",
        "report.md",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let ck = out.join("pretrain/checkpoints/step-00000006");
    for f in [
        "model.safetensors",
        "config.json",
        "optimizer.safetensors",
        "state.json",
        "COMMIT",
        // A complete HF model directory (runtime/tests/hf_dir.rs).
        "spiece.model",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "generation_config.json",
    ] {
        assert!(ck.join(f).is_file(), "checkpoint lacks {f}");
    }
    // STS-B is trained on but not scored (its 9 rows serve both splits).
    for t in ["glue_rte", "squad_v1"] {
        assert!(out
            .join(format!("eval/{t}/validation.scores.json"))
            .is_file());
        let preds =
            std::fs::read_to_string(out.join(format!("eval/{t}/validation.predictions.jsonl")))
                .unwrap();
        let lines: Vec<runfiles::PredictionLine> = preds
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(!lines.is_empty(), "{t}");
        assert!(lines.iter().all(|l| !l.references.is_empty()), "{t}");
    }
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let steps: Vec<u64> = metrics
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("loss").is_some())
        .map(|v| v["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, vec![2, 4, 6]);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("glue_rte/validation/accuracy"), "{report}");
    // How the stage trained: steps, precision, kernels, ranks (no CUDA memory on CPU).
    assert!(
        report.contains("| pretrain | 6 | fp32 | math attention, composite norm | 1 | - |"),
        "{report}"
    );
    // `exc report` over the run: one table row per run.
    let summary = run::report(&run::ReportArgs {
        dirs: vec![out.clone()],
        out: None,
    })
    .unwrap();
    let text = std::fs::read_to_string(summary).unwrap();
    assert!(text.contains("glue_rte/validation/accuracy"), "{text}");
    // A second run into the same directory is refused, not mixed in.
    assert!(run::run(&args(&out, 6)).is_err());
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_set_override_is_trained_recorded_and_held_on_resume() {
    let _guard = serial();
    let out = tmp("set");
    let set = vec![
        "train.lr=constant(0.002)".to_string(),
        "model.dropout_rate=0".to_string(),
    ];
    run::run(&RunArgs {
        set: set.clone(),
        ..args(&out, 2)
    })
    .unwrap();
    // Trained with it: the logged learning rate is the override's.
    let lr: Vec<f64> = std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("lr")?.as_f64())
        .collect();
    assert_eq!(lr, [0.002]);
    let plan = exc_compiler::plan::Plan::from_json(
        &std::fs::read_to_string(out.join("plan.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(plan.overrides, set);
    assert_eq!(
        read_json(&out.join("config.json"))["overrides"],
        serde_json::json!(set)
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains(
            "Settings overridden on the command line (in the plan, not in \
             `examples/quickstart/quickstart.exmix`): `--set train.lr=constant(0.002)`, \
             `--set model.dropout_rate=0`."
        ),
        "{report}"
    );
    // A resume may repeat the run's overrides, never change them.
    let again = |set: &[&str]| {
        run::run(&RunArgs {
            set: set.iter().map(|s| s.to_string()).collect(),
            ..resume(&out)
        })
    };
    let e = again(&["train.lr=constant(0.5)"]).unwrap_err().to_string();
    assert!(
        e.contains("`--set train.lr=constant(0.5)` cannot be given with `--resume`"),
        "{e}"
    );
    assert!(
        e.contains("recorded `--set train.lr=constant(0.002)`, `--set model.dropout_rate=0`"),
        "{e}"
    );
    again(&["train.lr=constant(0.002)", "model.dropout_rate=0"]).unwrap();
    let _ = std::fs::remove_dir_all(&out);
}

/// Run in a child process so that it can die as `kill -9` would.
#[test]
fn child_process_entry() {
    let Ok(spec) = std::env::var("EXC_RUN_TEST_CHILD") else {
        return;
    };
    let mut parts = spec.splitn(3, '|');
    let mode = parts.next().unwrap_or_default();
    let out = PathBuf::from(parts.next().unwrap_or_default());
    let steps: u64 = parts.next().unwrap_or("0").parse().unwrap();
    let r = if mode == "resume" {
        run::run(&resume(&out))
    } else {
        let mut a = args(&out, steps);
        a.eval_limit = Some(1);
        run::run(&a)
    };
    r.unwrap();
}

fn child(spec: &str, crash: Option<&str>) -> std::process::ExitStatus {
    let exe = std::env::current_exe().unwrap();
    let mut c = Command::new(exe);
    c.args([
        "--exact",
        "child_process_entry",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("EXC_RUN_TEST_CHILD", spec);
    match crash {
        Some(v) => c.env("EXC_RUN_CRASH", v),
        None => c.env_remove("EXC_RUN_CRASH"),
    };
    c.status().unwrap()
}

/// Sets checkpoint_every to 2 by running a copy of the quickstart mixture.
fn mixture_every_2(dir: &Path) -> PathBuf {
    let q = root().join("examples/quickstart");
    let text = std::fs::read_to_string(q.join("quickstart.exmix"))
        .unwrap()
        .replace("checkpoint_every 100", "checkpoint_every 2")
        .replace(
            "use \"../../tasks\"",
            &format!("use \"{}\"", root().join("tasks").display()),
        );
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join("quickstart.exmix");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn kill_during_checkpoint_then_resume_is_byte_identical_and_corruption_is_reported() {
    let _guard = serial();
    let mix_dir = tmp("mix");
    let mixture = mixture_every_2(&mix_dir);
    let q = root().join("examples/quickstart");
    let base = |out: &Path| RunArgs {
        mixture: Some(mixture.clone()),
        data_dir: Some(q.join("data")),
        tokenizer: Some(q.join("spiece.model")),
        out: Some(out.to_path_buf()),
        device: Some("cpu".into()),
        steps: Some(8),
        eval_limit: Some(1),
        log_every: Some(2),
        quiet: true,
        ..RunArgs::default()
    };
    let full = tmp("kfull");
    run::run(&base(&full)).unwrap();

    // Interrupted in-process at step 5 (checkpoints at 2 and 4 committed),
    // then a resume that dies half-way through writing the step-6 checkpoint.
    let cut = tmp("kcut");
    let mut a = base(&cut);
    a.stop_after = Some(5);
    assert!(run::run(&a).is_err());
    let st = child(
        &format!("resume|{}|8", cut.display()),
        Some("before-commit:6"),
    );
    assert!(!st.success(), "the child should have died");
    let ck = cut.join("pretrain/checkpoints");
    assert!(ck.join(".partial-step-00000006").is_dir());
    assert!(!ck.join("step-00000006").exists());

    // Corrupt the newest committed checkpoint: it is reported and skipped.
    let w = ck.join("step-00000004/model.safetensors");
    let mut bytes = std::fs::read(&w).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0xff;
    std::fs::write(&w, bytes).unwrap();
    let (found, skipped) = run::ckpt::latest(&ck);
    assert_eq!(found.map(|f| f.0), Some(2));
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0].reason.contains("sha256"), "{:?}", skipped[0]);

    let st = child(&format!("resume|{}|8", cut.display()), None);
    assert!(st.success());
    same_weights(&full, &cut, 8);
    for d in [full, cut, mix_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A copy of the quickstart mixture that only pre-trains (no evaluate
/// stage), on half-size batches (bf16 matmuls are slow on CPU),
/// checkpoints every 2 steps and trains in `precision`.
fn mixture_with_precision(dir: &Path, precision: &str) -> PathBuf {
    let q = root().join("examples/quickstart");
    let text = std::fs::read_to_string(q.join("quickstart.exmix"))
        .unwrap()
        .replace(
            "checkpoint_every 100",
            &format!("checkpoint_every 2\n    precision {precision}"),
        )
        .replace("batch 8", "batch 4")
        .replace("inputs 128", "inputs 64")
        .replace(
            "use \"../../tasks\"",
            &format!("use \"{}\"", root().join("tasks").display()),
        )
        .lines()
        .filter(|l| !l.trim_start().starts_with("evaluate"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains(&format!("precision {precision}")));
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join("quickstart.exmix");
    std::fs::write(&p, text).unwrap();
    p
}

fn precision_args(mixture: &Path, out: &Path, steps: u64) -> RunArgs {
    let q = root().join("examples/quickstart");
    RunArgs {
        mixture: Some(mixture.to_path_buf()),
        data_dir: Some(q.join("data")),
        tokenizer: Some(q.join("spiece.model")),
        out: Some(out.to_path_buf()),
        device: Some("cpu".into()),
        steps: Some(steps),
        log_every: Some(1),
        quiet: true,
        ..RunArgs::default()
    }
}

fn read_json(p: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn losses(out: &Path) -> Vec<f64> {
    std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("loss").and_then(serde_json::Value::as_f64))
        .collect()
}

/// `precision bf16`: bf16 parameters with float32 masters; the loss is
/// finite and falls; checkpoints hold the float32 masters (which an fp32
/// model loads) and no second copy in the optimizer's file; and a run
/// stopped after step 3 (last checkpoint: step 2) and resumed ends with the
/// same bytes as one that was not interrupted.
#[test]
fn bf16_trains_with_fp32_masters_and_resumes_byte_identically() {
    let _guard = serial();
    let mix_dir = tmp("bf16-mix");
    let mixture = mixture_with_precision(&mix_dir, "bf16");
    let full = tmp("bf16-full");
    run::run(&precision_args(&mixture, &full, 4)).unwrap();

    let loss = losses(&full);
    assert_eq!(loss.len(), 4, "{loss:?}");
    assert!(loss.iter().all(|l| l.is_finite()), "{loss:?}");
    // fp32 on the same batches: 33.49, 29.78, 31.53, 28.62.
    assert!(loss[3] < loss[0] - 2.0, "the loss does not fall: {loss:?}");
    assert_eq!(
        read_json(&full.join("config.json"))["precision"]["pretrain"],
        "bf16"
    );

    let ck = full.join("pretrain/checkpoints/step-00000004");
    // The parameters trained in bf16 (state.json records their dtype as
    // it was when the checkpoint was written).
    assert_eq!(read_json(&ck.join("state.json"))["precision"], "bf16");
    // model.safetensors: float32 masters, not bf16 values widened.
    let tensors = exc_runtime::checkpoint::read_tensors(&ck).unwrap();
    let mut beyond_bf16 = 0;
    for (name, t) in &tensors {
        assert_eq!(t.kind(), tch::Kind::Float, "{name}");
        let rounded = t.to_kind(tch::Kind::BFloat16).to_kind(tch::Kind::Float);
        if t != &rounded {
            beyond_bf16 += 1;
        }
    }
    assert!(
        beyond_bf16 > tensors.len() / 2,
        "{beyond_bf16} of {}",
        tensors.len()
    );
    let loaded =
        exc_runtime::checkpoint::load_model(&ck, tch::Device::Cpu, tch::Kind::Float).unwrap();
    assert!(loaded.report.missing.is_empty() && loaded.report.unexpected.is_empty());
    // The optimizer's file holds its state but not the masters again.
    let opt = ck.join("optimizer.safetensors");
    let meta = exc_runtime::checkpoint::read_metadata(&opt).unwrap();
    assert_eq!(
        meta.get("master_weights").map(String::as_str),
        Some("model.safetensors")
    );
    let state = tch::Tensor::read_safetensors(&opt).unwrap();
    assert!(!state.is_empty());
    assert!(state.iter().all(|(n, _)| !n.ends_with(".master")));

    let cut = tmp("bf16-cut");
    let mut a = precision_args(&mixture, &cut, 4);
    a.stop_after = Some(3);
    assert!(run::run(&a).is_err());
    assert!(!cut.join("pretrain/checkpoints/step-00000004").exists());
    run::run(&RunArgs {
        resume: Some(cut.clone()),
        quiet: true,
        ..RunArgs::default()
    })
    .unwrap();
    same_weights(&full, &cut, 4);
    let opt_bytes = |d: &Path| {
        std::fs::read(d.join("pretrain/checkpoints/step-00000004/optimizer.safetensors")).unwrap()
    };
    assert!(
        opt_bytes(&full) == opt_bytes(&cut),
        "optimizer states differ"
    );
    for d in [full, cut, mix_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// `precision auto` on CPU trains in fp32: the same weights as `fp32`.
#[test]
fn auto_precision_on_cpu_is_fp32() {
    let _guard = serial();
    let mut outs = Vec::new();
    for p in ["auto", "fp32"] {
        let mix_dir = tmp(&format!("{p}-mix"));
        let mixture = mixture_with_precision(&mix_dir, p);
        let out = tmp(&format!("{p}-run"));
        run::run(&precision_args(&mixture, &out, 2)).unwrap();
        assert_eq!(
            read_json(&out.join("config.json"))["precision"]["pretrain"],
            "fp32"
        );
        let ck = out.join("pretrain/checkpoints/step-00000002");
        assert_eq!(read_json(&ck.join("state.json"))["precision"], "fp32");
        let _ = std::fs::remove_dir_all(mix_dir);
        outs.push(out);
    }
    same_weights(&outs[0], &outs[1], 2);
    for d in outs {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// The whole quickstart as `exc run` runs it (minutes; run by hand with
/// `cargo test -p exc-runtime --release --test run -- --ignored --nocapture`).
#[test]
#[ignore]
fn quickstart_full() {
    let _guard = serial();
    let out = tmp("quickstart");
    let q = root().join("examples/quickstart");
    let t0 = std::time::Instant::now();
    run::run(&RunArgs {
        mixture: Some(q.join("quickstart.exmix")),
        data_dir: Some(q.join("data")),
        out: Some(out.clone()),
        device: Some("cpu".into()),
        log_every: Some(20),
        ..RunArgs::default()
    })
    .unwrap();
    eprintln!(
        "quickstart took {:.1}s; run dir {}",
        t0.elapsed().as_secs_f64(),
        out.display()
    );
    eprintln!(
        "{}",
        std::fs::read_to_string(out.join("report.md")).unwrap()
    );
}

/// The paper's pipeline in miniature, on the shipped rows of seven tasks:
/// packed pre-training with C4 → SuperGLUE co-trained with checkpoints
/// scored on validation → generation tasks one model each → every task
/// evaluated with its own best checkpoint; loss is logged per task, and
/// TensorBoard mirrors metrics.jsonl.
#[test]
fn miniature_pretrain_finetune_evaluate() {
    let _guard = serial();
    let out = tmp("miniature");
    let m = root().join("examples/miniature");
    run::run(&RunArgs {
        mixture: Some(m.join("miniature.exmix")),
        data_dir: Some(m.join("data")),
        out: Some(out.clone()),
        device: Some("cpu".into()),
        steps: Some(40),
        eval_limit: Some(4),
        log_every: Some(10),
        quiet: true,
        ..RunArgs::default()
    })
    .unwrap();
    let read = |p: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(p)).unwrap()).unwrap()
    };
    // The run directory's records, read as `exc report` and `--resume` read them.
    let done = |p: &str| match runfiles::read_done(&out.join(p)).unwrap() {
        Some(runfiles::StageDone::Train(d)) => *d,
        other => panic!("{p}: {other:?}"),
    };
    let scores_of = |p: &str| runfiles::read_scores(&out.join(p)).unwrap();

    // Co-trained SuperGLUE: one model, each task with its best checkpoint.
    let sg = done("superglue/DONE");
    assert_eq!(
        sg.weights.as_deref(),
        Some("superglue/checkpoints/step-00000040")
    );
    assert_eq!(sg.selected_on.as_deref(), Some("validation"));
    // On a CPU `--kernels auto` trains with the reference kernels.
    assert_eq!(
        sg.kernels.as_deref(),
        Some("math attention, composite norm")
    );
    let best = read("superglue/checkpoints/best_per_task.json");
    for t in ["super_glue_rte", "super_glue_wsc"] {
        let w = sg.task_weights[t].as_str();
        assert_eq!(
            w,
            format!("superglue/checkpoints/{}", best[t].as_str().unwrap())
        );
        assert!(
            out.join(w).join("model.safetensors").is_file(),
            "{w} was pruned"
        );
        let scores = scores_of(&format!("eval/{t}/validation.scores.json"));
        assert!(scores.weights.as_deref().unwrap().ends_with(w));
        // WSC is scored by T5's wsc_simple against a record per example.
        assert!(
            scores.scores["accuracy"].value().is_some(),
            "{t}: {scores:?}"
        );
    }
    // Per-task fine-tuning: one directory and one model per task, and no
    // single set of weights to continue from.
    let generation = done("generation/DONE");
    assert!(generation.weights.is_none());
    for t in ["squad_v1", "xsum", "wmt16_en_ro", "conll2003_ner"] {
        let w = generation.task_weights[t].as_str();
        assert!(
            w.starts_with(&format!("generation/{t}/checkpoints/step-")),
            "{w}"
        );
        let unit = done(&format!("generation/{t}/DONE"));
        assert!(unit.data.contains_key(t), "{unit:?}");
        let scores = scores_of(&format!("eval/{t}/validation.scores.json"));
        assert!((1..=4).contains(&scores.examples.unwrap()));
        assert!(scores.weights.as_deref().unwrap().ends_with(w));
        assert!(scores.rows.is_some_and(|r| r.examples > 0));
    }

    // metrics.jsonl: training loss per task in pre-training (C4 included),
    // and a validation score per task at every fine-tuning checkpoint.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let per_task = lines
        .iter()
        .find(|l| l["stage"] == "pretrain" && l.get("task_loss").is_some())
        .expect("a pre-training line with task_loss");
    assert!(per_task["task_loss"]["c4"].as_f64().unwrap() > 0.0);
    let scored: Vec<u64> = lines
        .iter()
        .filter(|l| l["stage"] == "superglue" && l.get("valid_score").is_some())
        .map(|l| l["step"].as_u64().unwrap())
        .collect();
    assert_eq!(scored, vec![20, 40]);
    assert!(lines
        .iter()
        .any(|l| l["stage"] == "generation/xsum" && l.get("valid_score").is_some()));

    // TensorBoard: the same numbers, one run per trained model.
    let tags = |run: &str| -> std::collections::BTreeSet<String> {
        tensorboard_view(&out.join("tensorboard").join(run))
            .into_keys()
            .map(|(tag, _)| tag)
            .collect()
    };
    assert!(tags("pretrain").contains("loss"), "{:?}", tags("pretrain"));
    assert!(tags("pretrain").contains("task_loss/c4"));
    assert!(tags("superglue").contains("valid_score/super_glue_rte"));
    assert!(tags("generation/xsum").contains("valid_score/xsum"));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("| wmt16_en_ro/validation/bleu |"),
        "{report}"
    );
    assert!(
        !report.contains("sys_len"),
        "diagnostics are not results: {report}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// A diverging run (AdamW at an absurd learning rate) stops at the first
/// non-finite loss with a message naming the step and the tasks in the
/// batch, and keeps the checkpoint written before it.
#[test]
fn a_nan_loss_stops_the_run_naming_step_and_tasks() {
    let _guard = serial();
    let mix_dir = tmp("nan-mix");
    let mixture = mixture_with_precision(&mix_dir, "fp32");
    let text = std::fs::read_to_string(&mixture)
        .unwrap()
        .replace(
            "lr constant(0.01)",
            "lr constant(1e30)  optimizer adamw  clip 1e30",
        )
        .replace("checkpoint_every 2", "checkpoint_every 1");
    assert!(text.contains("1e30"));
    std::fs::write(&mixture, text).unwrap();
    let out = tmp("nan");
    let err = run::run(&precision_args(&mixture, &out, 6))
        .unwrap_err()
        .to_string();
    assert!(err.contains("the loss is"), "{err}");
    let step: u64 = err
        .split("at step ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no step in: {err}"));
    assert!(step >= 2, "{err}");
    assert!(err.contains("target tokens)"), "no tasks named: {err}");
    assert!(
        ["`glue_rte`", "`glue_stsb`", "`squad_v1`", "`c4`"]
            .iter()
            .any(|t| err.contains(t)),
        "{err}"
    );
    // The last good checkpoint is the step before, intact, and the message
    // names that directory (one that exists) and how to start over.
    let ck = out.join(format!("pretrain/checkpoints/step-{:08}", step - 1));
    assert!(ck.join("COMMIT").is_file(), "{err}");
    assert!(
        err.contains(&format!("is kept in `{}`", ck.display())),
        "{err}"
    );
    assert!(err.contains("smaller learning rate"), "{err}");

    // Before any checkpoint, it says nothing is kept rather than naming a
    // directory that does not exist.
    let text = std::fs::read_to_string(&mixture)
        .unwrap()
        .replace("checkpoint_every 1", "checkpoint_every 100");
    std::fs::write(&mixture, text).unwrap();
    let out2 = tmp("nan-early");
    let err = run::run(&precision_args(&mixture, &out2, 6))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no checkpoint was written yet"), "{err}");
    assert!(!err.contains("is kept in"), "{err}");
    assert!(!out2
        .join("pretrain/checkpoints")
        .join("step-00000001")
        .exists());
    let _ = std::fs::remove_dir_all(&out2);
    assert!(!out
        .join(format!("pretrain/checkpoints/step-{step:08}"))
        .exists());
    assert!(!out.join("pretrain/DONE").exists());
}

/// A `per_task` fine-tuning stage interrupted inside its first task's
/// model and resumed ends like an uninterrupted one: the same weights for
/// both tasks, the same best checkpoints, the same scores.
#[test]
fn an_interrupted_per_task_stage_resumes_to_the_same_models_and_choices() {
    let _guard = serial();
    let mix_dir = tmp("pertask-mix");
    let mixture = tiny_mixture(
        &mix_dir,
        "pertask",
        "  select squad_v1, conll2003_ner
  rates uniform
  train { steps 40  batch 4  inputs 128  targets 32  lr constant(0.003)  dropout 0.0  seed 0  checkpoint_every 20  keep 1 }
  finetune ft { per_task }
  evaluate { splits validation }",
    );
    let data = root().join("examples/miniature/data");
    let args = |out: &Path| RunArgs {
        eval_limit: Some(3),
        ..tiny_args(&mixture, &data, out, 10)
    };
    let full = tmp("pertask-full");
    run::run(&args(&full)).unwrap();
    let cut = tmp("pertask-cut");
    let mut a = args(&cut);
    a.stop_after = Some(30);
    assert!(
        run::run(&a).is_err(),
        "--stop-after ends the run with an error"
    );
    // The first task's model stopped between its checkpoints; the second
    // has not started.
    assert!(!cut.join("ft/conll2003_ner/DONE").exists());
    assert!(!cut.join("ft/squad_v1").exists());
    // Logging as the first run did (the `--log-every` it recorded), so
    // that TensorBoard's windows match.
    run::run(&resume(&cut)).unwrap();

    let bytes = |out: &Path, task: &str, step: u64| {
        std::fs::read(out.join(format!(
            "ft/{task}/checkpoints/step-{step:08}/model.safetensors"
        )))
        .unwrap()
    };
    for task in ["conll2003_ner", "squad_v1"] {
        assert!(
            bytes(&full, task, 40) == bytes(&cut, task, 40),
            "{task}: final weights differ after resume"
        );
        let best = |out: &Path| {
            std::fs::read_to_string(out.join(format!("ft/{task}/checkpoints/best_per_task.json")))
                .unwrap()
        };
        assert_eq!(best(&full), best(&cut), "{task}");
        let scores = |out: &Path| {
            let v = runfiles::read_scores(&out.join(format!("eval/{task}/validation.scores.json")))
                .unwrap();
            (
                v.scores,
                v.weights.unwrap().replace(&out.display().to_string(), ""),
            )
        };
        assert_eq!(scores(&full), scores(&cut), "{task}");
    }
    assert_eq!(
        read_json(&full.join("ft/DONE"))["task_weights"],
        read_json(&cut.join("ft/DONE"))["task_weights"]
    );
    // TensorBoard shows the resumed model as if it had never stopped: the
    // interrupted process's step 30 is dropped by the resumed one's START
    // at 21 (timings aside, the numbers are the same).
    let view = |out: &Path| {
        let mut v = tensorboard_view(&out.join("tensorboard/ft/conll2003_ner"));
        v.retain(|(tag, _), _| !matches!(tag.as_str(), "tokens_per_s" | "data_wait"));
        v
    };
    let resumed = std::fs::read_dir(cut.join("tensorboard/ft/conll2003_ner")).unwrap();
    assert_eq!(resumed.count(), 2, "one event file per process");
    assert_eq!(view(&full), view(&cut));
    assert!(view(&cut).contains_key(&("loss".to_string(), 30)));
}

/// A fine-tune stage on a task with no validation data (the miniature's
/// MRPC is train only) cannot select, and says how to go on; with
/// `last_checkpoint` it trains, scores no checkpoint, and hands the last
/// one on.
#[test]
fn a_last_checkpoint_stage_needs_no_validation_data() {
    let _guard = serial();
    let mix_dir = tmp("last-mix");
    let write = |stage: &str| {
        tiny_mixture(
            &mix_dir,
            "last",
            &format!(
                "  select glue_mrpc
  rates uniform
  train {{ steps 4  batch 4  inputs 128  targets 8  lr constant(0.003)  dropout 0.0  seed 0  checkpoint_every 2  keep 1 }}
  finetune ft {{ {stage} }}"
            ),
        )
    };
    let data = root().join("examples/miniature/data");
    let args = |mixture: PathBuf, out: &Path| tiny_args(&mixture, &data, out, 2);
    let out = tmp("last");
    let err = run::run(&args(write(""), &out)).unwrap_err().to_string();
    assert!(
        err.contains("glue_mrpc") && err.contains("validation"),
        "{err}"
    );
    assert!(err.contains("`last_checkpoint`"), "no way out named: {err}");
    let out = tmp("last-ok");
    run::run(&args(write("last_checkpoint"), &out)).unwrap();
    let done = read_json(&out.join("ft/DONE"));
    assert_eq!(done["weights"], "ft/checkpoints/step-00000004");
    assert_eq!(
        done["task_weights"]["glue_mrpc"],
        "ft/checkpoints/step-00000004"
    );
    assert!(done.get("selected_on").is_none(), "{done}");
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert!(metrics.contains("\"loss\""));
    assert!(!metrics.contains("valid_score"), "{metrics}");
    // The validation loss leaves MRPC out, and says so once, with why.
    assert_eq!(
        metrics.matches("valid_loss_left_out").count(),
        1,
        "{metrics}"
    );
    assert!(
        metrics.contains("\"valid_loss_left_out\":{\"glue_mrpc\":"),
        "{metrics}"
    );
    for d in [out, mix_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A `c4 { source files … }` is read from the files it declares (plain
/// text here, one document a line), not from the hub layout.
#[test]
fn c4_reads_the_files_its_source_declares() {
    let _guard = serial();
    let dir = tmp("c4-files");
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("corpus")).unwrap();
    // Documents of the fixture English text, one per line.
    let wiki = root().join("fixtures/data/text/wiki_00.txt");
    let text = std::fs::read_to_string(&wiki).unwrap_or_else(|e| {
        panic!(
            "fixture {} is missing: it ships in the repository under fixtures/data ({e})",
            wiki.display()
        )
    });
    let docs: Vec<&str> = text.lines().filter(|l| l.len() > 40).take(200).collect();
    std::fs::write(data.join("corpus/part-1.txt"), docs.join("\n")).unwrap();
    // The miniature's MRPC rows, where a task looks for them.
    let mrpc = root().join("examples/miniature/data/glue_mrpc");
    std::fs::create_dir_all(data.join("glue_mrpc")).unwrap();
    std::fs::copy(mrpc.join("train.jsonl"), data.join("glue_mrpc/train.jsonl")).unwrap();
    let mixture = tiny_mixture(
        &dir,
        "c4files",
        "  select glue_mrpc
  rates uniform
  c4 { ratio 1  source files text { train = \"corpus/*.txt\" } }
  train { steps 4  batch 4  inputs 128  targets 32  lr constant(0.003)  dropout 0.0  seed 0  checkpoint_every 4 }
  pretrain { }",
    );
    let out = dir.join("out");
    run::run(&tiny_args(&mixture, &data, &out, 2)).unwrap();
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let c4_loss = metrics
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter_map(|l| l["task_loss"]["c4"].as_f64())
        .count();
    assert!(c4_loss > 0, "no C4 loss logged: {metrics}");
    // The stage's row counts: C4's corrupted segments are its examples.
    let done = read_json(&out.join("pretrain/DONE"));
    let c4 = &done["data"]["c4"];
    assert!(c4["rows_read"].as_u64().unwrap() > 0, "{done}");
    assert!(c4["examples"].as_u64().unwrap() > 0, "{done}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A task whose filter keeps rows with an odd label and whose join drops
/// the row with `idx` 0 (`unmatched drop`), in `dir/drop.task`, and its
/// data under `dir/data`: train rows idx 0..10 (idx 0 unmatched, 4 of the
/// other 9 filtered: 5 examples an epoch), validation rows idx 0..6 (1
/// unmatched, 2 filtered, 3 examples). `extra` goes into the task.
fn dropping_task(dir: &Path, extra: &str) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("d")).unwrap();
    for (split, n) in [("train", 10), ("validation", 6)] {
        let rows: String = (0..n)
            .map(|i| {
                format!(
                    "{}\n",
                    serde_json::json!({"sentence": format!("the {i} cat sat"), "label": i % 2, "idx": i})
                )
            })
            .collect();
        std::fs::write(data.join(format!("d/{split}.jsonl")), rows).unwrap();
        let extra_rows: String = (1..n)
            .map(|i| {
                format!(
                    "{}\n",
                    serde_json::json!({"idx": i, "note": format!("n{i}")})
                )
            })
            .collect();
        std::fs::write(data.join(format!("d/extra.{split}.jsonl")), extra_rows).unwrap();
    }
    let task = format!(
        r#"task drop_t {{
  source files jsonl {{ train = "d/train.jsonl", validation = "d/validation.jsonl" }}
    join files jsonl {{ train = "d/extra.train.jsonl", validation = "d/extra.validation.jsonl" }} on idx = idx {{ note = note }} unmatched drop
  fields {{ sentence: text, label: int, idx: int, note: text }}
  filter label == 1
  {extra}
  input "say {{sentence}} {{note}}"
  target note
  metrics accuracy
}}
"#
    );
    std::fs::write(dir.join("drop.task"), task).unwrap();
    data
}

fn dropping_mixture(dir: &Path) -> PathBuf {
    tiny_mixture(
        dir,
        "dropping",
        &format!(
            "  use \"{}\"
  select drop_t
  rates uniform
  train {{ steps 6  batch 2  inputs 32  targets 8  lr constant(0.003)  dropout 0.0  seed 0  checkpoint_every 3  keep 1 }}
  pretrain {{ }}
  evaluate ev {{ from pretrain  splits validation }}",
            dir.join("drop.task").display()
        ),
    )
}

/// Rows a filter or a join drops are counted, for training (up to the last
/// batch, carried across a resume) and for evaluation, in `DONE`,
/// `scores.json` and `report.md`.
#[test]
fn rows_dropped_by_a_filter_or_a_join_are_counted_in_the_report() {
    let _guard = serial();
    let dir = tmp("dropped");
    let data = dropping_task(&dir, "");
    let mixture = dropping_mixture(&dir);
    let out = dir.join("out");
    let mut a = tiny_args(&mixture, &data, &out, 3);
    a.stop_after = Some(3);
    assert!(run::run(&a).is_err(), "stopped after step 3");
    let mut a = tiny_args(&mixture, &data, &out, 3);
    a.resume = Some(out.clone());
    a.mixture = None;
    run::run(&a).unwrap();
    let c = &read_json(&out.join("pretrain/DONE"))["data"]["drop_t"];
    // Packed rows of 32 tokens hold several examples: some passes over
    // the data (a pass: 5 examples, 4 rows filtered, 1 unmatched).
    let n = |k: &str| c[k].as_u64().unwrap_or_else(|| panic!("{k}: {c}"));
    let passes = n("examples") / 5;
    assert!(passes >= 1, "{c}");
    assert!(n("dropped_unmatched") >= passes, "{c}");
    assert!(n("dropped_by_filter") >= 4 * passes, "{c}");
    assert_eq!(
        n("rows_read"),
        n("examples") + n("dropped_by_filter") + n("dropped_unmatched"),
        "{c}"
    );
    assert_eq!(n("inputs_truncated"), 0, "{c}");
    // The uninterrupted run counts the same.
    let straight = dir.join("straight");
    run::run(&tiny_args(&mixture, &data, &straight, 3)).unwrap();
    assert_eq!(
        read_json(&straight.join("pretrain/DONE"))["data"],
        read_json(&out.join("pretrain/DONE"))["data"]
    );
    let s = runfiles::read_scores(&out.join("eval/drop_t/validation.scores.json")).unwrap();
    assert_eq!(
        s.rows,
        Some(runfiles::RowsRecord {
            rows_read: 6,
            dropped_by_filter: 2,
            dropped_unmatched: 1,
            examples: 3,
            ..runfiles::RowsRecord::default()
        }),
        "{s:?}"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let line = format!(
        "| pretrain | drop_t | {} | {} | {} | {} | 0 | 0 |",
        n("rows_read"),
        n("dropped_by_filter"),
        n("dropped_unmatched"),
        n("examples")
    );
    assert!(md.contains(&line), "{line}\n{md}");
    assert!(md.contains("| drop_t/validation | 6 | 2 | 1 | 3 |"), "{md}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A filter that drops every row of a split a stage needs is an error
/// naming the task, the split and the filter: training does not read its
/// data for ever, evaluation does not score nothing.
#[test]
fn a_filter_that_drops_every_row_is_an_error_naming_it() {
    let _guard = serial();
    let error_with = |name: &str, filter: &str| {
        let dir = tmp(name);
        let data = dropping_task(&dir, filter);
        let mixture = dropping_mixture(&dir);
        let err = run::run(&tiny_args(&mixture, &data, &dir.join("out"), 3))
            .unwrap_err()
            .to_string();
        let _ = std::fs::remove_dir_all(dir);
        err
    };
    let err = error_with("all-dropped", "filter label == 7 only train");
    assert!(
        err.contains("task `drop_t` drops every row of its `train` split")
            && err.contains("`filter label == 7`")
            && err.contains("had no joined row (`unmatched drop`)"),
        "{err}"
    );
    let err = error_with("all-dropped-eval", "filter label == 7 only validation");
    assert!(
        err.contains("task `drop_t` drops every row of its `validation` split: of 6 rows read, 5 gave no example")
            && err.contains("`filter label == 7`"),
        "{err}"
    );
}

/// `exc run`'s arguments, parsed as the binary parses them.
#[derive(clap::Parser)]
struct RunCli {
    #[command(flatten)]
    run: RunArgs,
}

/// `exc run` with the arguments in `EXC_RUN_TEST_CLI` (one a line), in a
/// process whose current directory the parent chose (a test process has
/// one current directory for all its tests).
#[test]
fn cli_child_entry() {
    let Ok(spec) = std::env::var("EXC_RUN_TEST_CLI") else {
        return;
    };
    let argv = std::iter::once("exc-run").chain(spec.lines());
    let a = <RunCli as clap::Parser>::parse_from(argv).run;
    if let Err(e) = run::run(&a) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Runs `exc run ARGV` in `cwd` (through [`cli_child_entry`]); returns
/// whether it succeeded and what it wrote to stderr.
fn run_in(cwd: &Path, argv: &[&str]) -> (bool, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "cli_child_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("EXC_RUN_TEST_CLI", argv.join("\n"))
        .env_remove("EXC_RUN_CRASH")
        .current_dir(cwd)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A tiny run of MRPC's shipped train rows: 4 steps, checkpoints at 2 and 4.
fn mrpc_mixture(dir: &Path, name: &str) -> PathBuf {
    tiny_mixture(
        dir,
        name,
        "  select glue_mrpc
  rates uniform
  train { steps 4  batch 4  inputs 64  targets 8  lr constant(0.003)  dropout 0.0  seed 0  checkpoint_every 2  keep 1 }
  pretrain { }",
    )
}

fn canonical(p: &Path) -> String {
    p.canonicalize().unwrap().display().to_string()
}

/// A run started with relative paths (mixture, data dir, tokenizer, run
/// directory) records them absolute and resumes from another directory; a
/// config of an older run, which recorded them as given, is found from the
/// run directory's place; flags that would change the run are refused; and
/// the run, once complete, says so.
#[test]
fn a_run_started_with_relative_paths_resumes_from_another_directory() {
    let _guard = serial();
    let dir = tmp("cwd");
    let start = dir.join("start");
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(start.join("data/glue_mrpc")).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    let mrpc = root().join("examples/miniature/data/glue_mrpc/train.jsonl");
    std::fs::copy(mrpc, start.join("data/glue_mrpc/train.jsonl")).unwrap();
    let spiece = root().join("examples/quickstart/spiece.model");
    std::fs::copy(&spiece, start.join("spiece.model")).unwrap();
    let mixture = mrpc_mixture(&start, "rel");
    let (ok, err) = run_in(
        &start,
        &[
            "rel.exmix",
            "--data-dir",
            "data",
            "--tokenizer",
            "spiece.model",
            "--out",
            "runs/rel",
            "--device",
            "cpu",
            "--log-every",
            "1",
            "--stop-after",
            "3",
            "-q",
        ],
    );
    assert!(!ok && err.contains("stopped after step 3"), "{err}");
    let run_dir = start.join("runs/rel");
    let cfg = read_json(&run_dir.join("config.json"));
    assert_eq!(cfg["data_dir"], canonical(&start.join("data")));
    assert_eq!(cfg["tokenizer"], canonical(&start.join("spiece.model")));
    assert_eq!(cfg["mixture_file"], canonical(&mixture));
    assert_eq!(cfg["started_in"], canonical(&start));

    // Flags that would change what the run trains or scores are refused.
    let refused = |a: RunArgs, flag: &str, value: &str| {
        let err = run::run(&a).unwrap_err().to_string();
        assert!(
            err.contains(&format!("`{flag} {value}` cannot be given with `--resume`"))
                && err.contains(&format!("help: leave out `{flag}`")),
            "{err}"
        );
    };
    let steps = RunArgs {
        steps: Some(8),
        ..resume(&run_dir)
    };
    refused(steps, "--steps", "8");
    let limit = RunArgs {
        eval_limit: Some(2),
        ..resume(&run_dir)
    };
    refused(limit, "--eval-limit", "2");
    let kernels = RunArgs {
        kernels: Some(run::kernels::KernelChoice::Reference),
        ..resume(&run_dir)
    };
    refused(kernels, "--kernels", "reference");

    // An older run's config: the paths as given, relative to a directory
    // it did not record. Not found, it says how to go on.
    let mut old = cfg.clone();
    for (k, v) in [
        ("data_dir", "moved"),
        ("tokenizer", "spiece.model"),
        ("mixture_file", "rel.exmix"),
    ] {
        old[k] = v.into();
    }
    for k in ["started_in", "tokenizer_sha256", "kernels"] {
        old.as_object_mut().unwrap().remove(k);
    }
    let write_config = |v: &serde_json::Value| {
        std::fs::write(
            run_dir.join("config.json"),
            serde_json::to_string_pretty(v).unwrap(),
        )
        .unwrap();
    };
    write_config(&old);
    let err = run::run(&resume(&run_dir)).unwrap_err().to_string();
    assert!(
        err.contains("recorded its data dir as `moved`") && err.contains("pass `--data-dir`"),
        "{err}"
    );
    // Found above the run directory, and recorded absolute from then on.
    old["data_dir"] = "data".into();
    write_config(&old);
    let (ok, err) = run_in(
        &elsewhere,
        &["--resume", "../start/runs/rel", "--stop-after", "3"],
    );
    assert!(!ok && err.contains("stopped after step 3"), "{err}");
    let cfg = read_json(&run_dir.join("config.json"));
    assert_eq!(cfg["data_dir"], canonical(&start.join("data")));
    assert_eq!(cfg["tokenizer"], canonical(&start.join("spiece.model")));
    assert_eq!(cfg["changed_on_resume"][0]["was"], "data");
    assert_eq!(cfg["log_every"], 1, "--log-every defaults to the run's");

    // Resumed from elsewhere to the end: the weights of a run that was
    // never interrupted.
    let (ok, err) = run_in(&elsewhere, &["--resume", "../start/runs/rel", "-q"]);
    assert!(ok, "{err}");
    let straight = dir.join("straight");
    run::run(&tiny_args(&mixture, &start.join("data"), &straight, 1)).unwrap();
    same_weights(&straight, &run_dir, 4);

    // Resuming a complete run says so and where its report is.
    let (ok, err) = run_in(&elsewhere, &["--resume", "../start/runs/rel"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("was already complete; nothing to resume")
            && err.contains("runs/rel/report.md"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// `exc generate` and `exc score` on a checkpoint of a run: without
/// `--tokenizer` they read the run's (a checkpoint holds none); given a
/// `spiece.model`, they read it as `exc run` does.
#[test]
fn generate_and_score_read_the_tokenizer_of_the_checkpoints_run() {
    use exc_runtime::cli::{generate_to, score_to, GenerateArgs, ScoreArgs};
    let _guard = serial();
    let dir = tmp("gen");
    let mixture = mrpc_mixture(&dir, "gen");
    let out = dir.join("out");
    let data = root().join("examples/miniature/data");
    run::run(&tiny_args(&mixture, &data, &out, 2)).unwrap();
    let ck = out.join("pretrain/checkpoints/step-00000004");
    let spiece = root().join("examples/quickstart/spiece.model");
    let gen = |tokenizer: Option<PathBuf>, beams: i64| {
        let args = GenerateArgs {
            model: ck.clone(),
            tokenizer,
            beams,
            max_length: 3,
            length_penalty: 0.6,
            input: None,
            batch_size: 2,
            device: Some("cpu".into()),
        };
        let mut text = Vec::new();
        let lines = ["the cat".to_string(), r#"{"input": "sat"}"#.to_string()];
        generate_to(&args, &lines, &mut text).map(|()| String::from_utf8(text).unwrap())
    };
    let found = gen(None, 2).unwrap();
    assert_eq!(found.lines().count(), 2, "{found}");
    assert_eq!(gen(Some(spiece.clone()), 2).unwrap(), found);
    let err = gen(None, 0).unwrap_err().to_string();
    assert!(err.contains("`--beams 0` must be at least 1"), "{err}");

    let score = |model: PathBuf, tokenizer: Option<PathBuf>| {
        let args = ScoreArgs {
            model,
            tokenizer,
            input: PathBuf::new(),
            batch_size: 4,
            device: Some("cpu".into()),
        };
        let mut text = Vec::new();
        let rows = [r#"{"input": "the cat", "target": "."}"#.to_string()];
        score_to(&args, &rows, &mut text).map(|()| String::from_utf8(text).unwrap())
    };
    let line = score(ck.clone(), None).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    // "." is `▁`, `.`, `</s>` in the T5 vocabulary.
    assert_eq!(v["tokens"], 3, "{line}");
    assert_eq!(score(ck.clone(), Some(spiece)).unwrap(), line);
    // A checkpoint outside any run, without a tokenizer: say what to pass.
    let lone = dir.join("lone");
    std::fs::create_dir_all(&lone).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(ck.join(f), lone.join(f)).unwrap();
    }
    let err = score(lone, None).unwrap_err().to_string();
    assert!(
        err.contains("holds no tokenizer.json or spiece.model")
            && err.contains("pass `--tokenizer`"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// One writer per run directory: of two runs started at once into one
/// `--out`, one trains and the other is refused naming the holder; a
/// `--resume` while the run is alive is refused too; a `kill -9` of the
/// holder frees the directory (no stale lock).
#[test]
fn a_run_directory_has_one_writer() {
    let _guard = serial();
    let out = tmp("lock");
    let spawn = |steps: u64| {
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_process_entry",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(
                "EXC_RUN_TEST_CHILD",
                format!("fresh|{}|{steps}", out.display()),
            )
            .env_remove("EXC_RUN_CRASH")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(6), spawn(6));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let ok = [a.status.success(), b.status.success()];
    assert_eq!(
        ok.iter().filter(|s| **s).count(),
        1,
        "exactly one of two simultaneous runs trains:\n{}\n{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    let loser = if ok[0] { &b } else { &a };
    let text = String::from_utf8_lossy(&loser.stderr);
    // Refused by the lock, or (started after the winner finished) by the
    // finished run it found: never both training.
    assert!(
        text.contains("is being written by") || text.contains("already holds a run"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&out);

    // A long run, alive: a resume of its directory is refused, naming it.
    let mut long = spawn(100_000);
    let lock = out.join(run::lock::LOCK);
    let t0 = std::time::Instant::now();
    while !out.join("plan.json").is_file() && t0.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let err = run::run(&resume(&out)).unwrap_err().to_string();
    assert!(
        err.contains(&format!("is being written by pid {} ", long.id())),
        "{err}"
    );
    assert!(std::fs::read_to_string(&lock).unwrap().contains("host"));
    long.kill().unwrap();
    long.wait().unwrap();
    // The kernel released the lock with the process.
    drop(run::lock::acquire(&out).unwrap());
    let _ = std::fs::remove_dir_all(&out);
}

/// A committed checkpoint whose hashes match but whose weights file does
/// not load (its safetensors header is damaged, then hashed) is passed over
/// like other damage: the resume falls back to the checkpoint before it.
#[test]
fn a_checkpoint_that_does_not_load_falls_back_to_the_one_before() {
    let _guard = serial();
    let mix_dir = tmp("hdr-mix");
    let mixture = mixture_every_2(&mix_dir);
    let q = root().join("examples/quickstart");
    let out = tmp("hdr");
    let a = RunArgs {
        mixture: Some(mixture.clone()),
        data_dir: Some(q.join("data")),
        tokenizer: Some(q.join("spiece.model")),
        out: Some(out.clone()),
        device: Some("cpu".into()),
        steps: Some(6),
        eval_limit: Some(1),
        log_every: Some(2),
        quiet: true,
        stop_after: Some(5),
        ..RunArgs::default()
    };
    assert!(run::run(&a).is_err());
    let ck = out.join("pretrain/checkpoints");
    let bad = ck.join("step-00000004");
    let w = bad.join("model.safetensors");
    let mut bytes = std::fs::read(&w).unwrap();
    // A header length past the end of the file: "InvalidHeader"-like.
    bytes[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    std::fs::write(&w, &bytes).unwrap();
    // Re-commit it, as if the damage happened before hashing.
    let mut commit: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bad.join("COMMIT")).unwrap()).unwrap();
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    commit["files"]["model.safetensors"] = hash.into();
    std::fs::write(bad.join("COMMIT"), commit.to_string()).unwrap();
    assert_eq!(run::ckpt::latest(&ck).0.map(|f| f.0), Some(4));

    run::run(&resume(&out)).unwrap();
    assert!(out.join("pretrain/DONE").is_file());
    // Step 4 was trained again from step 2 and committed whole.
    assert!(run::ckpt::verify(&bad).is_ok());
    let fixed = std::fs::read(&w).unwrap();
    assert_ne!(fixed[..8], u64::MAX.to_le_bytes());
    for d in [out, mix_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A sweep over a model setting trains each point's own model (before,
/// every point silently trained the first point's).
#[test]
fn a_sweep_over_the_model_trains_each_points_model() {
    let _guard = serial();
    let dir = tmp("width-mix");
    std::fs::create_dir_all(&dir).unwrap();
    let mixture = dir.join("width.exmix");
    std::fs::write(
        &mixture,
        format!(
            "mixture width {{\n  use \"{}\"\n  select glue_mrpc\n  sweep d in [32, 48]\n  \
             model custom t5.1.1-small {{ d_model $d, d_ff 64, d_kv 8, num_heads 4, num_layers 1, num_decoder_layers 1 }}\n  \
             train {{ steps 2  batch 4  inputs 64  targets 8  lr constant(0.003)  dropout 0.0  seed 0 }}\n  \
             pretrain {{ }}\n}}\n",
            root().join("tasks").display()
        ),
    )
    .unwrap();
    let out = tmp("width");
    let data = root().join("examples/miniature/data");
    run::run(&tiny_args(&mixture, &data, &out, 2)).unwrap();
    for d in [32, 48] {
        let cfg = read_json(&out.join(format!(
            "d={d}/pretrain/checkpoints/step-00000002/config.json"
        )));
        assert_eq!(cfg["d_model"], d, "{cfg}");
    }
    for p in [out, dir] {
        let _ = std::fs::remove_dir_all(p);
    }
}
