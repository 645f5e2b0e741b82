//! A dataset's fields, read off rows (a JSONL file given to `exc import`,
//! or the parity corpus's rows): the types `exc` declares in `fields { … }`.

use indexmap::IndexMap;
use serde_json::Value as Json;

#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Text,
    Int,
    Float,
    Bool,
    List(Box<Ty>),
    Record(IndexMap<String, Ty>),
    /// A class rendered by name (`label | names(…)`); never a field's type.
    Class(Vec<String>),
    /// The element of a list that is empty in every row: declared `text`.
    Unknown,
}

/// The declared type of a field: `text`, `list<text>`, `{ a: int }`.
pub fn declare(t: &Ty) -> String {
    match t {
        Ty::Text | Ty::Class(_) | Ty::Unknown => "text".into(),
        Ty::Int => "int".into(),
        Ty::Float => "float".into(),
        Ty::Bool => "bool".into(),
        Ty::List(of) => format!("list<{}>", declare(of)),
        Ty::Record(fs) => {
            let inner: Vec<String> = fs
                .iter()
                .map(|(k, v)| format!("{k}: {}", declare(v)))
                .collect();
            format!("{{ {} }}", inner.join(", "))
        }
    }
}

/// The fields of rows: each value's type, widened over the rows (an int
/// where another row has a float is a float). `None` for an empty list's
/// element or a null: the rows do not say.
pub fn infer(rows: &[Json]) -> Result<IndexMap<String, Ty>, String> {
    let mut out: IndexMap<String, Option<Ty>> = IndexMap::new();
    for (i, row) in rows.iter().enumerate() {
        let Json::Object(m) = row else {
            return Err(format!("row {} is not a record", i + 1));
        };
        for (k, v) in m {
            let t = of(v);
            let slot = out.entry(k.clone()).or_insert(None);
            *slot = widen(slot.take(), t).map_err(|e| format!("field `{k}`: {e}"))?;
        }
    }
    out.into_iter()
        .map(|(k, t)| match t {
            Some(t) => Ok((k, known(t))),
            None => Err(format!("the rows never give field `{k}` a value")),
        })
        .collect()
}

/// An always-empty list is read as a list of text.
fn known(t: Ty) -> Ty {
    match t {
        Ty::Unknown => Ty::Text,
        Ty::List(of) => Ty::List(Box::new(known(*of))),
        Ty::Record(fs) => Ty::Record(fs.into_iter().map(|(k, v)| (k, known(v))).collect()),
        t => t,
    }
}

fn of(v: &Json) -> Option<Ty> {
    Some(match v {
        Json::Null => return None,
        Json::Bool(_) => Ty::Bool,
        Json::Number(n) if n.is_i64() || n.is_u64() => Ty::Int,
        Json::Number(_) => Ty::Float,
        Json::String(_) => Ty::Text,
        Json::Array(items) => {
            let mut t = None;
            for i in items {
                t = widen(t, of(i)).ok()?;
            }
            Ty::List(Box::new(t.unwrap_or(Ty::Unknown)))
        }
        Json::Object(m) => Ty::Record(
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), of(v)?)))
                .collect(),
        ),
    })
}

fn widen(a: Option<Ty>, b: Option<Ty>) -> Result<Option<Ty>, String> {
    Ok(match (a, b) {
        (None, b) => b,
        (a, None) => a,
        (Some(a), Some(b)) if a == b => Some(a),
        (Some(Ty::Unknown), b) => b,
        (a, Some(Ty::Unknown)) => a,
        (Some(Ty::Int), Some(Ty::Float)) | (Some(Ty::Float), Some(Ty::Int)) => Some(Ty::Float),
        (Some(Ty::List(a)), Some(Ty::List(b))) => Some(Ty::List(Box::new(
            widen(Some(*a), Some(*b))?.unwrap_or(Ty::Unknown),
        ))),
        (Some(Ty::Record(mut a)), Some(Ty::Record(b))) => {
            for (k, v) in b {
                let prev = a.get(&k).cloned();
                if let Some(t) = widen(prev, Some(v))? {
                    a.insert(k, t);
                }
            }
            Some(Ty::Record(a))
        }
        (Some(a), Some(b)) => {
            return Err(format!(
                "{} in one row, {} in another",
                declare(&a),
                declare(&b)
            ))
        }
    })
}

/// Without rows: the fields a template reads, typed by how it reads them
/// (an index into `answer_choices` or a number compared is an `int`,
/// arithmetic a `float`, `x.a` a record, `x[0]` or `join` a list, the rest
/// `text`). `exc import` writes these with a TODO to check them.
pub fn guess(nodes: &[crate::jinja::Node]) -> IndexMap<String, Ty> {
    let mut g = Guess {
        out: IndexMap::new(),
        sets: Vec::new(),
    };
    g.nodes(nodes);
    g.out.into_iter().map(|(k, t)| (k, known(t))).collect()
}

struct Guess {
    out: IndexMap<String, Ty>,
    sets: Vec<String>,
}

enum Seg {
    Field(String),
    Elem,
}

