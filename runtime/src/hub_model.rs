//! `model hf "org/name"` and `--model org/name`: a hub model id is read
//! from the standard hub cache (where `exc fetch`, `huggingface_hub` and
//! transformers put models) when no local directory of that name exists; a
//! local directory always wins.

use std::path::{Path, PathBuf};

use exc_hub::cache::{HubCache, RepoId};

use crate::error::{Error, Result};

/// Whether `p` reads as a hub model id: `org/name`, nothing else.
pub fn is_hub_id(p: &str) -> bool {
    let mut parts = p.split('/');
    let ok = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    matches!((parts.next(), parts.next(), parts.next()), (Some(a), Some(b), None) if ok(a) && ok(b))
}

/// The cached snapshot of model `id` at `main` that holds a `config.json`.
pub fn cached(id: &str) -> Option<PathBuf> {
    let cache = HubCache::from_env()?;
    let repo = RepoId::model(id);
    let commit = cache.commit_for(&repo, "main")?;
    cache.cached(&repo, &commit, "config.json")?;
    Some(cache.snapshot_path(&repo, &commit, ""))
}

/// Where the model `given` (as the plan or the command line wrote it) is
/// read from: `local` (the path it names) when that exists, else the hub
/// cache's copy of the hub model of that id, else `local` (whose absence
/// [`check`] reports).
pub fn locate(given: &str, local: PathBuf) -> PathBuf {
    if local.exists() || !is_hub_id(given) {
        return local;
    }
    cached(given).unwrap_or(local)
}

/// Fails, saying where exc looked and how to get it, when the model
/// `given` is neither a local directory nor in the hub cache.
pub fn check(given: &str, local: &Path, fetch_hint: &str) -> Result<()> {
    if local.join("config.json").is_file() || local.is_file() {
        return Ok(());
    }
    if !is_hub_id(given) {
        return Err(Error::Input(format!(
            "model `{given}`: `{}` holds no `config.json`",
            local.display()
        )));
    }
    if cached(given).is_some() {
        return Ok(());
    }
    let cache = HubCache::from_env()
        .map(|c| c.root.display().to_string())
        .unwrap_or_else(|| "the hub cache (no HF_HUB_CACHE, HF_HOME or HOME)".into());
    Err(Error::Input(format!(
        "model `{given}`: no local directory `{}`, and the hub model `{given}` is not in \
         `{cache}`\n  help: fetch it: {fetch_hint}",
        local.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_ids_are_org_slash_name() {
        assert!(is_hub_id("google/t5-v1_1-small"));
        assert!(is_hub_id("org/name.v2"));
        for p in [
            "t5", "./a/b", "a/b/c", "/abs/x", "a//b", "../x", "a/.b", "a b/c",
        ] {
            assert!(!is_hub_id(p), "{p}");
        }
    }
}
