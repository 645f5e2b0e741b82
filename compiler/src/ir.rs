//! The checked, span-free form of tasks. These types are also the task part
//! of the plan, so they are serde types and field order is part of the format.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

pub use crate::ast::CmpOp;

/// The type of a dataset field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Type {
    Text,
    Int,
    Float,
    Bool,
    /// Class label stored as an index into `names` (HF `ClassLabel`).
    Class {
        names: Vec<String>,
    },
    List {
        of: Box<Type>,
    },
    Record {
        fields: IndexMap<String, Type>,
    },
    Optional {
        of: Box<Type>,
    },
}

impl Type {
    /// How the type reads in messages.
    pub fn describe(&self) -> String {
        match self {
            Type::Text => "text".into(),
            Type::Int => "int".into(),
            Type::Float => "float".into(),
            Type::Bool => "bool".into(),
            Type::Class { names } => format!("class[{}]", names.join(", ")),
            Type::List { of } => format!("list<{}>", of.describe()),
            Type::Record { .. } => "record".into(),
            Type::Optional { of } => format!("{}?", of.describe()),
        }
    }

    pub fn strip_optional(&self) -> &Type {
        match self {
            Type::Optional { of } => of.strip_optional(),
            t => t,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Source {
    /// A Hugging Face hub dataset; `splits` maps our split name to the hub's.
    Hf {
        dataset: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        config: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        revision: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        parts: Option<Parts>,
        splits: IndexMap<String, String>,
    },
    /// Local files; `splits` maps a split to a path pattern relative to the
    /// data directory, or to line-aligned files read as columns.
    Files {
        format: FileFormat,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        columns: Option<Vec<String>>,
        header: bool,
        quoting: bool,
        /// `rows "data.paragraphs.qas"` (`json` only): the nested lists whose
        /// records are the rows, from the top of the document down. Absent
        /// from the plan when not given, so other plans keep their hash; an
        /// older exc refuses a plan with it (it knows no `json` format).
        #[serde(skip_serializing_if = "Option::is_none", default)]
        rows: Option<Vec<String>>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        parts: Option<Parts>,
        splits: IndexMap<String, SplitFiles>,
    },
}

impl Source {
    /// Our split names, in declaration order.
    pub fn split_names(&self) -> Vec<String> {
        match self {
            Source::Hf { splits, .. } => splits.keys().cloned().collect(),
            Source::Files { splits, .. } => splits.keys().cloned().collect(),
        }
    }

    pub fn parts(&self) -> Option<&Parts> {
        match self {
            Source::Hf { parts, .. } | Source::Files { parts, .. } => parts.as_ref(),
        }
    }
}

/// `join … on KEY = ON { field = joined, … }`: every row of a split gets
/// fields of the row of the joined source's same split whose `on` equals
/// its `key` (the joined split is read once into a table; two joined rows
/// with one key are an error).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Join {
    /// The joined source, its splits keyed by our split names.
    pub source: Source,
    /// The main row's key field.
    pub key: String,
    /// The joined row's key field.
    pub on: String,
    /// Field of the main row -> field of the joined row copied into it
    /// (added, or replacing what the main row has).
    pub set: IndexMap<String, String>,
    /// What a main row whose key has no joined row becomes.
    pub unmatched: Unmatched,
}

/// A main row without a joined row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unmatched {
    /// Stops reading with the row's file and place (the default).
    #[default]
    Error,
    /// Dropped, and counted (`exc check --data` reports the count).
    Drop,
}

impl Unmatched {
    pub const NAMES: &'static [&'static str] = &["error", "drop"];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "error" => Some(Unmatched::Error),
            "drop" => Some(Unmatched::Drop),
            _ => None,
        }
    }
}

/// `parts FIELD …`: a source read once per part, `{FIELD}` in its config,
/// hub splits or paths replaced by the part's value; every row gets the
/// part's name in `field`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parts {
    pub field: String,
    /// Part name -> what `{field}` stands for, in reading order.
    pub values: IndexMap<String, String>,
}

impl Parts {
    /// `text` with `{field}` replaced by `value`.
    pub fn fill(&self, text: &str, value: &str) -> String {
        text.replace(&format!("{{{}}}", self.field), value)
    }
}

