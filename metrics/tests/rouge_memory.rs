//! ROUGE on long texts stays within a fixed memory bound: the test re-runs
//! itself under an address-space limit (`ulimit -v`) that the quadratic LCS
//! table exc used to build (400 MB for two 10,000-word lines, 110 GB for two
//! 1 MB lines) does not fit in.

use exc_metrics::{compute, Options};
use std::process::Command;

const CHILD: &str = "EXC_ROUGE_MEMORY_CHILD";
/// Address space the child may use, in KiB (the old table alone needs 400 MB).
const LIMIT_KIB: u64 = 300 * 1024;

fn long_line(seed: u64, words: usize) -> String {
    let vocab = [
        "the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far", "away", "home",
    ];
    let mut x = seed;
    (0..words)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            vocab[((x >> 33) % vocab.len() as u64) as usize]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn rouge_on_long_lines_fits_a_fixed_memory_bound() {
    if std::env::var_os(CHILD).is_some() {
        let (t, p) = (long_line(1, 10_000), long_line(2, 10_000));
        let opts = Options(
            [("rouge_types".to_string(), "rougeL,rougeLsum".to_string())]
                .into_iter()
                .collect(),
        );
        let r = compute("rouge", &[p], &[t.into()], &opts).unwrap();
        let (l, lsum) = (r.scores["rougeL"], r.scores["rougeLsum"]);
        // One sentence: the union LCS is the LCS, so both agree.
        assert!(l > 10.0 && (l - lsum).abs() < 1e-9, "{l} {lsum}");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {LIMIT_KIB} && exec \"$0\" \"$@\""))
        .arg(exe)
        .args([
            "--exact",
            "rouge_on_long_lines_fits_a_fixed_memory_bound",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .status()
        .unwrap();
    assert!(
        status.success(),
        "rouge over two 10,000-word lines failed under a {} MiB address-space limit: {status}",
        LIMIT_KIB / 1024
    );
}
