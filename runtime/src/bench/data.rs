//! The benchmark's data: real span-corrupted text through the exc-data
//! pipeline (tokenizer, T5 span corruption, padding), on its worker thread
//! as training uses it, so that the data-wait share is the real one.
//!
//! Batches are padded to the full lengths (no length buckets): the FLOP
//! count assumes the full shape, and a fixed shape is what a GPU step is
//! fastest with.

use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use exc_data::objective::span::SpanCorruption;
use exc_data::objective::supervised::Lengths;
use exc_data::pack::{Batch, Batching};
use exc_data::pipeline::{Objective, Pipeline, PipelineCursor, PipelineSpec, TaskSpec};
use exc_data::source::ReadOptions;
use exc_data::T5Tokenizer;
use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::model::Seq2SeqBatch;

/// Rows shuffled together: a small window, the text is small.
const SHUFFLE_WINDOW: usize = 256;

/// Batches prepared ahead of the step by the worker thread.
const DEPTH: usize = 4;

fn data_err(e: exc_data::DataError) -> Error {
    Error::Input(e.to_string())
}

/// Text files under `paths` (files as given, directories' `*.txt` sorted).
pub fn text_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| Error::io(p, e))?;
            let mut found: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "txt"))
                .collect();
            found.sort();
            out.extend(found);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(Error::Input(format!(
                "no text file or folder at {}",
                p.display()
            )));
        }
    }
    if out.is_empty() {
        return Err(Error::Input(
            "no .txt files to read the benchmark text from".into(),
        ));
    }
    Ok(out)
}

/// The pipeline spec: one span-corruption task over the text files.
pub fn spec(
    files: Vec<PathBuf>,
    batch: usize,
    inputs: usize,
    targets: usize,
    seed: u64,
) -> Result<PipelineSpec> {
    let sc = SpanCorruption::t5();
    let (_, need) = sc.raw_length_for(inputs).map_err(data_err)?;
    if need > targets {
        return Err(Error::Input(format!(
            "span corruption of {inputs} input tokens needs --targets {need} or more (T5: 512 -> 114)"
        )));
    }
    Ok(PipelineSpec {
        tasks: vec![TaskSpec {
            name: "text".into(),
            files: files.into_iter().map(Into::into).collect(),
            read: ReadOptions::default(),
            objective: Objective::SpanCorruption {
                spec: sc,
                text_field: "text".into(),
            },
            shuffle_window: SHUFFLE_WINDOW,
        }],
        rates: vec![1.0],
        seed,
        batch_size: batch,
        lengths: Lengths { inputs, targets },
        batching: Batching::Pad { bucket: None },
    })
}

/// Starts the pipeline on its worker thread.
pub fn start(
    spec: &PipelineSpec,
    tokenizer: &Path,
) -> Result<Receiver<exc_data::Result<(Batch, PipelineCursor)>>> {
    let tok = T5Tokenizer::from_file(tokenizer).map_err(data_err)?;
    let pipe = Pipeline::new(spec, Arc::new(tok), None).map_err(data_err)?;
    Ok(pipe.spawn(DEPTH))
}

/// Waits for the next batch.
pub fn next(rx: &Receiver<exc_data::Result<(Batch, PipelineCursor)>>) -> Result<Batch> {
    match rx.recv() {
        Ok(Ok((b, _))) => Ok(b),
        Ok(Err(e)) => Err(data_err(e)),
        Err(_) => Err(Error::Input("the data pipeline stopped".into())),
    }
}

fn ids(v: &[i32], rows: usize, len: usize, device: Device) -> Tensor {
    let t = Tensor::from_slice(v)
        .view([rows as i64, len as i64])
        .to_kind(Kind::Int64);
    match device {
        Device::Cpu => t,
        // Pinned memory and a non-blocking copy: a copy from pageable
        // memory would wait for the queued steps and stall the host.
        d => t.pin_memory(d).to_device_(d, Kind::Int64, true, false),
    }
}

/// A pipeline batch as model tensors on `device`: labels are the targets
/// with -100 where the loss weight is 0, decoder inputs are the batch's
/// own shifted targets (start id 0).
pub fn to_tensors(b: &Batch, device: Device) -> Seq2SeqBatch {
    let (n, li, lt) = (b.batch_size, b.inputs_length, b.targets_length);
    let weights = ids(&b.decoder_loss_weights, n, lt, device);
    let targets = ids(&b.decoder_target_tokens, n, lt, device);
    Seq2SeqBatch {
        input_ids: ids(&b.encoder_input_tokens, n, li, device),
        input_mask: Some(
            ids(&b.encoder_segment_ids, n, li, device)
                .gt(0)
                .to_kind(Kind::Int64),
        ),
        decoder_input_ids: ids(&b.decoder_input_tokens, n, lt, device),
        decoder_mask: None,
        labels: targets.masked_fill(&weights.eq(0), -100),
        input_segments: None,
        decoder_segments: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_follow_the_batch() {
        let b = Batch {
            batch_size: 1,
            inputs_length: 3,
            targets_length: 3,
            encoder_input_tokens: vec![5, 6, 0],
            encoder_segment_ids: vec![1, 1, 0],
            encoder_positions: vec![0, 1, 0],
            decoder_target_tokens: vec![7, 1, 0],
            decoder_input_tokens: vec![0, 7, 0],
            decoder_segment_ids: vec![1, 1, 0],
            decoder_positions: vec![0, 1, 0],
            decoder_loss_weights: vec![1, 1, 0],
            decoder_task_ids: vec![1, 1, 0],
            examples: 1,
        };
        let t = to_tensors(&b, Device::Cpu);
        assert_eq!(
            Vec::<i64>::try_from(t.labels.view([-1])).unwrap(),
            vec![7, 1, -100]
        );
        let mask = t.input_mask.unwrap().view([-1]);
        assert_eq!(Vec::<i64>::try_from(mask).unwrap(), vec![1, 1, 0]);
    }

    #[test]
    fn short_targets_are_refused() {
        assert!(spec(vec![], 2, 512, 100, 0).is_err());
        assert!(spec(vec![], 2, 512, 114, 0).is_ok());
    }
}
