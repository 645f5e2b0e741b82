//! Parallel tokenization for the pipeline: a small pool of worker threads
//! and a per-task read-ahead queue of rows being tokenized.
//!
//! Why batches stay identical to one thread: turning a row into token ids
//! (render, then tokenize) is a pure function of the row. The pipeline
//! thread still reads rows, in order, from the task's row stream; it sends
//! chunks of them to the pool and consumes the results strictly in reading
//! order. Everything that draws random numbers or decides what comes next
//! (span corruption, chunking, the sampler, the batcher) stays on the
//! pipeline thread and sees the same values in the same order.
//!
//! Why the resume cursor is unchanged: each row read ahead keeps the row
//! stream's cursor from just before it was read, and the task reports the
//! cursor of the first row it has not consumed, which is exactly where the
//! one-thread pipeline's row stream would be.

use std::collections::VecDeque;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde_json::Value;

use crate::error::{DataError, Result};
use crate::pipeline::{Objective, RowCursor};
use crate::tokenizer::T5Tokenizer;

/// Rows per job: big enough that a job outweighs the channel round trip
/// (~1-2k tokens even for one-line documents), small enough to keep memory low.
const CHUNK_ROWS: usize = 64;

/// Chunks read ahead per task: two per worker keeps every worker busy on
/// one dominant task (C4), capped so that a mixture of ~100 tasks on a many-core
/// machine holds at most 1,024 rows per task in memory.
const MAX_CHUNKS_AHEAD: usize = 16;

/// A row turned into token ids.
pub(crate) enum Prepared {
    /// The document's tokens (span corruption).
    Tokens(Vec<i32>),
    /// Tokenized (input, target) pairs (supervised tasks).
    Pairs(Vec<(Vec<i32>, Vec<i32>)>),
}