/// What one split of a `source files` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SplitFiles {
    /// A path pattern (`*` in the file name).
    Pattern(String),
    /// Field -> file: line-aligned files, line i of each is row i.
    Columns(IndexMap<String, String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// One JSON object per line.
    Jsonl,
    /// A whole JSON document (a top-level array, an object's `data` array,
    /// or nested lists picked by `rows`); JSON lines saved as `.json` read too.
    Json,
    Tsv,
    Csv,
    Parquet,
    Text,
}

impl FileFormat {
    pub const NAMES: &'static [&'static str] = &["jsonl", "json", "tsv", "csv", "parquet", "text"];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "jsonl" => FileFormat::Jsonl,
            "json" => FileFormat::Json,
            "tsv" => FileFormat::Tsv,
            "csv" => FileFormat::Csv,
            "parquet" => FileFormat::Parquet,
            "text" | "txt" => FileFormat::Text,
            _ => return None,
        })
    }
}

/// A path into a row: field names and list indices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Step {
    Field(String),
    Index(usize),
}

/// `path | fn(args) | fn`, with its source text kept for messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expr {
    pub text: String,
    /// Empty (and left out of the plan) when the expression starts with `zip`.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub path: Vec<Step>,
    /// `zip(name = path, …)` in place of a path: the lists walked in step.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub zip: Vec<Zipped>,
    /// `['a', 'b']` in place of a path: a list of text written out.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub texts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub calls: Vec<Func>,
}

/// One list of a `zip`: its elements become the field `name` of the records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zipped {
    pub name: String,
    /// The path as written, for messages.
    pub text: String,
    pub path: Vec<Step>,
}

/// A checked string function with its arguments resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "fn")]
pub enum Func {
    Lower,
    Upper,
    Strip,
    /// Python's `str.lstrip()` / `str.rstrip()`: whitespace off one end
    /// (promptsource strips a whole part, so a hole at its start or end).
    Lstrip,
    Rstrip,
    Join {
        sep: String,
    },
    /// Every occurrence of `from` replaced by `to`, each written text or
    /// read from a field (`replace(span2_text, span1_text)`).
    Replace {
        from: TextArg,
        to: TextArg,
    },
    /// Jinja's `truncate`: text longer than `length + leeway` characters is
    /// cut to `length - len(end)` characters, back to the last space unless
    /// `killwords`, and `end` appended.
    Truncate {
        length: usize,
        killwords: bool,
        end: String,
        leeway: usize,
    },
    /// Text -> the list of its pieces, as Python's `str.split`: at `sep`, or
    /// at runs of whitespace with empty pieces dropped (`words` with no count).
    Split {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sep: Option<String>,
    },
    /// Regular-expression substitution (Rust `regex` syntax; `$1` in `to`).
    Sub {
        pattern: Pattern,
        to: String,
    },
    First,
    Last,
    Len,
    Str,
    Default {
        value: String,
    },
    /// Class label -> its position (the raw id).
    Id,
    /// Class label (or int) -> the n-th of these strings.
    Names {
        names: Vec<String>,
    },
    /// Round a number to the nearest multiple of `step`, halves away from
    /// zero (Civil Comments' toxicity: 0.5 -> 1).
    Round {
        step: f64,
    },
    /// Round a number to the nearest multiple of `step` as T5 rounds STS-B
    /// (`tf.round(label * 5) / 5` on a float32 label): in float32, times
    /// `1 / step`, halves to even.
    RoundEven {
        step: f64,
    },
    /// A number plus `n` (label arithmetic: `label | add(1)`); ints stay
    /// ints when `n` is whole.
    Add {
        n: f64,
    },
    /// A number times `n`.
    Mul {
        n: f64,
    },
    /// One element of a list, picked by a hash of the run's seed, the
    /// row's content and the expression: the same row picks the same
    /// element in every run with that seed (promptsource's `choice`).
    Choice,
    /// Number -> text with a fixed number of decimals.
    Fixed {
        digits: usize,
    },
    /// Keep the first `n` whitespace-separated words.
    Words {
        n: usize,
    },
    /// The list element at a position given by a literal or another field.
    At {
        index: ArgRef,
    },
    /// The element of the `values` list at the position where `keys` holds this
    /// value (ARC: `answerKey | lookup(choices.label, choices.text)`); either
    /// list may be written out (WinoGrande: `answer | lookup({ "1": "option1", … })`).
    Lookup {
        keys: Table,
        values: Table,
    },
    /// Characters `start..end` of a text, or elements of a list (Python slicing).
    Slice {
        start: ArgRef,
        end: Option<ArgRef>,
    },
    /// Wrap the word at a (space-split) word position in `mark` (T5's WSC `*he*`).
    /// With `word` (a text field, WSC's `span2_text`), the word is checked
    /// against it, as T5's WSC preprocessing asserts, and the texts T5 mends
    /// by hand are mended by rule (see `render::mark_word`).
    Mark {
        index: ArgRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        word: Option<FieldPath>,
        mark: String,
    },
    /// The list without empty strings and nulls (KILT outputs without an answer).
    Nonempty,
    /// The elements that occur most often, each once, in order of first
    /// occurrence (promptsource's `most_frequent`: several answers agree).
    MostFrequent,
    /// Tokens + BIO tags (a parallel list field) -> `[PER] Alice [LOC] New York`.
    Entities {
        tags: FieldPath,
    },
    /// Each list element through a small template: `{}` the element, `{0}` an
    /// index into it, `{name}` a scalar field of it, or any other hole
    /// (`{values | join(', ')}`) evaluated with the element's fields in scope
    /// ahead of the row's.
    Map {
        parts: Vec<MapPart>,
    },
}

