//! Jinja AST ([`crate::jinja`]) -> exc template text. Every construct either
//! becomes its exc counterpart with the same rendering or is refused with
//! the reason, which the task writer keeps as a `TODO`.

use crate::fields::Ty;
use crate::jinja::{Expr, Node};
use indexmap::IndexMap;
use std::collections::HashMap;

/// What the translation knows about the prompt's surroundings.
pub struct Ctx<'a> {
    pub fields: &'a IndexMap<String, Ty>,
    /// promptsource's fixed `answer_choices` (`yes ||| no`).
    pub choices: Option<Vec<String>>,
    /// promptsource's `Template.apply` appends `| string | truncate(2048)`
    /// to every `{{ … }}`.
    pub truncate: Option<usize>,
    pub sets: HashMap<String, Expr>,
}

/// A translated value: static text, or an exc expression and its type.
#[derive(Debug, Clone)]
enum Val {
    Lit(String),
    Exc { text: String, ty: Ty, path: bool },
}

fn exc(text: impl Into<String>, ty: Ty) -> Val {
    Val::Exc {
        text: text.into(),
        ty,
        path: false,
    }
}

/// A template being built: literal text and holes.
#[derive(Debug, Clone, Default)]
pub struct Tpl(pub Vec<Piece>);

#[derive(Debug, Clone)]
pub enum Piece {
    Text(String),
    Hole(String),
}

impl Tpl {
    fn text(&mut self, s: &str) {
        match self.0.last_mut() {
            Some(Piece::Text(t)) => t.push_str(s),
            _ => self.0.push(Piece::Text(s.to_string())),
        }
    }
    /// The template as an exc string literal quoted with `q` (`"` or `'`).
    pub fn quoted(&self, q: char) -> String {
        let mut out = String::new();
        out.push(q);
        for p in &self.0 {
            match p {
                Piece::Text(t) => {
                    for c in t.chars() {
                        match c {
                            '\\' => out.push_str("\\\\"),
                            '{' => out.push_str("\\{"),
                            '}' => out.push_str("\\}"),
                            '\n' => out.push_str("\\n"),
                            '\t' => out.push_str("\\t"),
                            '\r' => out.push_str("\\r"),
                            c if c == q => {
                                out.push('\\');
                                out.push(c);
                            }
                            c => out.push(c),
                        }
                    }
                }
                Piece::Hole(h) => {
                    out.push('{');
                    out.push_str(h);
                    out.push('}');
                }
            }
        }
        out.push(q);
        out
    }
}

