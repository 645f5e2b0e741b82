//! The runtime (placeholder until the libtorch set-up lands).
