//! The logging window of a training stage: what accumulates between two
//! lines of `metrics.jsonl` (loss, tokens, time waiting for data, the
//! gradient allreduce, each task's loss), and the line it becomes.

use std::time::Instant;

use tch::{Device, Kind, Tensor};

use super::runfiles::TrainLine;
use crate::error::{Error, Result};

/// Totals since the last logged line.
pub(super) struct Window {
    pub loss: f64,
    /// Steps whose loss was read back into `loss`.
    pub n: u64,
    pub tokens: u64,
    /// Seconds spent waiting for the data pipeline.
    pub wait: f64,
    start: Instant,
    /// Seconds rank 0 waited for the gradient allreduce, and bytes reduced.
    pub comm: f64,
    pub comm_bytes: u64,
    /// Buckets reduced, and of those launched while backward still ran.
    pub buckets: usize,
    pub early: usize,
    /// Summed NLL and token count per task (index 0: padding); the sums
    /// stay on the device until the line is written.
    pub task_nll: Tensor,
    pub task_tok: Vec<u64>,
}

impl Window {
    /// `n_tasks`: the stage's task count + 1 (index 0 is padding).
    pub fn new(n_tasks: usize, device: Device) -> Self {
        Window {
            loss: 0.0,
            n: 0,
            tokens: 0,
            wait: 0.0,
            start: Instant::now(),
            comm: 0.0,
            comm_bytes: 0,
            buckets: 0,
            early: 0,
            task_nll: Tensor::zeros([n_tasks as i64], (Kind::Double, device)),
            task_tok: vec![0; n_tasks],
        }
    }

    /// Whether per-task losses are kept (a stage of more than one task).
    pub fn per_task(&self) -> bool {
        self.task_tok.len() > 2
    }

    /// Adds a micro-batch's target tokens to its tasks' counts.
    pub fn count_tasks(&mut self, batch: &exc_data::pack::Batch) {
        for &t in &batch.decoder_task_ids {
            if let Some(c) = self.task_tok.get_mut(t as usize) {
                *c += 1;
            }
        }
    }

    /// The window's line (`dist`: the run is data-parallel, so the
    /// allreduce figures are added), and a fresh window after it.
    /// `tasks`: the stage's task names, in the pipeline's order.
    pub fn close(
        &mut self,
        stage: &str,
        step: u64,
        lr: f64,
        total_tokens: u64,
        dist: bool,
        tasks: &[String],
    ) -> Result<TrainLine> {
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let n = self.n.max(1);
        let mut line = TrainLine {
            stage: stage.to_string(),
            step,
            loss: self.loss / self.n as f64,
            lr,
            tokens_per_s: self.tokens as f64 / secs,
            data_wait: self.wait / secs,
            tokens: total_tokens,
            comm: None,
            comm_bytes_per_step: None,
            comm_overlapped: None,
            task_loss: None,
        };
        if dist {
            // Share of the window rank 0 waited for the gradient allreduce
            // after backward (communication not hidden behind compute).
            line.comm = Some(self.comm / secs);
            line.comm_bytes_per_step = Some(self.comm_bytes / n);
            // Share of the collectives launched during backward.
            line.comm_overlapped =
                (self.buckets > 0).then(|| self.early as f64 / self.buckets as f64);
        }
        if self.per_task() {
            // Mean per-token NLL of each task's targets in the window
            // (plain NLL: no label smoothing or z-loss).
            let sums: Vec<f64> = Vec::try_from(self.task_nll.to_device(Device::Cpu))
                .map_err(|e| Error::Input(format!("per-task loss: {e}")))?;
            line.task_loss = Some(
                tasks
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| self.task_tok[i + 1] > 0)
                    .map(|(i, t)| (t.clone(), sums[i + 1] / self.task_tok[i + 1] as f64))
                    .collect(),
            );
        }
        let device = self.task_nll.device();
        *self = Window::new(self.task_tok.len(), device);
        Ok(line)
    }
}
