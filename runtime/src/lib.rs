//! The exc runtime: T5.1.1 on libtorch (through tch), Hugging Face
//! checkpoints in and out, optimizers, decoding and scoring.
//!
//! Data enters as token ids (`tch::Tensor`, int64) built by the data
//! pipeline or by [`tokenizer`]; weights enter and leave as safetensors
//! files named as transformers names them ([`checkpoint`]). The model knows
//! nothing about tasks; the CLI front ends live in [`cli`].
//!
//! libtorch comes from `scripts/libtorch.sh` (torch 2.11.0 for tch 0.24).

pub mod bench;
pub mod checkpoint;
pub mod cli;
pub mod decode;
pub mod dist;
pub mod env;
pub mod error;
pub mod guard;
pub mod hf_dir;
pub mod hub_model;
pub mod kernel_check;
pub mod launch;
pub mod model;
pub mod optim;
pub mod run;
pub mod tokenizer;

pub use error::{Error, Result};
