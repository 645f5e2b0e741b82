//! Rows -> examples: evaluates a task's filters, `each`, input template and
//! target over one data row. `exc render` and the runtime's data pipeline both
//! call [`render_row`], so there is one template engine.

use crate::funcs::{self, Cx};
use crate::ir::{
    Branch, CmpOp, Cond, Expr, FieldPath, Func, Operand, Part, Step, Target, Task, Template, Test,
    Type,
};
use serde_json::Value as Json;
use std::fmt;

/// One rendered text-to-text example.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Example {
    pub input: String,
    pub target: String,
    /// Every acceptable answer (the target alone unless the task declares `references`).
    pub references: Vec<String>,
    /// What metrics that score records read (`references { name: EXPR, … }`):
    /// one JSON object, text as strings, class fields as their ids, lists
    /// and records as JSON. `references` then holds the target alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_record: Option<Json>,
}

/// Why a row could not be rendered; the caller adds file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    pub message: String,
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RenderError {}

impl RenderError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        RenderError {
            message: message.into(),
        }
    }
}

fn err<T>(message: impl Into<String>) -> Result<T, RenderError> {
    Err(RenderError {
        message: message.into(),
    })
}

/// A value with its declared type, so class ids render as names.
#[derive(Debug, Clone)]
pub(crate) enum V {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Class { id: i64, names: Vec<String> },
    List(Vec<V>),
    Record(Json, Type),
}

pub(crate) fn from_json(j: &Json, ty: &Type, at: &str) -> Result<V, RenderError> {
    Ok(match (ty, j) {
        (Type::Optional { .. } | Type::List { .. } | Type::Record { .. }, Json::Null) => V::Null,
        // A null scalar in a field not declared optional would render as
        // empty text (an empty target, trained): an error in `exc check
        // --data`, `exc render` and `exc run` alike, never a silent row.
        (ty, Json::Null) => return err(null_scalar(at, ty)),
        (Type::Optional { of }, _) => from_json(j, of, at)?,
        (Type::Text, Json::String(s)) => V::Text(s.clone()),
        // A number is not read as text (`12345` silently becoming "12345"):
        // the declaration says what the data holds.
        (Type::Text, Json::Number(n)) => {
            return err(format!(
                "`{at}` should be text, found the number {n}; declare it `int` or `float` (and write `{at} | str` where text is wanted), or fix the data"
            ))
        }
        (Type::Int, Json::Number(n)) => match n.as_i64() {
            Some(i) => V::Int(i),
            None => return err(format!("`{at}` should be an int, found {n}")),
        },
        (Type::Float, Json::Number(n)) => V::Float(n.as_f64().unwrap_or(f64::NAN)),
        // TSV/CSV cells arrive converted to their declared types (the
        // reader's `cells`); a string here is JSON or parquet data holding
        // text where the declaration says number, never read quietly.
        (Type::Int | Type::Float, Json::String(s)) => return err(text_for_number(at, ty, s)),
        (Type::Bool, Json::Bool(b)) => V::Bool(*b),
        (Type::Bool, Json::Number(n)) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
            V::Bool(n.as_i64() == Some(1))
        }
        (Type::Class { names }, Json::Number(n)) => match n.as_i64() {
            Some(id) if id == -1 || (id >= 0 && (id as usize) < names.len()) => V::Class {
                id,
                names: names.clone(),
            },
            _ => {
                return err(format!(
                    "`{at}` is {n}, not a class id of {} (0..{}, or -1 for unlabelled)",
                    ty.describe(),
                    names.len()
                ))
            }
        },
        (Type::Class { names }, Json::String(s)) => match names.iter().position(|n| n == s) {
            Some(id) => V::Class {
                id: id as i64,
                names: names.clone(),
            },
            None => return err(not_a_class_name(at, ty, s)),
        },
        (Type::List { of }, Json::Array(items)) => V::List(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| from_json(x, of, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        (Type::Record { .. }, Json::Object(_)) => V::Record(j.clone(), ty.clone()),
        (ty, j) => {
            return err(format!(
                "`{at}` should be {}, found {}",
                ty.describe(),
                json_kind(j)
            ))
        }
    })
}

fn text_for_number(at: &str, ty: &Type, s: &str) -> String {
    format!(
        "`{at}` should be {t}, found the text \"{s}\": the data holds a string where the declaration says a number; \
         write numbers in the data (TSV and CSV cells are converted as they are read), or declare `{at}` as `text`",
        t = if *ty == Type::Int { "an int" } else { "a float" }
    )
}

fn not_a_class_name(at: &str, ty: &Type, s: &str) -> String {
    let id = match s.trim().parse::<i64>() {
        Ok(_) => format!(
            "; the text \"{s}\" is not read as a class id (JSON and parquet data hold ids as numbers, TSV and CSV cells are converted), so write the number or list \"{s}\" among the names"
        ),
        Err(_) => String::new(),
    };
    format!(
        "`{at}` is \"{s}\", which is not one of {}{id}",
        ty.describe()
    )
}

fn null_scalar(at: &str, ty: &Type) -> String {
    let field = at.split(['.', '[']).next().unwrap_or(at);
    format!(
        "`{at}` is null, but its type `{t}` is not optional (it would render as empty text); \
         if rows may lack it, declare `{t}?` and drop them with `filter {field}` (counted with the filter's drops), \
         else fix the data",
        t = ty.describe()
    )
}

fn json_kind(j: &Json) -> &'static str {
    match j {
        Json::Null => "null",
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a record",
    }
}

