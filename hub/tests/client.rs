//! The hub client against the emulator: listings, downloads into the
//! standard cache layout, resume, verification, gated and missing repos,
//! offline.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use exc_hub::client::{Fetched, Progress};
use exc_hub::emulator::{Emulator, FakeRepo, Snapshot};
use exc_hub::{Client, HubCache, HubError, RepoId, RepoKind};

const C1: &str = "1111111111111111111111111111111111111111";
const C2: &str = "2222222222222222222222222222222222222222";

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("exc-hub-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A parquet-sized body whose bytes differ from place to place.
fn body(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn repos() -> Vec<FakeRepo> {
    let main = Snapshot {
        commit: C1.into(),
        files: BTreeMap::from([
            ("README.md".to_string(), b"# demo\n".to_vec()),
            (
                "rte/train-00000-of-00001.parquet".to_string(),
                body(50_000, 1),
            ),
            (
                "rte/validation-00000-of-00001.parquet".to_string(),
                body(9_000, 2),
            ),
        ]),
    };
    let converted = Snapshot {
        commit: C2.into(),
        files: BTreeMap::from([("rte/train/0000.parquet".to_string(), body(30_000, 3))]),
    };
    vec![
        FakeRepo {
            kind: RepoKind::Dataset,
            id: "demo/glue".into(),
            revisions: BTreeMap::from([
                ("main".to_string(), main),
                ("refs/convert/parquet".to_string(), converted),
            ]),
            gated: false,
        },
        FakeRepo {
            kind: RepoKind::Dataset,
            id: "demo/gated".into(),
            revisions: BTreeMap::from([("main".to_string(), Snapshot::default())]),
            gated: true,
        },
    ]
}

fn client(emu: &Emulator, cache: &Path, token: Option<&str>, offline: bool) -> Client {
    Client::new(
        &emu.url(),
        HubCache::new(cache),
        token.map(str::to_string),
        offline,
        3,
    )
    .unwrap()
}

#[test]
fn lists_and_downloads_into_the_huggingface_hub_layout() {
    let emu = Emulator::start(repos()).unwrap();
    let cache = tmp("layout");
    let c = client(&emu, &cache, None, false);
    let repo = RepoId::dataset("demo/glue");
    let listing = c.list(&repo, "main").unwrap();
    assert_eq!(listing.commit, C1);
    assert_eq!(listing.files.len(), 3);
    let train = listing
        .files
        .iter()
        .find(|f| f.path.ends_with("train-00000-of-00001.parquet"))
        .unwrap();
    assert_eq!(train.size, Some(50_000));
    let sha = train.sha256.clone().unwrap();
    let (path, how) = c.download(&listing, train, ()).unwrap();
    assert_eq!(how, Fetched::Downloaded);
    let dir = cache.join("datasets--demo--glue");
    assert_eq!(
        path,
        dir.join("snapshots")
            .join(C1)
            .join("rte/train-00000-of-00001.parquet")
    );
    // A relative link into blobs/, named by the sha256; the ref; no lock or commit ref left.
    let link = std::fs::read_link(&path).unwrap();
    assert_eq!(link, Path::new("../../../blobs").join(&sha));
    assert_eq!(std::fs::read(&path).unwrap(), body(50_000, 1));
    assert_eq!(std::fs::read_to_string(dir.join("refs/main")).unwrap(), C1);
    assert!(!dir.join("refs").join(C1).exists());
    let blobs: Vec<String> = std::fs::read_dir(dir.join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(blobs, vec![sha]);
    // Again: present, no request for the file.
    emu.clear_log();
    let (_, how) = c.download(&listing, train, ()).unwrap();
    assert_eq!(how, Fetched::Present);
    assert!(emu.log().is_empty(), "{:?}", emu.log());
}

#[test]
fn the_parquet_conversion_ref_is_a_revision_of_its_own() {
    let emu = Emulator::start(repos()).unwrap();
    let cache = tmp("convert");
    let c = client(&emu, &cache, None, false);
    let repo = RepoId::dataset("demo/glue");
    let listing = c.list(&repo, exc_hub::PARQUET_REF).unwrap();
    assert_eq!(listing.commit, C2);
    c.download(&listing, &listing.files[0], ()).unwrap();
    let dir = cache.join("datasets--demo--glue");
    assert_eq!(
        std::fs::read_to_string(dir.join("refs/refs/convert/parquet")).unwrap(),
        C2
    );
    assert!(dir
        .join("snapshots")
        .join(C2)
        .join("rte/train/0000.parquet")
        .is_file());
    assert_eq!(
        HubCache::new(&cache).commit_for(&repo, exc_hub::PARQUET_REF),
        Some(C2.to_string())
    );
}

#[derive(Default)]
struct Count(usize);

impl Progress for &mut Count {
    fn init(&mut self, _size: usize, _filename: &str) {}
    fn update(&mut self, n: usize) {
        self.0 += n;
    }
    fn finish(&mut self) {}
}

#[test]
fn a_cut_connection_is_continued_with_a_range_request() {
    let emu = Emulator::start(repos()).unwrap();
    let cache = tmp("cut");
    let c = client(&emu, &cache, None, false);
    let listing = c.list(&RepoId::dataset("demo/glue"), "main").unwrap();
    let file = "rte/train-00000-of-00001.parquet";
    let f = listing.files.iter().find(|f| f.path == file).unwrap();
    emu.cut(file, 1);
    let mut count = Count::default();
    let (path, how) = c.download(&listing, f, &mut count).unwrap();
    assert_eq!(how, Fetched::Downloaded);
    assert_eq!(std::fs::read(path).unwrap(), body(50_000, 1));
    let ranges: Vec<Option<String>> = emu
        .log()
        .into_iter()
        .filter(|l| l.path.ends_with(file))
        .map(|l| l.range)
        .collect();
    // The probe, the cut body, then the rest from byte 25000.
    assert_eq!(
        ranges,
        vec![
            Some("bytes=0-0".to_string()),
            Some("bytes=0-".to_string()),
            Some("bytes=25000-".to_string())
        ]
    );
}

#[test]
fn a_partial_file_is_continued_and_a_corrupt_one_fetched_again() {
    let emu = Emulator::start(repos()).unwrap();
    let cache = tmp("partial");
    // No retries: a cut leaves the partial file, as a killed process does.
    let c = Client::new(&emu.url(), HubCache::new(&cache), None, false, 0).unwrap();
    let listing = c.list(&RepoId::dataset("demo/glue"), "main").unwrap();
    let file = "rte/train-00000-of-00001.parquet";
    let f = listing.files.iter().find(|f| f.path == file).unwrap();
    emu.cut(file, 1);
    let err = c.download(&listing, f, ()).unwrap_err();
    assert!(matches!(err, HubError::Network { .. }), "{err}");
    let part = cache
        .join("datasets--demo--glue/blobs")
        .join(format!("{}.part", f.sha256.as_ref().unwrap()));
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 25_000);
    emu.clear_log();
    let (_, how) = c.download(&listing, f, ()).unwrap();
    assert_eq!(how, Fetched::Downloaded);
    assert!(emu
        .log()
        .iter()
        .any(|l| l.range.as_deref() == Some("bytes=25000-")));

    // A corrupt partial file of another file: detected by the sha256, fetched again.
    let file = "rte/validation-00000-of-00001.parquet";
    let f = listing.files.iter().find(|f| f.path == file).unwrap();
    let part = part.with_file_name(format!("{}.part", f.sha256.as_ref().unwrap()));
    std::fs::write(&part, vec![0u8; 4_000]).unwrap();
    let (path, how) = c.download(&listing, f, ()).unwrap();
    assert_eq!(how, Fetched::Refetched);
    assert_eq!(std::fs::read(path).unwrap(), body(9_000, 2));
}

#[test]
fn gated_missing_and_offline_say_what_to_do() {
    let emu = Emulator::start(repos()).unwrap();
    let cache = tmp("errors");
    let c = client(&emu, &cache, None, false);
    let err = c.list(&RepoId::dataset("demo/gated"), "main").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HubError::Gated { status: 401, .. }), "{msg}");
    assert!(
        msg.contains(&format!("{}/datasets/demo/gated", emu.url())),
        "{msg}"
    );
    assert!(msg.contains("HF_TOKEN"), "{msg}");
    let with_token = client(&emu, &cache, Some("good"), false);
    assert!(with_token
        .list(&RepoId::dataset("demo/gated"), "main")
        .is_ok());

    let err = c
        .list(&RepoId::dataset("demo/nothing"), "main")
        .unwrap_err();
    assert!(matches!(err, HubError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("RepoNotFound"), "{err}");
    let err = c.list(&RepoId::dataset("demo/glue"), "v9").unwrap_err();
    assert!(err.to_string().contains("RevisionNotFound"), "{err}");

    // Offline: the cache answers, the emulator is never asked.
    let listing = c.list(&RepoId::dataset("demo/glue"), "main").unwrap();
    c.download(&listing, &listing.files[0], ()).unwrap();
    emu.clear_log();
    let off = client(&emu, &cache, None, true);
    let cached = off.list(&RepoId::dataset("demo/glue"), "main").unwrap();
    assert!(cached.from_cache);
    assert_eq!(cached.commit, C1);
    assert_eq!(cached.files.len(), 1);
    let err = off
        .list(&RepoId::dataset("demo/glue"), exc_hub::PARQUET_REF)
        .unwrap_err();
    assert!(err.to_string().contains("HF_HUB_OFFLINE"), "{err}");
    assert!(emu.log().is_empty());
}