/// An exc string argument: `'…'`.
pub fn string_arg(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Python's `str()` of a number literal.
fn num_text(n: f64, int: bool) -> String {
    if int {
        format!("{}", n as i64)
    } else if n.fract() == 0.0 && n.abs() < 1e16 {
        format!("{n:.1}")
    } else {
        format!("{n}")
    }
}

/// Jinja's `truncate(length)` (killwords false, end `...`, leeway 5).
pub fn jinja_truncate(s: &str, length: usize) -> String {
    let n = s.chars().count();
    if n <= length + 5 {
        return s.to_string();
    }
    let head: String = s.chars().take(length.saturating_sub(3)).collect();
    let cut = match head.rfind(' ') {
        Some(i) => &head[..i],
        None => head.as_str(),
    };
    format!("{cut}...")
}

/// A value known to be shorter than any truncation: a draw among short
/// strings written out, or a number written with `fixed`.
fn short(text: &str) -> bool {
    (text.starts_with('[') && text.ends_with("| choice") && text.len() < 2048)
        || text.ends_with("| fixed(1)")
}

impl Ctx<'_> {
    pub fn nodes(&mut self, nodes: &[Node]) -> Result<Tpl, String> {
        let mut t = Tpl::default();
        for n in nodes {
            match n {
                Node::Text(s) => t.text(s),
                Node::Set(name, e) => {
                    self.sets.insert(name.clone(), e.clone());
                }
                Node::Out(e) => match self.out(e)? {
                    Piece::Text(s) => t.text(&s),
                    h => t.0.push(h),
                },
                Node::If(arms, other) => {
                    let h = self.cond(arms, other.as_deref())?;
                    t.0.push(Piece::Hole(h));
                }
            }
        }
        Ok(t)
    }

    fn cond(
        &mut self,
        arms: &[(Expr, Vec<Node>)],
        other: Option<&[Node]>,
    ) -> Result<String, String> {
        let Some(((test, body), rest)) = arms.split_first() else {
            return Ok(String::new());
        };
        let test = self.test(test)?;
        let then = self.nodes(body)?.quoted('\'');
        let otherwise = if rest.is_empty() {
            match other {
                Some(b) => self.nodes(b)?.quoted('\''),
                None => "''".to_string(),
            }
        } else {
            format!("({})", self.cond(rest, other)?)
        };
        Ok(format!("if {test} then {then} else {otherwise}"))
    }

    /// A `{{ … }}`: its text, or an exc hole.
    fn out(&mut self, e: &Expr) -> Result<Piece, String> {
        use crate::prompt::{EDGE_BOTH, EDGE_END, EDGE_START};
        if let Expr::Filter(inner, f, args) = e {
            if args.is_empty() && [EDGE_START, EDGE_END, EDGE_BOTH].contains(&f.as_str()) {
                return Ok(match self.out(inner)? {
                    Piece::Text(s) => Piece::Text(
                        match f.as_str() {
                            EDGE_START => s.trim_start(),
                            EDGE_END => s.trim_end(),
                            _ => s.trim(),
                        }
                        .to_string(),
                    ),
                    // Only text can hold whitespace at its ends: the
                    // choices' names are stripped, numbers have none.
                    Piece::Hole(h) if self.is_text(inner) && !short(&h) => {
                        Piece::Hole(format!("{h} | {f}"))
                    }
                    h => h,
                });
            }
        }
        let v = self.value(e)?;
        let cut = |s: String| match self.truncate {
            Some(n) => jinja_truncate(&s, n),
            None => s,
        };
        match v {
            Val::Lit(s) => Ok(Piece::Text(cut(s))),
            Val::Exc { text, ty, .. } => match ty {
                Ty::Text if short(&text) => Ok(Piece::Hole(text)),
                Ty::Text => Ok(Piece::Hole(match self.truncate {
                    Some(n) => format!("{text} | truncate({n})"),
                    None => text,
                })),
                Ty::Class(names) => {
                    if let Some(n) = self.truncate {
                        if names.iter().any(|c| c.chars().count() > n + 5) {
                            return Err("a choice longer than promptsource's truncation".into());
                        }
                    }
                    Ok(Piece::Hole(text))
                }
                Ty::Int => Ok(Piece::Hole(text)),
                Ty::Float => Err(format!(
                    "`{text}` is a float: Python's `str` of a float has no exc counterpart"
                )),
                Ty::Bool => Err(format!("`{text}` is a bool: Jinja writes `True`/`False`")),
                Ty::List(_) | Ty::Record(_) | Ty::Unknown => Err(format!(
                    "`{text}` is a list or record: Jinja writes Python's repr of it"
                )),
            },
        }
    }

    fn is_text(&self, e: &Expr) -> bool {
        matches!(self.value(e), Ok(Val::Exc { ty: Ty::Text, .. }))
    }

    fn field(&self, name: &str) -> Result<Val, String> {
        if let Some(e) = self.sets.get(name) {
            return self.value(&e.clone());
        }
        if name == "answer_choices" {
            let Some(cs) = &self.choices else {
                return Err("`answer_choices` computed per row".into());
            };
            let list: Vec<String> = cs.iter().map(|c| string_arg(c)).collect();
            return Ok(exc(
                format!("[{}]", list.join(", ")),
                Ty::List(Box::new(Ty::Text)),
            ));
        }
        match self.fields.get(name) {
            Some(ty) => Ok(Val::Exc {
                text: name.to_string(),
                ty: ty.clone(),
                path: true,
            }),
            None => Err(format!("`{name}` is not a field of the rows")),
        }
    }

    fn value(&self, e: &Expr) -> Result<Val, String> {
        match e {
            Expr::Str(s) => Ok(Val::Lit(s.clone())),
            Expr::Num(n, int) => Ok(Val::Lit(num_text(*n, *int))),
            Expr::Var(n) => self.field(n),
            Expr::Attr(base, a) => self.member(base, a),
            Expr::Index(base, idx) => self.index(base, idx),
            Expr::Slice(base, a, b) => {
                let (text, ty) = self.exc_of(base)?;
                if !matches!(ty, Ty::Text | Ty::List(_)) {
                    return Err(format!("`{text}` is sliced but is neither text nor a list"));
                }
                let bound = |b: &Option<Box<Expr>>, default: &str| -> Result<String, String> {
                    match b.as_deref() {
                        None => Ok(default.to_string()),
                        Some(x) => self.arg_number(x),
                    }
                };
                let start = bound(a, "0")?;
                let call = match b {
                    None => format!("slice({start})"),
                    Some(_) => format!("slice({start}, {})", bound(b, "")?),
                };
                Ok(exc(format!("{text} | {call}"), ty))
            }
            Expr::Call(f, args) => self.call(f, args),
            Expr::Filter(base, f, args) => self.filter(base, f, args),
            Expr::List(items) => {
                let mut out = Vec::new();
                for i in items {
                    match self.value(i)? {
                        Val::Lit(s) => out.push(string_arg(&s)),
                        _ => return Err("a list written with fields has no exc counterpart".into()),
                    }
                }
                if out.is_empty() {
                    return Err("an empty list written out".into());
                }
                Ok(exc(
                    format!("[{}]", out.join(", ")),
                    Ty::List(Box::new(Ty::Text)),
                ))
            }
            Expr::Bin(op, a, b) => self.arith(op, a, b),
            Expr::Bool(_) | Expr::None => Err("a bool or `none` written out".into()),
            Expr::Neg(x) => match &**x {
                Expr::Num(n, int) => Ok(Val::Lit(num_text(-n, *int))),
                _ => Err("negation of a field".into()),
            },
            Expr::Cond(..) | Expr::Not(_) | Expr::And(..) | Expr::Or(..) | Expr::Cmp(..) => {
                Err("an inline `x if c else y` or test as a value".into())
            }
        }
    }

    fn exc_of(&self, e: &Expr) -> Result<(String, Ty), String> {
        match self.value(e)? {
            Val::Exc { text, ty, .. } => Ok((text, ty)),
            Val::Lit(s) => Err(format!("a function of the literal `{s}`")),
        }
    }

    /// A number or a field as a function argument.
    fn arg_number(&self, e: &Expr) -> Result<String, String> {
        match self.value(e)? {
            Val::Lit(s) if s.parse::<i64>().is_ok() => Ok(s),
            Val::Exc {
                text,
                ty: Ty::Int,
                path: true,
            } => Ok(text),
            _ => Err("a slice bound that is neither a whole number nor an int field".into()),
        }
    }

    /// A text argument: a literal or a text field.
    fn arg_text(&self, e: &Expr) -> Result<String, String> {
        match self.value(e)? {
            Val::Lit(s) => Ok(string_arg(&s)),
            Val::Exc {
                text,
                ty: Ty::Text,
                path: true,
            } => Ok(text),
            _ => Err("an argument that is neither a string nor a text field".into()),
        }
    }

    fn member(&self, base: &Expr, a: &str) -> Result<Val, String> {
        match self.value(base)? {
            Val::Exc {
                text,
                ty,
                path: true,
            } => {
                let field_ty = match &ty {
                    Ty::Record(fs) => fs.get(a).cloned(),
                    Ty::List(of) => match &**of {
                        Ty::Record(fs) => fs.get(a).map(|t| Ty::List(Box::new(t.clone()))),
                        _ => None,
                    },
                    _ => None,
                };
                match field_ty {
                    Some(t) => Ok(Val::Exc {
                        text: format!("{text}.{a}"),
                        ty: t,
                        path: true,
                    }),
                    None => Err(format!("`{text}` has no field `{a}`")),
                }
            }
            Val::Exc { text, .. } => Err(format!("`.{a}` of `{text}`, which is not a field")),
            Val::Lit(s) => Err(format!("`.{a}` of the literal `{s}`")),
        }
    }

    fn index(&self, base: &Expr, idx: &Expr) -> Result<Val, String> {
        if let (Expr::Var(v), Some(cs)) = (base, &self.choices) {
            if v == "answer_choices" && !self.sets.contains_key(v) {
                return match idx {
                    Expr::Num(n, true) => cs
                        .get(*n as usize)
                        .map(|c| Val::Lit(c.clone()))
                        .ok_or_else(|| "`answer_choices` indexed past its end".to_string()),
                    _ => match self.value(idx)? {
                        Val::Exc {
                            text, ty: Ty::Int, ..
                        } => {
                            let names: Vec<String> = cs.iter().map(|c| string_arg(c)).collect();
                            Ok(exc(
                                format!("{text} | names({})", names.join(", ")),
                                Ty::Class(cs.clone()),
                            ))
                        }
                        _ => Err(
                            "`answer_choices` indexed by something other than an int field".into(),
                        ),
                    },
                };
            }
        }
        if let Expr::Str(key) = idx {
            return self.member(base, key);
        }
        let (text, ty) = match self.value(base)? {
            Val::Exc { text, ty, path } => (text, (ty, path)),
            Val::Lit(s) => return Err(format!("an index into the literal `{s}`")),
        };
        let (ty, path) = ty;
        let elem = match &ty {
            Ty::List(of) => (**of).clone(),
            Ty::Text => Ty::Text,
            _ => return Err(format!("`{text}` is indexed but is not a list")),
        };
        match idx {
            Expr::Num(n, true) if path && matches!(ty, Ty::List(_)) => Ok(Val::Exc {
                text: format!("{text}[{}]", *n as i64),
                ty: elem,
                path: true,
            }),
            _ => {
                let i = self.arg_number(idx)?;
                Ok(exc(format!("{text} | at({i})"), elem))
            }
        }
    }

    /// `x.lower()`, `x.split(" ")`, `range(a, b)`.
    fn call(&self, f: &Expr, args: &[Expr]) -> Result<Val, String> {
        if let Expr::Var(name) = f {
            if name == "range" {
                let nums: Result<Vec<i64>, String> = args
                    .iter()
                    .map(|a| match a {
                        Expr::Num(n, true) => Ok(*n as i64),
                        _ => Err("`range` of something other than whole numbers".to_string()),
                    })
                    .collect();
                let nums = nums?;
                let (lo, hi) = match nums.as_slice() {
                    [hi] => (0, *hi),
                    [lo, hi] => (*lo, *hi),
                    _ => return Err("`range` with a step".into()),
                };
                if hi <= lo || hi - lo > 1000 {
                    return Err("an empty or huge `range`".into());
                }
                let items: Vec<String> = (lo..hi).map(|i| format!("'{i}'")).collect();
                return Ok(exc(
                    format!("[{}]", items.join(", ")),
                    Ty::List(Box::new(Ty::Text)),
                ));
            }
            return Err(format!("the function `{name}` has no exc counterpart"));
        }
        let Expr::Attr(base, method) = f else {
            return Err("a call of something other than a method".into());
        };
        let (text, ty) = self.exc_of(base)?;
        if ty != Ty::Text {
            return Err(format!("`.{method}()` of `{text}`, which is not text"));
        }
        let (call, ty) = match (method.as_str(), args) {
            ("lower", []) => ("lower".to_string(), Ty::Text),
            ("upper", []) => ("upper".to_string(), Ty::Text),
            ("strip", []) => ("strip".to_string(), Ty::Text),
            ("split", []) => ("split".to_string(), Ty::List(Box::new(Ty::Text))),
            ("split", [sep]) => (
                format!("split({})", self.arg_text(sep)?),
                Ty::List(Box::new(Ty::Text)),
            ),
            ("replace", [a, b]) => (
                format!("replace({}, {})", self.arg_text(a)?, self.arg_text(b)?),
                Ty::Text,
            ),
            _ => {
                return Err(format!(
                    "the method `.{method}()` with these arguments has no exc counterpart"
                ))
            }
        };
        Ok(exc(format!("{text} | {call}"), ty))
    }

    fn filter(&self, base: &Expr, f: &str, args: &[Expr]) -> Result<Val, String> {
        // Filters of literals are evaluated here.
        if let Val::Lit(s) = self.value(base)? {
            return match (f, args) {
                ("string", []) => Ok(Val::Lit(s)),
                ("trim", []) => Ok(Val::Lit(s.trim().to_string())),
                ("lower", []) => Ok(Val::Lit(s.to_lowercase())),
                ("upper", []) => Ok(Val::Lit(s.to_uppercase())),
                _ => Err(format!("the filter `{f}` of a literal")),
            };
        }
        let (text, ty) = self.exc_of(base)?;
        let list_of = |t: &Ty| match t {
            Ty::List(of) => Some((**of).clone()),
            _ => None,
        };
        let (call, out) = match (f, args, &ty) {
            ("lower" | "upper", [], Ty::Text) => (f.to_string(), Ty::Text),
            ("trim", [], Ty::Text) => ("strip".to_string(), Ty::Text),
            ("string", [], Ty::Text | Ty::Class(_)) => return Ok(exc(text, ty)),
            ("string", [], Ty::Int) => ("str".to_string(), Ty::Text),
            ("replace", [a, b], Ty::Text) => (
                format!("replace({}, {})", self.arg_text(a)?, self.arg_text(b)?),
                Ty::Text,
            ),
            ("join", [], Ty::List(of)) if **of == Ty::Text => ("join('')".to_string(), Ty::Text),
            ("join", [sep], Ty::List(of)) if **of == Ty::Text => {
                (format!("join({})", self.arg_text(sep)?), Ty::Text)
            }
            ("first", [], Ty::List(_)) => ("first".to_string(), list_of(&ty).unwrap_or(Ty::Text)),
            ("last", [], Ty::List(_)) => ("last".to_string(), list_of(&ty).unwrap_or(Ty::Text)),
            ("length" | "count", [], Ty::List(_) | Ty::Text) => ("len".to_string(), Ty::Int),
            ("choice", [], Ty::List(_)) => ("choice".to_string(), list_of(&ty).unwrap_or(Ty::Text)),
            ("most_frequent", [], Ty::List(_)) => ("most_frequent".to_string(), ty.clone()),
            ("truncate", [Expr::Num(n, true)], Ty::Text) => {
                (format!("truncate({})", *n as i64), Ty::Text)
            }
            ("default", [d], _) => match self.value(d)? {
                Val::Lit(s) => (format!("default({})", string_arg(&s)), ty.clone()),
                _ => return Err("`default` of a field".into()),
            },
            _ => {
                return Err(format!(
                    "the filter `{f}` of `{text}` has no exc counterpart"
                ))
            }
        };
        Ok(exc(format!("{text} | {call}"), out))
    }

    /// `(((5*label) | round )/5)`: STS-B's rounding to a fifth, which Python
    /// rounds half to even.
    fn arith(&self, op: &str, a: &Expr, b: &Expr) -> Result<Val, String> {
        if op == "/" {
            if let (Expr::Filter(inner, f, fargs), Expr::Num(k, _)) = (a, b) {
                if f == "round" && fargs.is_empty() && *k == 5.0 {
                    if let Expr::Bin(m, x, y) = &**inner {
                        let x = match (&**x, &**y) {
                            (Expr::Num(k2, _), x) | (x, Expr::Num(k2, _))
                                if m == "*" && *k2 == 5.0 =>
                            {
                                x
                            }
                            _ => return Err("arithmetic on fields".into()),
                        };
                        let (text, ty) = self.exc_of(x)?;
                        if matches!(ty, Ty::Float | Ty::Int) {
                            return Ok(exc(
                                format!("{text} | round_even(0.2) | fixed(1)"),
                                Ty::Text,
                            ));
                        }
                    }
                }
            }
        }
        if op == "~" || op == "+" {
            if let (Val::Lit(x), Val::Lit(y)) = (self.value(a)?, self.value(b)?) {
                return Ok(Val::Lit(x + &y));
            }
        }
        Err(format!("the arithmetic `{op}` has no exc counterpart here"))
    }

    /// A test of `{% if %}` as an exc test.
    pub fn test(&self, e: &Expr) -> Result<String, String> {
        match e {
            Expr::And(a, b) => Ok(format!("({}) and ({})", self.test(a)?, self.test(b)?)),
            Expr::Or(a, b) => Ok(format!("({}) or ({})", self.test(a)?, self.test(b)?)),
            Expr::Not(a) => Ok(format!("not ({})", self.test(a)?)),
            Expr::Cmp(op, a, b) => self.compare(op, a, b),
            _ => {
                let (text, ty) = self.exc_of(e)?;
                match ty {
                    // Jinja's truth of text is "not empty" (exc's bare text
                    // test also calls blank text false).
                    Ty::Text => Ok(format!("{text} != ''")),
                    Ty::List(_) | Ty::Bool => Ok(text),
                    Ty::Int | Ty::Float => Ok(format!("{text} != 0")),
                    _ => Err(format!("the truth of `{text}`")),
                }
            }
        }
    }

    fn compare(&self, op: &str, a: &Expr, b: &Expr) -> Result<String, String> {
        if let Expr::List(items) = b {
            if items.is_empty() && (op == "==" || op == "!=") {
                let (text, ty) = self.exc_of(a)?;
                if !matches!(ty, Ty::List(_)) {
                    return Err(format!("`{text}` compared with `[]` is not a list"));
                }
                return Ok(if op == "==" {
                    format!("not {text}")
                } else {
                    text
                });
            }
        }
        let lit = |e: &Expr| -> Result<Option<String>, String> {
            Ok(match e {
                Expr::Str(s) => Some(string_arg(s)),
                Expr::Num(n, int) => Some(num_text(*n, *int)),
                Expr::Neg(x) => match &**x {
                    Expr::Num(n, int) => Some(num_text(-n, *int)),
                    _ => None,
                },
                Expr::List(_) if op == "in" => match self.value(e)? {
                    Val::Exc { text, .. } => Some(text),
                    Val::Lit(_) => None,
                },
                _ => None,
            })
        };
        let (l, r) = (lit(a)?, lit(b)?);
        let (x, value, op) = match (l, r) {
            (None, Some(v)) => (a, v, op.to_string()),
            (Some(v), None) if op != "in" => {
                let flipped = match op {
                    "<" => ">",
                    ">" => "<",
                    "<=" => ">=",
                    ">=" => "<=",
                    o => o,
                };
                (b, v, flipped.to_string())
            }
            _ => {
                let (ta, _) = self.exc_of(a)?;
                let (tb, _) = self.exc_of(b)?;
                return Ok(format!("{ta} {op} {tb}"));
            }
        };
        let (text, ty) = self.exc_of(x)?;
        if matches!(ty, Ty::Float) && (op == "==" || op == "!=") {
            return Err(format!("`{text}` a float compared for equality"));
        }
        Ok(format!("{text} {op} {value}"))
    }
}