/// Scope of one evaluation: the row and the `each` bindings (element, position).
pub(crate) struct Env<'a> {
    pub task: &'a Task,
    pub row: &'a Json,
    pub vars: Vec<(&'a str, Json, Type)>,
    /// The run's seed, for `choice`.
    pub seed: u64,
}

impl Env<'_> {
    /// Walk a path through JSON and types together. Field access on a list of
    /// records maps over the list (HF `Sequence` of dicts).
    fn path(&self, path: &[Step], text: &str) -> Result<V, RenderError> {
        self.path_with(path, text, false)
    }

    /// A path whose out-of-range index gives an absent value.
    fn lenient_path(&self, path: &[Step], text: &str) -> Result<V, RenderError> {
        self.path_with(path, text, true)
    }

    fn path_with(&self, path: &[Step], text: &str, lenient: bool) -> Result<V, RenderError> {
        // Name the field, not the whole `path | fn` chain, in type errors.
        let at = text.split(" | ").next().unwrap_or(text);
        let (json, ty) = self.raw(path, at, lenient)?;
        from_json(&json, &ty, at).map_err(|e| self.declared(e, path))
    }

    /// A value that does not fit its declared type: the error points at the
    /// declaration too (`file:line:col`), which is where it may be fixed.
    fn declared(&self, e: RenderError, path: &[Step]) -> RenderError {
        let Some(Step::Field(root)) = path.first() else {
            return e;
        };
        let bound = self.vars.iter().any(|(name, _, _)| name == root);
        match self.task.declared_at.get(root) {
            Some(at) if !bound => RenderError {
                message: format!("{} (`{root}` is declared at {at})", e.message),
            },
            _ => e,
        }
    }

    /// The JSON a path reaches and its declared type.
    fn raw(&self, path: &[Step], at: &str, lenient: bool) -> Result<(Json, Type), RenderError> {
        let Some(Step::Field(root)) = path.first() else {
            return err("empty path");
        };
        let bound = self.vars.iter().find(|(name, _, _)| name == root);
        let (json, ty) = match bound {
            Some((_, j, t)) => (j.clone(), t.clone()),
            None => {
                let Some(ty) = self.task.fields.get(root) else {
                    return err(format!("`{root}` is not a field"));
                };
                (
                    self.row.get(root).cloned().unwrap_or(Json::Null),
                    ty.clone(),
                )
            }
        };
        if json.is_null() && !matches!(ty, Type::Optional { .. }) && !self.has_field(root) {
            return err(format!("the row has no field `{root}`"));
        }
        walk(json, ty, path.get(1..).unwrap_or(&[]), at, lenient)
    }

    /// `zip(name = list, …)`: one record per position, a field per list.
    /// Lists of different lengths are an error, never cut to the shortest.
    fn zip(&self, e: &Expr) -> Result<V, RenderError> {
        let head = e.text.split(" | ").next().unwrap_or(&e.text);
        let mut columns = Vec::with_capacity(e.zip.len());
        for z in &e.zip {
            let (json, ty) = self.raw(&z.path, &z.text, false)?;
            match (json, ty.strip_optional()) {
                // An absent list (null) makes the whole zip absent, as a path would be.
                (Json::Null, _) => return Ok(V::Null),
                (Json::Array(items), Type::List { of }) => columns.push((z, items, (**of).clone())),
                (j, t) => {
                    return err(format!(
                        "`{}` should be {}, found {}",
                        z.text,
                        t.describe(),
                        json_kind(&j)
                    ))
                }
            }
        }
        let len = columns.first().map_or(0, |(_, items, _)| items.len());
        if columns.iter().any(|(_, items, _)| items.len() != len) {
            let sizes: Vec<String> = columns
                .iter()
                .map(|(z, items, _)| format!("`{}` has {}", z.text, items.len()))
                .collect();
            return err(format!(
                "`{head}`: the lists differ in length ({}); zip pairs elements by position, so each list must have one element per position",
                sizes.join(", ")
            ));
        }
        let ty = Type::Record {
            fields: columns
                .iter()
                .map(|(z, _, t)| (z.name.clone(), t.clone()))
                .collect(),
        };
        Ok(V::List(
            (0..len)
                .map(|i| {
                    let record = columns
                        .iter()
                        .map(|(z, items, _)| {
                            (z.name.clone(), items.get(i).cloned().unwrap_or(Json::Null))
                        })
                        .collect();
                    V::Record(Json::Object(record), ty.clone())
                })
                .collect(),
        ))
    }

    fn has_field(&self, root: &str) -> bool {
        self.vars.iter().any(|(n, _, _)| *n == root) || self.row.get(root).is_some()
    }

    /// The value of a field path given as a function argument.
    pub(crate) fn field(&self, p: &FieldPath) -> Result<V, RenderError> {
        self.path(&p.steps, &p.text)
    }

    pub(crate) fn eval(&self, e: &Expr) -> Result<V, RenderError> {
        // Up to a `default`, a missing list element is absent rather than
        // an error, so that `answers[0] | default('none')` reads as written.
        let defaulted = e
            .calls
            .iter()
            .position(|f| matches!(f, Func::Default { .. }));
        let mut v = if !e.texts.is_empty() {
            V::List(e.texts.iter().map(|t| V::Text(t.clone())).collect())
        } else if !e.zip.is_empty() {
            self.zip(e)?
        } else if defaulted.is_some() {
            self.lenient_path(&e.path, &e.text)?
        } else {
            self.path(&e.path, &e.text)?
        };
        for (i, f) in e.calls.iter().enumerate() {
            let cx = Cx {
                env: self,
                text: &e.text,
                lenient: defaulted.is_some_and(|d| i < d),
            };
            v = funcs::eval(f, v, &cx)?;
        }
        Ok(v)
    }

    fn template(&self, t: &Template) -> Result<String, RenderError> {
        self.parts(&t.parts)
    }

    fn parts(&self, parts: &[Part]) -> Result<String, RenderError> {
        let mut out = String::new();
        for part in parts {
            match part {
                Part::Text(s) => out.push_str(s),
                Part::Hole(e) => out.push_str(&to_text(&self.eval(e)?, &e.text)?),
                Part::Cond(c) => out.push_str(&self.cond(c)?),
            }
        }
        Ok(out)
    }

    /// `{if TEST then A else B}`.
    pub(crate) fn cond(&self, c: &Cond) -> Result<String, RenderError> {
        let branch = if self.test(&c.test)? {
            &c.then
        } else {
            &c.otherwise
        };
        match branch {
            Branch::Template(parts) => self.parts(parts),
            Branch::Expr(e) => to_text(&self.eval(e)?, &e.text),
            Branch::Cond(inner) => self.cond(inner),
        }
    }

    fn test(&self, t: &Test) -> Result<bool, RenderError> {
        Ok(match t {
            Test::Or { any } => {
                for t in any {
                    if self.test(t)? {
                        return Ok(true);
                    }
                }
                false
            }
            Test::And { all } => {
                for t in all {
                    if !self.test(t)? {
                        return Ok(false);
                    }
                }
                true
            }
            Test::Not { not } => !self.test(not)?,
            // Python's truth: an empty text is false, a blank one true.
            Test::Is { expr } => match self.eval(expr)? {
                V::Null => false,
                V::Bool(b) => b,
                V::Text(s) => !s.is_empty(),
                V::List(items) => !items.is_empty(),
                _ => true,
            },
            Test::Cmp { left, op, right } => {
                let l = self.eval(left)?;
                compare(&l, *op, &self.operand(right)?)
            }
            Test::In { item, list } => {
                let v = self.eval(item)?;
                match (self.operand(list)?, &v) {
                    (Json::Array(items), _) => items.iter().any(|x| compare(&v, CmpOp::Eq, x)),
                    (Json::String(hay), V::Text(_) | V::Class { .. }) => {
                        hay.contains(to_text(&v, &item.text)?.as_str())
                    }
                    _ => false,
                }
            }
        })
    }

    /// A comparison's right side as a value `compare` reads: a class as
    /// its name (so it equals a text or a class of the same name).
    fn operand(&self, o: &Operand) -> Result<Json, RenderError> {
        match o {
            Operand::Literal(j) => Ok(j.clone()),
            Operand::Expr(e) => Ok(as_literal(&self.eval(e)?)),
        }
    }
}

