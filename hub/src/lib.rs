//! The Hugging Face hub for exc, on Hugging Face's own client (`hf-hub`,
//! its blocking API): repository listings with sizes and sha256, downloads
//! into the standard hub cache in the layout `huggingface_hub` writes
//! (`blobs/`, `snapshots/<commit>/`, `refs/`), so Python's `datasets` and
//! `huggingface_hub` and exc share one copy.
//!
//! What `hf-hub` 0.4 lacks is added here as a small layer: file sizes and
//! LFS sha256 in listings (`?blobs=true`), verification of every download
//! (size, sha256), a corrupt partial file detected and fetched again, the
//! gated/missing distinction in errors, `HF_TOKEN`, `HF_HUB_OFFLINE` and
//! `HF_HUB_CACHE`, cache look-ups by revision (`refs/convert/parquet`
//! included), and lock files of resolved commits.

pub mod cache;
pub mod client;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod error;
pub mod lock;

pub use cache::{HubCache, RepoId, RepoKind};
pub use client::{Client, Listing, RemoteFile};
pub use error::{HubError, Result};

/// The hub's conversion of every dataset to parquet, kept on this ref
/// (`{config}/{split}/NNNN.parquet`), which exc reads where a repo's own
/// files are a loading script or a format exc does not read.
pub const PARQUET_REF: &str = "refs/convert/parquet";

/// Bytes as a person reads them (`1.2 GB`, decimal units as the hub shows).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_read_as_the_hub_shows_them() {
        assert_eq!(super::human_bytes(0), "0 B");
        assert_eq!(super::human_bytes(999), "999 B");
        assert_eq!(super::human_bytes(1_234_567), "1.2 MB");
        assert_eq!(super::human_bytes(305_000_000_000), "305.0 GB");
    }
}
