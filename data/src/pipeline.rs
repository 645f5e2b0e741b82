//! The whole data path for training: per-task row streams (windowed shuffle,
//! endless epochs with a new order each epoch), objectives, the mixture
//! sampler and the batcher, with a small serialisable [`PipelineCursor`]:
//! a pipeline restored from a cursor yields exactly the batches the original
//! would have yielded next.
//!
//! Why a windowed shuffle rather than tf.data's sliding buffer: a window is
//! re-read from its start position and reshuffled with the same seed, so the
//! cursor holds a source position and an index, not the buffer's contents.
//! Restoring costs re-reading at most one window (and one group of 128 C4
//! documents), never the data seen before it.
//!
//! Tokenization can run on a pool of worker threads ([`Pipeline::with_workers`],
//! and [`Pipeline::spawn`] uses every core): the batches and cursors are the
//! same as with one thread (the private `workers` module says why).

use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use serde_json::Value;

use crate::error::{DataError, Result};
use crate::objective::span::{Chunker, SpanCorruption};
use crate::objective::supervised::{supervised_example, Lengths, TruncationCounts};
use crate::objective::Example;
use crate::pack::{Batch, Batcher, Batching};
use crate::rng::Rng;
pub use crate::row_counts::RowCounts;
use crate::sampler::{MixtureSampler, SamplerSpec};
use crate::source::{ReadOptions, SourceFile, SourceFiles, SourcePosition};
use crate::tokenizer::T5Tokenizer;
use crate::workers::{prepare, JobContext, Pool, Prepared, ReadAhead};

/// Turns one row into `(input text, target text)` pairs (the compiler's
/// renderer, behind a closure so this crate does not need the plan types).
pub type Renderer =
    Arc<dyn Fn(&Value) -> std::result::Result<Vec<(String, String)>, String> + Send + Sync>;

/// What a task makes of its rows.
#[derive(Clone)]
pub enum Objective {
    /// Rendered input/target pairs, truncated to the lengths with EOS.
    Supervised(Renderer),
    /// T5 span corruption of the text in `text_field` (C4).
    SpanCorruption {
        /// Span settings.
        spec: SpanCorruption,
        /// The row field holding the document.
        text_field: String,
    },
}

/// One task of the mixture.
#[derive(Clone)]
pub struct TaskSpec {
    /// Task name (for cursors, counters and messages).
    pub name: String,
    /// Its files, read in order (see [`crate::task_source::locate_split`]).
    pub files: Vec<SourceFile>,
    /// How to read them.
    pub read: ReadOptions,
    /// What to make of each row.
    pub objective: Objective,
    /// Rows shuffled together (bounded memory); 1 disables shuffling.
    pub shuffle_window: usize,
}

/// Everything a pipeline needs besides the tokenizer.
#[derive(Clone)]
pub struct PipelineSpec {
    /// The tasks; their order fixes the cursor's layout.
    pub tasks: Vec<TaskSpec>,
    /// One rate per task (unnormalised).
    pub rates: Vec<f64>,
    /// The run's data seed.
    pub seed: u64,
    /// Rows per batch.
    pub batch_size: usize,
    /// Encoder and decoder lengths.
    pub lengths: Lengths,
    /// Packing or padding.
    pub batching: Batching,
}

/// Where a task's row stream is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowCursor {
    /// Passes over the source completed.
    pub epoch: u64,
    /// Source position where the current window starts.
    pub window_start: SourcePosition,
    /// Rows of the window already handed out.
    pub index: usize,
    /// Rows a join dropped (`unmatched drop`) in every window read so far,
    /// the current one included: a window's drops are counted when it is
    /// read, since its kept rows are shuffled. Absent (0) in cursors saved
    /// before drops were counted.
    #[serde(default)]
    pub unmatched: u64,
}

struct RowStream {
    /// The task's name (for messages).
    name: String,
    task: u64,
    seed: u64,
    window: usize,
    files: Vec<SourceFile>,
    read: ReadOptions,
    source: SourceFiles,
    epoch: u64,
    window_start: SourcePosition,
    buf: Vec<Value>,
    idx: usize,
    /// Join drops of the windows before the current one, and of it.
    unmatched_before: u64,
    unmatched_window: u64,
}