/// Renders and tokenizes one row as the task's objective needs it.
pub(crate) fn prepare(
    objective: &Objective,
    tok: &T5Tokenizer,
    task: &str,
    row: &Value,
) -> Result<Prepared> {
    match objective {
        Objective::Supervised(render) => {
            let pairs = render(row).map_err(|e| DataError::Render {
                task: task.to_string(),
                place: None,
                message: e.to_string(),
            })?;
            let mut out = Vec::with_capacity(pairs.len());
            for (input, target) in pairs {
                out.push((tok.encode(&input)?, tok.encode(&target)?));
            }
            Ok(Prepared::Pairs(out))
        }
        Objective::SpanCorruption { text_field, .. } => {
            // A missing, null or non-text document would train as an empty
            // one: an error naming the row instead, as a template's is.
            let text = match row.get(text_field) {
                Some(Value::String(s)) => s,
                other => {
                    return Err(DataError::Render {
                        task: task.to_string(),
                        place: None,
                        message: format!(
                            "`{text_field}` should be text, found {}",
                            other.map_or("no such field", |v| match v {
                                Value::Null => "null",
                                Value::Number(_) => "a number",
                                Value::Bool(_) => "a bool",
                                Value::Array(_) => "a list",
                                _ => "a record",
                            })
                        ),
                    })
                }
            };
            Ok(Prepared::Tokens(tok.encode(text)?))
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Worker threads that run jobs; dropping the pool stops and joins them.
pub(crate) struct Pool {
    tx: Option<Sender<Job>>,
    handles: Vec<JoinHandle<()>>,
    size: usize,
}

impl Pool {
    /// Up to `size` threads; None when no thread could be started (the
    /// caller then tokenizes on its own thread).
    pub(crate) fn new(size: usize) -> Option<Self> {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let handles: Vec<JoinHandle<()>> = (0..size.max(1))
            .filter_map(|i| {
                let rx = Arc::clone(&rx);
                let builder = std::thread::Builder::new().name(format!("exc-tokenize-{i}"));
                builder
                    .spawn(move || loop {
                        // The lock is held only while waiting for a job.
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => break,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => break, // the pool was dropped
                        }
                    })
                    .ok()
            })
            .collect();
        if handles.is_empty() {
            return None;
        }
        Some(Pool {
            tx: Some(tx),
            size: handles.len(),
            handles,
        })
    }

    fn submit(&self, job: Job) -> bool {
        self.tx.as_ref().is_some_and(|tx| tx.send(job).is_ok())
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.tx = None;
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

enum Results {
    Ready(VecDeque<Result<Prepared>>),
    Pending(Receiver<Vec<Result<Prepared>>>),
}

struct Chunk {
    /// The row stream's cursor before each row of the chunk.
    cursors: VecDeque<RowCursor>,
    results: Results,
}

/// Rows read ahead for one task, being tokenized by the pool.
#[derive(Default)]
pub(crate) struct ReadAhead {
    chunks: VecDeque<Chunk>,
    /// A row could not be read: read no further (the error is queued).
    stopped: bool,
}

impl ReadAhead {
    /// The cursor of the first row not yet consumed, if one is queued.
    pub(crate) fn front_cursor(&self) -> Option<RowCursor> {
        self.chunks.front().and_then(|c| c.cursors.front().copied())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Keeps `2 x pool size` chunks (at most [`MAX_CHUNKS_AHEAD`]) queued,
    /// reading rows with `next_row`
    /// (which returns the cursor before the row and the row).
    pub(crate) fn top_up(
        &mut self,
        pool: &Pool,
        ctx: &Arc<JobContext>,
        mut next_row: impl FnMut() -> (RowCursor, Result<Value>),
    ) {
        let target = (2 * pool.size).min(MAX_CHUNKS_AHEAD);
        while !self.stopped && self.chunks.len() < target {
            let mut rows = Vec::with_capacity(CHUNK_ROWS);
            let mut cursors = VecDeque::with_capacity(CHUNK_ROWS);
            let mut failure = None;
            while rows.len() < CHUNK_ROWS {
                let (cursor, row) = next_row();
                match row {
                    Ok(row) => {
                        rows.push(row);
                        cursors.push_back(cursor);
                    }
                    Err(e) => {
                        failure = Some((cursor, e));
                        break;
                    }
                }
            }
            if !rows.is_empty() {
                let (tx, rx) = channel();
                let job_ctx = Arc::clone(ctx);
                let job: Job = Box::new(move || {
                    let out = rows
                        .iter()
                        .map(|row| prepare(&job_ctx.objective, &job_ctx.tok, &job_ctx.task, row))
                        .collect();
                    let _ = tx.send(out);
                });
                let results = if pool.submit(job) {
                    Results::Pending(rx)
                } else {
                    let e = DataError::Config("the tokenizer workers stopped".into());
                    Results::Ready(VecDeque::from([Err(e)]))
                };
                self.chunks.push_back(Chunk { cursors, results });
            }
            if let Some((cursor, e)) = failure {
                self.chunks.push_back(Chunk {
                    cursors: VecDeque::from([cursor]),
                    results: Results::Ready(VecDeque::from([Err(e)])),
                });
                self.stopped = true;
            }
        }
    }

    /// The next row's result, in reading order (waits for its job).
    pub(crate) fn pop(&mut self) -> Result<Prepared> {
        let Some(chunk) = self.chunks.front_mut() else {
            return Err(DataError::Config("no rows were read ahead".into()));
        };
        if let Results::Pending(rx) = &chunk.results {
            let done = rx.recv().map_err(|_| {
                DataError::Config("a tokenizer worker stopped before finishing".into())
            })?;
            chunk.results = Results::Ready(done.into());
        }
        chunk.cursors.pop_front();
        let item = match &mut chunk.results {
            Results::Ready(items) => items.pop_front(),
            Results::Pending(_) => None,
        };
        if chunk.cursors.is_empty() {
            self.chunks.pop_front();
        }
        item.unwrap_or_else(|| Err(DataError::Config("a tokenizer job lost a row".into())))
    }
}

/// What a job needs besides its rows (shared by all of a task's jobs).
pub(crate) struct JobContext {
    pub(crate) objective: Objective,
    pub(crate) tok: Arc<T5Tokenizer>,
    pub(crate) task: String,
}
