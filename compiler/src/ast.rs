//! The spanned syntax tree, as written. Nothing here is resolved or checked;
//! see `check_task` and `check_mixture` for that.

use crate::source::{Span, Spanned};

pub type Name = Spanned<String>;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Include(Spanned<String>),
    Task(TaskDecl),
    Mixture(MixtureDecl),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskDecl {
    pub name: Name,
    pub is_abstract: bool,
    pub extends: Option<Name>,
    pub entries: Vec<Spanned<TaskEntry>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TaskEntry {
    Collection(Name),
    Family(Name),
    Description(String),
    Source(SourceEntry),
    Fields(Vec<FieldDecl>),
    Filter(FilterDecl),
    Each(EachDecl),
    Input(Template),
    Target(TargetDecl),
    References(ReferencesDecl),
    Postprocess(Vec<Call>),
    Metrics(Vec<Call>),
    Decode(Call),
    Lengths(Vec<(Name, Spanned<f64>)>),
    Examples(Spanned<Number>),
    Sample(Spanned<Value>),
}

impl TaskEntry {
    /// The keyword that introduces the entry, for messages and overriding.
    pub fn keyword(&self) -> &'static str {
        match self {
            TaskEntry::Collection(_) => "collection",
            TaskEntry::Family(_) => "family",
            TaskEntry::Description(_) => "description",
            TaskEntry::Source(_) => "source",
            TaskEntry::Fields(_) => "fields",
            TaskEntry::Filter(_) => "filter",
            TaskEntry::Each(_) => "each",
            TaskEntry::Input(_) => "input",
            TaskEntry::Target(_) => "target",
            TaskEntry::References(_) => "references",
            TaskEntry::Postprocess(_) => "postprocess",
            TaskEntry::Metrics(_) => "metrics",
            TaskEntry::Decode(_) => "decode",
            TaskEntry::Lengths(_) => "lengths",
            TaskEntry::Examples(_) => "examples",
            TaskEntry::Sample(_) => "sample",
        }
    }
}

/// `source …` with the joins that follow it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceEntry {
    pub source: SourceDecl,
    pub joins: Vec<JoinDecl>,
}

/// `join SOURCE on KEY = KEY { field = field, … } [unmatched POLICY]`:
/// fields of another dataset's row with the same key, split by split.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinDecl {
    /// The joined source; an `hf` join without a split map has no splits
    /// here (each split then reads the joined dataset's split of its name).
    pub source: SourceDecl,
    /// The main row's key field.
    pub key: Name,
    /// The joined row's key field.
    pub on: Name,
    /// (field of the main row, field of the joined row), as written.
    pub set: Vec<(Name, Name)>,
    /// `unmatched drop` or `unmatched error` (the default when absent).
    pub unmatched: Option<Name>,
    /// The `{ … }` of `set`, for a join that copies nothing.
    pub set_span: Span,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SourceDecl {
    Hf {
        dataset: Spanned<String>,
        config: Option<Spanned<String>>,
        revision: Option<Spanned<String>>,
        parts: Option<PartsDecl>,
        splits: Vec<(Name, Spanned<String>)>,
    },
    Files {
        format: Name,
        columns: Option<Vec<Name>>,
        header: Option<bool>,
        quoting: Option<bool>,
        /// `rows "a.b.c"`: the nested lists of a JSON document holding the rows.
        rows: Option<Spanned<String>>,
        parts: Option<PartsDecl>,
        splits: Vec<(Name, Spanned<SplitFiles>)>,
    },
}

/// `parts FIELD [a, b]` or `parts FIELD { a = "value", … }`: the field a row's
/// part is stored in, and each part's name with what `{FIELD}` stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct PartsDecl {
    pub field: Name,
    /// (name, value); the list form gives each name as its own value.
    pub parts: Vec<(Name, Spanned<String>)>,
    pub span: Span,
}

