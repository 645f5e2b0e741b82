//! `exc tokenize`: prints what the tokenizer makes of each input line, so a
//! user can see what a rendered template becomes.
//!
//! The CLI crate owns argument parsing at the top level; it flattens
//! [`TokenizeArgs`] into its subcommand and calls [`run`].

use std::io::{BufRead, Write};
use std::path::PathBuf;

use crate::error::{DataError, Result};
use crate::tokenizer::T5Tokenizer;

/// Arguments of `exc tokenize`.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenizeArgs {
    /// `tokenizer.json`, `spiece.model`, or a directory holding one of them
    #[arg(long)]
    pub tokenizer: PathBuf,
    /// print only the token ids
    #[arg(long, conflicts_with = "pieces")]
    pub ids: bool,
    /// print only the pieces
    #[arg(long)]
    pub pieces: bool,
    /// leave out the `</s>` that T5 appends
    #[arg(long)]
    pub no_eos: bool,
    /// file to read lines from (standard input when absent)
    pub input: Option<PathBuf>,
}

/// What each line is printed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Show {
    Ids,
    Pieces,
    Both,
}

/// Runs `exc tokenize` on standard input (or `args.input`) to standard output.
pub fn run(args: &TokenizeArgs) -> Result<()> {
    let tok = T5Tokenizer::from_file(&args.tokenizer)?;
    let stdout = std::io::stdout();
    let out = stdout.lock();
    match &args.input {
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
            run_on(args, &tok, std::io::BufReader::new(file), out)
        }
        None => run_on(args, &tok, std::io::stdin().lock(), out),
    }
}

/// Tokenizes every line of `input` and writes one output line per input line.
pub fn run_on(
    args: &TokenizeArgs,
    tok: &T5Tokenizer,
    input: impl BufRead,
    mut out: impl Write,
) -> Result<()> {
    let show = match (args.ids, args.pieces) {
        (true, _) => Show::Ids,
        (_, true) => Show::Pieces,
        _ => Show::Both,
    };
    let stdout_err = |e| DataError::io("<stdout>", e);
    for line in input.lines() {
        let line = line.map_err(|e| DataError::io("<input>", e))?;
        let mut ids = tok.encode(&line)?;
        if !args.no_eos {
            ids.push(tok.eos_id());
        }
        let words: Vec<String> = ids
            .iter()
            .map(|&id| {
                let piece = tok.id_to_piece(id).unwrap_or_default();
                match show {
                    Show::Ids => id.to_string(),
                    Show::Pieces => piece,
                    Show::Both => format!("{piece}({id})"),
                }
            })
            .collect();
        writeln!(out, "{}", words.join(" ")).map_err(stdout_err)?;
    }
    out.flush().map_err(stdout_err)
}