impl Guess {
    fn nodes(&mut self, nodes: &[crate::jinja::Node]) {
        use crate::jinja::Node;
        for n in nodes {
            match n {
                Node::Text(_) => {}
                Node::Out(e) => self.expr(e, Ty::Text),
                Node::Set(name, e) => {
                    self.expr(e, Ty::Unknown);
                    self.sets.push(name.clone());
                }
                Node::If(arms, other) => {
                    for (t, body) in arms {
                        self.test(t);
                        self.nodes(body);
                    }
                    if let Some(b) = other {
                        self.nodes(b);
                    }
                }
            }
        }
    }

    fn test(&mut self, e: &crate::jinja::Expr) {
        use crate::jinja::Expr;
        match e {
            Expr::And(a, b) | Expr::Or(a, b) => {
                self.test(a);
                self.test(b);
            }
            Expr::Not(a) => self.test(a),
            Expr::Cmp(_, a, b) => {
                let want = |x: &Expr| match x {
                    Expr::Num(_, true) => Ty::Int,
                    Expr::Num(_, false) => Ty::Float,
                    Expr::Neg(n) if matches!(**n, Expr::Num(_, true)) => Ty::Int,
                    Expr::List(l) if l.is_empty() => Ty::List(Box::new(Ty::Unknown)),
                    _ => Ty::Text,
                };
                self.expr(a, want(b));
                self.expr(b, want(a));
            }
            e => self.expr(e, Ty::Text),
        }
    }

    /// The field path an expression is, if it is one.
    fn path(e: &crate::jinja::Expr) -> Option<(String, Vec<Seg>)> {
        use crate::jinja::Expr;
        match e {
            Expr::Var(n) => Some((n.clone(), Vec::new())),
            Expr::Attr(b, a) => {
                let (root, mut segs) = Self::path(b)?;
                segs.push(Seg::Field(a.clone()));
                Some((root, segs))
            }
            Expr::Index(b, i) => {
                let (root, mut segs) = Self::path(b)?;
                segs.push(match &**i {
                    Expr::Str(s) => Seg::Field(s.clone()),
                    _ => Seg::Elem,
                });
                Some((root, segs))
            }
            _ => None,
        }
    }

    fn expr(&mut self, e: &crate::jinja::Expr, want: Ty) {
        use crate::jinja::Expr;
        if let Some((root, segs)) = Self::path(e) {
            if root == "answer_choices" || self.sets.contains(&root) {
                if let Expr::Index(_, i) = e {
                    self.expr(i, Ty::Int);
                }
                return;
            }
            let t = segs.iter().rev().fold(want, |t, s| match s {
                Seg::Field(f) => Ty::Record(IndexMap::from([(f.clone(), t)])),
                Seg::Elem => Ty::List(Box::new(t)),
            });
            let prev = self.out.get(&root).cloned();
            self.out.insert(root, merge(prev, t));
            // A field used as an index is an int.
            let mut x = e;
            loop {
                match x {
                    Expr::Index(b, i) => {
                        if !matches!(**i, Expr::Str(_) | Expr::Num(..)) {
                            self.expr(i, Ty::Int);
                        }
                        x = b;
                    }
                    Expr::Attr(b, _) => x = b,
                    _ => return,
                }
            }
        }
        let list = || Ty::List(Box::new(Ty::Text));
        match e {
            Expr::Filter(b, f, args) => {
                let inner = match f.as_str() {
                    "join" | "choice" | "most_frequent" | "first" | "last" | "length" | "count" => {
                        list()
                    }
                    _ => Ty::Text,
                };
                self.expr(b, inner);
                for a in args {
                    self.expr(a, Ty::Text);
                }
            }
            Expr::Call(f, args) => {
                if let Expr::Attr(b, _) = &**f {
                    self.expr(b, Ty::Text);
                }
                for a in args {
                    self.expr(a, Ty::Text);
                }
            }
            Expr::Slice(b, s, t) => {
                self.expr(b, want);
                for x in [s, t].into_iter().flatten() {
                    self.expr(x, Ty::Int);
                }
            }
            Expr::Index(b, i) => {
                self.expr(b, list());
                self.expr(i, Ty::Int);
            }
            Expr::Bin(_, a, b) => {
                self.expr(a, Ty::Float);
                self.expr(b, Ty::Float);
            }
            Expr::List(items) => {
                for i in items {
                    self.expr(i, Ty::Text);
                }
            }
            Expr::Cond(c, a, b) => {
                self.test(c);
                self.expr(a, want.clone());
                self.expr(b, want);
            }
            Expr::And(..) | Expr::Or(..) | Expr::Not(_) | Expr::Cmp(..) => self.test(e),
            _ => {}
        }
    }
}

/// Two guesses of one field: the more telling one (a number or a list over
/// text; records merge field by field).
pub(crate) fn merge(a: Option<Ty>, b: Ty) -> Ty {
    match (a, b) {
        (None, b) => b,
        (Some(Ty::Record(mut x)), Ty::Record(y)) => {
            for (k, v) in y {
                let prev = x.get(&k).cloned();
                x.insert(k, merge(prev, v));
            }
            Ty::Record(x)
        }
        (Some(Ty::List(x)), Ty::List(y)) => Ty::List(Box::new(merge(Some(*x), *y))),
        (Some(Ty::Text | Ty::Unknown), b) => b,
        (Some(a), Ty::Text | Ty::Unknown) => a,
        (Some(Ty::Int), Ty::Float) | (Some(Ty::Float), Ty::Int) => Ty::Float,
        (Some(a), _) => a,
    }
}
