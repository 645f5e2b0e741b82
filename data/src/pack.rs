//! Examples into fixed-shape batches, by packing (as seqio packs: several
//! examples per row, with segment ids and positions for both stacks) or by
//! padding (one example per row, optionally to the batch's longest example
//! rounded up to a bucket, so short batches cost less).
//!
//! Batches are flat row-major `Vec<i32>`s; the runtime makes tensors.

use crate::objective::Example;

/// How rows are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum Batching {
    /// Several examples per row (next-fit, in arrival order).
    Pack,
    /// One example per row, padded. With a bucket, each batch is padded only
    /// to its longest example rounded up to a multiple of `bucket`.
    Pad {
        /// Round lengths up to a multiple of this (None: always full length).
        bucket: Option<usize>,
    },
}

/// One batch. Every field is `batch_size * length` long, row-major; padding
/// is 0 everywhere (0 is T5's pad id and "no segment").
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Batch {
    /// Rows.
    pub batch_size: usize,
    /// Encoder length of every row.
    pub inputs_length: usize,
    /// Decoder length of every row.
    pub targets_length: usize,
    /// Encoder token ids.
    pub encoder_input_tokens: Vec<i32>,
    /// 1-based example number within the row; 0 for padding.
    pub encoder_segment_ids: Vec<i32>,
    /// Position within the example.
    pub encoder_positions: Vec<i32>,
    /// Decoder targets.
    pub decoder_target_tokens: Vec<i32>,
    /// Targets shifted right within each example, starting with 0.
    pub decoder_input_tokens: Vec<i32>,
    /// 1-based example number within the row; 0 for padding.
    pub decoder_segment_ids: Vec<i32>,
    /// Position within the example.
    pub decoder_positions: Vec<i32>,
    /// 1 on real target tokens, 0 on padding.
    pub decoder_loss_weights: Vec<i32>,
    /// 1 + the mixture index of the task each target token came from; 0 on
    /// padding (so that the loss can be reported per task).
    #[serde(default)]
    pub decoder_task_ids: Vec<i32>,
    /// Examples in the batch (for throughput counters).
    pub examples: usize,
}

/// One row being filled.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Row {
    /// The examples in the row, in order.
    pub examples: Vec<Example>,
    /// The mixture index of each example's task.
    #[serde(default)]
    pub tasks: Vec<u32>,
    inputs: usize,
    targets: usize,
}

impl Row {
    fn fits(&self, ex: &Example, li: usize, lt: usize) -> bool {
        self.inputs + ex.inputs.len() <= li && self.targets + ex.targets.len() <= lt
    }

    fn push(&mut self, ex: Example, task: u32) {
        self.inputs += ex.inputs.len();
        self.targets += ex.targets.len();
        self.examples.push(ex);
        self.tasks.push(task);
    }
}

/// Groups examples into rows and rows into batches.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Batcher {
    /// Rows per batch.
    pub batch_size: usize,
    /// Encoder length.
    pub inputs_length: usize,
    /// Decoder length.
    pub targets_length: usize,
    /// Packing or padding.
    pub mode: Batching,
    /// The row being packed (part of a pipeline's cursor).
    pub open: Row,
    /// Finished rows waiting for a batch.
    pub rows: Vec<Row>,
}

impl Batcher {
    /// An empty batcher.
    pub fn new(
        batch_size: usize,
        inputs_length: usize,
        targets_length: usize,
        mode: Batching,
    ) -> Self {
        Batcher {
            batch_size,
            inputs_length,
            targets_length,
            mode,
            open: Row::default(),
            rows: Vec::new(),
        }
    }

    /// Adds an example (already cut to the lengths; longer ones are cut here
    /// as a last resort so shapes always hold). Returns a batch when full.
    pub fn push(&mut self, ex: Example) -> Option<Batch> {
        self.push_tagged(ex, 0)
    }

    /// [`Batcher::push`] for an example of the mixture's task `task`.
    pub fn push_tagged(&mut self, mut ex: Example, task: u32) -> Option<Batch> {
        ex.inputs.truncate(self.inputs_length);
        ex.targets.truncate(self.targets_length);
        match self.mode {
            Batching::Pad { .. } => {
                let mut row = Row::default();
                row.push(ex, task);
                self.rows.push(row);
            }
            Batching::Pack => {
                if !self.open.fits(&ex, self.inputs_length, self.targets_length) {
                    self.rows.push(std::mem::take(&mut self.open));
                }
                self.open.push(ex, task);
            }
        }
        if self.rows.len() >= self.batch_size {
            let rows: Vec<Row> = self.rows.drain(..self.batch_size).collect();
            Some(self.build(&rows))
        } else {
            None
        }
    }

    /// Whatever is left, as a final (possibly short-rowed) batch.
    pub fn flush(&mut self) -> Option<Batch> {
        if !self.open.examples.is_empty() {
            self.rows.push(std::mem::take(&mut self.open));
        }
        if self.rows.is_empty() {
            return None;
        }
        let rows: Vec<Row> = std::mem::take(&mut self.rows);
        Some(self.build(&rows))
    }

