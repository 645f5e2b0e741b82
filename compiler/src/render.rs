//! Rows -> examples: evaluates a task's filters, `each`, input template and
//! target over one data row. `exc render` and the runtime's data pipeline both
//! call [`render_row`], so there is one template engine.

use crate::ir::{
    ArgRef, CmpOp, Expr, Func, MapPart, Part, Step, Table, Target, Task, Template, Type,
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

fn err<T>(message: impl Into<String>) -> Result<T, RenderError> {
    Err(RenderError {
        message: message.into(),
    })
}

/// A value with its declared type, so class ids render as names.
#[derive(Debug, Clone)]
enum V {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Class { id: i64, names: Vec<String> },
    List(Vec<V>),
    Record(Json, Type),
}

fn from_json(j: &Json, ty: &Type, at: &str) -> Result<V, RenderError> {
    Ok(match (ty, j) {
        (Type::Optional { .. } | Type::List { .. } | Type::Record { .. }, Json::Null) => V::Null,
        // A null scalar in a field not declared optional would render as
        // empty text (an empty target, trained): an error in `exc check
        // --data`, `exc render` and `exc run` alike, never a silent row.
        (ty, Json::Null) => return err(null_scalar(at, ty)),
        // An empty TSV/CSV cell is how those files write "absent": for an
        // optional class, number or bool it is null, not a value to parse.
        (Type::Optional { of }, Json::String(s)) if s.is_empty() && **of != Type::Text => V::Null,
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
        // TSV/CSV sources give strings; accept numbers written as text.
        (Type::Int, Json::String(s)) => match s.trim().parse() {
            Ok(i) => V::Int(i),
            Err(_) => return err(format!("`{at}` should be an int, found \"{s}\"")),
        },
        (Type::Float, Json::String(s)) => match s.trim().parse() {
            Ok(x) => V::Float(x),
            Err(_) => return err(format!("`{at}` should be a float, found \"{s}\"")),
        },
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
            None => match s.trim().parse::<i64>() {
                Ok(id) if id >= -1 && id < names.len() as i64 => V::Class {
                    id,
                    names: names.clone(),
                },
                _ => {
                    return err(format!(
                        "`{at}` is \"{s}\", which is not one of {}",
                        ty.describe()
                    ))
                }
            },
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
struct Env<'a> {
    task: &'a Task,
    row: &'a Json,
    vars: Vec<(&'a str, Json, Type)>,
}

impl Env<'_> {
    /// Walk a path through JSON and types together. Field access on a list of
    /// records maps over the list (HF `Sequence` of dicts).
    fn path(&self, path: &[Step], text: &str) -> Result<V, RenderError> {
        // Name the field, not the whole `path | fn` chain, in type errors.
        let at = text.split(" | ").next().unwrap_or(text);
        let (json, ty) = self.raw(path, at)?;
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
    fn raw(&self, path: &[Step], at: &str) -> Result<(Json, Type), RenderError> {
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
        walk(json, ty, path.get(1..).unwrap_or(&[]), at)
    }

    /// `zip(name = list, …)`: one record per position, a field per list.
    /// Lists of different lengths are an error, never cut to the shortest.
    fn zip(&self, e: &Expr) -> Result<V, RenderError> {
        let head = e.text.split(" | ").next().unwrap_or(&e.text);
        let mut columns = Vec::with_capacity(e.zip.len());
        for z in &e.zip {
            let (json, ty) = self.raw(&z.path, &z.text)?;
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

    fn eval(&self, e: &Expr) -> Result<V, RenderError> {
        let mut v = if e.zip.is_empty() {
            self.path(&e.path, &e.text)?
        } else {
            self.zip(e)?
        };
        for f in &e.calls {
            v = apply(f, v, &e.text, self)?;
        }
        Ok(v)
    }

    fn template(&self, t: &Template) -> Result<String, RenderError> {
        let mut out = String::new();
        for part in &t.parts {
            match part {
                Part::Text(s) => out.push_str(s),
                Part::Hole(e) => out.push_str(&to_text(&self.eval(e)?, &e.text)?),
            }
        }
        Ok(out)
    }
}

fn walk(
    mut json: Json,
    mut ty: Type,
    rest: &[Step],
    text: &str,
) -> Result<(Json, Type), RenderError> {
    for step in rest {
        if let Type::Optional { of } = ty {
            if json.is_null() {
                return Ok((Json::Null, Type::Optional { of }));
            }
            ty = *of;
        }
        (json, ty) = one_step(json, ty, step, text)?;
    }
    Ok((json, ty))
}

/// One step of a path. A field of a list of records maps over the list (HF
/// `Sequence` of dicts): `answers.text` is the list of every answer's text,
/// and a following `[0]` indexes that list, as the checker types it.
fn one_step(json: Json, ty: Type, step: &Step, text: &str) -> Result<(Json, Type), RenderError> {
    match (ty, step) {
        (Type::Optional { of }, _) if json.is_null() => Ok((Json::Null, Type::Optional { of })),
        (Type::Optional { of }, _) => one_step(json, *of, step, text),
        (Type::Record { fields }, Step::Field(f)) => Ok((
            json.get(f).cloned().unwrap_or(Json::Null),
            fields.get(f).cloned().unwrap_or(Type::Text),
        )),
        (Type::List { of }, Step::Index(n)) => {
            let len = json.as_array().map_or(0, Vec::len);
            match json.get(*n).cloned() {
                Some(item) => Ok((item, *of)),
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
                let (j, t) = one_step(item, (*of).clone(), step, text)?;
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

/// A function argument's value: a literal, or a field of the row.
fn arg_int(env: &Env<'_>, a: &ArgRef, text: &str) -> Result<i64, RenderError> {
    match a {
        ArgRef::Int(i) => Ok(*i),
        ArgRef::Field(name) => match env.path(&crate::ir::path_steps(name), name)? {
            V::Int(i) | V::Class { id: i, .. } => Ok(i),
            V::Bool(b) => Ok(i64::from(b)),
            _ => err(format!("`{text}`: `{name}` is not a whole number")),
        },
    }
}

/// A `slice` bound: a whole number, or `None` where the field is null.
fn arg_bound(env: &Env<'_>, a: &ArgRef, text: &str) -> Result<Option<i64>, RenderError> {
    if let ArgRef::Field(name) = a {
        if let V::Null = env.path(&crate::ir::path_steps(name), name)? {
            return Ok(None);
        }
    }
    arg_int(env, a, text).map(Some)
}

fn apply(f: &Func, v: V, text: &str, env: &Env<'_>) -> Result<V, RenderError> {
    if let V::Null = v {
        return Ok(match f {
            Func::Default { value } => V::Text(value.clone()),
            _ => V::Null,
        });
    }
    Ok(match f {
        Func::Lower => V::Text(to_text(&v, text)?.to_lowercase()),
        Func::Upper => V::Text(to_text(&v, text)?.to_uppercase()),
        Func::Strip => V::Text(to_text(&v, text)?.trim().to_string()),
        Func::Replace { from, to } => V::Text(to_text(&v, text)?.replace(from.as_str(), to)),
        Func::Sub { pattern, to } => match regex::Regex::new(pattern) {
            Ok(re) => V::Text(
                re.replace_all(&to_text(&v, text)?, to.as_str())
                    .into_owned(),
            ),
            Err(e) => return err(format!("`{text}`: bad pattern: {e}")),
        },
        Func::Words { n } => V::Text(
            to_text(&v, text)?
                .split_whitespace()
                .take(*n)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Func::Join { sep } => match v {
            V::List(items) => V::Text(
                items
                    .iter()
                    .map(|x| to_text(x, text))
                    .collect::<Result<Vec<_>, _>>()?
                    .join(sep),
            ),
            _ => return err(format!("`{text}`: join needs a list")),
        },
        Func::First | Func::Last => match v {
            V::List(items) => {
                let item = if matches!(f, Func::First) {
                    items.first()
                } else {
                    items.last()
                };
                match item {
                    Some(x) => x.clone(),
                    None => return err(format!("`{text}`: the list is empty")),
                }
            }
            _ => return err(format!("`{text}`: needs a list")),
        },
        Func::Len => match v {
            V::List(items) => V::Int(items.len() as i64),
            V::Text(s) => V::Int(s.chars().count() as i64),
            _ => return err(format!("`{text}`: len needs a list or text")),
        },
        Func::Str => V::Text(to_text(&v, text)?),
        Func::Default { .. } => v,
        Func::Id => match v {
            V::Class { id, .. } => V::Int(id),
            V::Bool(b) => V::Int(i64::from(b)),
            _ => return err(format!("`{text}`: id needs a class label")),
        },
        Func::Names { names } => {
            let id = match v {
                V::Class { id, .. } | V::Int(id) => id,
                V::Bool(b) => i64::from(b),
                _ => return err(format!("`{text}`: names needs a class label")),
            };
            V::Class {
                id,
                names: names.clone(),
            }
        }
        Func::Round { step } => {
            let x = number(&v, text)?;
            V::Float(if *step > 0.0 {
                (x / step).round() * step
            } else {
                x
            })
        }
        Func::RoundEven { step } => {
            let x = number(&v, text)?;
            V::Float(if *step > 0.0 {
                // T5's STS-B target: tf.round(label * 5) / 5, the label a
                // float32 (TFDS's and the hub's type) and tf.round halving
                // to even. In float32, 0.7 * 5 is 3.5, which rounds to 4.
                let per_unit = (1.0 / *step) as f32;
                f64::from(((x as f32) * per_unit).round_ties_even() / per_unit)
            } else {
                x
            })
        }
        Func::Fixed { digits } => V::Text(format!("{:.*}", digits, number(&v, text)?)),
        Func::At { index } => {
            let i = arg_int(env, index, text)?;
            match v {
                V::List(items) => {
                    let len = items.len();
                    match usize::try_from(i)
                        .ok()
                        .and_then(|i| items.into_iter().nth(i))
                    {
                        Some(x) => x,
                        None => {
                            return err(format!(
                                "`{text}`: position {i} is out of range (the list has {len})"
                            ))
                        }
                    }
                }
                _ => return err(format!("`{text}`: `at` needs a list")),
            }
        }
        Func::Slice { start, end } => {
            // Python slicing: negative positions count from the end, out of range clamps.
            let bounds = |n: usize| -> Result<(usize, usize), RenderError> {
                let n = n as i64;
                let clamp = |i: i64| if i < 0 { (n + i).max(0) } else { i.min(n) } as usize;
                // A null bound (an absent offset) is Python's `None`: from the
                // start, or to the end.
                let a = arg_bound(env, start, text)?.map_or(0, clamp);
                let b = match end {
                    Some(e) => arg_bound(env, e, text)?.map_or(n as usize, clamp),
                    None => n as usize,
                };
                Ok((a, b.max(a)))
            };
            match v {
                V::List(items) => {
                    let (a, b) = bounds(items.len())?;
                    V::List(items.into_iter().skip(a).take(b - a).collect())
                }
                v => {
                    let chars: Vec<char> = to_text(&v, text)?.chars().collect();
                    let (a, b) = bounds(chars.len())?;
                    V::Text(
                        chars
                            .get(a..b)
                            .map_or_else(String::new, |c| c.iter().collect()),
                    )
                }
            }
        }
        Func::Lookup { keys, values } => {
            let key = to_text(&v, text)?;
            let (ks, vs) = (table(env, keys, text)?, table(env, values, text)?);
            let mut found = None;
            for (i, k) in ks.iter().enumerate() {
                if to_text(k, text)? == key {
                    found = Some(i);
                    break;
                }
            }
            let Some(i) = found else {
                return err(format!(
                    "`{text}`: \"{key}\" is not among the keys {}",
                    show_table(keys, &ks, text)?
                ));
            };
            let len = vs.len();
            match (values, vs.into_iter().nth(i)) {
                // Written values are a class over them; `null` is unlabelled (-1).
                (Table::Literal(written), Some(x)) => {
                    let names = crate::tables::class_names(written);
                    let id = match &x {
                        V::Text(t) => names.iter().position(|n| n == t).map_or(-1, |p| p as i64),
                        _ => -1,
                    };
                    V::Class { id, names }
                }
                (Table::Field(_), Some(x)) => x,
                (_, None) => {
                    return err(format!(
                        "`{text}`: \"{key}\" is key {i} but the values have {len}"
                    ))
                }
            }
        }
        Func::Mark { index, word, mark } => {
            let s = to_text(&v, text)?;
            let i = arg_int(env, index, text)?;
            let mut words: Vec<String> = s.split(' ').map(str::to_string).collect();
            let len = words.len();
            let Some(at) = usize::try_from(i).ok().filter(|&i| i < len) else {
                return err(format!(
                    "`{text}`: word {i} is out of range (the text has {len} words)"
                ));
            };
            match word {
                None => words[at] = format!("{mark}{}{mark}", words[at]),
                Some(field) => {
                    let want = to_text(&env.path(&crate::ir::path_steps(field), field)?, text)?;
                    let Some((at, marked)) = mark_word(&words, at, &want, mark) else {
                        return err(format!(
                            "`{text}`: word {i} is `{}`, not `{want}` (`{field}`), and neither \
                             word beside it is",
                            words[at]
                        ));
                    };
                    words[at] = marked;
                }
            }
            V::Text(words.join(" "))
        }
        Func::Nonempty => match v {
            V::List(items) => V::List(items.into_iter().filter(truthy_text).collect()),
            _ => return err(format!("`{text}`: `nonempty` needs a list")),
        },
        Func::Entities { tags } => {
            let V::List(tokens) = v else {
                return err(format!("`{text}`: `entities` needs a list of tokens"));
            };
            let V::List(tag_values) = env.path(&crate::ir::path_steps(tags), tags)? else {
                return err(format!("`{text}`: `{tags}` is not a list"));
            };
            if tag_values.len() != tokens.len() {
                let count =
                    |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
                return err(format!(
                    "`{text}`: {} but {} in `{tags}`",
                    count(tokens.len(), "token"),
                    count(tag_values.len(), "tag")
                ));
            }
            let mut spans: Vec<(String, Vec<String>)> = Vec::new();
            let mut open = false;
            for (tok, tag) in tokens.iter().zip(&tag_values) {
                let tok = to_text(tok, text)?;
                let tag = to_text(tag, text)?;
                // IOB2 (B- starts) and IOB1 (I- may start) both read correctly.
                let (kind, label) = tag.split_once('-').unwrap_or((tag.as_str(), ""));
                match (kind, spans.last_mut()) {
                    ("I", Some((l, words))) if open && l == label => words.push(tok),
                    ("B" | "I", _) => {
                        spans.push((label.to_string(), vec![tok]));
                        open = true;
                    }
                    _ => open = false,
                }
            }
            V::Text(
                spans
                    .iter()
                    .map(|(l, w)| format!("[{l}] {}", w.join(" ")))
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        }
        Func::Map { parts } => {
            let V::List(items) = v else {
                return err(format!("`{text}`: `map` needs a list"));
            };
            let has_holes = parts.iter().any(|p| matches!(p, MapPart::Hole(_)));
            let mut out = Vec::with_capacity(items.len());
            for item in &items {
                // Holes see the element's fields ahead of `each` names and the row.
                let inner = has_holes.then(|| {
                    let mut vars: Vec<(&str, Json, Type)> = match item {
                        V::Record(j, Type::Record { fields }) => fields
                            .iter()
                            .map(|(k, t)| {
                                (
                                    k.as_str(),
                                    j.get(k).cloned().unwrap_or(Json::Null),
                                    t.clone(),
                                )
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    vars.extend(env.vars.iter().cloned());
                    Env {
                        task: env.task,
                        row: env.row,
                        vars,
                    }
                });
                let mut s = String::new();
                for p in parts {
                    match p {
                        MapPart::Text(t) => s.push_str(t),
                        MapPart::Whole => s.push_str(&to_text(item, text)?),
                        MapPart::Index(i) => match item {
                            V::List(xs) => match xs.get(*i) {
                                Some(x) => s.push_str(&to_text(x, text)?),
                                None => {
                                    return err(format!("`{text}`: element has no position {i}"))
                                }
                            },
                            _ => return err(format!("`{text}`: `{{{i}}}` needs list elements")),
                        },
                        MapPart::Field(f) => match item {
                            // Through the declared type, so a class field shows its name.
                            V::Record(j, Type::Record { fields }) => {
                                let field_ty = fields.get(f).cloned().unwrap_or(Type::Text);
                                let v = from_json(j.get(f).unwrap_or(&Json::Null), &field_ty, f)?;
                                s.push_str(&to_text(&v, text)?);
                            }
                            _ => return err(format!("`{text}`: `{{{f}}}` needs record elements")),
                        },
                        MapPart::Hole(e) => match &inner {
                            Some(inner) => s.push_str(&to_text(&inner.eval(e)?, &e.text)?),
                            None => return err(format!("`{text}`: no scope for `{{{}}}`", e.text)),
                        },
                    }
                }
                out.push(V::Text(s));
            }
            V::List(out)
        }
    })
}

/// A `lookup` list: a list field of the row, or the task's own list (text).
fn table(env: &Env<'_>, t: &Table, text: &str) -> Result<Vec<V>, RenderError> {
    match t {
        Table::Literal(items) => Ok(items
            .iter()
            .map(|s| s.as_ref().map_or(V::Null, |s| V::Text(s.clone())))
            .collect()),
        Table::Field(name) => match env.path(&crate::ir::path_steps(name), name)? {
            V::List(items) => Ok(items),
            _ => err(format!("`{text}`: `{name}` is not a list")),
        },
    }
}

/// The keys in an error: the field's name and values, or the written list.
fn show_table(t: &Table, keys: &[V], text: &str) -> Result<String, RenderError> {
    let quoted = keys
        .iter()
        .map(|k| to_text(k, text).map(|k| format!("\"{k}\"")))
        .collect::<Result<Vec<_>, _>>()?
        .join(", ");
    Ok(match t {
        Table::Field(name) => format!("of `{name}` ({quoted})"),
        Table::Literal(_) => quoted,
    })
}

fn number(v: &V, text: &str) -> Result<f64, RenderError> {
    match v {
        V::Int(i) => Ok(*i as f64),
        V::Float(x) => Ok(*x),
        _ => err(format!("`{text}`: needs a number")),
    }
}

/// Text of a scalar, as Python's `str` would print it (T5's templates are Python).
fn to_text(v: &V, text: &str) -> Result<String, RenderError> {
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
    if x.is_finite() && x == x.trunc() && x.abs() < 1e16 {
        format!("{x:.1}")
    } else {
        format!("{x}")
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

/// Kept by `nonempty`: anything but null and blank text.
fn truthy_text(v: &V) -> bool {
    match v {
        V::Null => false,
        V::Text(s) => !s.trim().is_empty(),
        _ => true,
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
    if !row.is_object() {
        return err(format!("a row must be a record, found {}", json_kind(row)));
    }
    let base = Env {
        task,
        row,
        vars: Vec::new(),
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
    let (list, list_ty) = walk(root_json, root_ty, each.path.get(1..).unwrap_or(&[]), &text)?;
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
            example(&Env { task, row, vars })
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

/// Where `mark(i, word)` marks, and how: T5's WSC preprocessing (t5
/// `_wsc_inputs`, then `wsc_simple`) asserts that the word at `span2_index`
/// is `span2_text` and replaces it with `*span2_text*`, except for two texts
/// it mends by hand, whose index is one word off ("want to use it": the index
/// names `use`) or whose word carries punctuation (`him,"` becomes
/// `*him* ,"`). The rule that gives T5's output for every row: the word at
/// `at` if it is `want`, else the word beside it (after, then before); else
/// a word there that is `want` followed by punctuation only, marked with the
/// punctuation split off. `None` when nothing there is `want`.
pub(crate) fn mark_word(
    words: &[String],
    at: usize,
    want: &str,
    mark: &str,
) -> Option<(usize, String)> {
    let near = [Some(at), at.checked_add(1), at.checked_sub(1)];
    let near = near.iter().flatten().copied().filter(|&j| j < words.len());
    if let Some(j) = near.clone().find(|&j| words[j] == want) {
        return Some((j, format!("{mark}{want}{mark}")));
    }
    near.filter(|_| !want.is_empty()).find_map(|j| {
        let rest = words[j].strip_prefix(want)?;
        rest.chars()
            .all(|c| c.is_ascii_punctuation())
            .then(|| (j, format!("{mark}{want}{mark} {rest}")))
    })
}
