//! `exc fetch MIXTURE | exc fetch TASK_OR_DIR...`: the hub data (and
//! models) a mixture or tasks read, into the standard hub cache where
//! `exc check --data` and `exc run` find them with no flag.

use crate::diagnostics::{self, plural};
use crate::fetch_download::{self, Job};
use crate::fetch_plan::{self, Want};
use exc_data::source::locate::{hub_patterns, wildcard};
use exc_data::source::Format;
use exc_hub::lock::LockFile;
use exc_hub::{human_bytes, Client, HubError, Listing, RemoteFile, RepoId, PARQUET_REF};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args)]
pub struct Args {
    /// A mixture (.exmix), or .task files and directories
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Which mixture, when the file holds several (default: all of them)
    #[arg(long)]
    name: Option<String>,
    /// Print what would be fetched, with sizes, and download nothing
    #[arg(long)]
    dry_run: bool,
    /// Files downloaded at once
    #[arg(long, default_value_t = 4, value_parser = crate::at_least_one)]
    jobs: usize,
    /// C4 train shards to fetch (default: what the plan's token budget needs)
    #[arg(long, value_parser = crate::at_least_one)]
    c4_shards: Option<usize>,
    /// Fetch exactly the commits the mixture's lock file names
    #[arg(long)]
    locked: bool,
    /// Override a setting of the mixture as `exc run --set` does (e.g.
    /// `c4.ratio=4` or `train.steps=…` change the C4 shards needed)
    #[arg(long = "set", value_name = "BLOCK.KEY=VALUE")]
    set: Vec<String>,
}

/// What became of one want.
pub enum State {
    /// Files of `listing` (some present already).
    Files {
        listing: Arc<Listing>,
        files: Vec<RemoteFile>,
        present: Vec<bool>,
    },
    /// A person must act: why, and what to do.
    Manual(String),
}

pub struct Item {
    pub want: Want,
    pub tasks: Vec<String>,
    pub state: State,
    /// Set by the downloads: files fetched, bytes fetched, errors.
    pub fetched: (usize, u64),
    pub errors: Vec<String>,
}

pub fn run(args: &Args) -> crate::Outcome {
    let mixture_mode =
        args.paths.len() == 1 && args.paths[0].extension().is_some_and(|e| e == "exmix");
    if args.locked && !mixture_mode {
        eprintln!("error: `--locked` reads a mixture's lock file: give one .exmix file");
        return crate::Outcome::Usage;
    }
    if !args.set.is_empty() && !mixture_mode {
        eprintln!("error: `--set` overrides a mixture's settings: give one .exmix file");
        return crate::Outcome::Usage;
    }
    let sets = exc_compiler::Sets {
        args: &args.set,
        only: args.name.as_deref(),
    };
    let c = exc_compiler::compile_set(&args.paths, &sets);
    diagnostics::print(&c);
    if c.errors() > 0 {
        eprintln!("failed: {}", plural(c.errors(), "error", "errors"));
        return diagnostics::outcome(&c);
    }
    let mut needs = fetch_plan::Needs::default();
    let lock_path = mixture_mode.then(|| LockFile::path_for(&args.paths[0]));
    if mixture_mode {
        let plans: Vec<_> = c
            .plans
            .iter()
            .filter(|p| args.name.as_ref().is_none_or(|n| &p.mixture == n))
            .collect();
        if plans.is_empty() {
            eprintln!(
                "error: no mixture {}in `{}`",
                args.name
                    .as_ref()
                    .map_or(String::new(), |n| format!("named `{n}` ")),
                args.paths[0].display()
            );
            return crate::Outcome::Usage;
        }
        let base = args.paths[0].parent().unwrap_or(Path::new("."));
        for plan in plans {
            for note in fetch_plan::from_plan(plan, base, args.c4_shards, &mut needs) {
                eprintln!("{note}");
            }
        }
    } else {
        for task in c.tasks.values().filter(|t| !t.is_abstract) {
            if let Some(s) = &task.source {
                for split in s.split_names() {
                    needs.add_task(task, &split);
                }
            }
        }
    }
    let client = match Client::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::Outcome::Usage;
        }
    };
    let mut lock = match &lock_path {
        Some(p) => match LockFile::read(p) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {e}");
                return crate::Outcome::Usage;
            }
        },
        None => LockFile::default(),
    };
    let mut items = resolve(&client, needs, &lock, args.locked);
    if args.dry_run {
        print_table(&items, true, &client);
        return finish(&items, args);
    }
    download(&client, &mut items, args.jobs);
    if let (Some(p), false) = (&lock_path, args.locked) {
        record(&items, &mut lock);
        if let Err(e) = lock.write(p) {
            eprintln!("error: {e}");
        } else {
            eprintln!("lock: {}", p.display());
        }
    }
    print_table(&items, false, &client);
    finish(&items, args)
}

