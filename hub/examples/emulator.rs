//! The hub emulator as a process, for `scripts/hub_parity.py` (which checks
//! that `huggingface_hub` accepts it and finds what `exc fetch` wrote):
//! serves `DIR/ORG/NAME/REVISION/...` (the revision URL-escaped, e.g.
//! `refs%2Fconvert%2Fparquet`) as dataset repos, prints its URL, and runs
//! until killed. Commits are fixed per repo and revision (the first 40 hex
//! digits of the sha256 of `ORG/NAME@REVISION`), so runs are reproducible.
//!
//! cargo run -p exc-hub --features emulator --example emulator -- tests/fixtures/hub/repos

use exc_hub::emulator::{Emulator, FakeRepo, Snapshot};
use exc_hub::RepoKind;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

fn files(dir: &Path, base: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            files(&p, base, out)?;
        } else if let Ok(rel) = p.strip_prefix(base) {
            out.insert(rel.to_string_lossy().into_owned(), std::fs::read(&p)?);
        }
    }
    Ok(())
}

fn unescape(s: &str) -> String {
    s.replace("%2F", "/")
}

fn main() -> std::io::Result<()> {
    let Some(root) = std::env::args().nth(1) else {
        eprintln!("usage: emulator DIR (DIR/ORG/NAME/REVISION/...)");
        std::process::exit(2);
    };
    let mut repos = Vec::new();
    for org in std::fs::read_dir(&root)? {
        let org = org?.path();
        for name in std::fs::read_dir(&org)? {
            let name = name?.path();
            let id = format!(
                "{}/{}",
                org.file_name().unwrap_or_default().to_string_lossy(),
                name.file_name().unwrap_or_default().to_string_lossy()
            );
            let mut revisions = BTreeMap::new();
            for rev in std::fs::read_dir(&name)? {
                let rev = rev?.path();
                let rname = unescape(&rev.file_name().unwrap_or_default().to_string_lossy());
                let digest = Sha256::digest(format!("{id}@{rname}").as_bytes());
                let commit: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                let mut f = BTreeMap::new();
                files(&rev, &rev, &mut f)?;
                revisions.insert(
                    rname,
                    Snapshot {
                        commit: commit[..40].to_string(),
                        files: f,
                    },
                );
            }
            repos.push(FakeRepo {
                kind: RepoKind::Dataset,
                id,
                revisions,
                gated: false,
            });
        }
    }
    let emu = Emulator::start(repos)?;
    println!("{}", emu.url());
    std::io::stdout().flush()?;
    loop {
        std::thread::park();
    }
}
