//! Which hub commits a run reads. A file that comes from the hub cache is a
//! file of one snapshot (`…/datasets--ORG--NAME/snapshots/COMMIT/…`), so the
//! located files say the commit of every dataset and model read. The run
//! directory records them in `hub.lock` (the format of the lock file `exc
//! fetch` writes beside a mixture), and when the mixture's lock names other
//! commits than the cache holds, the run says so with the command that
//! fetches the locked ones: it still reads what the cache holds.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use exc_compiler::plan::Plan;
use exc_data::source::locate::{locate, DataRoots};
use exc_data::task_source;
use exc_hub::cache::RepoId;
use exc_hub::lock::LockFile;

use super::data::{c4_ref, plan_task, task_splits};

/// A hub repo at one commit, and what of the run reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRead {
    pub repo: RepoId,
    pub commit: String,
    /// The ref of the cache that names the commit (`main`,
    /// `refs/convert/parquet`), else the commit itself.
    pub revision: String,
    /// The tasks (or `c4`, or `model`) reading it.
    pub readers: Vec<String>,
}

/// The repo and commit of a file in the hub cache's layout.
pub fn commit_of(path: &Path) -> Option<(RepoId, String, PathBuf)> {
    let parts: Vec<&str> = path
        .components()
        .map_while(|c| match c {
            Component::Normal(s) => s.to_str(),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => Some(""),
            Component::ParentDir => Some(".."),
        })
        .collect();
    let at = parts.iter().rposition(|p| *p == "snapshots")?;
    let folder = parts.get(at.checked_sub(1)?)?;
    let commit = parts.get(at + 1)?;
    let repo = RepoId::from_folder(folder)?;
    let repo_dir: PathBuf = path
        .ancestors()
        .nth(parts.len() - at)
        .map(Path::to_path_buf)?;
    Some((repo, commit.to_string(), repo_dir))
}

/// The ref under `repo_dir/refs` that names `commit`, if any.
fn ref_naming(repo_dir: &Path, commit: &str) -> Option<String> {
    let refs = repo_dir.join("refs");
    let mut stack = vec![refs.clone()];
    let mut found = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read_to_string(&p).is_ok_and(|t| t.trim() == commit) {
                let rel = p.strip_prefix(&refs).ok()?;
                found.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    // `main` before a conversion ref that happens to name the same commit.
    found.sort_by_key(|r| (r != "main", r.clone()));
    found.into_iter().next()
}

/// Every hub commit the plan's stages read (task files, joined files, C4),
/// plus `models`: the model directories the run loads. Files that are not
/// found are left to the missing-data check.
pub fn hub_reads(plan: &Plan, roots: &DataRoots, models: &[PathBuf]) -> Vec<HubRead> {
    let mut seen: BTreeMap<(String, String), HubRead> = BTreeMap::new();
    let mut note = |path: &Path, reader: &str| {
        let Some((repo, commit, dir)) = commit_of(path) else {
            return;
        };
        let read = seen
            .entry((repo.to_string(), commit.clone()))
            .or_insert_with(|| HubRead {
                revision: ref_naming(&dir, &commit).unwrap_or_else(|| commit.clone()),
                repo,
                commit,
                readers: Vec::new(),
            });
        if !read.readers.iter().any(|r| r == reader) {
            read.readers.push(reader.to_string());
        }
    };
    for stage in plan.runs.iter().flat_map(|r| &r.stages) {
        for (name, split) in task_splits(stage) {
            let Ok(task) = plan_task(plan, &name) else {
                continue;
            };
            for f in task_source::locate_split(task, &split, roots).unwrap_or_default() {
                note(&f.path, &name);
                for j in &f.joins {
                    for jf in &j.files {
                        note(&jf.path, &name);
                    }
                }
            }
        }
        if let Some(c4) = stage.c4.as_ref().filter(|c| c.rate > 0.0) {
            let files = c4_ref(&c4.source, "train").map(|r| locate(&r, roots));
            for f in files.into_iter().flatten().flatten() {
                note(&f, "c4");
            }
        }
    }
    for m in models {
        note(&m.join("config.json"), "model");
    }
    seen.into_values().collect()
}

/// The run directory's record of `reads`, in the lock file's format.
pub fn lock_of(reads: &[HubRead]) -> LockFile {
    let mut lock = LockFile::default();
    for r in reads {
        lock.set(&r.repo.to_string(), &r.revision, &r.commit);
    }
    lock
}

/// One line per repo whose commit read is none that `lock` names for it.
pub fn against_lock(reads: &[HubRead], lock: &LockFile, lock_path: &Path) -> Vec<String> {
    reads
        .iter()
        .filter_map(|r| {
            let key = r.repo.to_string();
            let locked: Vec<&str> = lock
                .repos
                .iter()
                .filter(|l| l.repo == key)
                .map(|l| l.commit.as_str())
                .collect();
            if locked.is_empty() || locked.contains(&r.commit.as_str()) {
                return None;
            }
            Some(format!(
                "`{key}`: the hub cache holds commit {} (read by {}), but `{}` locks {}",
                r.commit,
                r.readers.join(", "),
                lock_path.display(),
                locked.join(" and ")
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_file_names_its_repo_and_commit() {
        let c = "0123456789abcdef0123456789abcdef01234567";
        let p = PathBuf::from(format!(
            "/h/hub/datasets--nyu-mll--glue/snapshots/{c}/rte/train/0000.parquet"
        ));
        let (repo, commit, dir) = commit_of(&p).unwrap();
        assert_eq!(repo, RepoId::dataset("nyu-mll/glue"));
        assert_eq!(commit, c);
        assert_eq!(dir, PathBuf::from("/h/hub/datasets--nyu-mll--glue"));
        let m = PathBuf::from(format!(
            "h/models--google--t5-v1_1-small/snapshots/{c}/config.json"
        ));
        assert_eq!(
            commit_of(&m).unwrap().0,
            RepoId::model("google/t5-v1_1-small")
        );
        assert!(commit_of(Path::new("data/rte/train.tsv")).is_none());
    }
}