impl RowStream {
    fn open(spec: &TaskSpec, task: u64, seed: u64, at: RowCursor) -> Result<Self> {
        let source = SourceFiles::at(spec.files.clone(), spec.read.clone(), at.window_start)?;
        let mut s = RowStream {
            name: spec.name.clone(),
            task,
            seed,
            window: spec.shuffle_window.max(1),
            files: spec.files.clone(),
            read: spec.read.clone(),
            source,
            epoch: at.epoch,
            window_start: at.window_start,
            buf: Vec::new(),
            idx: 0,
            unmatched_before: 0,
            unmatched_window: 0,
        };
        s.fill()?;
        s.idx = at.index.min(s.buf.len());
        // The window was read again, its drops counted again: the cursor's
        // count already holds them.
        s.unmatched_before = at.unmatched.saturating_sub(s.unmatched_window);
        Ok(s)
    }

    fn fill(&mut self) -> Result<()> {
        self.window_start = self.source.position();
        self.buf.clear();
        self.unmatched_before += self.unmatched_window;
        let dropped = self.source.dropped();
        for row in self.source.by_ref().take(self.window) {
            self.buf.push(row?);
        }
        self.unmatched_window = self.source.dropped() - dropped;
        let ws = self.window_start;
        let mut rng = Rng::derive(self.seed, &[self.task, self.epoch, ws.file as u64, ws.row]);
        rng.shuffle(&mut self.buf);
        self.idx = 0;
        Ok(())
    }

    fn next(&mut self) -> Result<Value> {
        if self.idx >= self.buf.len() {
            self.fill()?;
            if self.buf.is_empty() {
                // End of the source: the next epoch, in a new order.
                self.epoch += 1;
                self.source = SourceFiles::new(self.files.clone(), self.read.clone())?;
                self.fill()?;
                if self.buf.is_empty() && self.unmatched_window > 0 {
                    return Err(DataError::AllDropped {
                        task: self.name.clone(),
                        split: "train".into(),
                        counts: RowCounts {
                            unmatched: self.unmatched_window,
                            ..RowCounts::default()
                        },
                    });
                }
                if self.buf.is_empty() {
                    return Err(DataError::no_rows(
                        &self
                            .files
                            .first()
                            .map(SourceFile::describe)
                            .unwrap_or_default(),
                    ));
                }
            }
        }
        let row = std::mem::take(&mut self.buf[self.idx]);
        self.idx += 1;
        Ok(row)
    }

    fn cursor(&self) -> RowCursor {
        RowCursor {
            epoch: self.epoch,
            window_start: self.window_start,
            index: self.idx,
            unmatched: self.unmatched_before + self.unmatched_window,
        }
    }

    /// Where in the source files the row after cursor `at` is, as
    /// "`file`, row N". Rows are shuffled within windows and their places
    /// are not kept, so the window is read again and shuffled as [`fill`]
    /// (`Self::fill`) did: a cost paid only for a row that failed.
    fn place_of(&self, at: RowCursor) -> Option<String> {
        let mut source =
            SourceFiles::at(self.files.clone(), self.read.clone(), at.window_start).ok()?;
        let (mut epoch, mut index, mut restarted) = (at.epoch, at.index, false);
        loop {
            let start = source.position();
            let mut places = Vec::new();
            for _ in 0..self.window {
                match source.next() {
                    Some(Ok(_)) => {
                        let (file, row) = source.last_place()?;
                        places.push(format!("`{}`, row {row}", file.describe()));
                    }
                    Some(Err(_)) => return None,
                    None => break,
                }
            }
            if places.is_empty() {
                // Past the end: the next epoch starts from the beginning.
                if restarted {
                    return None;
                }
                restarted = true;
                epoch += 1;
                source = SourceFiles::new(self.files.clone(), self.read.clone()).ok()?;
                continue;
            }
            if index < places.len() {
                let mut rng =
                    Rng::derive(self.seed, &[self.task, epoch, start.file as u64, start.row]);
                rng.shuffle(&mut places);
                return places.get(index).cloned();
            }
            // The cursor sat at the end of its window: the row opens the next.
            index -= places.len();
        }
    }
}

/// Where a task is: the start of the unit being emitted (one row, or one
/// group of C4 documents) and how many of its examples were handed out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskCursor {
    /// Row stream at the unit's start.
    pub rows: RowCursor,
    /// Examples of the unit already emitted.
    pub skip: usize,
    /// Documents/rows consumed before the unit (seeds the draws).
    pub units: u64,
    /// Truncation counters before the unit.
    pub counts: TruncationCounts,
    /// Rows taken and rows that gave no example before the unit (the
    /// join's drops are in [`RowCursor::unmatched`]; here they are 0).
    /// Absent (0) in cursors saved before rows were counted.
    #[serde(default)]
    pub row_counts: RowCounts,
    /// The counts through the unit's end (its rows read, its examples
    /// made), for reports only: a resumed stream refills the unit from the
    /// counts before it. Absent in cursors saved before it was kept.
    #[serde(default)]
    pub through: Option<Through>,
}