impl Func {
    /// The name written in a task (the plan's `fn`): it keys the function's
    /// entry in `funcs::FUNCS`, which checks and evaluates it.
    pub fn name(&self) -> &'static str {
        match self {
            Func::Lower => "lower",
            Func::Upper => "upper",
            Func::Strip => "strip",
            Func::Lstrip => "lstrip",
            Func::Rstrip => "rstrip",
            Func::Join { .. } => "join",
            Func::Replace { .. } => "replace",
            Func::Truncate { .. } => "truncate",
            Func::Split { .. } => "split",
            Func::Sub { .. } => "sub",
            Func::First => "first",
            Func::Last => "last",
            Func::Len => "len",
            Func::Str => "str",
            Func::Default { .. } => "default",
            Func::Id => "id",
            Func::Names { .. } => "names",
            Func::Round { .. } => "round",
            Func::RoundEven { .. } => "round_even",
            Func::Fixed { .. } => "fixed",
            Func::Add { .. } => "add",
            Func::Mul { .. } => "mul",
            Func::Choice => "choice",
            Func::Words { .. } => "words",
            Func::At { .. } => "at",
            Func::Lookup { .. } => "lookup",
            Func::Slice { .. } => "slice",
            Func::Mark { .. } => "mark",
            Func::Nonempty => "nonempty",
            Func::MostFrequent => "most_frequent",
            Func::Entities { .. } => "entities",
            Func::Map { .. } => "map",
        }
    }
}

/// A function argument: a literal or the value of a field (or `each` name) of the row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgRef {
    Int(i64),
    /// A path into the row (`label.span.start`).
    Field(FieldPath),
}

/// A text argument: written out (a plain string in the plan, as before
/// fields were allowed), or a field of the row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TextArg {
    Literal(String),
    Field { field: FieldPath },
}

/// A list argument: a list field of the row (a path, as written) or a list
/// written out in the task, whose `null` values mark unlabelled keys. A plan's
/// string is a field, as before written lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Table {
    Field(FieldPath),
    Literal(Vec<Option<String>>),
}

/// A field path given as a function argument, parsed into its steps once,
/// when the task is checked or its plan read, not per row. The plan holds
/// it as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    pub text: String,
    pub steps: Vec<Step>,
}

impl FieldPath {
    pub fn parse(text: &str) -> Self {
        FieldPath {
            text: text.to_string(),
            steps: path_steps(text),
        }
    }
}

impl From<&str> for FieldPath {
    fn from(text: &str) -> Self {
        FieldPath::parse(text)
    }
}

impl std::fmt::Display for FieldPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for FieldPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for FieldPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|t| FieldPath::parse(&t))
    }
}

/// A regular expression, compiled once (when checked, or when a plan is
/// read); the plan holds its text.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub text: String,
    pub regex: regex::Regex,
}

impl Pattern {
    pub fn new(text: &str) -> Result<Self, regex::Error> {
        Ok(Pattern {
            text: text.to_string(),
            regex: regex::Regex::new(text)?,
        })
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Serialize for Pattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Pattern::new(&text).map_err(serde::de::Error::custom)
    }
}

