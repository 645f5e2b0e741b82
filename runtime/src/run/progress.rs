//! Progress of a training stage: an indicatif bar (step, loss, tokens/s,
//! ETA) when stderr is a terminal, plain log lines otherwise, so that logs
//! of batch jobs stay readable.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    stage: String,
    start: Instant,
    first: u64,
    total: u64,
    quiet: bool,
}

impl Progress {
    pub fn new(stage: &str, at: u64, total: u64, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new(total);
            let style =
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} eta {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
            b.set_style(style);
            b.set_prefix(stage.to_string());
            b.set_position(at);
            b
        });
        Progress {
            bar,
            stage: stage.to_string(),
            start: Instant::now(),
            first: at,
            total,
            quiet,
        }
    }

    /// After every step.
    pub fn step(&mut self, step: u64, loss: f64) {
        if let Some(b) = &self.bar {
            b.set_position(step);
            b.set_message(format!("loss {loss:.4}"));
        }
    }

    /// After every logging window (plain line when there is no bar).
    pub fn log(&mut self, step: u64, loss: f64, tokens_per_s: f64) {
        match &self.bar {
            Some(b) => b.set_message(format!("loss {loss:.4} {tokens_per_s:.0} tok/s")),
            None if !self.quiet => {
                let done = (step - self.first).max(1) as f64;
                let secs = self.start.elapsed().as_secs_f64();
                let eta = secs / done * (self.total - step) as f64;
                eprintln!(
                    "{} step {step}/{} loss {loss:.4} {tokens_per_s:.0} tok/s eta {eta:.0}s",
                    self.stage, self.total
                );
            }
            None => {}
        }
    }

    /// A line that is not a step (checkpoint scores), above the bar.
    pub fn note(&self, text: &str) {
        match &self.bar {
            Some(b) => b.println(format!("{} {text}", self.stage)),
            None if !self.quiet => eprintln!("{} {text}", self.stage),
            None => {}
        }
    }

    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish();
        }
    }
}
