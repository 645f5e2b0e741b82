//! One metric, described once: [`MetricSpec`] holds its name, the target
//! kinds it fits, the target shape it reads, its option schema and the
//! function that scores. The compiler, `exc metric`, evaluation and the
//! language server all read these; `registry` lists them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::options::{check_all, OptionSpec, Options, Opts};
use crate::report::{MetricError, Report};

/// What a task's scored target is, after postprocessing: decides which
/// metrics fit it (the compiler's `ir::TargetKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Class,
    Number,
    Text,
}

impl TargetKind {
    /// The kind in a sentence: "scores a class label".
    pub fn describe(self) -> &'static str {
        match self {
            Self::Class => "a class label",
            Self::Number => "a number",
            Self::Text => "text",
        }
    }
}

/// What a metric's scoring function is given: predictions and targets of
/// equal, non-zero length, options already checked against its schema.
pub struct Input<'a> {
    pub preds: &'a [String],
    pub targets: &'a [Value],
    pub opts: Opts<'a>,
    /// The metric an option of kind `Metric` names, resolved by the registry.
    pub inner: Option<&'static MetricSpec>,
}

/// Scores one input.
pub type Score = fn(&Input<'_>) -> Result<Report, MetricError>;

/// Everything about one metric.
#[derive(Debug)]
pub struct MetricSpec {
    /// Canonical name.
    pub name: &'static str,
    /// Other names accepted for it.
    pub aliases: &'static [&'static str],
    /// One-line description, including the reference it matches.
    pub summary: &'static str,
    /// The shape of one target (reference) row, in words.
    pub targets: &'static str,
    /// Target kinds the metric can score; empty means any.
    pub kinds: &'static [TargetKind],
    /// The fields of a record target (`references { … }` in a task);
    /// `None` for metrics that score text.
    pub record_fields: Option<&'static [&'static str]>,
    /// Scores class ids: a class target's names become its `labels`
    /// (id = position), as T5's `label_to_id` does.
    pub class_ids: bool,
    pub options: &'static [OptionSpec],
    pub score: Score,
}

impl MetricSpec {
    /// Whether `name` is this metric's name or an alias.
    pub fn is_named(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }

    /// Its option called `k`, or else `inner`'s (options pass through).
    pub fn option(&self, k: &str, inner: Option<&MetricSpec>) -> Option<&'static OptionSpec> {
        self.options
            .iter()
            .chain(inner.map_or(&[][..], |i| i.options))
            .find(|o| o.name == k)
    }

    /// Whether it scores targets of `kind`.
    pub fn fits(&self, kind: TargetKind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }

    /// Refuses options it (or `inner`) does not take and values its schema
    /// does not accept.
    pub fn check_options(
        &self,
        options: &Options,
        inner: Option<&MetricSpec>,
    ) -> Result<(), MetricError> {
        check_all(
            self.name,
            options,
            self.options,
            inner.map_or(&[][..], |i| i.options),
        )
    }

    /// Checks options and lengths, then scores.
    pub fn run(
        &self,
        preds: &[String],
        targets: &[Value],
        options: &Options,
        inner: Option<&'static MetricSpec>,
    ) -> Result<Report, MetricError> {
        self.check_options(options, inner)?;
        if preds.len() != targets.len() {
            return Err(MetricError::LengthMismatch {
                predictions: preds.len(),
                targets: targets.len(),
            });
        }
        if preds.is_empty() {
            return Err(MetricError::Empty);
        }
        (self.score)(&Input {
            preds,
            targets,
            opts: Opts::new(self.options, options),
            inner,
        })
    }
}
