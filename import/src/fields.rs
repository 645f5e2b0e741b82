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