    fn build(&self, rows: &[Row]) -> Batch {
        let (li, lt) = match self.mode {
            Batching::Pad { bucket: Some(b) } if b > 0 => {
                let up = |n: usize, max: usize| (n.div_ceil(b) * b).clamp(1, max);
                let mi = rows.iter().map(|r| r.inputs).max().unwrap_or(0);
                let mt = rows.iter().map(|r| r.targets).max().unwrap_or(0);
                (up(mi, self.inputs_length), up(mt, self.targets_length))
            }
            _ => (self.inputs_length, self.targets_length),
        };
        let n = self.batch_size;
        let mut b = Batch {
            batch_size: n,
            inputs_length: li,
            targets_length: lt,
            encoder_input_tokens: vec![0; n * li],
            encoder_segment_ids: vec![0; n * li],
            encoder_positions: vec![0; n * li],
            decoder_target_tokens: vec![0; n * lt],
            decoder_input_tokens: vec![0; n * lt],
            decoder_segment_ids: vec![0; n * lt],
            decoder_positions: vec![0; n * lt],
            decoder_loss_weights: vec![0; n * lt],
            decoder_task_ids: vec![0; n * lt],
            examples: rows.iter().map(|r| r.examples.len()).sum(),
        };
        for (r, row) in rows.iter().enumerate() {
            let (mut pi, mut pt) = (r * li, r * lt);
            for (s, ex) in row.examples.iter().enumerate() {
                let seg = s as i32 + 1;
                let task = row.tasks.get(s).map_or(0, |&t| t as i32 + 1);
                for (p, &t) in ex.inputs.iter().enumerate() {
                    b.encoder_input_tokens[pi] = t;
                    b.encoder_segment_ids[pi] = seg;
                    b.encoder_positions[pi] = p as i32;
                    pi += 1;
                }
                for (p, &t) in ex.targets.iter().enumerate() {
                    b.decoder_target_tokens[pt] = t;
                    // Shift right within the example: each starts from 0.
                    b.decoder_input_tokens[pt] = if p == 0 { 0 } else { ex.targets[p - 1] };
                    b.decoder_segment_ids[pt] = seg;
                    b.decoder_positions[pt] = p as i32;
                    b.decoder_loss_weights[pt] = 1;
                    b.decoder_task_ids[pt] = task;
                    pt += 1;
                }
            }
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(i: &[i32], t: &[i32]) -> Example {
        Example {
            inputs: i.to_vec(),
            targets: t.to_vec(),
        }
    }

    #[test]
    fn packs_like_seqio() {
        let mut b = Batcher::new(1, 6, 4, Batching::Pack);
        assert!(b.push(ex(&[5, 6, 1], &[7, 1])).is_none());
        assert!(b.push(ex(&[8, 1], &[9, 1])).is_none());
        let batch = b.push(ex(&[3, 3, 3, 1], &[4, 1])).unwrap();
        assert_eq!(batch.encoder_input_tokens, vec![5, 6, 1, 8, 1, 0]);
        assert_eq!(batch.encoder_segment_ids, vec![1, 1, 1, 2, 2, 0]);
        assert_eq!(batch.encoder_positions, vec![0, 1, 2, 0, 1, 0]);
        assert_eq!(batch.decoder_target_tokens, vec![7, 1, 9, 1]);
        assert_eq!(batch.decoder_input_tokens, vec![0, 7, 0, 9]);
        assert_eq!(batch.decoder_segment_ids, vec![1, 1, 2, 2]);
        assert_eq!(batch.decoder_positions, vec![0, 1, 0, 1]);
        assert_eq!(batch.examples, 2);
    }

    #[test]
    fn target_tokens_carry_their_task() {
        let mut b = Batcher::new(2, 6, 4, Batching::Pack);
        assert!(b.push_tagged(ex(&[5, 1], &[7, 1]), 2).is_none());
        assert!(b.push_tagged(ex(&[8, 1], &[9]), 0).is_none());
        assert!(b.push_tagged(ex(&[3, 3, 3, 1], &[4, 1, 1]), 1).is_none());
        let batch = b.push_tagged(ex(&[2, 2, 2], &[2]), 0).unwrap();
        assert_eq!(batch.decoder_task_ids, vec![3, 3, 1, 0, 2, 2, 2, 0]);
        let mut p = Batcher::new(1, 6, 4, Batching::Pad { bucket: None });
        let batch = p.push_tagged(ex(&[5, 1], &[7, 1]), 4).unwrap();
        assert_eq!(batch.decoder_task_ids, vec![5, 5, 0, 0]);
    }

    #[test]
    fn pads_to_buckets() {
        let mut b = Batcher::new(2, 512, 114, Batching::Pad { bucket: Some(64) });
        assert!(b.push(ex(&[1; 70], &[1; 3])).is_none());
        let batch = b.push(ex(&[1; 10], &[1; 5])).unwrap();
        assert_eq!((batch.inputs_length, batch.targets_length), (128, 64));
        assert_eq!(batch.encoder_segment_ids[128 + 9], 1);
        assert_eq!(batch.encoder_segment_ids[128 + 10], 0);
    }
}
