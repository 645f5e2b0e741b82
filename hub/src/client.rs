//! Listings and verified downloads through `hf-hub`'s blocking client.
//!
//! `hf-hub` resolves a file (`resolve/<rev>/<path>`, its ETag and
//! `X-Repo-Commit`), continues a `blobs/<etag>.part` file with a range
//! request, and links `snapshots/<commit>/<path>` to the blob. This layer
//! asks the listing for sizes and sha256 (`?blobs=true`), downloads by
//! commit so that every file of a repo comes from one commit, verifies each
//! blob, fetches again once when a partial file was corrupt, writes the ref
//! as `huggingface_hub` does and tells gated repos from missing ones.

use std::io::Read;
use std::path::{Path, PathBuf};

use hf_hub::api::sync::{Api, ApiBuilder, ApiError};
use serde::Deserialize;
use sha2::{Digest, Sha256};

pub use hf_hub::api::Progress;

use crate::cache::{self, HubCache, RepoId};
use crate::error::{HubError, Result};

/// A file of a repo as the hub lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    pub path: String,
    /// Bytes; None when the listing gives no size (offline, from the cache).
    pub size: Option<u64>,
    /// The LFS object's sha256 (which is also its ETag and blob name).
    pub sha256: Option<String>,
    /// The git blob id: the ETag of a file not stored in LFS.
    pub blob_id: Option<String>,
}

impl RemoteFile {
    /// The blob name the hub's ETag gives it.
    pub fn etag(&self) -> Option<&str> {
        self.sha256.as_deref().or(self.blob_id.as_deref())
    }
}

/// A repo at a revision, resolved to its commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub repo: RepoId,
    pub revision: String,
    pub commit: String,
    pub files: Vec<RemoteFile>,
    /// Read from the cache (offline), not from the hub.
    pub from_cache: bool,
}

#[derive(Deserialize)]
struct Info {
    sha: String,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Deserialize)]
struct Sibling {
    rfilename: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default, rename = "blobId")]
    blob_id: Option<String>,
    #[serde(default)]
    lfs: Option<Lfs>,
}

#[derive(Deserialize)]
struct Lfs {
    sha256: String,
    #[serde(default)]
    size: Option<u64>,
}

/// How a download ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// The cache held it already (size checked).
    Present,
    /// Downloaded (or continued from a partial file) and verified.
    Downloaded,
    /// A partial or finished blob failed verification and was fetched again.
    Refetched,
}

/// The hub client: `hf-hub`'s API with exc's cache, endpoint and token.
pub struct Client {
    api: Api,
    pub cache: HubCache,
    pub endpoint: String,
    pub offline: bool,
}

impl Client {
    /// From the environment: `HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_CACHE`,
    /// `HF_HOME`, `HF_HUB_OFFLINE`.
    pub fn from_env() -> Result<Self> {
        let cache = HubCache::from_env().ok_or_else(|| {
            HubError::Lock(
                "no hub cache: set HF_HUB_CACHE (or HF_HOME, or HOME for ~/.cache/huggingface/hub)"
                    .into(),
            )
        })?;
        Client::new(
            &cache::endpoint(),
            cache,
            cache::token(),
            cache::offline(),
            3,
        )
    }

    /// A client of the hub at `endpoint` (`http://127.0.0.1:PORT` for the
    /// emulator) that retries a cut download `retries` times, continuing
    /// from where it stopped.
    pub fn new(
        endpoint: &str,
        cache: HubCache,
        token: Option<String>,
        offline: bool,
        retries: usize,
    ) -> Result<Self> {
        let api = ApiBuilder::new()
            .with_endpoint(endpoint.trim_end_matches('/').to_string())
            .with_cache_dir(cache.root.clone())
            .with_token(token)
            .with_progress(false)
            .with_retries(retries)
            .with_user_agent("exc", env!("CARGO_PKG_VERSION"))
            .build()
            .map_err(|e| HubError::Network {
                repo: String::new(),
                message: e.to_string(),
            })?;
        Ok(Client {
            api,
            cache,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            offline,
        })
    }