/// What a `source files` split reads.
#[derive(Debug, Clone, PartialEq)]
pub enum SplitFiles {
    /// A path pattern.
    Pattern(String),
    /// `{ column: "path", … }`: line-aligned files, line i of each = row i.
    Columns(Vec<(Name, Spanned<String>)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldDecl {
    pub name: Name,
    pub ty: Spanned<TypeExpr>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypeExpr {
    Prim(String),
    Class(Vec<Spanned<String>>),
    List(Box<Spanned<TypeExpr>>),
    Record(Vec<FieldDecl>),
    Optional(Box<Spanned<TypeExpr>>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FilterDecl {
    pub expr: Expr,
    pub cmp: Option<(CmpOp, Spanned<Value>)>,
    /// Applies to this split only (`filter label != 0 only train`).
    pub only_split: Option<Name>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CmpOp {
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EachDecl {
    pub var: Name,
    /// Optional name bound to the element's position.
    pub index: Option<Name>,
    pub path: Spanned<Path>,
    pub only_split: Option<Name>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TargetDecl {
    Template(Template),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The text between the quotes, as written.
    pub text: String,
    pub parts: Vec<TemplatePart>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePart {
    Text(String),
    Hole(Expr),
    /// `{if TEST then A else B}`.
    Cond(Box<Cond>),
}

/// `if TEST then A else B` in a hole.
#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    pub test: Test,
    pub then: Branch,
    pub otherwise: Branch,
    pub span: Span,
}

/// What a conditional gives: a quoted template, an expression or another
/// conditional.
#[derive(Debug, Clone, PartialEq)]
pub enum Branch {
    Template(Template),
    Expr(Expr),
    Cond(Box<Cond>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Or(Vec<Test>),
    And(Vec<Test>),
    Not(Box<Test>),
    /// A bare expression: true, non-empty or present.
    Is(Expr),
    Cmp(Expr, CmpOp, Operand),
    In(Expr, Operand),
}

/// The right side of a comparison: a written value or an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Value(Spanned<Value>),
    Expr(Expr),
}

/// `references EXPR` (a list of acceptable answers) or
/// `references { name: EXPR, … }` (one object per example, for metrics whose
/// targets are records, such as `wsc_simple`).
#[derive(Debug, Clone, PartialEq)]
pub enum ReferencesDecl {
    Expr(Expr),
    Record(Vec<(Name, Expr)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub head: Head,
    pub calls: Vec<Call>,
    pub span: Span,
}

/// What an expression starts from, before its functions.
#[derive(Debug, Clone, PartialEq)]
pub enum Head {
    /// A field (or `each` name) and the steps into it.
    Path(Spanned<Path>),
    /// `zip(name = path, …)`: parallel lists walked in step, one record per position.
    Zip(Vec<ZipList>),
    /// `['a', 'b']`: a list of text written out (`['a', 'b'] | choice`).
    Texts(Vec<Spanned<String>>),
}

/// One list of a `zip`; without a name, the element field is named after the
/// path's last field (`choices.label` -> `label`).
#[derive(Debug, Clone, PartialEq)]
pub struct ZipList {
    pub name: Option<Name>,
    pub path: Spanned<Path>,
}

impl ZipList {
    /// The element field this list fills.
    pub fn field_name(&self) -> Option<&str> {
        match &self.name {
            Some(n) => Some(n.node.as_str()),
            None => self.path.node.0.iter().rev().find_map(|s| match s {
                Segment::Field(f) => Some(f.as_str()),
                Segment::Index(_) => None,
            }),
        }
    }
}

impl std::fmt::Display for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Head::Path(p) => write!(f, "{}", p.node),
            Head::Zip(lists) => {
                f.write_str("zip(")?;
                for (i, l) in lists.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if let Some(n) = &l.name {
                        write!(f, "{} = ", n.node)?;
                    }
                    write!(f, "{}", l.path.node)?;
                }
                f.write_str(")")
            }
            Head::Texts(items) => {
                f.write_str("[")?;
                for (i, t) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "'{}'", t.node.replace('\\', "\\\\").replace('\'', "\\'"))?;
                }
                f.write_str("]")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    Field(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Path(pub Vec<Segment>);

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Field(name) if i == 0 => write!(f, "{name}")?,
                Segment::Field(name) => write!(f, ".{name}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: Name,
    pub args: Vec<Arg>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub name: Option<Name>,
    pub value: Spanned<Value>,
}

/// A number as written: integers keep their exact value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number {
    pub value: f64,
    pub is_int: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(Number),
    Bool(bool),
    Null,
    /// A bare word such as `macro` or `adafactor`.
    Word(String),
    /// A sweep variable, `$ratio`.
    Var(String),
    List(Vec<Spanned<Value>>),
    Record(Vec<(Name, Spanned<Value>)>),
}

// ---------------------------------------------------------------- mixtures

#[derive(Debug, Clone, PartialEq)]
pub struct MixtureDecl {
    pub name: Name,
    pub extends: Option<Name>,
    pub entries: Vec<Spanned<MixEntry>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MixEntry {
    Use(Vec<Spanned<String>>),
    Description(String),
    Select(Vec<Spanned<Selector>>),
    Exclude(Vec<Spanned<Selector>>),
    Subset {
        count: Spanned<Value>,
        seed: Spanned<Value>,
    },
    Rates(RatesDecl),
    C4(Vec<Spanned<C4Entry>>),
    Model(ModelDecl),
    Train(Vec<Setting>),
    Stage(StageDecl),
    Sweep {
        var: Name,
        values: Vec<Spanned<Value>>,
    },
    /// Stage-only entries (`from`, `splits`, `per_task`, `last_checkpoint`,
    /// free settings).
    From(Spanned<String>),
    Splits(Vec<Name>),
    PerTask,
    LastCheckpoint,
    Setting(Setting),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    Collection(Value),
    Family(Value),
    Var(String),
    Glob(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum RatesDecl {
    Weights(Vec<(Name, Spanned<Number>)>),
    Policy(Call),
}

#[derive(Debug, Clone, PartialEq)]
pub enum C4Entry {
    Source(SourceEntry),
    Setting(Setting),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ModelDecl {
    Named(Name),
    Hf(Spanned<String>),
    Custom {
        base: Option<Name>,
        settings: Vec<Setting>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct StageDecl {
    pub kind: Name,
    pub name: Option<Name>,
    pub entries: Vec<Spanned<MixEntry>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub key: Name,
    pub value: SettingValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SettingValue {
    Call(Call),
    Value(Spanned<Value>),
}

impl SettingValue {
    pub fn span(&self) -> Span {
        match self {
            SettingValue::Call(c) => c.span,
            SettingValue::Value(v) => v.span,
        }
    }
}
