//! Throughput benchmark (not a test): our tokenizer and the full C4 path
//! (read JSONL -> tokenize -> span-corrupt -> pack) against a Python
//! reference run in the same process tree (`golden/bench_reference.py`:
//! sentencepiece, transformers' fast T5 tokenizer, numpy span corruption as
//! in transformers' Flax T5 pre-training example).
//!
//! ```text
//! cargo run --release -p exc-data --example bench -- [PYTHON] [COPIES]
//! ```
//! PYTHON defaults to /work/.venvs/data-golden/bin/python; COPIES (default 4)
//! repeats the English text in `fixtures/data/text` to make the corpus bigger.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark may panic

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use exc_data::objective::span::SpanCorruption;
use exc_data::objective::supervised::Lengths;
use exc_data::pack::Batching;
use exc_data::pipeline::{Objective, Pipeline, PipelineSpec, TaskSpec};
use exc_data::source::ReadOptions;
use exc_data::T5Tokenizer;

fn peak_rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .map_or(0.0, |k| k / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let python = args
        .get(1)
        .cloned()
        .unwrap_or("/work/.venvs/data-golden/bin/python".into());
    let copies: usize = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(4);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let data = root.join("../fixtures/data");
    let docs = corpus(&data, copies);
    let dir = std::env::temp_dir().join(format!("exc-data-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jsonl = dir.join("c4-bench.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&jsonl).unwrap());
    for d in &docs {
        writeln!(f, "{}", serde_json::json!({ "text": d })).unwrap();
    }
    f.flush().unwrap();
    drop(f);

    let t0 = Instant::now();
    let tok = Arc::new(T5Tokenizer::from_file(data.join("t5_tokenizer/spiece.model")).unwrap());
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    assert!(
        tok.is_fast(),
        "the fast Unigram encoder should load T5's spiece.model"
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t = tokenizer_rates(&tok, &docs, cores);
    let (pipe_s, pipe_n_s) = pipeline_rates(&jsonl, &tok, t.tokens);
    println!(
        "docs {}  tokens {}  peak RSS {:.0} MB",
        docs.len(),
        t.tokens,
        peak_rss_mb()
    );
    println!("exc tokenizer load (spiece.model):      {load_ms:>10.0} ms");
    println!(
        "exc tokenizer (fast Unigram, 1 thread):  {:>10.0} tokens/s",
        t.fast
    );
    println!(
        "exc tokenizer (tokenizers, 1 thread):    {:>10.0} tokens/s",
        t.reference
    );
    println!(
        "exc tokenizer (fast Unigram, {cores} threads): {:>10.0} tokens/s",
        t.parallel
    );
    println!("exc full C4 path (1 worker):             {pipe_s:>10.0} raw tokens/s");
    println!("exc full C4 path (spawn, {cores} workers):     {pipe_n_s:>10.0} raw tokens/s");
    compare_with_python(&python, &root, &jsonl, t.fast, (pipe_s, pipe_n_s), cores);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The English text of the fixtures, one document per non-empty line,
/// repeated `copies` times.
fn corpus(data: &std::path::Path, copies: usize) -> Vec<String> {
    let mut docs = Vec::new();
    for f in ["text/botchan.txt", "text/wiki_00.txt"] {
        let t = std::fs::read_to_string(data.join(f)).unwrap();
        docs.extend(
            t.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string),
        );
    }
    (0..copies).flat_map(|_| docs.clone()).collect()
}

/// Tokens per second of the tokenizer, by path, and the corpus's tokens.
struct TokenizerRates {
    tokens: usize,
    fast: f64,
    reference: f64,
    parallel: f64,
}

fn tokenizer_rates(tok: &Arc<T5Tokenizer>, docs: &[String], cores: usize) -> TokenizerRates {
    let t0 = Instant::now();
    let mut tokens = 0usize;
    for d in docs {
        tokens += tok.encode(d).unwrap().len();
    }
    let fast = tokens as f64 / t0.elapsed().as_secs_f64();
    // The `tokenizers` path (what `encode` used before the fast encoder).
    let t0 = Instant::now();
    let mut ref_tokens = 0usize;
    for d in docs {
        ref_tokens += tok.encode_reference(d).unwrap().len();
    }
    let reference = ref_tokens as f64 / t0.elapsed().as_secs_f64();
    assert_eq!(ref_tokens, tokens);
    // The fast encoder on every core (contiguous slices of the corpus).
    let t0 = Instant::now();
    let per = docs.len().div_ceil(cores);
    let par_tokens: usize = std::thread::scope(|s| {
        let hs: Vec<_> = docs
            .chunks(per)
            .map(|part| {
                let tok = &tok;
                s.spawn(move || {
                    part.iter()
                        .map(|d| tok.encode(d).unwrap().len())
                        .sum::<usize>()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let parallel = par_tokens as f64 / t0.elapsed().as_secs_f64();
    TokenizerRates {
        tokens,
        fast,
        reference,
        parallel,
    }
}

/// Raw tokens per second through the full C4 path: one worker, then
/// `spawn` (one tokenizer worker per core), one pass over the corpus each.
fn pipeline_rates(jsonl: &std::path::Path, tok: &Arc<T5Tokenizer>, tokens: usize) -> (f64, f64) {
    let spec = PipelineSpec {
        tasks: vec![TaskSpec {
            name: "c4".into(),
            files: vec![jsonl.to_path_buf().into()],
            read: ReadOptions::default(),
            objective: Objective::SpanCorruption {
                spec: SpanCorruption::t5(),
                text_field: "text".into(),
            },
            shuffle_window: 1024,
        }],
        rates: vec![1.0],
        seed: 0,
        batch_size: 32,
        lengths: Lengths {
            inputs: 512,
            targets: 114,
        },
        batching: Batching::Pack,
    };
    let mut p = Pipeline::new(&spec, tok.clone(), None).unwrap();
    // One pass over the corpus: ~568 raw tokens per example.
    let t0 = Instant::now();
    let mut raw = 0usize;
    while raw < tokens {
        let b = p.next_batch().unwrap();
        raw += b.examples * 568;
    }
    let pipe_s = raw as f64 / t0.elapsed().as_secs_f64();
    let rx = Pipeline::new(&spec, tok.clone(), None).unwrap().spawn(8);
    let t0 = Instant::now();
    let mut raw_n = 0usize;
    while raw_n < tokens {
        let (b, _) = rx.recv().unwrap().unwrap();
        raw_n += b.examples * 568;
    }
    (pipe_s, raw_n as f64 / t0.elapsed().as_secs_f64())
}

/// Runs the Python reference on the same corpus and prints the ratios.
fn compare_with_python(
    python: &str,
    root: &std::path::Path,
    jsonl: &std::path::Path,
    tok_s: f64,
    (pipe_s, pipe_n_s): (f64, f64),
    cores: usize,
) {
    let script = root.join("golden/bench_reference.py");
    let out = std::process::Command::new(python)
        .arg(&script)
        .arg(jsonl)
        .env("TOKENIZERS_PARALLELISM", "false")
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            print!("{text}");
            let get = |k: &str| -> Option<f64> {
                text.lines()
                    .find(|l| l.starts_with(k))
                    .and_then(|l| l.split_whitespace().find_map(|w| w.parse().ok()))
            };
            if let Some(r) = get("python full path") {
                println!("ratio exc/python full path (1 worker): {:.2}x", pipe_s / r);
                println!(
                    "ratio exc/python full path (spawn, {cores} workers, vs 1 python thread): {:.2}x",
                    pipe_n_s / r
                );
            }
            if let Some(r) = get("python sentencepiece") {
                println!("ratio exc/sentencepiece tokenizer: {:.2}x", tok_s / r);
            }
            if let Some(r) = get("python transformers fast") {
                println!("ratio exc/transformers fast tokenizer: {:.2}x", tok_s / r);
            }
        }
        Ok(o) => println!(
            "python reference failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => println!("python reference not run ({python}): {e}"),
    }
}