    /// The repo at `revision` (a branch, a tag, `refs/convert/parquet` or a
    /// commit): its commit and files. Offline, what the cache holds.
    pub fn list(&self, repo: &RepoId, revision: &str) -> Result<Listing> {
        if self.offline {
            return self.list_cached(repo, revision);
        }
        let response = self
            .api
            .repo(repo.hf(revision))
            .info_request()
            .query("blobs", "true")
            .call()
            .map_err(|e| self.status_error(repo, Some(revision), "repository", e))?;
        let info: Info = response.into_json().map_err(|e| HubError::Network {
            repo: repo.to_string(),
            message: format!("unreadable listing: {e}"),
        })?;
        let files = info
            .siblings
            .into_iter()
            .map(|s| {
                let size = s.size.or(s.lfs.as_ref().and_then(|l| l.size));
                RemoteFile {
                    path: s.rfilename,
                    size,
                    sha256: s.lfs.map(|l| l.sha256),
                    blob_id: s.blob_id,
                }
            })
            .collect();
        Ok(Listing {
            repo: repo.clone(),
            revision: revision.to_string(),
            commit: info.sha,
            files,
            from_cache: false,
        })
    }

    fn list_cached(&self, repo: &RepoId, revision: &str) -> Result<Listing> {
        let commit = self
            .cache
            .commit_for(repo, revision)
            .ok_or_else(|| HubError::Offline {
                repo: repo.to_string(),
            })?;
        let files = self
            .cache
            .snapshot_files(repo, &commit)
            .into_iter()
            .map(|(path, size)| RemoteFile {
                path,
                size: Some(size),
                sha256: None,
                blob_id: None,
            })
            .collect();
        Ok(Listing {
            repo: repo.clone(),
            revision: revision.to_string(),
            commit,
            files,
            from_cache: true,
        })
    }

    /// A ureq error as a hub error: 401/403 gated, 404 missing.
    fn status_error(
        &self,
        repo: &RepoId,
        revision: Option<&str>,
        what: &str,
        e: ureq::Error,
    ) -> HubError {
        match e {
            ureq::Error::Status(code @ (401 | 403), _) => HubError::Gated {
                repo: repo.to_string(),
                status: code,
                page: repo.page(&self.endpoint),
            },
            ureq::Error::Status(404, r) => HubError::NotFound {
                repo: repo.to_string(),
                revision: revision.map(str::to_string),
                what: r
                    .header("x-error-code")
                    .map_or_else(|| format!("{what} not found"), |c| format!("{what}: {c}")),
            },
            other => HubError::Network {
                repo: repo.to_string(),
                message: other.to_string(),
            },
        }
    }

    /// `file` of `listing`'s commit into the cache, verified. A file the
    /// cache holds at that commit with the listed size is left as it is.
    pub fn download<P: Progress>(
        &self,
        listing: &Listing,
        file: &RemoteFile,
        progress: P,
    ) -> Result<(PathBuf, Fetched)> {
        let repo = &listing.repo;
        if let Some(p) = self.cache.cached(repo, &listing.commit, &file.path) {
            let len = std::fs::metadata(&p).map(|m| m.len()).ok();
            if file.size.is_none() || len == file.size {
                return Ok((p, Fetched::Present));
            }
        }
        if self.offline {
            return Err(HubError::Offline {
                repo: repo.to_string(),
            });
        }
        let discarded = self.discard_oversized_partial(listing, file);
        let mut refetched = discarded;
        let path = match self.download_once(listing, file, progress) {
            Ok(p) => p,
            // One more try from nothing: the partial file was corrupt.
            Err(HubError::Verify { .. }) => {
                refetched = true;
                self.download_once(listing, file, ())?
            }
            Err(e) => return Err(e),
        };
        self.finish(listing)?;
        Ok((
            path,
            if refetched {
                Fetched::Refetched
            } else {
                Fetched::Downloaded
            },
        ))
    }

