//! Front ends of `exc generate` and `exc score`: argument structs the
//! binary flattens into its subcommands, and `run` functions that read
//! inputs, call [`crate::decode`], and print one line per input.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use exc_data::T5Tokenizer;
use tch::Kind;

use crate::checkpoint;
use crate::decode::{self, GenerateConfig, LengthPenalty};
use crate::error::{Error, Result};
use crate::tokenizer;

/// `exc generate`: decode inputs (one per line, or JSONL with an `input` field).
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Checkpoint directory (config.json + model.safetensors): a Hugging
    /// Face model or an exc run's `STAGE/checkpoints/step-N`.
    #[arg(long)]
    pub model: PathBuf,
    /// spiece.model or tokenizer.json (default: the one in MODEL, else the
    /// tokenizer of the exc run MODEL lies in).
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Beam size, at least 1; 1 is greedy search.
    #[arg(long, default_value_t = 1)]
    pub beams: i64,
    /// Maximum number of generated tokens, at least 1.
    #[arg(long, default_value_t = 64)]
    pub max_length: i64,
    /// GNMT length penalty alpha for beam search (WMT: 0.6).
    #[arg(long, default_value_t = 0.6)]
    pub length_penalty: f64,
    /// Input file (default: standard input).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Inputs decoded together, at least 1.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// `cpu`, `cuda` or `cuda:N` (default: cuda when available).
    #[arg(long)]
    pub device: Option<String>,
}

impl GenerateArgs {
    /// Refuses settings that would decode nothing.
    fn check(&self) -> Result<()> {
        at_least_one("--beams", self.beams, "1 is greedy search")?;
        at_least_one(
            "--max-length",
            self.max_length,
            "it counts generated tokens",
        )?;
        at_least_one("--batch-size", self.batch_size as i64, "it counts inputs")
    }
}

/// `exc score`: summed and mean negative log-likelihood of each target.
#[derive(Debug, Clone, clap::Args)]
pub struct ScoreArgs {
    /// Checkpoint directory (config.json + model.safetensors): a Hugging
    /// Face model or an exc run's `STAGE/checkpoints/step-N`.
    #[arg(long)]
    pub model: PathBuf,
    /// spiece.model or tokenizer.json (default: the one in MODEL, else the
    /// tokenizer of the exc run MODEL lies in).
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// JSONL rows with `input` and `target` strings.
    #[arg(long)]
    pub input: PathBuf,
    /// Rows scored together, at least 1.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// `cpu`, `cuda` or `cuda:N` (default: cuda when available).
    #[arg(long)]
    pub device: Option<String>,
}

fn at_least_one(flag: &str, value: i64, why: &str) -> Result<()> {
    if value < 1 {
        return Err(Error::Input(format!(
            "`{flag} {value}` must be at least 1 ({why})\n  help: pass `{flag} 1` or more"
        )));
    }
    Ok(())
}

fn read_lines(path: Option<&Path>) -> Result<Vec<String>> {
    let reader: Box<dyn BufRead> = match path {
        Some(p) => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).map_err(|e| Error::io(p, e))?,
        )),
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    let mut out = Vec::new();
    for line in reader.lines() {
        let line = line.map_err(|e| Error::io(path.unwrap_or(Path::new("<stdin>")), e))?;
        if !line.trim().is_empty() {
            out.push(line);
        }
    }
    Ok(out)
}

fn field(line: &str, key: &str, lineno: usize) -> Result<String> {
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| Error::Input(format!("line {lineno}: {e}")))?;
    v.get(key)
        .and_then(|x| x.as_str())
        .map(str::to_string)
        .ok_or_else(|| Error::Input(format!("line {lineno}: no string field `{key}`")))
}

/// The tokenizer for the checkpoint `model`: the one given, else the one
/// in the checkpoint directory, else the one its exc run recorded (an exc
/// checkpoint holds none).
fn tokenizer_for(model: &Path, given: Option<&Path>) -> Result<Arc<T5Tokenizer>> {
    if let Some(t) = given {
        return tokenizer::load(t);
    }
    if ["tokenizer.json", "spiece.model"]
        .iter()
        .any(|f| model.join(f).is_file())
    {
        return tokenizer::load(model);
    }
    match crate::run::config::run_tokenizer(model) {
        Some(path) => tokenizer::load(&path?),
        None => Err(Error::Input(format!(
            "`{}` holds no tokenizer.json or spiece.model and is not inside an exc run \
             directory\n  help: pass `--tokenizer` (a T5 spiece.model or tokenizer.json)",
            model.display()
        ))),
    }
}