/// A task's counts through the end of the unit being emitted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Through {
    pub rows: RowCounts,
    pub counts: TruncationCounts,
}

impl TaskCursor {
    /// What became of the task's rows through the unit being emitted (or
    /// before it, in older cursors): rows taken, rows without an example
    /// and rows a join dropped.
    pub fn rows_counted(&self) -> RowCounts {
        match self.through {
            Some(t) => t.rows,
            None => RowCounts {
                unmatched: self.rows.unmatched,
                ..self.row_counts
            },
        }
    }

    /// Truncation counts (and examples) through the unit being emitted.
    pub fn counts_through(&self) -> TruncationCounts {
        self.through.map_or(self.counts, |t| t.counts)
    }
}

struct TaskStream {
    name: String,
    seed: u64,
    task: u64,
    objective: Objective,
    rows: RowStream,
    tok: Arc<T5Tokenizer>,
    lengths: Lengths,
    raw_length: usize,
    pending: VecDeque<Example>,
    at: TaskCursor,
    units: u64,
    counts: TruncationCounts,
    row_counts: RowCounts,
    /// Tokenizer workers (None: tokenize on the pipeline thread).
    pool: Option<Arc<Pool>>,
    ahead: ReadAhead,
    ctx: Arc<JobContext>,
}

impl TaskStream {
    fn open(
        spec: &TaskSpec,
        task: u64,
        seed: u64,
        tok: Arc<T5Tokenizer>,
        lengths: Lengths,
        at: TaskCursor,
    ) -> Result<Self> {
        let raw_length = match &spec.objective {
            Objective::SpanCorruption { spec: sc, .. } => {
                let (raw, targets) = sc.raw_length_for(lengths.inputs)?;
                if targets > lengths.targets {
                    return Err(DataError::Config(format!(
                        "task `{}`: span corruption of {} inputs needs targets length {targets}, \
                         the plan has {}",
                        spec.name, lengths.inputs, lengths.targets
                    )));
                }
                raw
            }
            Objective::Supervised(_) => 0,
        };
        let ctx = Arc::new(JobContext {
            objective: spec.objective.clone(),
            tok: tok.clone(),
            task: spec.name.clone(),
        });
        let mut s = TaskStream {
            pool: None,
            ahead: ReadAhead::default(),
            ctx,
            name: spec.name.clone(),
            seed,
            task,
            objective: spec.objective.clone(),
            rows: RowStream::open(spec, task, seed, at.rows)?,
            tok,
            lengths,
            raw_length,
            pending: VecDeque::new(),
            at,
            units: at.units,
            counts: at.counts,
            row_counts: at.row_counts,
        };
        if at.skip > 0 {
            s.fill_unit()?;
            for _ in 0..at.skip {
                s.pending.pop_front();
            }
            s.at.skip = at.skip;
        }
        Ok(s)
    }

    /// The row stream's cursor before the next row to consume (rows read
    /// ahead for the workers do not count as consumed).
    fn next_cursor(&self) -> RowCursor {
        self.ahead
            .front_cursor()
            .unwrap_or_else(|| self.rows.cursor())
    }

    /// The next row, rendered and tokenized (by the workers when there are).
    /// A row that does not render is named by file and row.
    fn next_prepared(&mut self) -> Result<Prepared> {
        let at = self.next_cursor();
        let item = self.next_prepared_unplaced();
        match item {
            Err(DataError::Render {
                task,
                place: None,
                message,
            }) => Err(DataError::Render {
                place: self.rows.place_of(at),
                task,
                message,
            }),
            other => other,
        }
    }

    fn next_prepared_unplaced(&mut self) -> Result<Prepared> {
        let Some(pool) = &self.pool else {
            if self.ahead.is_empty() {
                let row = self.rows.next()?;
                return prepare(&self.objective, &self.tok, &self.name, &row);
            }
            return self.ahead.pop();
        };
        let rows = &mut self.rows;
        let mut read = || (rows.cursor(), rows.next());
        self.ahead.top_up(pool, &self.ctx, &mut read);
        let item = self.ahead.pop();
        // Refill now so that the workers are busy while this row is used.
        self.ahead.top_up(pool, &self.ctx, &mut read);
        item
    }