/// The listing of `repo` at `revision`: under `--locked`, at the commit
/// the lock names, refused when the lock has none or the hub no longer
/// serves it.
fn listing(
    client: &Client,
    repo: &RepoId,
    revision: &str,
    lock: &LockFile,
    locked: bool,
) -> Result<Listing, HubError> {
    if !locked {
        return client.list(repo, revision);
    }
    let key = repo.to_string();
    let Some(commit) = lock.commit(&key, revision) else {
        return Err(HubError::Lock(format!(
            "`{key}` `{revision}` is not in the lock file: run `exc fetch` without --locked to add it"
        )));
    };
    match client.list(repo, commit) {
        Ok(mut l) => {
            l.revision = revision.to_string();
            Ok(l)
        }
        Err(HubError::NotFound { .. }) => {
            let now = client
                .list(repo, revision)
                .map_or_else(|e| e.to_string(), |l| format!("it is at {} now", l.commit));
            Err(HubError::Lock(format!(
                "`{key}` `{revision}` is locked at {commit}, which the hub no longer serves ({now}): \
                 run `exc fetch` without --locked to move the lock"
            )))
        }
        Err(e) => Err(e),
    }
}

/// The files of `listing` that are the split `config`/`split`, by the
/// patterns exc's readers use, formats they read only.
fn select(listing: &Listing, config: &str, split: &str) -> Vec<RemoteFile> {
    for pattern in hub_patterns(config, split) {
        let (dir, name) = pattern.rsplit_once('/').unwrap_or(("", pattern.as_str()));
        let mut found: Vec<RemoteFile> = listing
            .files
            .iter()
            .filter(|f| {
                let (fd, fname) = f.path.rsplit_once('/').unwrap_or(("", f.path.as_str()));
                fd == dir
                    && wildcard(name, fname)
                    && Format::from_path(Path::new(&f.path)).is_some()
            })
            .cloned()
            .collect();
        if !found.is_empty() {
            found.sort_by(|a, b| a.path.cmp(&b.path));
            return found;
        }
    }
    Vec::new()
}

/// The files of a model repo that exc (and transformers) load.
fn model_files(listing: &Listing) -> Vec<RemoteFile> {
    let has_safetensors = listing
        .files
        .iter()
        .any(|f| f.path.ends_with(".safetensors"));
    listing
        .files
        .iter()
        .filter(|f| {
            let p = f.path.as_str();
            !p.contains('/')
                && (matches!(
                    p,
                    "config.json"
                        | "generation_config.json"
                        | "spiece.model"
                        | "tokenizer.json"
                        | "tokenizer_config.json"
                        | "special_tokens_map.json"
                        | "model.safetensors.index.json"
                ) || p.ends_with(".safetensors")
                    || (!has_safetensors && p == "pytorch_model.bin"))
        })
        .cloned()
        .collect()
}

