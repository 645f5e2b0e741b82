//! Evaluation metrics (placeholder until the metrics issue lands).
