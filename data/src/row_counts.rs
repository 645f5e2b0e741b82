//! What became of a task's rows, counted by the pipeline and reported by
//! its errors (`DataError::AllDropped`) and the run: its own module, so
//! that `error` and `pipeline` both read it without reading each other.

/// What became of a task's rows: how many it took, how many gave no
/// example and how many a join dropped. Never silent: the run report and
/// `DONE` show them next to the truncation counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowCounts {
    /// Rows that reached the objective (rendered, or span-corrupted).
    pub rows: u64,
    /// Of those, rows that rendered to no example: a `filter` dropped them
    /// (or an `each` over an empty list).
    pub filtered: u64,
    /// Rows a join dropped before rendering (`unmatched drop`).
    pub unmatched: u64,
}

impl RowCounts {
    /// Rows read from the source: those rendered and those a join dropped.
    pub fn read(&self) -> u64 {
        self.rows + self.unmatched
    }

    /// Adds another stream's counts.
    pub fn add(&mut self, o: &RowCounts) {
        self.rows += o.rows;
        self.filtered += o.filtered;
        self.unmatched += o.unmatched;
    }
}
