//! What `exc fetch` needs: every (hub repo, config, split, revision) some
//! stage of a plan reads (or, for tasks, every split they declare), the
//! models a mixture names by hub id, and the local files that no hub has.

use exc_compiler::ir::{Source, SplitFiles, Task};
use exc_compiler::plan::{Init, Plan, StagePlan};
use std::collections::BTreeSet;
use std::path::Path;

/// One thing to get.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Want {
    /// A split of a hub dataset.
    Split {
        dataset: String,
        config: Option<String>,
        split: String,
        revision: Option<String>,
        /// C4-style sharded splits: how many shards (None: all).
        shards: Option<usize>,
    },
    /// A model repo (`model hf "org/name"` with no such local directory).
    Model { id: String },
    /// Local files no hub holds: the user puts them under the data dir.
    Local { pattern: String },
}

/// A want with the tasks that need it.
#[derive(Debug, Clone)]
pub struct Need {
    pub want: Want,
    pub tasks: BTreeSet<String>,
}

#[derive(Default)]
pub struct Needs {
    pub items: Vec<Need>,
}

impl Needs {
    fn add(&mut self, want: Want, task: &str) {
        match self.items.iter_mut().find(|n| n.want == want) {
            Some(n) => {
                n.tasks.insert(task.to_string());
            }
            None => self.items.push(Need {
                want,
                tasks: BTreeSet::from([task.to_string()]),
            }),
        }
    }

    /// `split` (ours) of `source`, for `task`: one want per config and hub
    /// split that `+` joins, per part.
    fn add_source(&mut self, task: &str, source: &Source, split: &str, shards: Option<usize>) {
        let parts: Vec<Option<&str>> = match source.parts() {
            Some(p) => p.values.values().map(|v| Some(v.as_str())).collect(),
            None => vec![None],
        };
        let fill = |t: &str, v: Option<&str>| match (source.parts(), v) {
            (Some(p), Some(v)) => p.fill(t, v),
            _ => t.to_string(),
        };
        for value in parts {
            match source {
                Source::Hf {
                    dataset,
                    config,
                    revision,
                    splits,
                    ..
                } => {
                    let Some(hub_split) = splits.get(split) else {
                        continue;
                    };
                    let configs: Vec<Option<String>> = match config {
                        Some(c) => fill(c, value)
                            .split('+')
                            .map(|c| Some(c.trim().to_string()))
                            .collect(),
                        None => vec![None],
                    };
                    for c in configs {
                        for s in fill(hub_split, value).split('+') {
                            // `train[:100000]`: the slice is of rows, the files are the split's.
                            let s = s.split('[').next().unwrap_or(s);
                            self.add(
                                Want::Split {
                                    dataset: dataset.clone(),
                                    config: c.clone(),
                                    split: s.trim().to_string(),
                                    revision: revision.clone(),
                                    shards,
                                },
                                task,
                            );
                        }
                    }
                }
                Source::Files { splits, .. } => match splits.get(split) {
                    Some(SplitFiles::Pattern(p)) => self.add(
                        Want::Local {
                            pattern: fill(p, value),
                        },
                        task,
                    ),
                    Some(SplitFiles::Columns(cols)) => {
                        for p in cols.values() {
                            self.add(
                                Want::Local {
                                    pattern: fill(p, value),
                                },
                                task,
                            );
                        }
                    }
                    None => {}
                },
            }
        }
    }

    /// A task's `split`, its joins' included.
    pub fn add_task(&mut self, task: &Task, split: &str) {
        if let Some(s) = &task.source {
            self.add_source(&task.name, s, split, None);
        }
        for j in &task.joins {
            self.add_source(&task.name, &j.source, split, None);
        }
    }
}

