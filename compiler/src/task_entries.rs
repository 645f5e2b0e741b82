//! A task's entries as one typed record ([`TaskEntries`]), one field per
//! keyword, with `extends` applied: the parent's entries, each replaced by
//! the child's entry of the same keyword; `filter`s add up; `fields` merge
//! by name; a child's `sample`s replace all of its parent's. The checker
//! (`check_task`) then reads each section once, in no particular order.

use crate::ast::{
    Call, EachDecl, FieldDecl, FilterDecl, Name, Number, ReferencesDecl, SourceEntry, TargetDecl,
    TaskEntry, Template, Value,
};
use crate::diagnostic::Diagnostic;
use crate::source::{Span, Spanned};
use indexmap::IndexMap;

/// Every entry a task (with its ancestors) gives.
#[derive(Debug, Clone, Default)]
pub struct TaskEntries {
    pub collection: Option<Name>,
    pub family: Option<Name>,
    pub description: Option<String>,
    pub source: Option<SourceEntry>,
    pub fields: Option<Vec<FieldDecl>>,
    pub filters: Vec<FilterDecl>,
    pub each: Option<EachDecl>,
    pub input: Option<Template>,
    pub target: Option<TargetDecl>,
    /// With the entry's span, which diagnostics about record metrics point to.
    pub references: Option<Spanned<ReferencesDecl>>,
    pub postprocess: Option<Vec<Call>>,
    pub metrics: Option<Vec<Call>>,
    pub decode: Option<Call>,
    pub lengths: Option<Vec<(Name, Spanned<f64>)>>,
    pub examples: Option<Spanned<Number>>,
    pub samples: Vec<Spanned<Value>>,
}

/// `fields` declared later replace earlier ones of the same name; new
/// names come after.
fn merge_fields(into: &mut Option<Vec<FieldDecl>>, fields: &[FieldDecl]) {
    let merged = into.get_or_insert_with(Vec::new);
    for f in fields {
        match merged.iter_mut().find(|m| m.name.node == f.name.node) {
            Some(m) => *m = f.clone(),
            None => merged.push(f.clone()),
        }
    }
}

impl TaskEntries {
    /// `entries` (one declaration's own) applied over `self` (what its
    /// parent gives). Within one declaration a repeated keyword is an
    /// error ([`check_repeats`]); the last one is used.
    pub fn extended_by(mut self, entries: &[Spanned<TaskEntry>]) -> Self {
        if entries
            .iter()
            .any(|e| matches!(e.node, TaskEntry::Sample(_)))
        {
            self.samples.clear();
        }
        for e in entries {
            self.set(e);
        }
        self
    }

    fn set(&mut self, e: &Spanned<TaskEntry>) {
        match &e.node {
            TaskEntry::Collection(n) => self.collection = Some(n.clone()),
            TaskEntry::Family(n) => self.family = Some(n.clone()),
            TaskEntry::Description(s) => self.description = Some(s.clone()),
            TaskEntry::Source(s) => self.source = Some(s.clone()),
            TaskEntry::Fields(f) => merge_fields(&mut self.fields, f),
            TaskEntry::Filter(f) => self.filters.push(f.clone()),
            TaskEntry::Each(x) => self.each = Some(x.clone()),
            TaskEntry::Input(t) => self.input = Some(t.clone()),
            TaskEntry::Target(t) => self.target = Some(t.clone()),
            TaskEntry::References(r) => self.references = Some(Spanned::new(r.clone(), e.span)),
            TaskEntry::Postprocess(c) => self.postprocess = Some(c.clone()),
            TaskEntry::Metrics(c) => self.metrics = Some(c.clone()),
            TaskEntry::Decode(c) => self.decode = Some(c.clone()),
            TaskEntry::Lengths(l) => self.lengths = Some(l.clone()),
            TaskEntry::Examples(n) => self.examples = Some(n.clone()),
            TaskEntry::Sample(s) => self.samples.push(s.clone()),
        }
    }
}

/// A keyword given twice in one declaration (`filter` and `sample` may
/// repeat).
pub fn check_repeats(entries: &[Spanned<TaskEntry>], diags: &mut Vec<Diagnostic>) {
    let mut seen: IndexMap<&str, Span> = IndexMap::new();
    for e in entries {
        let kw = e.node.keyword();
        if matches!(kw, "filter" | "sample") {
            continue;
        }
        if let Some(prev) = seen.get(kw) {
            diags.push(
                Diagnostic::error(
                    "exc::check::duplicate_entry",
                    format!("`{kw}` is given twice in one task"),
                    e.span,
                )
                .label("repeated")
                .related(*prev, "first given here")
                .help(format!("keep one `{kw}`; use `extends` to vary a task")),
            );
        } else {
            seen.insert(kw, e.span);
        }
    }
}
