//! `exc fetch` end to end against the hub emulator (exc-hub's, on
//! 127.0.0.1): a mixture's data into a fresh hub cache, found afterwards by
//! `exc check --data` with no directory; dry runs, resumed and corrupt
//! partial files, gated and missing repos, lock files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use exc_hub::emulator::{Emulator, FakeRepo, Snapshot};
use exc_hub::RepoKind;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const GLUE: &str = "1111111111111111111111111111111111111111";
const SCRIPT: &str = "2222222222222222222222222222222222222222";
const PARQUET: &str = "3333333333333333333333333333333333333333";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir` (any depth).
fn paths_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Every file under `dir`, by its path relative to it.
fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    paths_under(dir)
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&p).unwrap();
            (rel, bytes)
        })
        .collect()
}

/// The repos of tests/fixtures/hub/repos (`ORG/NAME/REVISION/...`, the
/// revision URL-escaped), plus a gated one.
fn repos() -> Vec<FakeRepo> {
    repos_with(&|_, _, commit| commit.to_string())
}

/// The commits the emulator example gives (`scripts/hub_parity.py` ran it):
/// the first 40 hex digits of the sha256 of `ORG/NAME@REVISION`.
fn example_commit(id: &str, rev: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(format!("{id}@{rev}").as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect::<String>()[..40].to_string()
}

fn repos_with(commit: &dyn Fn(&str, &str, &str) -> String) -> Vec<FakeRepo> {
    let dir = root().join("tests/fixtures/hub/repos/demo");
    let snap = |repo: &str, rev: &str, c: &str| Snapshot {
        commit: commit(&format!("demo/{repo}"), &rev.replace("%2F", "/"), c),
        files: files_under(&dir.join(repo).join(rev)),
    };
    vec![
        FakeRepo {
            kind: RepoKind::Dataset,
            id: "demo/glue".into(),
            revisions: BTreeMap::from([("main".into(), snap("glue", "main", GLUE))]),
            gated: false,
        },
        FakeRepo {
            kind: RepoKind::Dataset,
            id: "demo/scripted".into(),
            revisions: BTreeMap::from([
                ("main".into(), snap("scripted", "main", SCRIPT)),
                (
                    "refs/convert/parquet".into(),
                    snap("scripted", "refs%2Fconvert%2Fparquet", PARQUET),
                ),
            ]),
            gated: false,
        },
        FakeRepo {
            kind: RepoKind::Model,
            id: "demo/t5-tiny".into(),
            revisions: BTreeMap::from([(
                "main".into(),
                Snapshot {
                    commit: "5555555555555555555555555555555555555555".into(),
                    files: [
                        "config.json",
                        "generation_config.json",
                        "model.safetensors",
                        "spiece.model",
                        "tokenizer_config.json",
                        "special_tokens_map.json",
                        "flax_model.msgpack",
                        "README.md",
                        "onnx/encoder.onnx",
                    ]
                    .iter()
                    .map(|f| (f.to_string(), format!("{f} of demo/t5-tiny").into_bytes()))
                    .collect(),
                },
            )]),
            gated: false,
        },
        FakeRepo {
            kind: RepoKind::Dataset,
            id: "demo/gated".into(),
            revisions: BTreeMap::from([("main".into(), snap("glue", "main", GLUE))]),
            gated: true,
        },
    ]
}

/// A scratch directory with a copy of the fixtures' tasks and mixtures
/// (the lock file is written beside the mixture) and an empty hub cache.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("exc-fetch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("hf/hub")).unwrap();
        std::fs::write(dir.join(".git"), "").unwrap();
        for f in [
            "good.task",
            "bad.task",
            "good.exmix",
            "all.exmix",
            "model.exmix",
            "run.exmix",
        ] {
            std::fs::copy(root().join("tests/fixtures/hub").join(f), dir.join(f)).unwrap();
        }
        Scratch { dir }
    }

    fn cache(&self) -> PathBuf {
        self.dir.join("hf/hub")
    }

    /// `exc ARGS` in the scratch directory against `emu`.
    fn exc(&self, emu: &Emulator, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_exc"))
            .args(args)
            .current_dir(&self.dir)
            .env("HF_ENDPOINT", emu.url())
            .env("HF_HOME", self.dir.join("hf"))
            .env("HF_HUB_CACHE", self.cache())
            .env_remove("HF_TOKEN")
            .env_remove("HF_HUB_OFFLINE")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn blobs(&self, repo: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.cache().join(repo).join("blobs"))
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

/// The `resolve` requests the emulator answered (downloads and probes).
fn resolves(emu: &Emulator) -> Vec<(String, Option<String>)> {
    emu.log()
        .into_iter()
        .filter(|l| l.path.contains("/resolve/"))
        .map(|l| (l.path, l.range))
        .collect()
}

#[test]
fn a_fetched_mixture_is_found_by_check_with_no_flag() {
    let emu = Emulator::start(repos()).unwrap();
    let s = Scratch::new("found");
    // A dry run lists with sizes and downloads nothing.
    let (code, out, err) = s.exc(&emu, &["fetch", "good.exmix", "--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("to fetch"), "{out}");
    assert!(out.contains("48.3 kB"), "{out}");
    assert!(out.contains("to fetch: 4 files (70.3 kB)"), "{out}");
    assert!(resolves(&emu).is_empty(), "{:?}", emu.log());
    assert!(s.blobs("datasets--demo--glue").is_empty());
    assert!(!s.dir.join("good.exmix.lock").exists());

    let (code, out, err) = s.exc(&emu, &["fetch", "good.exmix", "--jobs", "2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("fetched: 4 files (70.3 kB)"), "{out}");
    assert!(
        err.contains("fetched datasets/demo/glue rte/train.jsonl (48.3 kB)"),
        "{err}"
    );
    // The loading-script repo came from its parquet conversion.
    let parquet = s
        .cache()
        .join("datasets--demo--scripted/snapshots")
        .join(PARQUET)
        .join("default/train/0000.parquet");
    assert!(parquet.is_file());
    assert_eq!(
        std::fs::read_to_string(
            s.cache()
                .join("datasets--demo--scripted/refs/refs/convert/parquet")
        )
        .unwrap(),
        PARQUET
    );
    let lock = std::fs::read_to_string(s.dir.join("good.exmix.lock")).unwrap();
    assert!(lock.contains(GLUE) && lock.contains(PARQUET), "{lock}");

    // `exc check --data` (no directory) reads them from the hub cache.
    let (code, out, err) = s.exc(&emu, &["check", "good.task", "--data"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("hub_rte [train]: 120 rows -> 120 examples"),
        "{err}"
    );
    assert!(
        err.contains("hub_scripted [validation]: 10 rows -> 10 examples"),
        "{err}"
    );

    // Again: everything present, not one file asked for.
    emu.clear_log();
    let (code, out, err) = s.exc(&emu, &["fetch", "good.exmix"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("fetched: 0 files (0 B); already present: 4 files (70.3 kB)"),
        "{out}"
    );
    assert!(resolves(&emu).is_empty(), "{:?}", resolves(&emu));
}

#[test]
fn a_failing_dataset_does_not_stop_the_others() {
    let emu = Emulator::start(repos()).unwrap();
    let s = Scratch::new("failing");
    let (code, out, err) = s.exc(&emu, &["fetch", "all.exmix"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("3 items need a person"), "{err}");
    assert!(out.contains("3 need manual action"), "{out}");
    let gated = out
        .lines()
        .find(|l| l.starts_with("manual: datasets/demo/gated"))
        .unwrap();
    assert!(
        gated.contains(&format!("{}/datasets/demo/gated", emu.url())),
        "{gated}"
    );
    assert!(gated.contains("HF_TOKEN"), "{gated}");
    let missing = out
        .lines()
        .find(|l| l.starts_with("manual: datasets/demo/missing"))
        .unwrap();
    assert!(missing.contains("RepoNotFound"), "{missing}");
    assert!(
        out.contains("manual: files local/train.jsonl (hub_local): not on the hub"),
        "{out}"
    );
    // Only `train`: the mixture has no stage that reads validation.
    assert!(out.contains("fetched: 2 files"), "{out}");

    // Missing data in `exc check --data`: one line per task, one `exc fetch` line.
    let (code, _, err) = s.exc(&emu, &["check", "bad.task", "--data"]);
    assert_eq!(code, 1, "{err}");
    let gated: Vec<&str> = err.lines().filter(|l| l.contains("hub_gated")).collect();
    assert_eq!(gated.len(), 1, "{err}");
    assert!(
        err.contains("2 tasks of the hub miss data: `exc fetch bad.task`"),
        "{err}"
    );
    assert!(!err.contains("huggingface-cli"), "{err}");
}

#[test]
fn a_cut_download_is_resumed_by_the_next_run() {
    let emu = Emulator::start(repos()).unwrap();
    let s = Scratch::new("resume");
    // Cut more times than the client retries: this run fails on that file.
    emu.cut("rte/train.jsonl", 100);
    let (code, out, err) = s.exc(&emu, &["fetch", "good.exmix"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("1 failed"), "{out}");
    assert!(
        out.contains("fetched: 3 files"),
        "the others were fetched: {out}"
    );
    assert!(
        err.contains("rerun `exc fetch good.exmix` to continue"),
        "{err}"
    );
    let part: Vec<String> = s
        .blobs("datasets--demo--glue")
        .into_iter()
        .filter(|b| b.ends_with(".part"))
        .collect();
    assert_eq!(part.len(), 1, "{:?}", s.blobs("datasets--demo--glue"));
    let have = std::fs::metadata(s.cache().join("datasets--demo--glue/blobs").join(&part[0]))
        .unwrap()
        .len();
    assert!(have > 0 && have < 48_287, "{have}");

    emu.cut("rte/train.jsonl", 0);
    emu.clear_log();
    let (code, out, err) = s.exc(&emu, &["fetch", "good.exmix"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("fetched: 1 file (48.3 kB); already present: 3 files"),
        "{out}"
    );
    // Only the cut file was asked for, from where its partial file ended.
    let asked = resolves(&emu);
    assert!(
        asked.iter().all(|(p, _)| p.ends_with("rte/train.jsonl")),
        "{asked:?}"
    );
    assert!(
        asked
            .iter()
            .any(|(_, r)| r.as_deref() == Some(&format!("bytes={have}-"))),
        "{asked:?}"
    );
    let (code, _, err) = s.exc(&emu, &["check", "good.task", "--data"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_corrupt_partial_file_is_detected_and_fetched_again() {
    let emu = Emulator::start(repos()).unwrap();
    let s = Scratch::new("corrupt");
    let (code, out, err) = s.exc(&emu, &["fetch", "good.exmix"]);
    assert_eq!(code, 0, "{out}{err}");
    // Take the parquet file back to a partial download with wrong bytes.
    let repo = s.cache().join("datasets--demo--scripted");
    let link = repo
        .join("snapshots")
        .join(PARQUET)
        .join("default/train/0000.parquet");
    let blob = std::fs::canonicalize(&link).unwrap();
    let good = std::fs::read(&blob).unwrap();
    std::fs::remove_file(&link).unwrap();
    std::fs::remove_file(&blob).unwrap();
    let mut part = blob.clone().into_os_string();
    part.push(".part");
    std::fs::write(&part, vec![7u8; good.len() / 2]).unwrap();
    let (code, out, err) = s.exc(&emu, &["fetch", "good.exmix"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("again: the partial file was corrupt"), "{err}");
    assert_eq!(std::fs::read(&link).unwrap(), good);
}

#[test]
fn locked_fetches_refuse_a_commit_that_moved() {
    let emu = Emulator::start(repos()).unwrap();
    let s = Scratch::new("locked");
    let (code, out, err) = s.exc(&emu, &["fetch", "good.exmix", "--locked"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("is not in the lock file"), "{out}");
    let (code, out, err) = s.exc(&emu, &["fetch", "good.exmix"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = s.exc(&emu, &["fetch", "good.exmix", "--locked"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("already present: 4 files"), "{out}");

    let moved = "4444444444444444444444444444444444444444";
    emu.move_commit("demo/glue", "main", moved);
    let (code, out, err) = s.exc(&emu, &["fetch", "good.exmix", "--locked"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!(
            "is locked at {GLUE}, which the hub no longer serves (it is at {moved} now)"
        )),
        "{out}{err}"
    );
    let lock = std::fs::read_to_string(s.dir.join("good.exmix.lock")).unwrap();
    assert!(lock.contains(GLUE) && !lock.contains(moved), "{lock}");
    // Without --locked the lock follows the hub, and says so.
    let (code, out, err) = s.exc(&emu, &["fetch", "good.exmix"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains(&format!("moved from {GLUE} to {moved}")),
        "{err}"
    );
}

#[test]
fn offline_reads_the_cache_only() {
    let emu = Emulator::start(repos()).unwrap();
    let s = Scratch::new("offline");
    let (code, _, _) = s.exc(&emu, &["fetch", "good.exmix"]);
    assert_eq!(code, 0);
    emu.clear_log();
    let out = Command::new(env!("CARGO_BIN_EXE_exc"))
        .args(["fetch", "good.exmix", "all.exmix"])
        .current_dir(&s.dir)
        .env("HF_ENDPOINT", emu.url())
        .env("HF_HUB_CACHE", s.cache())
        .env("HF_HOME", s.dir.join("hf"))
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("already present: 4 files"), "{stdout}");
    assert!(
        stdout.contains("not in the hub cache and HF_HUB_OFFLINE is set"),
        "{stdout}"
    );
    assert!(emu.log().is_empty(), "{:?}", emu.log());
}

/// Every path under the repos of a cache: files with their sha256, links
/// with their target (as scripts/hub_parity.py writes it).
fn layout(cache: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![cache.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p
                .strip_prefix(cache)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if !rel.starts_with("datasets--") {
                continue;
            }
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&p).unwrap();
                out.insert(rel, format!("-> {}", target.display()));
            } else if meta.is_dir() {
                stack.push(p);
            } else {
                use sha2::Digest;
                let d = sha2::Sha256::digest(std::fs::read(&p).unwrap());
                let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
                out.insert(rel, format!("sha256:{hex}"));
            }
        }
    }
    out
}

#[test]
fn exc_writes_the_cache_layout_huggingface_hub_writes() {
    // tests/fixtures/hub/parity.json: huggingface_hub's own downloads of the
    // files `exc fetch` fetched, from the same emulator (scripts/hub_parity.py).
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/hub/parity.json")).unwrap(),
    )
    .unwrap();
    let want: BTreeMap<String, String> =
        serde_json::from_value(golden["huggingface_hub_layout"].clone()).unwrap();
    let emu = Emulator::start(repos_with(&|id, rev, _| example_commit(id, rev))).unwrap();
    let s = Scratch::new("layout");
    let (code, out, err) = s.exc(&emu, &["fetch", "good.exmix"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(layout(&s.cache()), want);
    assert_eq!(
        golden["found_with_local_files_only"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "huggingface_hub found every file exc fetched"
    );
}

#[test]
fn exc_finds_files_laid_out_by_huggingface_hub() {
    // tests/fixtures/hub/hf_cache: written by huggingface_hub's hf_hub_download.
    let out = Command::new(env!("CARGO_BIN_EXE_exc"))
        .args(["check", "tests/fixtures/hub/good.task", "--data"])
        .current_dir(root())
        .env("HF_HUB_CACHE", root().join("tests/fixtures/hub/hf_cache"))
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("hub_rte [train]: 120 rows -> 120 examples"),
        "{err}"
    );
    assert!(
        err.contains("hub_scripted [train]: 30 rows -> 30 examples"),
        "{err}"
    );
    assert!(
        err.contains("hub_scripted [validation]: 10 rows -> 10 examples"),
        "{err}"
    );
}

#[test]
fn a_hub_model_id_is_fetched_with_the_files_exc_loads() {
    let emu = Emulator::start(repos()).unwrap();
    let s = Scratch::new("model");
    let (code, out, err) = s.exc(&emu, &["fetch", "model.exmix"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("fetched  demo/t5-tiny (model)"), "{out}");
    let snap = s
        .cache()
        .join("models--demo--t5-tiny/snapshots/5555555555555555555555555555555555555555");
    let mut got: Vec<String> = std::fs::read_dir(&snap)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    // Weights, config, tokenizer: not the Flax/ONNX copies or the card.
    assert_eq!(
        got,
        [
            "config.json",
            "generation_config.json",
            "model.safetensors",
            "special_tokens_map.json",
            "spiece.model",
            "tokenizer_config.json"
        ]
    );
    // A local directory of that name wins: nothing is fetched for the model.
    std::fs::create_dir_all(s.dir.join("demo/t5-tiny")).unwrap();
    let (_, out, _) = s.exc(&emu, &["fetch", "model.exmix", "--dry-run"]);
    assert!(!out.contains("(model)"), "{out}");
}

/// The one checkpoint directory under `dir` (the tiny runs keep one).
fn checkpoint_under(dir: &Path) -> PathBuf {
    let mut found: Vec<PathBuf> = paths_under(dir)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "model.safetensors"))
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    found.sort();
    found.pop().expect("a checkpoint under the run directory")
}

fn run_args<'a>(name: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "run",
        "run.exmix",
        "--name",
        name,
        "--out",
        out,
        "--device",
        "cpu",
        "--quiet",
        "--tokenizer",
        "spiece.model",
    ]
}

/// `exc fetch` then `exc run` with no data flag: the run reads the hub
/// cache, records the commits it read in `hub.lock`, warns when the
/// mixture's lock names others; and a hub model id (`model hf
/// "demo/t5-run"`, served by the emulator from the first run's checkpoint)
/// is fetched, trained from, and written out as a complete model directory.
#[test]
fn a_fetched_mixture_runs_from_the_hub_cache_and_records_its_commits() {
    let emu = Emulator::start(repos()).unwrap();
    let s = Scratch::new("run");
    std::fs::copy(
        root().join("fixtures/data/t5_tokenizer/spiece.model"),
        s.dir.join("spiece.model"),
    )
    .unwrap();
    let (code, out, err) = s.exc(&emu, &["fetch", "run.exmix", "--name", "tiny"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = s.exc(&emu, &run_args("tiny", "runs/tiny"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(!err.contains("warning"), "{err}");
    let hub_lock = std::fs::read_to_string(s.dir.join("runs/tiny/hub.lock")).unwrap();
    let lock: serde_json::Value = serde_json::from_str(&hub_lock).unwrap();
    assert_eq!(
        lock["repos"],
        serde_json::json!([{"repo": "datasets/demo/glue", "revision": "main", "commit": GLUE}]),
        "{hub_lock}"
    );

    // The cache moves on (another tool fetched a newer commit), the lock
    // stays: the run says so and goes on with what the cache holds.
    let lock_path = s.dir.join("run.exmix.lock");
    let moved = "4444444444444444444444444444444444444444";
    let text = std::fs::read_to_string(&lock_path).unwrap();
    assert!(text.contains(GLUE), "{text}");
    std::fs::write(&lock_path, text.replace(GLUE, moved)).unwrap();
    let (code, out, err) = s.exc(&emu, &run_args("tiny", "runs/moved"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("warning: the run reads other hub commits than the mixture's lock file names")
            && err.contains(&format!(
                "`datasets/demo/glue`: the hub cache holds commit {GLUE} (read by hub_rte)"
            ))
            && err.contains(&format!("locks {moved}"))
            && err.contains("exc fetch run.exmix --locked"),
        "{err}"
    );
    std::fs::write(&lock_path, text).unwrap();

    // The first run's checkpoint, published as a hub model.
    let ck = checkpoint_under(&s.dir.join("runs/tiny"));
    let served: BTreeMap<String, Vec<u8>> = files_under(&ck)
        .into_iter()
        .filter(|(f, _)| !["optimizer.safetensors", "state.json", "COMMIT"].contains(&f.as_str()))
        .collect();
    assert!(served.contains_key("spiece.model"), "{:?}", served.keys());
    let model_commit = "6666666666666666666666666666666666666666";
    let mut with_model = repos();
    with_model.push(FakeRepo {
        kind: RepoKind::Model,
        id: "demo/t5-run".into(),
        revisions: BTreeMap::from([(
            "main".into(),
            Snapshot {
                commit: model_commit.into(),
                files: served,
            },
        )]),
        gated: false,
    });
    let emu = Emulator::start(with_model).unwrap();
    // Not fetched yet: the run says which command gets it.
    let (code, out, err) = s.exc(&emu, &run_args("from_run", "runs/early"));
    assert_ne!(code, 0, "{out}{err}");
    assert!(err.contains("exc fetch run.exmix"), "{err}");
    let (code, out, err) = s.exc(&emu, &["fetch", "run.exmix", "--name", "from_run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("demo/t5-run (model)"), "{out}");
    let (code, out, err) = s.exc(&emu, &run_args("from_run", "runs/from_run"));
    assert_eq!(code, 0, "{out}{err}");
    let hub_lock = std::fs::read_to_string(s.dir.join("runs/from_run/hub.lock")).unwrap();
    assert!(
        hub_lock.contains("\"repo\": \"demo/t5-run\"") && hub_lock.contains(model_commit),
        "{hub_lock}"
    );
    // Out again as a complete model directory (runtime/tests/hf_dir.rs
    // proves transformers loads such a directory with its tokenizer).
    let out_ck = checkpoint_under(&s.dir.join("runs/from_run"));
    for f in [
        "config.json",
        "model.safetensors",
        "generation_config.json",
        "spiece.model",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
    ] {
        assert!(out_ck.join(f).is_file(), "{} lacks {f}", out_ck.display());
    }
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_ck.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["d_model"], 32, "{config}");
}