/// The checkpoint directory `--model` names: a directory, else a hub model
/// id (`org/name`) found in the hub cache.
fn model_dir(given: &Path) -> Result<PathBuf> {
    let text = given.to_string_lossy();
    let dir = crate::hub_model::locate(&text, given.to_path_buf());
    crate::hub_model::check(
        &text,
        &dir,
        &format!("`hf download {text}` (the hub cache is shared), or name it in a mixture's `model hf` and `exc fetch` the mixture"),
    )?;
    Ok(dir)
}

/// Runs `exc generate`, printing one output per input line to stdout.
pub fn run_generate(args: &GenerateArgs) -> Result<()> {
    // Before waiting for standard input: a mistake is said at once.
    args.check()?;
    tokenizer_for(&model_dir(&args.model)?, args.tokenizer.as_deref())?;
    let lines = read_lines(args.input.as_deref())?;
    let stdout = std::io::stdout();
    generate_to(args, &lines, &mut stdout.lock())
}

/// `exc generate` on given input lines, writing to `out`.
pub fn generate_to(args: &GenerateArgs, lines: &[String], out: &mut dyn Write) -> Result<()> {
    args.check()?;
    let dev = crate::env::parse_device(args.device.as_deref())?;
    let model = model_dir(&args.model)?;
    let tok = tokenizer_for(&model, args.tokenizer.as_deref())?;
    let loaded = checkpoint::load_model(&model, dev, Kind::Float)?;
    let mut cfg = GenerateConfig::for_model(&loaded.model);
    cfg.num_beams = args.beams;
    cfg.max_new_tokens = args.max_length;
    cfg.length_penalty = LengthPenalty::Gnmt(args.length_penalty);
    let mut texts = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let text = if l.trim_start().starts_with('{') {
            field(l, "input", i + 1)?
        } else {
            l.clone()
        };
        texts.push(tokenizer::encode(&tok, &text)?);
    }
    for chunk in texts.chunks(args.batch_size) {
        for ids in decode::generate(&loaded.model, chunk, &cfg, dev)? {
            let text = tokenizer::decode(&tok, &ids)?;
            writeln!(out, "{text}").map_err(|e| Error::io(Path::new("<stdout>"), e))?;
        }
    }
    Ok(())
}

/// Runs `exc score`, printing one JSON object per row:
/// `{"sum_nll": .., "mean_nll": .., "tokens": ..}`.
pub fn run_score(args: &ScoreArgs) -> Result<()> {
    let lines = read_lines(Some(&args.input))?;
    let stdout = std::io::stdout();
    score_to(args, &lines, &mut stdout.lock())
}

/// `exc score` on given JSONL lines, writing to `out`.
pub fn score_to(args: &ScoreArgs, lines: &[String], out: &mut dyn Write) -> Result<()> {
    at_least_one("--batch-size", args.batch_size as i64, "it counts rows")?;
    let dev = crate::env::parse_device(args.device.as_deref())?;
    let model = model_dir(&args.model)?;
    let tok = tokenizer_for(&model, args.tokenizer.as_deref())?;
    let loaded = checkpoint::load_model(&model, dev, Kind::Float)?;
    let mut inputs = Vec::new();
    let mut targets = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        inputs.push(tokenizer::encode(&tok, &field(l, "input", i + 1)?)?);
        targets.push(tokenizer::encode(&tok, &field(l, "target", i + 1)?)?);
    }
    let n = args.batch_size;
    for (ins, tgs) in inputs.chunks(n).zip(targets.chunks(n)) {
        for (sum, count) in decode::score(&loaded.model, ins, tgs, dev)? {
            let mean = if count > 0 { sum / count as f64 } else { 0.0 };
            let row = serde_json::json!({"sum_nll": sum, "mean_nll": mean, "tokens": count});
            writeln!(out, "{row}").map_err(|e| Error::io(Path::new("<stdout>"), e))?;
        }
    }
    Ok(())
}