/// The splits a stage reads: `train` when it trains, and the splits it
/// selects checkpoints on or scores.
fn stage_splits(stage: &StagePlan) -> Vec<String> {
    let mut out = Vec::new();
    if stage.train.is_some() {
        out.push("train".to_string());
    }
    for s in &stage.splits {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// A hub model id (`org/name`) rather than a directory: no such directory
/// under `base`, and two plain path components.
pub fn hub_model_id(dir: &str, base: &Path) -> Option<String> {
    let p = Path::new(dir);
    if p.is_absolute() || base.join(p).exists() || Path::new(dir).exists() {
        return None;
    }
    let parts: Vec<&str> = dir.split('/').collect();
    let plain = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    (parts.len() == 2 && parts.iter().all(|s| plain(s))).then(|| dir.to_string())
}

/// C4 en's train split on the hub (`allenai/c4`, `en/c4-train.NNNNN-of-01024.json.gz`).
const C4_SHARDS: usize = 1024;
/// Tokens per C4 en train shard, an estimate: 156B tokens over 1,024
/// shards (Dodge et al. 2021, "Documenting Large Webtext Corpora", Table 1,
/// counts words, not SentencePiece pieces; T5's vocabulary makes a few more).
const C4_TOKENS_PER_SHARD: f64 = 156e9 / 1024.0;

/// How many C4 train shards a stage reads, and the arithmetic.
fn c4_shards(stage: &StagePlan, c4: &exc_compiler::plan::C4Plan) -> (usize, String) {
    let Some(train) = &stage.train else {
        return (1, String::new());
    };
    // Span corruption keeps 1 - d of the raw tokens and adds one sentinel
    // per span (d / mean span of them): inputs of `inputs` tokens take
    // inputs / (1 - d + d / mean) raw tokens.
    let d = c4.noise_density;
    let raw_per_example = train.inputs as f64 / (1.0 - d + d / c4.mean_noise_span_length);
    let examples = train.steps as f64 * train.batch as f64 * c4.rate;
    let tokens = examples * raw_per_example;
    let shards = ((tokens / C4_TOKENS_PER_SHARD).ceil() as usize).clamp(1, C4_SHARDS);
    let mut note = format!(
        "c4 (stage `{}`): {} steps x {} batch x {:.3} C4 rate = {:.3e} examples x {:.0} raw tokens \
         (inputs {} / (1 - {d} + {d}/{})) = {:.3e} tokens / ~{:.3e} per shard = {} of {C4_SHARDS} shards",
        stage.name,
        train.steps,
        train.batch,
        c4.rate,
        examples,
        raw_per_example,
        train.inputs,
        c4.mean_noise_span_length,
        tokens,
        C4_TOKENS_PER_SHARD,
        shards
    );
    if tokens > C4_TOKENS_PER_SHARD * C4_SHARDS as f64 {
        note.push_str(&format!(
            " (the stage reads {:.1} passes over all of C4 en)",
            tokens / (C4_TOKENS_PER_SHARD * C4_SHARDS as f64)
        ));
    }
    note.push_str("; --c4-shards N sets it");
    (shards, note)
}

/// Everything `plan` reads: C4 with `c4_shards` train shards, else the
/// shards its token budget needs. Returns notes for the user (the C4
/// arithmetic).
pub fn from_plan(
    plan: &Plan,
    base: &Path,
    c4_shards_arg: Option<usize>,
    needs: &mut Needs,
) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(id) = plan
        .model
        .init
        .as_deref()
        .and_then(|d| hub_model_id(d, base))
    {
        needs.add(Want::Model { id }, "(model)");
    }
    for run in &plan.runs {
        for stage in &run.stages {
            if let Some(Init::Path(d)) = &stage.from {
                if let Some(id) = hub_model_id(d, base) {
                    needs.add(Want::Model { id }, "(model)");
                }
            }
            let splits = stage_splits(stage);
            for tr in &stage.tasks {
                let Some(task) = plan.tasks.get(&tr.task) else {
                    continue;
                };
                for split in &splits {
                    needs.add_task(task, split);
                }
            }
            if let (Some(c4), Some(_)) = (&stage.c4, &stage.train) {
                let n = match c4_shards_arg {
                    Some(n) => n,
                    None => {
                        let (n, note) = c4_shards(stage, c4);
                        if !notes.contains(&note) {
                            notes.push(note);
                        }
                        n
                    }
                };
                needs.add_source("c4", &c4.source, "train", Some(n));
            }
        }
    }
    notes
}
