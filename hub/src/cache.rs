//! The standard hub cache, as `huggingface_hub` lays it out:
//! `ROOT/datasets--ORG--NAME/{blobs/<etag>, snapshots/<commit>/<path> ->
//! ../../blobs/<etag>, refs/<revision> = <commit>}`, and the environment
//! variables that place it and the hub.

use std::path::{Path, PathBuf};

/// A model or a dataset repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RepoKind {
    Model,
    Dataset,
}

/// A hub repository: its kind and `org/name` id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepoId {
    pub kind: RepoKind,
    pub id: String,
}

impl RepoId {
    pub fn dataset(id: &str) -> Self {
        RepoId {
            kind: RepoKind::Dataset,
            id: id.to_string(),
        }
    }

    pub fn model(id: &str) -> Self {
        RepoId {
            kind: RepoKind::Model,
            id: id.to_string(),
        }
    }

    /// The cache folder's name: `datasets--org--name`, `models--org--name`.
    pub fn folder(&self) -> String {
        let prefix = match self.kind {
            RepoKind::Model => "models",
            RepoKind::Dataset => "datasets",
        };
        format!("{prefix}--{}", self.id.replace('/', "--"))
    }

    /// The repo a cache folder holds: the inverse of [`RepoId::folder`].
    pub fn from_folder(folder: &str) -> Option<Self> {
        if let Some(id) = folder.strip_prefix("datasets--") {
            Some(RepoId::dataset(&id.replace("--", "/")))
        } else {
            folder
                .strip_prefix("models--")
                .map(|id| RepoId::model(&id.replace("--", "/")))
        }
    }

    /// The repo's page on the hub (where gated terms are accepted).
    pub fn page(&self, endpoint: &str) -> String {
        match self.kind {
            RepoKind::Model => format!("{endpoint}/{}", self.id),
            RepoKind::Dataset => format!("{endpoint}/datasets/{}", self.id),
        }
    }

    pub(crate) fn hf(&self, revision: &str) -> hf_hub::Repo {
        let kind = match self.kind {
            RepoKind::Model => hf_hub::RepoType::Model,
            RepoKind::Dataset => hf_hub::RepoType::Dataset,
        };
        hf_hub::Repo::with_revision(self.id.clone(), kind, revision.to_string())
    }
}

impl std::fmt::Display for RepoId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            RepoKind::Model => write!(f, "{}", self.id),
            RepoKind::Dataset => write!(f, "datasets/{}", self.id),
        }
    }
}

