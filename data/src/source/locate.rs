//! Finding a task's files: under a `--data-dir` root, in converted-parquet
//! layout (`CONFIG/SPLIT/0000.parquet`), or in the Hugging Face hub cache
//! (`datasets--ORG--NAME/snapshots/REV/...`, honouring `HF_HUB_CACHE` and
//! `HF_HOME`). When nothing matches, the error lists every place looked and
//! the command that would fetch the data.

use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};

/// What a task says about where its data comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceRef {
    /// The task's name (for messages and the `DATA_DIR/TASK/SPLIT.*` layout).
    pub task: String,
    /// Hub dataset id, e.g. `nyu-mll/glue` or `allenai/c4`.
    pub dataset: Option<String>,
    /// Dataset configuration (subset), e.g. `rte` or `en`.
    pub config: Option<String>,
    /// Split name, e.g. `train` or `validation`.
    pub split: String,
    /// Explicit files (relative to the data dir unless absolute); `*` may
    /// appear in the file name.
    pub files: Vec<String>,
    /// The hub revision asked for (a branch, tag or commit): only that
    /// snapshot of the hub cache is read. None: `refs/main` first, then any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

/// The roots searched, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataRoots {
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// The hub cache (`.../huggingface/hub`).
    pub hf_cache: Option<PathBuf>,
}

impl DataRoots {
    /// `data_dir` plus the hub cache the environment points at, as
    /// `huggingface_hub` (and `exc fetch`) find it: `HF_HUB_CACHE`, else
    /// `HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
    /// `~/.cache/huggingface/hub`.
    pub fn from_env(data_dir: Option<PathBuf>) -> Self {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let hf_cache = var("HF_HUB_CACHE")
            .or_else(|| var("HF_HOME").map(|h| h.join("hub")))
            .or_else(|| var("XDG_CACHE_HOME").map(|h| h.join("huggingface/hub")))
            .or_else(|| var("HOME").map(|h| h.join(".cache/huggingface/hub")));
        DataRoots { data_dir, hf_cache }
    }
}

const EXTENSIONS: [&str; 9] = [
    "jsonl", "jsonl.gz", "json", "json.gz", "tsv", "csv", "parquet", "txt", "txt.gz",
];

/// The files of `src`, sorted, or an error naming every place looked.
pub fn locate(src: &SourceRef, roots: &DataRoots) -> Result<Vec<PathBuf>> {
    let mut looked = Vec::new();
    for pattern in candidates(src, roots) {
        let found = glob(&pattern);
        if !found.is_empty() {
            return Ok(found);
        }
        looked.push(pattern);
    }
    Err(DataError::Missing {
        task: src.task.clone(),
        looked,
        help: fetch_help(src, roots),
    })
}

/// Every pattern tried, in order.
fn candidates(src: &SourceRef, roots: &DataRoots) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let split = &src.split;
    let config = src.config.as_deref().unwrap_or("default");
    let short = src
        .dataset
        .as_deref()
        .map(|d| d.rsplit('/').next().unwrap_or(d));
    if let Some(dir) = &roots.data_dir {
        for f in &src.files {
            out.push(dir.join(f));
        }
        for ext in EXTENSIONS {
            out.push(dir.join(&src.task).join(format!("{split}.{ext}")));
        }
        out.push(dir.join(&src.task).join(split).join("*.parquet"));
        if let Some(short) = short {
            out.push(dir.join(short).join(config).join(split).join("*.parquet"));
        }
        out.push(dir.join(config).join(split).join("*.parquet"));
    } else {
        out.extend(src.files.iter().map(PathBuf::from));
    }
    if let (Some(cache), Some(dataset)) = (&roots.hf_cache, &src.dataset) {
        let repo = cache.join(format!("datasets--{}", dataset.replace('/', "--")));
        if !repo.is_dir() {
            // Nothing of the repo is cached: that one place says it all.
            out.push(repo);
            return out;
        }
        for snap in snapshots(&repo, src.revision.as_deref()) {
            for rel in hub_patterns(config, split) {
                out.push(snap.join(rel));
            }
        }
    }
    out
}

