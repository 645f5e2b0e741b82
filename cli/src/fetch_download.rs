//! `exc fetch`'s downloads: at most `--jobs` files at once, each a bar and
//! one overall bar on a terminal, one line per file otherwise. A file that
//! fails is reported and the others go on.

use exc_hub::client::{Fetched, Progress};
use exc_hub::{human_bytes, Client, Listing, RemoteFile};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::VecDeque;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

/// One file to download, for item `item` of the table.
pub struct Job {
    pub item: usize,
    pub listing: Arc<Listing>,
    pub file: RemoteFile,
}

/// How a job ended.
pub struct Done {
    pub item: usize,
    pub bytes: u64,
    pub result: Result<Fetched, String>,
}

/// `hf-hub`'s progress callbacks onto a file bar and the overall bar.
/// After each `init` (a start or a retry) the first `update` is the offset
/// the download continues from, not new bytes.
struct Bars {
    file: Option<ProgressBar>,
    overall: Option<ProgressBar>,
    pos: u64,
    fresh: bool,
}

impl Progress for Bars {
    fn init(&mut self, size: usize, _filename: &str) {
        if let Some(b) = &self.file {
            b.set_length(size as u64);
        }
        self.fresh = true;
    }

    fn update(&mut self, n: usize) {
        let n = n as u64;
        let added = if self.fresh {
            self.fresh = false;
            let added = n.saturating_sub(self.pos);
            self.pos = n;
            added
        } else {
            self.pos += n;
            n
        };
        if let Some(b) = &self.overall {
            b.inc(added);
        }
        if let Some(b) = &self.file {
            b.set_position(self.pos);
        }
    }

    fn finish(&mut self) {}
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// Runs every job on `jobs` threads; returns how each ended, in no order.
pub fn run(client: &Client, queue: Vec<Job>, jobs: usize) -> Vec<Done> {
    let total: u64 = queue.iter().filter_map(|j| j.file.size).sum();
    let tty = std::io::stderr().is_terminal();
    let multi = tty.then(MultiProgress::new);
    let overall = multi.as_ref().map(|m| {
        let b = m.add(ProgressBar::new(total));
        b.set_style(style(
            "{prefix:>8} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ));
        b.set_prefix("all");
        b
    });
    let n = queue.len();
    let queue = Mutex::new(queue.into_iter().collect::<VecDeque<Job>>());
    let done = Mutex::new(Vec::with_capacity(n));
    std::thread::scope(|s| {
        for _ in 0..jobs.min(n.max(1)) {
            s.spawn(|| loop {
                let job = match queue.lock() {
                    Ok(mut q) => q.pop_front(),
                    Err(_) => None,
                };
                let Some(job) = job else { break };
                let d = one(client, &job, multi.as_ref(), overall.clone());
                if let Ok(mut v) = done.lock() {
                    v.push(d);
                }
            });
        }
    });
    if let Some(b) = overall {
        b.finish_and_clear();
    }
    done.into_inner().unwrap_or_default()
}

fn one(
    client: &Client,
    job: &Job,
    multi: Option<&MultiProgress>,
    overall: Option<ProgressBar>,
) -> Done {
    let name = format!("{} {}", job.listing.repo, job.file.path);
    let file = multi.map(|m| {
        let b = m.add(ProgressBar::new(job.file.size.unwrap_or(0)));
        b.set_style(style("{msg:50!} [{bar:30}] {bytes}/{total_bytes}"));
        b.set_message(name.clone());
        b
    });
    let bars = Bars {
        file: file.clone(),
        overall,
        pos: 0,
        fresh: true,
    };
    let result = client
        .download(&job.listing, &job.file, bars)
        .map(|(_, how)| how)
        .map_err(|e| e.to_string());
    if let Some(b) = file {
        b.finish_and_clear();
    }
    let size = job.file.size.unwrap_or(0);
    let line = match &result {
        Ok(Fetched::Present) => None,
        Ok(Fetched::Downloaded) => Some(format!("fetched {name} ({})", human_bytes(size))),
        Ok(Fetched::Refetched) => Some(format!(
            "fetched {name} ({}) again: the partial file was corrupt",
            human_bytes(size)
        )),
        Err(e) => Some(format!("failed {name}: {e}")),
    };
    if let Some(line) = line {
        match multi {
            Some(m) => {
                let _ = m.println(line);
            }
            None => eprintln!("{line}"),
        }
    }
    Done {
        item: job.item,
        bytes: size,
        result,
    }
}