fn var(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

/// `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
fn hf_home() -> Option<PathBuf> {
    var("HF_HOME")
        .map(PathBuf::from)
        .or_else(|| var("XDG_CACHE_HOME").map(|x| Path::new(&x).join("huggingface")))
        .or_else(|| var("HOME").map(|h| Path::new(&h).join(".cache/huggingface")))
}

/// The hub's address: `HF_ENDPOINT`, else `https://huggingface.co`.
pub fn endpoint() -> String {
    var("HF_ENDPOINT")
        .unwrap_or_else(|| "https://huggingface.co".into())
        .trim_end_matches('/')
        .to_string()
}

/// The token: `HF_TOKEN`, else the file `hf auth login` writes
/// (`HF_TOKEN_PATH`, else `HF_HOME/token`).
pub fn token() -> Option<String> {
    if let Some(t) = var("HF_TOKEN") {
        return Some(t.trim().to_string());
    }
    let path = var("HF_TOKEN_PATH")
        .map(PathBuf::from)
        .or_else(|| hf_home().map(|h| h.join("token")))?;
    let t = std::fs::read_to_string(path).ok()?;
    Some(t.trim().to_string()).filter(|t| !t.is_empty())
}

/// `HF_HUB_OFFLINE` set to a true value (as `huggingface_hub` reads it).
pub fn offline() -> bool {
    var("HF_HUB_OFFLINE")
        .is_some_and(|v| matches!(v.to_ascii_uppercase().as_str(), "1" | "ON" | "YES" | "TRUE"))
}

/// A 40-hex-digit commit id (not a branch or tag name).
pub fn is_commit(rev: &str) -> bool {
    rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The hub cache's root folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubCache {
    pub root: PathBuf,
}

impl HubCache {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        HubCache { root: root.into() }
    }

    /// `HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`
    /// (None without any of them, e.g. no `HOME`).
    pub fn from_env() -> Option<Self> {
        var("HF_HUB_CACHE")
            .map(PathBuf::from)
            .or_else(|| hf_home().map(|h| h.join("hub")))
            .map(HubCache::new)
    }

    pub fn repo_dir(&self, repo: &RepoId) -> PathBuf {
        self.root.join(repo.folder())
    }

    /// The commit the cache holds for `revision`: the commit itself when
    /// its snapshot exists, else what `refs/<revision>` names.
    pub fn commit_for(&self, repo: &RepoId, revision: &str) -> Option<String> {
        let dir = self.repo_dir(repo);
        if is_commit(revision) {
            return dir
                .join("snapshots")
                .join(revision)
                .is_dir()
                .then(|| revision.to_string());
        }
        let c = std::fs::read_to_string(dir.join("refs").join(revision)).ok()?;
        Some(c.trim().to_string()).filter(|c| is_commit(c))
    }

    /// Where `path` of `commit` lies in the cache (it may not exist).
    pub fn snapshot_path(&self, repo: &RepoId, commit: &str, path: &str) -> PathBuf {
        self.repo_dir(repo)
            .join("snapshots")
            .join(commit)
            .join(path)
    }

    /// `path` of `commit`, when the cache holds it (its blob, through the
    /// snapshot's link).
    pub fn cached(&self, repo: &RepoId, commit: &str, path: &str) -> Option<PathBuf> {
        let p = self.snapshot_path(repo, commit, path);
        p.is_file().then_some(p)
    }

    /// Every file of the snapshot `commit`, as repo paths, sorted.
    pub fn snapshot_files(&self, repo: &RepoId, commit: &str) -> Vec<(String, u64)> {
        let base = self.repo_dir(repo).join("snapshots").join(commit);
        let mut out = Vec::new();
        let mut stack = vec![base.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                // `metadata` follows the snapshot's link to its blob.
                match std::fs::metadata(&p) {
                    Ok(m) if m.is_dir() => stack.push(p),
                    Ok(m) => {
                        if let Ok(rel) = p.strip_prefix(&base) {
                            let rel = rel.to_string_lossy().replace('\\', "/");
                            out.push((rel, m.len()));
                        }
                    }
                    Err(_) => {}
                }
            }
        }
        out.sort();
        out
    }

    /// Points `refs/<revision>` at `commit` (not for a commit itself, as
    /// `huggingface_hub` writes no ref for one).
    pub fn write_ref(&self, repo: &RepoId, revision: &str, commit: &str) -> std::io::Result<()> {
        if is_commit(revision) {
            return Ok(());
        }
        let path = self.repo_dir(repo).join("refs").join(revision);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, commit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_huggingface_hubs() {
        assert_eq!(
            RepoId::dataset("nyu-mll/glue").folder(),
            "datasets--nyu-mll--glue"
        );
        assert_eq!(
            RepoId::model("google/t5-v1_1-small").folder(),
            "models--google--t5-v1_1-small"
        );
        for r in [
            RepoId::dataset("nyu-mll/glue"),
            RepoId::model("google/t5-v1_1-small"),
        ] {
            assert_eq!(RepoId::from_folder(&r.folder()), Some(r));
        }
        assert_eq!(RepoId::from_folder("blobs"), None);
        assert_eq!(
            RepoId::dataset("a/b").page("https://huggingface.co"),
            "https://huggingface.co/datasets/a/b"
        );
    }

    #[test]
    fn commits_are_forty_hex_digits() {
        assert!(is_commit("0123456789abcdef0123456789abcdef01234567"));
        assert!(!is_commit("main"));
        assert!(!is_commit("refs/convert/parquet"));
    }
}
