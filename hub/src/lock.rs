//! The lock file `exc fetch` writes beside a mixture (`NAME.exmix.lock`):
//! the commit every (repo, revision) it fetched resolved to, so that
//! `exc fetch --locked` fetches exactly those commits again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{HubError, Result};

/// The lock file's format version.
pub const FORMAT: u32 = 1;

/// One locked repo revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Locked {
    /// `datasets/org/name`, or `org/name` for a model.
    pub repo: String,
    /// The revision the mixture asks for (`main`, `refs/convert/parquet`, ...).
    pub revision: String,
    pub commit: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockFile {
    pub format: u32,
    pub repos: Vec<Locked>,
}

impl LockFile {
    /// The lock file of `mixture`: the mixture's path with `.lock` appended.
    pub fn path_for(mixture: &Path) -> PathBuf {
        let mut name = mixture.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Reads `path`; an absent file is an empty lock.
    pub fn read(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LockFile::default()),
            Err(e) => return Err(HubError::io(path, e)),
        };
        let lock: LockFile = serde_json::from_str(&text).map_err(|e| {
            HubError::Lock(format!(
                "`{}`: not a lock file exc can read ({e}); delete it and run `exc fetch` without --locked to write it again",
                path.display()
            ))
        })?;
        if lock.format > FORMAT {
            return Err(HubError::Lock(format!(
                "`{}`: lock format {} is newer than this exc reads ({FORMAT})",
                path.display(),
                lock.format
            )));
        }
        Ok(lock)
    }

    /// The locked commit of `repo` at `revision`.
    pub fn commit(&self, repo: &str, revision: &str) -> Option<&str> {
        self.repos
            .iter()
            .find(|l| l.repo == repo && l.revision == revision)
            .map(|l| l.commit.as_str())
    }

    /// Records (or moves) a commit; returns the commit it replaced, if another.
    pub fn set(&mut self, repo: &str, revision: &str, commit: &str) -> Option<String> {
        if let Some(l) = self
            .repos
            .iter_mut()
            .find(|l| l.repo == repo && l.revision == revision)
        {
            let old = std::mem::replace(&mut l.commit, commit.to_string());
            return (old != commit).then_some(old);
        }
        self.repos.push(Locked {
            repo: repo.to_string(),
            revision: revision.to_string(),
            commit: commit.to_string(),
        });
        None
    }

    /// Writes the lock, sorted, atomically (a temporary file renamed).
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut sorted: BTreeMap<(&str, &str), &str> = BTreeMap::new();
        for l in &self.repos {
            sorted.insert((&l.repo, &l.revision), &l.commit);
        }
        let lock = LockFile {
            format: FORMAT,
            repos: sorted
                .into_iter()
                .map(|((repo, revision), commit)| Locked {
                    repo: repo.into(),
                    revision: revision.into(),
                    commit: commit.into(),
                })
                .collect(),
        };
        let text = serde_json::to_string_pretty(&lock)
            .map_err(|e| HubError::Lock(format!("cannot write the lock: {e}")))?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, text + "\n").map_err(|e| HubError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| HubError::io(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_round_trips_sorted_and_reports_a_moved_commit() {
        let dir = std::env::temp_dir().join(format!("exc-hub-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = LockFile::path_for(&dir.join("m.exmix"));
        assert!(path.ends_with("m.exmix.lock"));
        assert_eq!(LockFile::read(&path).unwrap(), LockFile::default());
        let mut lock = LockFile::default();
        assert_eq!(lock.set("datasets/b/x", "main", "c1"), None);
        assert_eq!(lock.set("datasets/a/y", "main", "c2"), None);
        assert_eq!(lock.set("datasets/b/x", "main", "c1"), None);
        assert_eq!(lock.set("datasets/b/x", "main", "c3"), Some("c1".into()));
        lock.write(&path).unwrap();
        let back = LockFile::read(&path).unwrap();
        assert_eq!(back.repos[0].repo, "datasets/a/y");
        assert_eq!(back.commit("datasets/b/x", "main"), Some("c3"));
        std::fs::write(&path, "{not json").unwrap();
        let err = LockFile::read(&path).unwrap_err().to_string();
        assert!(err.contains("delete it"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
