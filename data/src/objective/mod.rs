//! Objectives turn token ids into (inputs, targets) examples: T5 span
//! corruption for C4-style text ([`span`]) and truncation with EOS for
//! supervised tasks ([`supervised`]).

pub mod span;
pub mod supervised;

/// One encoder-decoder example, EOS included, before packing or padding.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Example {
    /// Encoder token ids.
    pub inputs: Vec<i32>,
    /// Decoder target ids.
    pub targets: Vec<i32>,
}