/// The files of a hub split inside a snapshot, as patterns tried in order
/// (the first that matches is the split): the hub's parquet conversion
/// (`CONFIG/SPLIT/NNNN.parquet`), a repo's own parquet files
/// (`CONFIG/SPLIT-*.parquet`), C4's shards (`en/c4-train.*.json.gz`), then
/// the layouts repos use without configs. `exc fetch` selects what to
/// download with the same patterns, so what it fetches is what is read.
pub fn hub_patterns(config: &str, split: &str) -> Vec<String> {
    vec![
        format!("{config}/{split}/*.parquet"),
        format!("{config}/{split}-*.parquet"),
        format!("{config}/*-{split}.*.json.gz"),
        format!("{config}/{split}.*"),
        format!("data/{split}-*"),
        format!("{split}-*"),
        format!("{split}.*"),
    ]
}

/// Snapshot folders of a hub repo: with a revision, the one snapshot it
/// names (`refs/<revision>`, or a snapshot folder of that commit); else the
/// one `refs/main` names first, then the rest.
fn snapshots(repo: &Path, revision: Option<&str>) -> Vec<PathBuf> {
    if let Some(rev) = revision {
        let snaps = repo.join("snapshots");
        let named = std::fs::read_to_string(repo.join("refs").join(rev))
            .ok()
            .map(|r| snaps.join(r.trim()));
        return vec![named.unwrap_or_else(|| snaps.join(rev))];
    }
    let snaps = repo.join("snapshots");
    let main = std::fs::read_to_string(repo.join("refs/main"))
        .ok()
        .map(|r| snaps.join(r.trim()));
    let mut all: Vec<PathBuf> = std::fs::read_dir(&snaps)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    all.sort();
    match main {
        Some(m) => {
            all.retain(|p| p != &m);
            all.insert(0, m);
        }
        None if all.is_empty() => all.push(snaps.join("REV")),
        None => {}
    }
    all
}

/// Files matching `pattern`, where only the last component may hold `*`.
pub fn glob(pattern: &Path) -> Vec<PathBuf> {
    let Some(name) = pattern.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    if !name.contains('*') {
        return if pattern.is_file() {
            vec![pattern.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let dir = pattern.parent().unwrap_or(Path::new("."));
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_str().is_some_and(|n| wildcard(name, n)))
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// `*` matches any run of characters; everything else matches itself.
pub fn wildcard(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = match parts.split_first() {
        Some(x) => x,
        None => return pattern == name,
    };
    let Some(mut tail) = name.strip_prefix(first) else {
        return false;
    };
    for (i, part) in rest.iter().enumerate() {
        if i == rest.len() - 1 {
            return tail.ends_with(part);
        }
        match tail.find(part) {
            Some(at) => tail = &tail[at + part.len()..],
            None => return false,
        }
    }
    tail.is_empty()
}

/// How to get `src`: `exc fetch` for a hub dataset (into the hub cache,
/// where exc looks with no flag), where to put local files otherwise.
pub fn fetch_help(src: &SourceRef, roots: &DataRoots) -> String {
    match &src.dataset {
        Some(ds) => format!(
            "`{ds}`{} split `{}`{} is a hub dataset: `exc fetch` downloads it into the hub cache{}, where exc finds it with no flag",
            src.config
                .as_deref()
                .map_or(String::new(), |c| format!(" config `{c}`")),
            src.split,
            src.revision
                .as_deref()
                .map_or(String::new(), |r| format!(" at revision `{r}`")),
            roots
                .hf_cache
                .as_ref()
                .map_or(String::new(), |c| format!(" (`{}`)", c.display()))
        ),
        None => format!(
            "put the split at `DATA_DIR/{}/{}.jsonl` (or .tsv, .csv, .parquet) and pass `--data-dir DATA_DIR`",
            src.task, src.split
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn wildcards() {
        assert!(wildcard(
            "c4-train.*-of-01024.json.gz",
            "c4-train.00000-of-01024.json.gz"
        ));
        assert!(!wildcard(
            "c4-train.*-of-01024.json.gz",
            "c4-validation.00000-of-00008.json.gz"
        ));
        assert!(wildcard("*.parquet", "0000.parquet"));
        assert!(wildcard("train-*", "train-00000-of-00001.parquet"));
        assert!(!wildcard("train-*", "validation-0.parquet"));
        assert!(wildcard("a*b*c", "abc"));
        assert!(!wildcard("a*b*c", "acb"));
    }
}