/// `a.b[0].c` -> its steps (the checker has already typed it).
pub fn path_steps(text: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for (i, part) in text.split('.').enumerate() {
        let (name, rest) = part.split_once('[').unwrap_or((part, ""));
        if !name.is_empty() {
            match name.parse::<usize>() {
                Ok(n) if i > 0 => steps.push(Step::Index(n)),
                _ => steps.push(Step::Field(name.to_string())),
            }
        }
        for idx in rest.split('[') {
            if let Ok(n) = idx.trim_end_matches(']').parse::<usize>() {
                steps.push(Step::Index(n));
            }
        }
    }
    steps
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "part", content = "value")]
pub enum MapPart {
    Text(String),
    Whole,
    Index(usize),
    Field(String),
    /// `{path | fn(…)}`: names are the element's fields first, then `each`
    /// names, then the row's fields.
    Hole(Expr),
    /// `{if … then … else …}`, with the names of a hole.
    Cond(Box<Cond>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "part", content = "value")]
pub enum Part {
    Text(String),
    Hole(Expr),
    /// `{if TEST then A else B}`: text either way.
    Cond(Box<Cond>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cond {
    pub test: Test,
    pub then: Branch,
    #[serde(rename = "else")]
    pub otherwise: Branch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Branch {
    /// A quoted template: text and holes.
    Template(Vec<Part>),
    /// An expression of a scalar type, rendered as a hole is.
    Expr(Expr),
    Cond(Box<Cond>),
}

/// A checked test: each side typed, so that a comparison can only be of
/// values that can be equal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "test")]
pub enum Test {
    Or {
        any: Vec<Test>,
    },
    And {
        all: Vec<Test>,
    },
    Not {
        not: Box<Test>,
    },
    /// A bool that is true, a text or list that is not empty, an optional
    /// value that is present (and, if a bool, text or list, true or non-empty).
    Is {
        expr: Expr,
    },
    Cmp {
        left: Expr,
        op: CmpOp,
        right: Operand,
    },
    /// Membership in a list, or a text inside a text.
    In {
        item: Expr,
        list: Operand,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operand {
    /// A written value (a class compared with a name is compared by name).
    Literal(serde_json::Value),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub text: String,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Target {
    Template(Template),
    Expr(Expr),
}

/// What the scored target is, after postprocessing: decides which metrics
/// fit. Defined with the metrics (`exc_metrics::TargetKind`), whose specs
/// name the kinds they score.
pub use exc_metrics::TargetKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    pub expr: Expr,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cmp: Option<(CmpOp, serde_json::Value)>,
    /// Applies to this split only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub only_split: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Each {
    pub var: String,
    /// Name bound to the element's position (an int), if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub index: Option<String>,
    pub path: Vec<Step>,
    /// Only this split explodes; the others bind the first element.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub only_split: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub name: String,
    #[serde(skip_serializing_if = "IndexMap::is_empty", default)]
    pub options: IndexMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum Decode {
    Greedy,
    Beam { size: usize, alpha: f64 },
    RankClassification,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub collection: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    /// File the task was declared in, relative to the project root.
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub source: Option<Source>,
    /// Other datasets' fields joined into the source's rows, in order.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub joins: Vec<Join>,
    pub fields: IndexMap<String, Type>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub filters: Vec<Filter>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub each: Option<Each>,
    pub input: Template,
    pub target: Target,
    pub target_kind: TargetKind,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub references: Option<Expr>,
    /// `references { name: EXPR, … }`: what the metrics score against is one
    /// JSON object per example with these fields (`wsc_simple`'s
    /// `{"referent": …, "label": …}`), instead of a list of answers.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reference_fields: Option<IndexMap<String, Expr>>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub postprocess: Vec<Metric>,
    pub metrics: Vec<Metric>,
    pub decode: Decode,
    #[serde(skip_serializing_if = "IndexMap::is_empty", default)]
    pub lengths: IndexMap<String, u64>,
    /// Training-set size used for examples-proportional mixing.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub examples: Option<u64>,
    /// Class names of the target, for rank classification and label postprocessing.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub choices: Option<Vec<String>>,
    #[serde(skip)]
    pub samples: Vec<serde_json::Value>,
    #[serde(skip)]
    pub is_abstract: bool,
    /// Where each field is declared (`file:line:col`), for data errors
    /// that a declaration explains (a label not in its `class[...]`).
    /// Not in the plan: a run's errors name the row without it.
    #[serde(skip)]
    pub declared_at: IndexMap<String, String>,
    /// The spans `declared_at` is made from, once the source map is at hand.
    #[serde(skip)]
    pub field_spans: Vec<(String, crate::source::Span)>,
}