    fn download_once<P: Progress>(
        &self,
        listing: &Listing,
        file: &RemoteFile,
        progress: P,
    ) -> Result<PathBuf> {
        let repo = &listing.repo;
        let api = self.api.repo(repo.hf(&listing.commit));
        let path = api
            .download_with_progress(&file.path, progress)
            .map_err(|e| self.api_error(repo, &listing.commit, &file.path, e))?;
        let blob = std::fs::canonicalize(&path).map_err(|e| HubError::io(&path, e))?;
        if let Err(e) = verify(&blob, file) {
            // Neither the blob nor its link may stay: the next run would
            // take them as present.
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(&blob);
            return Err(e);
        }
        remove_lock(&blob);
        Ok(path)
    }

    /// A `.part` file longer than the file is corrupt beyond resuming:
    /// removed (true) so that the download starts over.
    fn discard_oversized_partial(&self, listing: &Listing, file: &RemoteFile) -> bool {
        let (Some(etag), Some(size)) = (file.etag(), file.size) else {
            return false;
        };
        let part = self
            .cache
            .repo_dir(&listing.repo)
            .join("blobs")
            .join(format!("{etag}.part"));
        match std::fs::metadata(&part) {
            Ok(m) if m.len() > size => std::fs::remove_file(&part).is_ok(),
            _ => false,
        }
    }

    /// After a download by commit: the ref of the revision asked for, and
    /// none for the commit (`hf-hub` writes one, `huggingface_hub` does not).
    fn finish(&self, listing: &Listing) -> Result<()> {
        let dir = self.cache.repo_dir(&listing.repo).join("refs");
        if !cache::is_commit(&listing.revision) {
            let _ = std::fs::remove_file(dir.join(&listing.commit));
        }
        self.cache
            .write_ref(&listing.repo, &listing.revision, &listing.commit)
            .map_err(|e| HubError::io(dir.join(&listing.revision), e))
    }

    fn api_error(&self, repo: &RepoId, commit: &str, file: &str, e: ApiError) -> HubError {
        match e {
            ApiError::RequestError(e) => self.status_error(repo, Some(commit), file, *e),
            ApiError::TooManyRetries(inner) => match *inner {
                ApiError::RequestError(e) => self.status_error(repo, Some(commit), file, *e),
                other => HubError::Network {
                    repo: repo.to_string(),
                    message: format!("`{file}`: {other} (rerun to continue the partial file)"),
                },
            },
            ApiError::InvalidResume => HubError::Verify {
                file: file.to_string(),
                what: "the partial download is longer than the file".into(),
            },
            other => HubError::Network {
                repo: repo.to_string(),
                message: format!("`{file}`: {other} (rerun to continue the partial file)"),
            },
        }
    }
}

/// The size, and the sha256 where the hub gives one, of a downloaded blob.
pub fn verify(path: &Path, file: &RemoteFile) -> Result<()> {
    let len = std::fs::metadata(path)
        .map_err(|e| HubError::io(path, e))?
        .len();
    if let Some(size) = file.size {
        if len != size {
            return Err(HubError::Verify {
                file: file.path.clone(),
                what: format!("{len} bytes where the hub lists {size}"),
            });
        }
    }
    if let Some(want) = &file.sha256 {
        let got = sha256_file(path)?;
        if !got.eq_ignore_ascii_case(want) {
            return Err(HubError::Verify {
                file: file.path.clone(),
                what: format!(
                    "sha256 {got} where the hub lists {want} (a corrupt partial download)"
                ),
            });
        }
    }
    Ok(())
}

/// The sha256 of a file, in hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| HubError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| HubError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// `hf-hub` leaves its `blobs/<etag>.lock` file behind; `huggingface_hub`
/// keeps no such file among the blobs.
fn remove_lock(blob: &Path) {
    let mut lock = blob.to_path_buf();
    lock.set_extension("lock");
    let _ = std::fs::remove_file(lock);
}
