//! End-to-end tests: run the built `exc` binary over fixtures and snapshot
//! what a user sees. See tests/README.md for the snapshot workflow.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

/// Run `exc` in the repository root with colours off and a fixed width.
fn exc(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_exc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .expect("exc runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn relative(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// One fixture per kind of mistake: the rendered diagnostics and the exit code.
#[test]
fn diagnostics() {
    insta::glob!("fixtures/diagnostics/*.{task,exmix}", |path| {
        let (code, stdout, stderr) = exc(&["check", "--no-time", &relative(path)]);
        assert!(stdout.is_empty(), "check prints nothing on stdout");
        assert_ne!(code, 0, "a fixture with a mistake must fail");
        insta::assert_snapshot!(format!("exit code {code}\n{stderr}"));
    });
}

/// Plans of the example mixtures, as a table and as JSON.
#[test]
fn plans() {
    insta::glob!("fixtures/plans/*.exmix", |path| {
        let file = relative(path);
        let (code, table, stderr) = exc(&["plan", &file]);
        assert_eq!(code, 0, "{stderr}");
        let (_, json, _) = exc(&["plan", &file, "--format", "json"]);
        insta::assert_snapshot!(format!("{table}\n{json}"));
    });
}

#[test]
fn quickstart_plans() {
    let (code, table, stderr) = exc(&["plan", "examples/quickstart/quickstart.exmix"]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!(table);
}

#[test]
fn the_catalog_checks_cleanly() {
    let (code, _, stderr) = exc(&["check", "--no-time", "tasks", "examples"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("0 errors"), "{stderr}");
}

#[test]
fn exit_codes_tell_usage_from_invalid_input() {
    let (code, _, stderr) = exc(&["check", "no/such/dir"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no such file or directory"), "{stderr}");
    let (code, _, _) = exc(&["check", "tests/fixtures/diagnostics/unknown_field.task"]);
    assert_eq!(code, 1);
    let (code, _, _) = exc(&["frobnicate"]);
    assert_eq!(code, 2);
    let (code, _, _) = exc(&["check", "tests/fixtures/common"]);
    assert_eq!(code, 0);
}

#[test]
fn render_writes_jsonl() {
    let (code, out, stderr) = exc(&["render", "glue_rte", "--format", "jsonl"]);
    assert_eq!(code, 0, "{stderr}");
    let row: serde_json::Value = serde_json::from_str(out.lines().next().unwrap_or("")).unwrap();
    assert_eq!(row["task"], "glue_rte");
    assert_eq!(row["target"], "not_entailment");
    assert!(row["input"]
        .as_str()
        .unwrap()
        .starts_with("rte sentence1: Dana Reeve"));
}

#[test]
fn render_suggests_a_task_name() {
    let (code, _, stderr) = exc(&["render", "glue_rtee"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("did you mean `glue_rte`?"), "{stderr}");
}

#[test]
fn plan_output_is_written_atomically_and_deterministic() {
    let dir = std::env::temp_dir().join(format!("exc-plan-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("plan.json");
    let out_s = out.to_string_lossy().into_owned();
    let (code, first, _) = exc(&[
        "plan",
        "tests/fixtures/plans/stages.exmix",
        "--format",
        "json",
        "-o",
        &out_s,
    ]);
    assert_eq!(code, 0);
    let (_, second, _) = exc(&[
        "plan",
        "tests/fixtures/plans/stages.exmix",
        "--format",
        "json",
    ]);
    assert_eq!(first, second, "same input, same bytes");
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(written.trim(), first.trim());
    let plan = exc_compiler::plan::Plan::from_json(&written).unwrap();
    assert!(plan.verify(), "the hash covers the plan");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn render_reads_real_rows_from_a_data_dir() {
    let (code, out, stderr) = exc(&[
        "render",
        "glue_rte",
        "--data",
        "tests/fixtures/data",
        "--split",
        "validation",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["target"], "entailment");
}

#[test]
fn bad_rows_are_counted_and_named_not_skipped() {
    let (code, _, stderr) = exc(&[
        "check",
        "--no-time",
        "tests/fixtures/common/broken_data.task",
        "--data",
        "tests/fixtures/data",
    ]);
    assert_eq!(code, 1, "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn a_missing_split_names_every_place_looked() {
    let (code, _, stderr) = exc(&[
        "render",
        "glue_rte",
        "--data",
        "tests/fixtures/data",
        "--split",
        "train",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("tests/fixtures/data/glue_rte/train.jsonl"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "`nyu-mll/glue` config `rte` split `train` is a hub dataset: `exc fetch` downloads it"
        ),
        "{stderr}"
    );
}

#[test]
fn a_plus_joins_several_hub_splits() {
    let (code, out, stderr) = exc(&[
        "render",
        "union_qa",
        "--tasks",
        "tests/fixtures/common",
        "--data",
        "tests/fixtures/data",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let targets: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["target"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(targets, ["one", "two"]);
}

/// Run `exc` in another directory (outside the project).
fn exc_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_exc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .expect("exc runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn counts_that_would_show_nothing_are_refused() {
    let (code, _, stderr) = exc(&["check", "tests/fixtures/common", "--rows", "0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("0 would show nothing"), "{stderr}");
    let (code, _, stderr) = exc(&["render", "glue_rte", "-n", "0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("0 would show nothing"), "{stderr}");
}

#[test]
fn a_tokenizer_without_data_is_an_error_not_ignored() {
    let (code, _, stderr) = exc(&[
        "check",
        "tests/fixtures/common",
        "--tokenizer",
        "examples/quickstart/spiece.model",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`--tokenizer` needs `--data`"), "{stderr}");
}

#[test]
fn check_and_render_take_data_dir_as_run_calls_it() {
    for flag in ["--data", "--data-dir"] {
        let (code, out, stderr) = exc(&[
            "render",
            "glue_rte",
            flag,
            "tests/fixtures/data",
            "--split",
            "validation",
        ]);
        assert_eq!(code, 0, "{flag}: {stderr}");
        assert!(out.contains("== glue_rte (validation, 3 rows)"), "{out}");
    }
}

#[test]
fn one_row_reads_as_one_row() {
    let (code, _, stderr) = exc(&[
        "check",
        "--no-time",
        "tests/fixtures/common/union.task",
        "--data",
        "tests/fixtures/data",
        "--rows",
        "1",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(": 1 row -> 1 example, 0 failed, 0 empty targets"),
        "{stderr}"
    );
}

#[test]
fn a_missing_path_on_the_command_line_says_what_it_is_relative_to() {
    let (code, _, stderr) = exc(&["plan", "nope.exmix"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("relative paths on the command line are relative to the current directory"),
        "{stderr}"
    );
    let outside = std::env::temp_dir();
    let (code, _, stderr) = exc_in(&outside, &["render", "glue_rte"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("pass `--tasks DIR`"), "{stderr}");
    assert!(!stderr.contains("relative to that file"), "{stderr}");
}

/// `exc check --data` over tests/fixtures/common/bad_rows.task: every row
/// that used to train or read silently is an error or a help line.
fn check_bad_rows() -> (i32, String) {
    let (code, _, stderr) = exc(&[
        "check",
        "--no-time",
        "tests/fixtures/common/bad_rows.task",
        "--data",
        "tests/fixtures/data",
    ]);
    (code, stderr)
}

#[test]
fn a_null_label_or_text_fails_check_and_render_as_it_fails_run() {
    let (code, stderr) = check_bad_rows();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("null_label [train]: 3 rows -> 2 examples, 1 failed, 0 empty targets"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad_rows/null_label.jsonl, row 2: `label` is null, but its type `class[entailment, not_entailment]` is not optional"),
        "{stderr}"
    );
    assert!(
        stderr.contains("null_text [train]: 3 rows -> 1 example, 2 failed"),
        "{stderr}"
    );
    assert!(stderr.contains("row 2: `premise` is null"), "{stderr}");
    assert!(
        stderr.contains("row 3: `premise` should be text, found the number 12345"),
        "{stderr}"
    );
    for task in ["null_label", "null_text"] {
        let (code, _, stderr) = exc(&[
            "render",
            task,
            "--tasks",
            "tests/fixtures/common/bad_rows.task",
            "--data",
            "tests/fixtures/data",
        ]);
        assert_eq!(code, 1, "{task}: {stderr}");
        assert!(stderr.contains("row 2: `"), "{stderr}");
    }
}

#[test]
fn an_empty_file_fails_check_with_the_runs_error() {
    let (_, stderr) = check_bad_rows();
    assert!(
        stderr.contains("error: empty_source [train]: source `tests/fixtures/data/bad_rows/empty.jsonl` has no rows: the file is empty"),
        "{stderr}"
    );
}

#[test]
fn an_empty_csv_cell_is_an_absent_optional_label() {
    let (_, stderr) = check_bad_rows();
    assert!(
        stderr.contains("optional_cell [train]: 3 rows -> 2 examples, 0 failed"),
        "{stderr}"
    );
}

#[test]
fn a_label_not_in_the_list_points_at_its_declaration_and_the_datas_spelling() {
    let (_, stderr) = check_bad_rows();
    assert!(
        stderr.contains("`label` is \"not entailment\", which is not one of class[entailment, not_entailment] (`label` is declared at tests/fixtures/common/bad_rows.task:46:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: `label` (declared at tests/fixtures/common/bad_rows.task:46:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the data never writes `not_entailment`: did you mean `not entailment`?"),
        "{stderr}"
    );
}

#[test]
fn a_gzip_cut_in_half_is_one_error_after_its_rows() {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("exc-cli-cut-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("cut")).unwrap();
    let text: String = (0..200)
        .map(|i| format!("{{\"premise\": \"row {i}, {}\"}}\n", i * 7919))
        .collect();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    let bytes = e.finish().unwrap();
    std::fs::write(dir.join("cut/train.jsonl.gz"), &bytes[..bytes.len() / 2]).unwrap();
    let (code, _, stderr) = exc(&[
        "check",
        "--no-time",
        "tests/fixtures/common/cut_gzip.task",
        "--data",
        dir.to_str().unwrap(),
        "--rows",
        "1000",
    ]);
    assert_eq!(code, 1, "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("cut_gzip [train]: "))
        .unwrap_or_else(|| panic!("{stderr}"));
    // Every row read rendered: the cut is no row, and nothing follows it.
    let rows: usize = line["cut_gzip [train]: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rows > 0 && rows < 200, "{line}");
    assert!(
        line.contains(&format!("-> {rows} examples, 0 failed")),
        "{line}"
    );
    assert!(
        stderr.contains(&format!(
            "error: reading stopped: `{}",
            dir.join("cut/train.jsonl.gz").display()
        )) && stderr.contains("cannot be read past line"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn plan_takes_set_overrides_and_shows_their_mistakes_in_the_argument() {
    let file = "tests/fixtures/plans/stages.exmix";
    let (code, table, stderr) = exc(&[
        "plan",
        file,
        "--set",
        "train.lr=rsqrt(peak=0.005,warmup=1000)",
        "--set",
        "finetune.train.steps=7",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        table.contains(
            "--set train.lr=rsqrt(peak=0.005,warmup=1000)\n--set finetune.train.steps=7\n"
        ),
        "{table}"
    );
    assert!(
        table.contains("stage finetune (finetune) from stage pretrain: 2 tasks, 7 steps"),
        "{table}"
    );
    let (_, json, _) = exc(&["plan", file, "--format", "json", "--set", "c4.ratio=4"]);
    let plan = exc_compiler::plan::Plan::from_json(&json).unwrap();
    assert_eq!(plan.overrides, ["c4.ratio=4"]);
    let (_, plain, _) = exc(&["plan", file, "--format", "json"]);
    let plain = exc_compiler::plan::Plan::from_json(&plain).unwrap();
    assert_ne!(plan.hash, plain.hash);
    // A mistake is shown in the argument, as one in a file is in the file.
    let (code, _, stderr) = exc(&[
        "plan",
        file,
        "--set",
        "train.stpes=5",
        "--set",
        "model.dropout_rate=1.5",
    ]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(stderr);
}
