//! Data parallelism end to end, on CPU with Gloo: two ranks started by
//! `exc run --nproc 2` and by the torchrun environment contract (the test
//! sets RANK, WORLD_SIZE, ... itself, as torchrun does) train what one
//! process trains; a rank killed with -9 stops the group with a message
//! and `--resume` (at world size 2, or 1) continues it; a wrong port or a
//! missing rank is an error within the timeout, not a hang.
#![cfg(feature = "runtime")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use exc_runtime::run::runfiles;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("exc-dist-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The quickstart (tiny T5.1.1, RTE + STS-B + SQuAD + C4, batch 8, no
/// dropout), 12 steps with a checkpoint every 4 (`keep` keeps them all),
/// into `dir/q.exmix`.
fn mixture(dir: &Path) -> PathBuf {
    mixture_with(dir, "q", "")
}

/// [`mixture`] with `train` settings added, into `dir/NAME.exmix`.
fn mixture_with(dir: &Path, name: &str, train: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let text = std::fs::read_to_string(root().join("examples/quickstart/quickstart.exmix"))
        .unwrap()
        .replace(
            "use \"../../tasks\"",
            &format!("use \"{}\"", root().join("tasks").display()),
        )
        .replace("steps 200", "steps 12")
        .replace(
            "checkpoint_every 100",
            &format!("checkpoint_every 4\n    keep 5\n    {train}"),
        );
    let m = dir.join(format!("{name}.exmix"));
    std::fs::write(&m, text).unwrap();
    m
}

/// `exc run MIXTURE` on CPU into `out`, with `extra` flags.
fn run_cmd(m: &Path, out: &Path, extra: &[&str]) -> Command {
    let q = root().join("examples/quickstart");
    let mut c = Command::new(env!("CARGO_BIN_EXE_exc"));
    c.arg("run")
        .arg(m)
        .arg("--data-dir")
        .arg(q.join("data"))
        .arg("--tokenizer")
        .arg(q.join("spiece.model"))
        .arg("--out")
        .arg(out)
        .args([
            "--device",
            "cpu",
            "--eval-limit",
            "4",
            "--log-every",
            "2",
            "--quiet",
        ])
        .args(extra)
        .env("OMP_NUM_THREADS", "1")
        .env("EXC_DIST_TIMEOUT", "30")
        // The tiny model's 9 MB of gradients in several buckets, so that
        // some are reduced while backward still runs.
        .env("EXC_DIST_BUCKET_MB", "1");
    c
}