/// Each want resolved against the hub (one listing per repo and revision).
fn resolve(client: &Client, needs: fetch_plan::Needs, lock: &LockFile, locked: bool) -> Vec<Item> {
    let mut listings: BTreeMap<(RepoId, String), Result<Arc<Listing>, String>> = BTreeMap::new();
    let mut get = |repo: &RepoId, rev: &str| -> Result<Arc<Listing>, String> {
        listings
            .entry((repo.clone(), rev.to_string()))
            .or_insert_with(|| {
                listing(client, repo, rev, lock, locked)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
    };
    let mut items = Vec::new();
    for need in needs.items {
        let state = match &need.want {
            Want::Local { pattern } => State::Manual(format!(
                "not on the hub: put `{pattern}` under a data directory and pass `--data-dir DIR` (tasks/README.md says where each comes from)"
            )),
            Want::Model { id } => match get(&RepoId::model(id), "main") {
                Ok(l) => files_state(client, l.clone(), model_files(&l)),
                Err(e) => State::Manual(e),
            },
            Want::Split { dataset, config, split, revision, shards } => {
                let repo = RepoId::dataset(dataset);
                let config = config.as_deref().unwrap_or("default");
                let rev = revision.as_deref().unwrap_or("main");
                let mut found = get(&repo, rev).map(|l| (select(&l, config, split), l));
                // A loading script or files exc does not read: the hub's parquet conversion.
                if revision.is_none() && !matches!(&found, Ok((f, _)) if !f.is_empty()) {
                    if let Ok(l) = get(&repo, PARQUET_REF) {
                        let f = select(&l, config, split);
                        if !f.is_empty() || found.is_err() {
                            found = Ok((f, l));
                        }
                    }
                }
                match found {
                    Ok((mut files, l)) if !files.is_empty() => {
                        if let Some(n) = shards.filter(|n| *n > 0) {
                            files.truncate(n);
                        }
                        files_state(client, l, files)
                    }
                    Ok((_, l)) => State::Manual(format!(
                        "no files of config `{config}` split `{split}` in `{}` at `{rev}` nor in its parquet conversion: check the task's `source` against the repo's files",
                        l.repo
                    )),
                    Err(e) => State::Manual(e),
                }
            }
        };
        items.push(Item {
            want: need.want,
            tasks: need.tasks.into_iter().collect(),
            state,
            fetched: (0, 0),
            errors: Vec::new(),
        });
    }
    items
}

fn files_state(client: &Client, listing: Arc<Listing>, files: Vec<RemoteFile>) -> State {
    let present = files
        .iter()
        .map(|f| {
            client
                .cache
                .cached(&listing.repo, &listing.commit, &f.path)
                .and_then(|p| std::fs::metadata(p).ok())
                .is_some_and(|m| f.size.is_none_or(|s| s == m.len()))
        })
        .collect();
    State::Files {
        listing,
        files,
        present,
    }
}

/// Downloads every file not present yet; each item records what it got.
fn download(client: &Client, items: &mut [Item], jobs: usize) {
    let mut queue = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let State::Files {
            listing,
            files,
            present,
        } = &item.state
        {
            for (f, p) in files.iter().zip(present) {
                if !p
                    && !queue.iter().any(|j: &Job| {
                        j.listing.repo == listing.repo
                            && j.file.path == f.path
                            && j.listing.commit == listing.commit
                    })
                {
                    queue.push(Job {
                        item: i,
                        listing: listing.clone(),
                        file: f.clone(),
                    });
                }
            }
        }
    }
    for d in fetch_download::run(client, queue, jobs) {
        let item = &mut items[d.item];
        match d.result {
            Ok(_) => {
                item.fetched.0 += 1;
                item.fetched.1 += d.bytes;
            }
            Err(e) => item.errors.push(e),
        }
    }
}

/// Every repo revision that was listed from the hub goes into the lock.
fn record(items: &[Item], lock: &mut LockFile) {
    for item in items {
        if let State::Files { listing, .. } = &item.state {
            if listing.from_cache {
                continue;
            }
            let key = listing.repo.to_string();
            if let Some(old) = lock.set(&key, &listing.revision, &listing.commit) {
                eprintln!(
                    "lock: `{key}` `{}` moved from {old} to {}",
                    listing.revision, listing.commit
                );
            }
        }
    }
}

/// What a want is, as one table cell.
fn describe(want: &Want) -> String {
    match want {
        Want::Split {
            dataset,
            config,
            split,
            revision,
            ..
        } => {
            let mut s = format!("datasets/{dataset}");
            if let Some(c) = config {
                s.push_str(&format!(" {c}"));
            }
            s.push_str(&format!(" [{split}]"));
            if let Some(r) = revision {
                s.push_str(&format!(" @{r}"));
            }
            s
        }
        Want::Model { id } => format!("{id} (model)"),
        Want::Local { pattern } => format!("files {pattern}"),
    }
}

fn status(item: &Item, dry_run: bool) -> (&'static str, usize, u64) {
    match &item.state {
        State::Manual(_) => ("manual", 0, 0),
        State::Files { files, present, .. } => {
            let bytes: u64 = files.iter().filter_map(|f| f.size).sum();
            let missing = present.iter().filter(|p| !**p).count();
            let s = if !item.errors.is_empty() {
                "failed"
            } else if missing == 0 {
                "present"
            } else if dry_run {
                "to fetch"
            } else {
                "fetched"
            };
            (s, files.len(), bytes)
        }
    }
}

fn tasks_cell(tasks: &[String]) -> String {
    match tasks {
        [a, b, c, d, rest @ ..] if !rest.is_empty() => {
            format!("{a}, {b}, {c}, {d} and {} more", rest.len())
        }
        all => all.join(", "),
    }
}

/// The table of every want (before downloading with `dry_run`, after otherwise).
fn print_table(items: &[Item], dry_run: bool, client: &Client) {
    let rows: Vec<[String; 5]> = items
        .iter()
        .map(|it| {
            let (s, n, bytes) = status(it, dry_run);
            let bytes = if n == 0 {
                "-".to_string()
            } else {
                human_bytes(bytes)
            };
            [
                s.to_string(),
                describe(&it.want),
                n.to_string(),
                bytes,
                tasks_cell(&it.tasks),
            ]
        })
        .collect();
    let header = ["status", "what", "files", "bytes", "tasks"].map(String::from);
    let mut width = [0usize; 5];
    for r in std::iter::once(&header).chain(&rows) {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |r: &[String; 5]| {
        format!(
            "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            w0 = width[0],
            w1 = width[1],
            w2 = width[2],
            w3 = width[3]
        )
    };
    outln!("{}", line(&header).trim_end());
    for r in &rows {
        outln!("{}", line(r).trim_end());
    }
    let (mut to_fetch, mut present, mut fetched) = ((0usize, 0u64), (0usize, 0u64), (0usize, 0u64));
    let (mut manual, mut failed) = (0, 0);
    for it in items {
        match &it.state {
            State::Manual(_) => manual += 1,
            State::Files {
                files, present: p, ..
            } => {
                for (f, p) in files.iter().zip(p) {
                    let b = f.size.unwrap_or(0);
                    if *p {
                        present.0 += 1;
                        present.1 += b;
                    } else if dry_run {
                        to_fetch.0 += 1;
                        to_fetch.1 += b;
                    }
                }
                fetched.0 += it.fetched.0;
                fetched.1 += it.fetched.1;
                failed += usize::from(!it.errors.is_empty());
            }
        }
    }
    let files =
        |(n, b): (usize, u64)| format!("{} ({})", plural(n, "file", "files"), human_bytes(b));
    if dry_run {
        outln!(
            "\nto fetch: {}; already present: {}; {} need manual action; into {}",
            files(to_fetch),
            files(present),
            manual,
            client.cache.root.display()
        );
    } else {
        outln!(
            "\nfetched: {}; already present: {}; {} need manual action; {} failed; in {}",
            files(fetched),
            files(present),
            manual,
            failed,
            client.cache.root.display()
        );
    }
    for it in items {
        if let State::Manual(why) = &it.state {
            outln!(
                "manual: {} ({}): {why}",
                describe(&it.want),
                tasks_cell(&it.tasks)
            );
        }
        for e in &it.errors {
            outln!("failed: {}: {e}", describe(&it.want));
        }
    }
}

/// Exit 1 when anything is left to do: a failed file, or data that needs a
/// person (the mixture cannot run without it).
fn finish(items: &[Item], args: &Args) -> crate::Outcome {
    let failed = items.iter().any(|i| !i.errors.is_empty());
    let manual = items
        .iter()
        .filter(|i| matches!(i.state, State::Manual(_)))
        .count();
    if manual > 0 {
        eprintln!(
            "{} need a person: the `manual:` lines say why and what to do",
            plural(manual, "item", "items")
        );
    }
    if failed {
        let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "rerun `exc fetch {}` to continue: finished files stay, partial ones are resumed",
            paths.join(" ")
        );
        return crate::Outcome::Invalid;
    }
    if manual > 0 {
        return crate::Outcome::Invalid;
    }
    crate::Outcome::Ok
}