    /// Produces the next unit's examples into `pending`.
    fn fill_unit(&mut self) -> Result<()> {
        self.at = TaskCursor {
            rows: self.next_cursor(),
            skip: 0,
            units: self.units,
            counts: self.counts,
            row_counts: self.row_counts,
            through: None,
        };
        let eos = self.tok.eos_id();
        match &self.objective {
            Objective::Supervised(_) => {
                let first_epoch = self.at.rows.epoch;
                while self.pending.is_empty() {
                    let Prepared::Pairs(pairs) = self.next_prepared()? else {
                        return Err(mismatch(&self.name));
                    };
                    self.units += 1;
                    self.row_counts.rows += 1;
                    if pairs.is_empty() {
                        self.row_counts.filtered += 1;
                        self.no_example_in_an_epoch(first_epoch)?;
                    }
                    for (input, target) in pairs {
                        let ex =
                            supervised_example(input, target, self.lengths, eos, &mut self.counts);
                        self.pending.push_back(ex);
                    }
                }
            }
            Objective::SpanCorruption { spec, .. } => {
                let spec = *spec;
                let sentinel = self.tok.sentinel(0).ok_or_else(|| {
                    DataError::Config(
                        "span corruption needs `<extra_id_0>` in the vocabulary".into(),
                    )
                })?;
                let mut chunker = Chunker::new(spec, self.raw_length)?;
                let mut segments = Vec::new();
                // One group of documents is one unit: the cursor can only
                // sit between groups, since segments cross documents.
                loop {
                    let Prepared::Tokens(tokens) = self.next_prepared()? else {
                        return Err(mismatch(&self.name));
                    };
                    let mut rng = Rng::derive(self.seed, &[self.task, 1, self.units]);
                    self.units += 1;
                    self.row_counts.rows += 1;
                    chunker.push(&tokens, &mut rng, &mut segments);
                    if chunker.at_group_start() && !segments.is_empty() {
                        break;
                    }
                }
                // Each corrupted segment is one example (they are cut to
                // length by construction: nothing is truncated).
                self.counts.examples += segments.len() as u64;
                for (i, seg) in segments.iter().enumerate() {
                    let mut rng = Rng::derive(self.seed, &[self.task, 2, self.units, i as u64]);
                    self.pending
                        .push_back(spec.corrupt(seg, &mut rng, sentinel, eos));
                }
            }
        }
        self.at.through = Some(Through {
            rows: RowCounts {
                unmatched: self.next_cursor().unmatched,
                ..self.row_counts
            },
            counts: self.counts,
        });
        Ok(())
    }

    /// A task whose rows give no example (a filter that drops every one)
    /// would be read epoch after epoch for ever: once a whole epoch passed
    /// within one unit without an example, that is an error. The cursor
    /// before a row names its epoch, or the one before at an epoch's end,
    /// so a row two epochs past the unit's first means every row of the
    /// epoch between gave none; rendering is deterministic, so no later
    /// epoch would either.
    fn no_example_in_an_epoch(&self, first_epoch: u64) -> Result<()> {
        if self.next_cursor().epoch < first_epoch + 2 {
            return Ok(());
        }
        Err(DataError::AllDropped {
            task: self.name.clone(),
            split: "train".into(),
            counts: RowCounts {
                unmatched: self.next_cursor().unmatched,
                ..self.row_counts
            },
        })
    }

    fn next_example(&mut self) -> Result<Example> {
        if self.pending.is_empty() {
            self.fill_unit()?;
        }
        self.at.skip += 1;
        self.pending
            .pop_front()
            .ok_or_else(|| DataError::Config(format!("task `{}` produced no examples", self.name)))
    }
}

/// The pipeline's whole state between two batches.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PipelineCursor {
    /// Format version of this structure.
    pub version: u32,
    /// Task names, to refuse a cursor from another mixture.
    pub task_names: Vec<String>,
    /// One cursor per task.
    pub tasks: Vec<TaskCursor>,
    /// The sampler's RNG.
    pub sampler: Rng,
    /// Examples already placed in rows not yet batched.
    pub batcher: Batcher,
}

impl PipelineCursor {
    /// Each task's row and truncation counts through its current unit:
    /// what the run report shows, carried across a resume by the cursor.
    pub fn counts(&self) -> impl Iterator<Item = (String, RowCounts, TruncationCounts)> + '_ {
        self.task_names
            .iter()
            .zip(&self.tasks)
            .map(|(n, t)| (n.clone(), t.rows_counted(), t.counts_through()))
    }
}

/// Sources to batches.
pub struct Pipeline {
    tasks: Vec<TaskStream>,
    sampler: MixtureSampler,
    batcher: Batcher,
}