fn ok(o: Output, what: &str) -> Output {
    assert!(
        o.status.success(),
        "{what} failed: {}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A rank started as torchrun starts its workers.
fn rank(mut c: Command, rank: usize, world: usize, port: u16) -> Child {
    // The master is this machine unless the caller named another address.
    if !c.get_envs().any(|(k, _)| k == "MASTER_ADDR") {
        c.env("MASTER_ADDR", "127.0.0.1");
    }
    c.env("RANK", rank.to_string())
        .env("WORLD_SIZE", world.to_string())
        .env("LOCAL_RANK", rank.to_string())
        .env("LOCAL_WORLD_SIZE", world.to_string())
        .env("MASTER_PORT", port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn final_weights(out: &Path) -> PathBuf {
    out.join("pretrain/checkpoints/step-00000012")
}

/// The final weights file's bytes.
fn weight_bytes(out: &Path) -> Vec<u8> {
    std::fs::read(final_weights(out).join("model.safetensors")).unwrap()
}

/// The `parallel` record of the run's config.json.
fn parallel(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("config.json")).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["parallel"].clone()
}

/// Waits (two minutes at most) for the run in `out` to commit step 4.
fn wait_for_step_4(out: &Path) {
    let first = out.join("pretrain/checkpoints/step-00000004/COMMIT");
    let t0 = Instant::now();
    while !first.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no checkpoint came"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every tensor of two checkpoints equal within `rel` of its largest value.
fn close_weights(a: &Path, b: &Path, rel: f64) {
    let ta = exc_runtime::checkpoint::read_tensors(a).unwrap();
    let tb = exc_runtime::checkpoint::read_tensors(b).unwrap();
    assert_eq!(ta.len(), tb.len());
    for (name, x) in &ta {
        let y = &tb[name];
        let diff = (x - y).abs().max().double_value(&[]);
        let scale = x.abs().max().double_value(&[]).max(1e-12);
        assert!(
            diff / scale <= rel,
            "{name}: differs by {diff} (scale {scale})"
        );
    }
}

/// (step, loss) of every training log line.
fn losses(out: &Path) -> Vec<(u64, f64)> {
    std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            Some((v["step"].as_u64()?, v.get("loss")?.as_f64()?))
        })
        .collect()
}

fn close_losses(a: &Path, b: &Path) {
    let (la, lb) = (losses(a), losses(b));
    assert_eq!(la.len(), lb.len(), "{la:?} vs {lb:?}");
    for ((sa, xa), (sb, xb)) in la.iter().zip(&lb) {
        assert_eq!(sa, sb);
        assert!(
            (xa - xb).abs() <= 1e-5 * xa.abs(),
            "step {sa}: loss {xa} vs {xb}"
        );
    }
}

/// The evaluation's files, scores without the checkpoint path they name.
fn eval_files(out: &Path) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for task in ["glue_rte", "squad_v1"] {
        let d = out.join("eval").join(task);
        let preds = std::fs::read_to_string(d.join("validation.predictions.jsonl")).unwrap();
        for l in preds.lines() {
            serde_json::from_str::<runfiles::PredictionLine>(l).unwrap();
        }
        let mut scores = runfiles::read_scores(&d.join("validation.scores.json")).unwrap();
        scores.weights = None;
        v.push((preds, serde_json::to_string(&scores).unwrap()));
    }
    v
}

#[test]
fn two_ranks_train_what_one_process_trains() {
    let dir = tmp("same");
    let m = mixture(&dir);
    // One process at the same global batch of 8, in two micro-batches of 4
    // rows, as each of the two ranks trains one of them.
    let m_acc = mixture_with(&dir.join("acc"), "q", "accumulate 2");
    let (one, acc, two, env2) = (
        dir.join("one"),
        dir.join("acc-out"),
        dir.join("two"),
        dir.join("env"),
    );
    ok(run_cmd(&m, &one, &[]).output().unwrap(), "one process");
    ok(
        run_cmd(&m_acc, &acc, &[]).output().unwrap(),
        "one process, accumulate 2",
    );
    let o = ok(
        run_cmd(&m, &two, &["--nproc", "2"]).output().unwrap(),
        "--nproc 2",
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("error"), "{err}");
    // The gradient of the two micro-batches is summed once either way (a +
    // b in Gloo, a + b in autograd's accumulation): the same bytes.
    assert!(
        weight_bytes(&acc) == weight_bytes(&two),
        "world 2 differs from one process accumulating 2"
    );
    close_weights(&final_weights(&acc), &final_weights(&two), 1e-5);
    close_losses(&acc, &two);
    // Against one micro-batch of 8 rows the matmuls sum in another order,
    // and Adafactor's first updates are about sign(g) (v = g^2), which
    // turns last-bit differences of near-zero gradients into lr-sized
    // ones: close, not equal.
    close_weights(&final_weights(&one), &final_weights(&two), 1e-3);
    close_losses(&one, &two);
    // Evaluation sharded over two ranks writes what one process writes.
    assert_eq!(eval_files(&one), eval_files(&two));
    let cfg = parallel(&two);
    assert_eq!(cfg["world_size"], 2);
    assert_eq!(cfg["backend"], "gloo");
    assert_eq!(cfg["launcher"], "nproc");
    let report = std::fs::read_to_string(two.join("report.md")).unwrap();
    assert!(report.contains("| 2 (gloo, nproc) |"), "{report}");

    // The torchrun contract: two processes from the environment alone.
    let port = free_port();
    // These reduce after backward instead of during it (the other path).
    let ranks: Vec<Child> = (0..2)
        .map(|r| {
            let mut c = run_cmd(&m, &env2, &[]);
            c.env("EXC_DIST_OVERLAP", "0");
            rank(c, r, 2, port)
        })
        .collect();
    for (r, c) in ranks.into_iter().enumerate() {
        ok(c.wait_with_output().unwrap(), &format!("torchrun rank {r}"));
    }
    // Same ranks, same sums: the same bytes as --nproc 2.
    assert!(
        weight_bytes(&two) == weight_bytes(&env2),
        "torchrun-launched ranks differ from --nproc"
    );
    let cfg = parallel(&env2);
    assert_eq!(cfg["launcher"], "torchrun");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_killed_rank_stops_the_group_and_the_run_resumes() {
    let dir = tmp("kill");
    let m = mixture(&dir);
    let (whole, killed, moved) = (dir.join("whole"), dir.join("killed"), dir.join("moved"));
    ok(
        run_cmd(&m, &whole, &["--nproc", "2"]).output().unwrap(),
        "uninterrupted",
    );

    let port = free_port();
    let mut ranks: Vec<Child> = (0..2)
        .map(|r| rank(run_cmd(&m, &killed, &[]), r, 2, port))
        .collect();
    wait_for_step_4(&killed);
    ranks[1].kill().unwrap();
    let killed_at = Instant::now();
    let r0 = ranks.remove(0).wait_with_output().unwrap();
    let _ = ranks[0].wait();
    assert!(
        killed_at.elapsed() < Duration::from_secs(60),
        "{:?}",
        killed_at.elapsed()
    );
    // Rank 0 cannot finish without rank 1 (every step sums over both).
    assert!(!r0.status.success(), "rank 0 finished without rank 1");
    let err = String::from_utf8_lossy(&r0.stderr);
    assert!(
        err.contains("rank 0 of 2") && err.contains("--resume"),
        "{err}"
    );
    let resume = |out: &Path, extra: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_exc"));
        c.arg("run")
            .arg("--resume")
            .arg(out)
            .arg("--quiet")
            .args(extra);
        c.env("OMP_NUM_THREADS", "1").env("EXC_DIST_TIMEOUT", "30");
        ok(c.output().unwrap(), "resume");
    };
    resume(&killed, &["--nproc", "2"]);
    assert!(
        weight_bytes(&whole) == weight_bytes(&killed),
        "resumed world-2 run differs"
    );

    // A world-2 run stopped at step 4 and resumed by one process continues
    // the same examples (other reductions: close, not the same bytes).
    // (--stop-after ends the run as an interruption does: non-zero.)
    let _ = run_cmd(&m, &moved, &["--nproc", "2", "--stop-after", "4"])
        .output()
        .unwrap();
    assert!(moved
        .join("pretrain/checkpoints/step-00000004/COMMIT")
        .exists());
    resume(&moved, &[]);
    close_weights(&final_weights(&whole), &final_weights(&moved), 1e-3);
    close_losses(&whole, &moved);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_wrong_port_or_a_missing_rank_is_an_error_not_a_hang() {
    let dir = tmp("faults");
    let m = mixture(&dir);
    for (r, addr, what) in [
        (1, "127.0.0.1", "nobody serves the port"),
        (1, "127.0.0.2", "nothing listens at the master address"),
        (0, "127.0.0.1", "rank 1 never comes"),
    ] {
        let mut c = run_cmd(&m, &dir.join(format!("out{r}")), &["--dist-timeout", "3"]);
        c.env_remove("EXC_DIST_TIMEOUT");
        let t0 = Instant::now();
        c.env("MASTER_ADDR", addr);
        let o = rank(c, r, 2, free_port()).wait_with_output().unwrap();
        assert!(
            t0.elapsed() < Duration::from_secs(40),
            "{what}: {:?}",
            t0.elapsed()
        );
        assert!(!o.status.success(), "{what}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("could not join the group") && err.contains("MASTER_PORT"),
            "{what}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The pid of the live process whose environment has `RANK=<rank>` and
/// whose command line names `out` (a worker torchrun started).
fn worker_pid(rank: usize, out: &Path) -> Option<u32> {
    let want = format!("RANK={rank}");
    let out = out.to_string_lossy().into_owned();
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmd).contains(&out) {
            continue;
        }
        let env = std::fs::read(e.path().join("environ")).unwrap_or_default();
        let has = env.split(|&b| b == 0).any(|kv| kv == want.as_bytes());
        let worker = env
            .split(|&b| b == 0)
            .any(|kv| kv.starts_with(b"TORCHELASTIC_RUN_ID="));
        if has && worker {
            return Some(pid);
        }
    }
    None
}

/// Real torchrun (from the venv scripts/libtorch.sh sets up, on PATH):
/// `--no-python exc run`, one worker killed with -9 mid-run, and torchrun's
/// `--max-restarts 1` starts the group again, which resumes from the last
/// committed checkpoint by itself and ends as an uninterrupted run does.
#[test]
fn torchrun_restarts_a_failed_group_from_its_last_checkpoint() {
    let dir = tmp("torchrun");
    let m = mixture(&dir);
    let (whole, out) = (dir.join("whole"), dir.join("restarted"));
    ok(
        run_cmd(&m, &whole, &["--nproc", "2"]).output().unwrap(),
        "uninterrupted",
    );

    let inner = run_cmd(&m, &out, &[]);
    let mut c = Command::new("torchrun");
    c.args([
        "--standalone",
        "--nproc-per-node",
        "2",
        "--max-restarts",
        "1",
        "--no-python",
    ])
    .arg(env!("CARGO_BIN_EXE_exc"))
    .args(inner.get_args())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    for (k, v) in inner.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    let tr = c.spawn().unwrap_or_else(|e| {
        panic!("torchrun did not start ({e}): it comes with the torch venv; source scripts/libtorch.sh")
    });
    let first = out.join("pretrain/checkpoints/step-00000004/COMMIT");
    let t0 = Instant::now();
    let victim = loop {
        assert!(
            t0.elapsed() < Duration::from_secs(180),
            "no checkpoint came"
        );
        if first.exists() {
            if let Some(pid) = worker_pid(1, &out) {
                break pid;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let killed = Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let done = tr.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "torchrun failed: {err}");
    // torchrun saw the worker die (so the group was restarted, not done).
    assert!(err.contains("exitcode: -9"), "{err}");
    assert!(
        weight_bytes(&whole) == weight_bytes(&out),
        "the restarted group ended elsewhere"
    );
    let cfg = parallel(&out);
    assert_eq!(cfg["launcher"], "torchrun");
    let _ = std::fs::remove_dir_all(&dir);
}

/// NCCL asked for on a machine without a GPU (as here, in CI): a clear
/// error from ProcessGroupNCCL itself (or, in a build without NCCL, one
/// that says so), not a hang or an abort.
#[test]
fn nccl_without_a_gpu_is_a_clear_error() {
    let dir = tmp("nccl");
    let m = mixture(&dir);
    let mut c = run_cmd(&m, &dir.join("out"), &["--dist-timeout", "5"]);
    c.env("EXC_DIST_BACKEND", "nccl");
    let t0 = Instant::now();
    let o = rank(c, 0, 2, free_port()).wait_with_output().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(40), "{:?}", t0.elapsed());
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("(nccl, timeout 5 s)")
            && (err.contains("no GPUs found") || err.contains("built without NCCL")),
        "{err}"
    );
    assert!(
        !err.contains("Exception raised from"),
        "a C++ backtrace: {err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A diverging run (AdamW at an absurd learning rate) stops every rank at
/// the same step: the loss is summed over the ranks before anyone looks at
/// it, so all see the same NaN; the checkpoint before it is kept.
#[test]
fn a_nan_stops_every_rank_at_the_same_step() {
    let dir = tmp("nan");
    let m = mixture_with(&dir, "nan", "");
    let text = std::fs::read_to_string(&m)
        .unwrap()
        .replace(
            "lr constant(0.01)",
            "lr constant(1e30)  optimizer adamw  clip 1e30  precision fp32",
        )
        .replace("checkpoint_every 4", "checkpoint_every 1");
    std::fs::write(&m, text).unwrap();
    let out = dir.join("out");
    let o = run_cmd(&m, &out, &["--nproc", "2"]).output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    let step_of = |rank: usize| -> u64 {
        let tag = format!("[rank {rank}] error: ");
        let line = err
            .lines()
            .find(|l| l.starts_with(&tag) && l.contains("the loss is"))
            .unwrap_or_else(|| panic!("rank {rank} names no loss: {err}"));
        line.split("at step ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no step in: {line}"))
    };
    let step = step_of(0);
    assert_eq!(step, step_of(1), "{err}");
    assert!(step >= 2, "{err}");
    let ck = |s: u64| out.join(format!("pretrain/checkpoints/step-{s:08}/COMMIT"));
    assert!(ck(step - 1).is_file(), "{err}");
    assert!(!ck(step).exists(), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A rank that hangs (stopped with SIGSTOP) makes the other fail after the
/// timeout with the message that names it, instead of waiting forever.
#[test]
fn a_hung_rank_stops_the_other_after_the_timeout() {
    let dir = tmp("hang");
    let m = mixture(&dir);
    let out = dir.join("out");
    let port = free_port();
    let mut ranks: Vec<Child> = (0..2)
        .map(|r| {
            let mut c = run_cmd(&m, &out, &["--dist-timeout", "5"]);
            c.env_remove("EXC_DIST_TIMEOUT");
            rank(c, r, 2, port)
        })
        .collect();
    wait_for_step_4(&out);
    let pid = ranks[1].id().to_string();
    assert!(Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap()
        .success());
    let stopped = Instant::now();
    let r0 = ranks.remove(0).wait_with_output().unwrap();
    let waited = stopped.elapsed();
    let _ = ranks[0].kill();
    let _ = ranks[0].wait();
    assert!(!r0.status.success(), "rank 0 finished without rank 1");
    assert!(waited < Duration::from_secs(60), "{waited:?}");
    let err = String::from_utf8_lossy(&r0.stderr);
    assert!(
        err.contains("rank 0 of 2") && err.contains("--resume"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
