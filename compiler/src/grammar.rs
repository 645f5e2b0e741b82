//! The grammar (`grammar/exc.pest`, compiled by pest into [`Grammar`] and
//! its [`Rule`]s) and what the rest of the compiler knows of it without
//! pest: the keywords that start each kind of entry, and how deep values
//! may nest. `syntax` turns its parse into the AST, `syntax_error` its
//! failures into diagnostics; both read this module, neither the other.

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/exc.pest"]
pub(crate) struct Grammar;

/// Keywords that start an entry, by where they are expected.
pub const TASK_KEYWORDS: &[&str] = &[
    "collection",
    "family",
    "description",
    "source",
    "fields",
    "filter",
    "each",
    "input",
    "target",
    "references",
    "postprocess",
    "metrics",
    "decode",
    "lengths",
    "examples",
    "sample",
];
pub const MIXTURE_KEYWORDS: &[&str] = &[
    "use",
    "select",
    "exclude",
    "subset",
    "rates",
    "c4",
    "model",
    "train",
    "pretrain",
    "finetune",
    "evaluate",
    "sweep",
    "description",
];
pub const TOP_KEYWORDS: &[&str] = &["task", "mixture", "include", "abstract"];

/// Values and types nested deeper than this are refused: nothing exc reads
/// needs more than a few levels, and every stage after the parser walks the
/// tree recursively.
pub const MAX_NESTING: usize = 32;