impl Pipeline {
    /// A pipeline from the start, or from `cursor`.
    pub fn new(
        spec: &PipelineSpec,
        tok: Arc<T5Tokenizer>,
        cursor: Option<&PipelineCursor>,
    ) -> Result<Self> {
        if spec.rates.len() != spec.tasks.len() {
            return Err(DataError::Config("one rate per task is needed".into()));
        }
        let names: Vec<String> = spec.tasks.iter().map(|t| t.name.clone()).collect();
        if let Some(c) = cursor {
            if c.version != 1 || c.task_names != names {
                return Err(DataError::Cursor(
                    "the cursor was saved by a pipeline with other tasks".into(),
                ));
            }
        }
        let mut tasks = Vec::with_capacity(spec.tasks.len());
        for (i, t) in spec.tasks.iter().enumerate() {
            let at = cursor
                .and_then(|c| c.tasks.get(i).copied())
                .unwrap_or_default();
            tasks.push(TaskStream::open(
                t,
                i as u64,
                spec.seed,
                tok.clone(),
                spec.lengths,
                at,
            )?);
        }
        let mut sampler = MixtureSampler::new(&SamplerSpec {
            tasks: names.into_iter().zip(spec.rates.iter().copied()).collect(),
            seed: spec.seed,
        })?;
        let batcher = match cursor {
            Some(c) => {
                sampler.set_state(c.sampler);
                // The rows per batch are the spec's, not the cursor's: a
                // data-parallel run resumed at another world size splits
                // the same stream of rows into other micro-batches. A
                // cursor is taken between batches, so no finished row waits.
                let mut b = c.batcher.clone();
                if b.batch_size != spec.batch_size {
                    if !b.rows.is_empty() {
                        return Err(DataError::Cursor(format!(
                            "the cursor holds {} finished rows of a batch of {}; it cannot \
                             continue with batches of {}",
                            b.rows.len(),
                            b.batch_size,
                            spec.batch_size
                        )));
                    }
                    b.batch_size = spec.batch_size;
                }
                b
            }
            None => Batcher::new(
                spec.batch_size,
                spec.lengths.inputs,
                spec.lengths.targets,
                spec.batching,
            ),
        };
        Ok(Pipeline {
            tasks,
            sampler,
            batcher,
        })
    }

    /// The next batch (the mixture is endless: tasks cycle epoch after epoch).
    pub fn next_batch(&mut self) -> Result<Batch> {
        loop {
            let t = self.sampler.next_task();
            let ex = self.tasks[t].next_example()?;
            if let Some(batch) = self.batcher.push_tagged(ex, t as u32) {
                return Ok(batch);
            }
        }
    }

    /// The state after the last batch returned.
    pub fn cursor(&self) -> PipelineCursor {
        PipelineCursor {
            version: 1,
            task_names: self.tasks.iter().map(|t| t.name.clone()).collect(),
            tasks: self.tasks.iter().map(|t| t.at).collect(),
            sampler: self.sampler.state(),
            batcher: self.batcher.clone(),
        }
    }

    /// Truncation counters per task, for the run report.
    pub fn truncation(&self) -> Vec<(String, TruncationCounts)> {
        self.tasks
            .iter()
            .map(|t| (t.name.clone(), t.counts))
            .collect()
    }

    /// What became of each task's rows (as of [`Self::cursor`]).
    pub fn row_counts(&self) -> Vec<(String, RowCounts)> {
        self.cursor().counts().map(|(n, r, _)| (n, r)).collect()
    }

    /// Tokenizes on `workers` threads (0 or 1: on the calling thread, the
    /// default). Batches and cursors do not depend on it.
    pub fn with_workers(mut self, workers: usize) -> Self {
        let pool = if workers >= 2 {
            Pool::new(workers).map(Arc::new)
        } else {
            None
        };
        for t in &mut self.tasks {
            t.pool = pool.clone();
        }
        self
    }

    /// Runs the pipeline on a thread that stays at most `depth` batches
    /// ahead, tokenizing on one worker per available core; each batch comes
    /// with the cursor to save after it.
    pub fn spawn(self, depth: usize) -> Receiver<Result<(Batch, PipelineCursor)>> {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.spawn_with_workers(depth, workers)
    }

    /// [`Self::spawn`] with an explicit number of tokenizer workers.
    pub fn spawn_with_workers(
        self,
        depth: usize,
        workers: usize,
    ) -> Receiver<Result<(Batch, PipelineCursor)>> {
        let mut this = self.with_workers(workers);
        let (tx, rx) = sync_channel(depth.max(1));
        std::thread::spawn(move || loop {
            let item = this.next_batch().map(|b| (b, this.cursor()));
            let failed = item.is_err();
            if tx.send(item).is_err() || failed {
                break;
            }
        });
        rx
    }
}

fn mismatch(task: &str) -> DataError {
    DataError::Config(format!(
        "task `{task}`: a row was prepared for another objective"
    ))
}
