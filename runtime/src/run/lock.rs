//! One writer per run directory: an exclusive OS advisory lock (`flock`)
//! on `RUN_DIR/LOCK`, held for the whole run by the process that writes
//! the directory (rank 0). The kernel releases it when that process ends,
//! however it ends, so a `kill -9` never leaves a stale lock behind; the
//! file's text (pid, host) only names the holder in the refusal.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The lock file's name inside a run directory.
pub const LOCK: &str = "LOCK";

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    pub path: PathBuf,
}

fn open(dir: &Path) -> Result<(File, PathBuf)> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(LOCK);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    Ok((file, path))
}

/// Who holds the lock, as its file says ("pid 123 on host h").
fn holder(file: &mut File) -> String {
    // A holder writes its line just after it takes the lock: one that has
    // not yet leaves the file empty for a moment, so look a few times.
    for _ in 0..20 {
        let mut text = String::new();
        let _ = file.rewind().and_then(|_| file.read_to_string(&mut text));
        if !text.trim().is_empty() {
            return text.trim().to_string();
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    "another process".into()
}

/// Takes the run directory `dir` (created if absent) for this process, or
/// refuses at once, naming the process that writes it now.
pub fn acquire(dir: &Path) -> Result<RunLock> {
    let (mut file, path) = open(dir)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(Error::Input(format!(
                "`{}` is being written by {} (it holds `{}`); two runs in one directory would \
                 overwrite each other's checkpoints\n  help: wait for it to finish (or stop it), \
                 then `exc run --resume {}`; or pick another --out",
                dir.display(),
                holder(&mut file),
                path.display(),
                dir.display()
            )))
        }
        Err(TryLockError::Error(e)) => {
            return Err(Error::Input(format!(
                "cannot lock `{}` to keep other runs out of it: {e}\n  help: the file system \
                 may not support locks (some network mounts); run from a local disk",
                path.display()
            )))
        }
    }
    let line = format!(
        "pid {} on host {}\n",
        std::process::id(),
        super::tensorboard::hostname()
    );
    file.set_len(0)
        .and_then(|_| file.rewind())
        .and_then(|_| file.write_all(line.as_bytes()))
        .map_err(|e| Error::io(&path, e))?;
    Ok(RunLock { _file: file, path })
}

/// For the ranks that do not write (rank 1 and up): the run directory must
/// be locked by now, by this group's rank 0, which took the lock before the
/// group formed. A lock this process can take means nobody guards the
/// directory, so the group is not the one writing it.
pub fn check_held(dir: &Path) -> Result<()> {
    let path = dir.join(LOCK);
    let Ok(file) = File::open(&path) else {
        return Err(Error::Input(format!(
            "rank 0 holds no lock on the run directory `{}` (no `{LOCK}` file); \
             are all ranks given the same --out and a shared file system?",
            dir.display()
        )));
    };
    match file.try_lock_shared() {
        Err(TryLockError::WouldBlock) => Ok(()),
        Ok(()) => {
            let _ = file.unlock();
            Err(Error::Input(format!(
                "the run directory `{}` is not locked, though rank 0 should hold it; \
                 are all ranks given the same --out and a shared file system?",
                dir.display()
            )))
        }
        // Locks unsupported here: rank 0's own check is what guards.
        Err(TryLockError::Error(_)) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_second_writer_is_refused_with_the_holder() {
        let d = std::env::temp_dir().join(format!("exc-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let dir = d.as_path();
        let held = acquire(dir).unwrap();
        let err = acquire(dir).unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains("--resume"), "{err}");
        check_held(dir).unwrap();
        drop(held);
        // Released with its holder: the directory is free again, and a
        // rank that finds it free says so.
        assert!(check_held(dir).is_err());
        acquire(dir).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
