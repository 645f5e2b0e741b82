//! exc-data: from source files to batches of token ids.
//!
//! Rows are read from JSONL(.gz), TSV/CSV, Parquet, text and C4 shards
//! ([`source`]), rendered to text by the compiler, tokenized ([`tokenizer`]),
//! turned into examples by an objective ([`objective`]: span corruption or
//! supervised truncation), mixed by rate ([`sampler`]) and packed or padded
//! into batches ([`pack`]). Everything streams; everything random is
//! deterministic from a seed ([`rng`]) and its state is a small serialisable
//! cursor, so a resumed run sees exactly the examples it would have seen.
//!
//! This crate knows nothing about libtorch: batches are plain `Vec<i32>`.
//!
//! ```
//! use exc_data::objective::span::SpanCorruption;
//! let sc = SpanCorruption::t5();
//! assert_eq!(sc.raw_length_for(512).unwrap(), (568, 114));
//! ```
#![forbid(unsafe_code)]

pub mod command;
pub mod error;
pub mod objective;
pub mod pack;
pub mod pipeline;
pub mod rng;
pub mod row_counts;
pub mod sampler;
pub mod source;
pub mod task_source;
mod workers;

pub mod tokenizer;

pub use error::{DataError, Result};
pub use tokenizer::T5Tokenizer;
