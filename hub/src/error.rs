//! What can go wrong talking to the hub, each with what to do about it.

use std::path::PathBuf;

/// A hub error. `Gated` and `NotFound` need a person; the rest may pass on
/// a retry.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// 401/403: the repo is gated or private.
    #[error("`{repo}` is gated or private (HTTP {status}): accept its terms at {page} and set HF_TOKEN (or `hf auth login`)")]
    Gated {
        repo: String,
        status: u16,
        page: String,
    },
    /// 404: no such repo, revision or file.
    #[error("`{repo}`{}: not on the hub ({what})", revision.as_ref().map_or_else(String::new, |r| format!(" at `{r}`")))]
    NotFound {
        repo: String,
        revision: Option<String>,
        what: String,
    },
    /// `HF_HUB_OFFLINE` is set and the cache lacks what was asked for.
    #[error("`{repo}`: not in the hub cache and HF_HUB_OFFLINE is set")]
    Offline { repo: String },
    /// A downloaded file that is not what the hub listed.
    #[error("`{file}`: {what}")]
    Verify { file: String, what: String },
    /// Anything else from the network or the server.
    #[error("`{repo}`: {message}")]
    Network { repo: String, message: String },
    /// A local file that cannot be read or written.
    #[error("`{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A lock file that cannot be read, or a commit that moved under `--locked`.
    #[error("{0}")]
    Lock(String),
}

impl HubError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        HubError::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether a person must act (accept terms, fix a name) before a retry
    /// can pass.
    pub fn needs_person(&self) -> bool {
        matches!(
            self,
            HubError::Gated { .. }
                | HubError::NotFound { .. }
                | HubError::Offline { .. }
                | HubError::Lock(_)
        )
    }
}

pub type Result<T, E = HubError> = std::result::Result<T, E>;