fn walk(
    mut json: Json,
    mut ty: Type,
    rest: &[Step],
    text: &str,
    lenient: bool,
) -> Result<(Json, Type), RenderError> {
    for step in rest {
        if let Type::Optional { of } = ty {
            if json.is_null() {
                return Ok((Json::Null, Type::Optional { of }));
            }
            ty = *of;
        }
        (json, ty) = one_step(json, ty, step, text, lenient)?;
    }
    Ok((json, ty))
}

/// One step of a path. A field of a list of records maps over the list (HF
/// `Sequence` of dicts): `answers.text` is the list of every answer's text,
/// and a following `[0]` indexes that list, as the checker types it.
fn one_step(
    json: Json,
    ty: Type,
    step: &Step,
    text: &str,
    lenient: bool,
) -> Result<(Json, Type), RenderError> {
    match (ty, step) {
        (Type::Optional { of }, _) if json.is_null() => Ok((Json::Null, Type::Optional { of })),
        (Type::Optional { of }, _) => one_step(json, *of, step, text, lenient),
        (Type::Record { fields }, Step::Field(f)) => Ok((
            json.get(f).cloned().unwrap_or(Json::Null),
            fields.get(f).cloned().unwrap_or(Type::Text),
        )),
        (Type::List { of }, Step::Index(n)) => {
            let len = json.as_array().map_or(0, Vec::len);
            match json.get(*n).cloned() {
                Some(item) => Ok((item, *of)),
                // Missing under `default`: absent, which `default` replaces
                // (not a null of the element's type, which is an error).
                None if lenient => Ok((Json::Null, Type::Optional { of })),
                None => err(format!(
                    "`{text}`: index {n} is out of range (the list has {len})"
                )),
            }
        }
        (Type::List { of }, Step::Field(_)) => {
            let items = json.as_array().cloned().unwrap_or_default();
            let mut out_ty = step_type(&of, step).unwrap_or(Type::Text);
            let mut mapped = Vec::with_capacity(items.len());
            for item in items {
                let (j, t) = one_step(item, (*of).clone(), step, text, lenient)?;
                out_ty = t;
                mapped.push(j);
            }
            Ok((
                Json::Array(mapped),
                Type::List {
                    of: Box::new(out_ty),
                },
            ))
        }
        (t, _) => err(format!("`{text}` cannot step into {}", t.describe())),
    }
}

