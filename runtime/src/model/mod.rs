//! T5 / T5.1.1 in tch: configuration, layers, the encoder-decoder and losses.

pub mod config;
pub mod layers;
pub mod loss;
pub mod t5;

pub use config::{Activation, T5Config};
pub use layers::{AttentionImpl, NormImpl};
pub use loss::{seq2seq_loss, sequence_nll, LossConfig, LossOutput};
pub use t5::{ids_to_device, shift_right, DecoderCache, Seq2SeqBatch, T5};