/// The type one step reaches, without data (for empty lists).
fn step_type(ty: &Type, step: &Step) -> Option<Type> {
    match (ty, step) {
        (Type::Optional { of }, _) => step_type(of, step),
        (Type::Record { fields }, Step::Field(f)) => fields.get(f).cloned(),
        (Type::List { of }, Step::Index(_)) => Some((**of).clone()),
        (Type::List { of }, Step::Field(_)) => {
            step_type(of, step).map(|t| Type::List { of: Box::new(t) })
        }
        _ => None,
    }
}

/// Text of a scalar, as Python's `str` would print it (T5's templates are Python).
pub(crate) fn to_text(v: &V, text: &str) -> Result<String, RenderError> {
    Ok(match v {
        V::Null => String::new(),
        V::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        V::Int(i) => i.to_string(),
        V::Float(x) => python_float(*x),
        V::Text(s) => s.clone(),
        // T5 renders unlabelled (-1) examples with the `<unk>` target.
        V::Class { id, names } => match usize::try_from(*id).ok().and_then(|i| names.get(i)) {
            Some(n) => n.clone(),
            None => "<unk>".to_string(),
        },
        V::List(_) | V::Record(..) => return err(format!("`{text}` is not text")),
    })
}

fn python_float(x: f64) -> String {
    // Python's `repr`: the shortest digits that read back (as Rust's), in
    // positional notation for decimal exponents -4..16 and scientific
    // (`1e-07`, `1.5e+16`) outside them.
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let s = format!("{x}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// A value as the metrics read it: classes as ids (T5's labels), lists and
/// records as JSON.
fn to_json(v: &V) -> Json {
    match v {
        V::List(items) => Json::Array(items.iter().map(to_json).collect()),
        V::Record(j, _) => j.clone(),
        _ => to_json_scalar(v),
    }
}

fn to_json_scalar(v: &V) -> Json {
    match v {
        V::Null | V::List(_) | V::Record(..) => Json::Null,
        V::Bool(b) => Json::Bool(*b),
        V::Int(i) => Json::from(*i),
        V::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
        V::Text(s) => Json::String(s.clone()),
        V::Class { id, .. } => Json::from(*id),
    }
}

fn as_literal(v: &V) -> Json {
    match v {
        V::Class { id, names } => usize::try_from(*id)
            .ok()
            .and_then(|i| names.get(i))
            .map_or(Json::Null, |n| Json::String(n.clone())),
        V::List(items) => Json::Array(items.iter().map(as_literal).collect()),
        _ => to_json(v),
    }
}

fn compare(v: &V, op: CmpOp, lit: &Json) -> bool {
    use std::cmp::Ordering;
    let ord = match (v, lit) {
        // A class compares by id with numbers and by name with strings.
        (V::Class { names, id }, Json::String(s)) => usize::try_from(*id)
            .ok()
            .and_then(|i| names.get(i))
            .map(|n| n.as_str().cmp(s.as_str())),
        (V::Text(a), Json::String(b)) => Some(a.as_str().cmp(b.as_str())),
        (V::Bool(a), Json::Bool(b)) => Some(a.cmp(b)),
        (_, Json::Null) => Some(if matches!(v, V::Null) {
            Ordering::Equal
        } else {
            Ordering::Greater
        }),
        (_, Json::Number(n)) => match to_json_scalar(v).as_f64() {
            Some(a) => a.partial_cmp(&n.as_f64().unwrap_or(f64::NAN)),
            None => None,
        },
        _ => None,
    };
    match (ord, op) {
        (Some(o), CmpOp::Eq) => o == Ordering::Equal,
        (Some(o), CmpOp::Ne) => o != Ordering::Equal,
        (None, CmpOp::Ne) => true,
        (Some(o), CmpOp::Lt) => o == Ordering::Less,
        (Some(o), CmpOp::Le) => o != Ordering::Greater,
        (Some(o), CmpOp::Gt) => o == Ordering::Greater,
        (Some(o), CmpOp::Ge) => o != Ordering::Less,
        (None, _) => false,
    }
}

fn truthy(v: &V) -> bool {
    match v {
        V::Null => false,
        V::Bool(b) => *b,
        V::Int(i) => *i != 0,
        V::Float(x) => *x != 0.0,
        V::Text(s) => !s.trim().is_empty(),
        V::Class { id, .. } => *id >= 0,
        V::List(items) => !items.is_empty(),
        V::Record(..) => true,
    }
}

/// Render one row of `split` into zero (filtered), one or many examples.
pub fn render_row(task: &Task, row: &Json, split: &str) -> Result<Vec<Example>, RenderError> {
    render_row_seeded(task, row, split, 0)
}

/// [`render_row`] with the run's seed, which `choice` mixes with the row's
/// content: the same row renders the same text in every run with that seed,
/// a resumed one included, whatever its position in the stream.
pub fn render_row_seeded(
    task: &Task,
    row: &Json,
    split: &str,
    seed: u64,
) -> Result<Vec<Example>, RenderError> {
    if !row.is_object() {
        return err(format!("a row must be a record, found {}", json_kind(row)));
    }
    let base = Env {
        task,
        row,
        vars: Vec::new(),
        seed,
    };
    for f in task
        .filters
        .iter()
        .filter(|f| f.only_split.as_deref().is_none_or(|s| s == split))
    {
        let v = base.eval(&f.expr)?;
        let keep = match &f.cmp {
            Some((op, lit)) => compare(&v, *op, lit),
            None => truthy(&v),
        };
        if !keep {
            return Ok(Vec::new());
        }
    }
    let Some(each) = &task.each else {
        return Ok(vec![example(&base)?]);
    };
    let root_ty = match each.path.first() {
        Some(Step::Field(r)) => task.fields.get(r).cloned().unwrap_or(Type::Text),
        _ => Type::Text,
    };
    let root_json = match each.path.first() {
        Some(Step::Field(r)) => row.get(r).cloned().unwrap_or(Json::Null),
        _ => Json::Null,
    };
    let text = format!("each {}", each.var);
    let (list, list_ty) = walk(
        root_json,
        root_ty,
        each.path.get(1..).unwrap_or(&[]),
        &text,
        false,
    )?;
    let elem_ty = match list_ty.strip_optional() {
        Type::List { of } => (**of).clone(),
        t => return err(format!("`each` needs a list, found {}", t.describe())),
    };
    let items = list.as_array().cloned().unwrap_or_default();
    let explode = each.only_split.as_deref().is_none_or(|s| s == split);
    let chosen: Vec<Json> = if explode {
        items
    } else {
        vec![items.into_iter().next().unwrap_or(Json::Null)]
    };
    chosen
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let mut vars = vec![(each.var.as_str(), item, elem_ty.clone())];
            if let Some(index) = &each.index {
                vars.push((index.as_str(), Json::from(i), Type::Int));
            }
            example(&Env {
                task,
                row,
                vars,
                seed,
            })
        })
        .collect()
}

fn example(env: &Env<'_>) -> Result<Example, RenderError> {
    let input = env.template(&env.task.input)?;
    let target = match &env.task.target {
        Target::Template(t) => env.template(t)?,
        Target::Expr(e) => to_text(&env.eval(e)?, &e.text)?,
    };
    let references = match &env.task.references {
        Some(e) => match env.eval(e)? {
            V::List(items) => items
                .iter()
                .map(|x| to_text(x, &e.text))
                .collect::<Result<_, _>>()?,
            v => vec![to_text(&v, &e.text)?],
        },
        None => vec![target.clone()],
    };
    let reference_record = match &env.task.reference_fields {
        Some(fields) => {
            let mut o = serde_json::Map::new();
            for (k, e) in fields {
                o.insert(k.clone(), to_json(&env.eval(e)?));
            }
            Some(Json::Object(o))
        }
        None => None,
    };
    Ok(Example {
        input,
        target,
        references,
        reference_record,
    })
}
