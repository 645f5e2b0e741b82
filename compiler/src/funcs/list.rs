//! Functions over lists (and `slice` and `len`, which take text too).

use super::{
    arg_bound, arg_int, bad_arg, fail, list, not_mine, opt_str_arg, ref_arg, scalar_list, stringy,
    Call, Cx, Def,
};
use crate::diagnostic::Diagnostic;
use crate::ir::{ArgRef, Func, Type};
use crate::render::{to_text, RenderError, V};
use crate::types::is_scalar;

pub(super) const JOIN: Def = Def {
    name: "join",
    usage: "list | join(', ')",
    takes: scalar_list,
    wants: "a list of scalars",
    sees_null: false,
    check: |c| {
        let sep = opt_str_arg(c.call, 0, "sep")?.unwrap_or_else(|| " ".into());
        Ok((Func::Join { sep }, Type::Text))
    },
    eval: |f, v, cx| match (f, v) {
        (Func::Join { sep }, V::List(items)) => Ok(V::Text(
            items
                .iter()
                .map(|x| to_text(x, cx.text))
                .collect::<Result<Vec<_>, _>>()?
                .join(sep),
        )),
        (Func::Join { .. }, _) => fail(cx, "join needs a list"),
        _ => Err(not_mine(f, cx)),
    },
};

fn elem(c: &Call<'_>) -> Type {
    match c.ty {
        Type::List { of } => (**of).clone(),
        t => t.clone(),
    }
}

pub(super) const FIRST: Def = Def {
    name: "first",
    usage: "list | first",
    takes: list,
    wants: "a list",
    sees_null: false,
    check: |c| Ok((Func::First, elem(c))),
    eval: |_, v, cx| end(v, cx, true),
};

pub(super) const LAST: Def = Def {
    name: "last",
    usage: "list | last",
    takes: list,
    wants: "a list",
    sees_null: false,
    check: |c| Ok((Func::Last, elem(c))),
    eval: |_, v, cx| end(v, cx, false),
};

fn end(v: V, cx: &Cx<'_>, first: bool) -> Result<V, RenderError> {
    let V::List(items) = v else {
        return fail(cx, "needs a list");
    };
    let item = if first { items.first() } else { items.last() };
    match item {
        Some(x) => Ok(x.clone()),
        None if cx.lenient => Ok(V::Null),
        None => fail(cx, "the list is empty"),
    }
}

pub(super) const LEN: Def = Def {
    name: "len",
    usage: "list | len, text | len",
    takes: |t| matches!(t, Type::List { .. } | Type::Text),
    wants: "a list or text",
    sees_null: false,
    check: |_| Ok((Func::Len, Type::Int)),
    eval: |_, v, cx| match v {
        V::List(items) => Ok(V::Int(items.len() as i64)),
        V::Text(s) => Ok(V::Int(s.chars().count() as i64)),
        _ => fail(cx, "len needs a list or text"),
    },
};

pub(super) const AT: Def = Def {
    name: "at",
    usage: "list | at(index)",
    takes: list,
    wants: "a list",
    sees_null: false,
    check: |c| {
        let index = ref_arg(c.call, 0, "index", c.scope, true)?;
        Ok((Func::At { index }, elem(c)))
    },
    eval: |f, v, cx| {
        let Func::At { index } = f else {
            return Err(not_mine(f, cx));
        };
        let i = arg_int(cx, index)?;
        let V::List(items) = v else {
            return fail(cx, "`at` needs a list");
        };
        let len = items.len();
        match usize::try_from(i)
            .ok()
            .and_then(|i| items.into_iter().nth(i))
        {
            Some(x) => Ok(x),
            None if cx.lenient => Ok(V::Null),
            None => fail(
                cx,
                format!("position {i} is out of range (the list has {len})"),
            ),
        }
    },
};

pub(super) const SLICE: Def = Def {
    name: "slice",
    usage: "text | slice(start, end), list | slice(start, end)",
    takes: |t| stringy(t) || list(t),
    wants: "text or a list",
    sees_null: false,
    check: |c| {
        let start = ref_arg(c.call, 0, "start", c.scope, true)?;
        let end = if super::arg(c.call, 1, "end").is_some() {
            Some(ref_arg(c.call, 1, "end", c.scope, true)?)
        } else {
            None
        };
        let out = if stringy(c.ty) {
            Type::Text
        } else {
            c.ty.clone()
        };
        Ok((Func::Slice { start, end }, out))
    },
    eval: eval_slice,
};

fn eval_slice(f: &Func, v: V, cx: &Cx<'_>) -> Result<V, RenderError> {
    let Func::Slice { start, end } = f else {
        return Err(not_mine(f, cx));
    };
    // Python slicing: negative positions count from the end, out of range clamps.
    let bounds = |n: usize| -> Result<(usize, usize), RenderError> {
        let n = n as i64;
        let clamp = |i: i64| {
            if i < 0 {
                n.saturating_add(i).max(0)
            } else {
                i.min(n)
            }
        } as usize;
        // A null bound (an absent offset) is Python's `None`: from the
        // start, or to the end.
        let a = arg_bound(cx, start)?.map_or(0, clamp);
        let b = match end {
            Some(e) => arg_bound(cx, e)?.map_or(n as usize, clamp),
            None => n as usize,
        };
        Ok((a, b.max(a)))
    };
    match v {
        V::List(items) => {
            let (a, b) = bounds(items.len())?;
            Ok(V::List(items.into_iter().skip(a).take(b - a).collect()))
        }
        v => {
            let chars: Vec<char> = to_text(&v, cx.text)?.chars().collect();
            let (a, b) = bounds(chars.len())?;
            Ok(V::Text(
                chars
                    .get(a..b)
                    .map_or_else(String::new, |c| c.iter().collect()),
            ))
        }
    }
}

pub(super) const NONEMPTY: Def = Def {
    name: "nonempty",
    usage: "list | nonempty",
    takes: list,
    wants: "a list",
    sees_null: false,
    check: |c| Ok((Func::Nonempty, c.ty.clone())),
    eval: |_, v, cx| match v {
        V::List(items) => Ok(V::List(items.into_iter().filter(truthy_text).collect())),
        _ => fail(cx, "`nonempty` needs a list"),
    },
};

pub(super) const MOST_FREQUENT: Def = Def {
    name: "most_frequent",
    usage: "list | most_frequent",
    takes: list,
    wants: "a list",
    sees_null: false,
    check: |c| Ok((Func::MostFrequent, c.ty.clone())),
    eval: |_, v, cx| match v {
        V::List(items) => {
            // Counted by rendered form: elements are scalars of one type.
            let mut counts: Vec<(String, usize, V)> = Vec::new();
            for item in items {
                let key = format!("{item:?}");
                match counts.iter_mut().find(|(k, _, _)| *k == key) {
                    Some(c) => c.1 += 1,
                    None => counts.push((key, 1, item)),
                }
            }
            let top = counts.iter().map(|c| c.1).max().unwrap_or(0);
            Ok(V::List(
                counts
                    .into_iter()
                    .filter(|c| c.1 == top)
                    .map(|c| c.2)
                    .collect(),
            ))
        }
        _ => fail(cx, "`most_frequent` needs a list"),
    },
};

/// Kept by `nonempty`: anything but null and blank text.
fn truthy_text(v: &V) -> bool {
    match v {
        V::Null => false,
        V::Text(s) => !s.trim().is_empty(),
        _ => true,
    }
}

pub(super) const ENTITIES: Def = Def {
    name: "entities",
    usage: "tokens | entities(tags)",
    takes: scalar_list,
    wants: "a list of tokens",
    sees_null: false,
    check: check_entities,
    eval: eval_entities,
};

fn check_entities(c: &Call<'_>) -> Result<(Func, Type), Diagnostic> {
    let call = c.call;
    let ArgRef::Field(tags) = ref_arg(call, 0, "tags", c.scope, false)? else {
        return Err(bad_arg(
            call,
            "`entities(tags)` names the field of BIO tags",
        ));
    };
    match c
        .scope
        .lookup_path(&tags.text)
        .as_ref()
        .map(Type::strip_optional)
    {
        Some(Type::List { of }) if is_scalar(of) => {}
        _ => {
            return Err(bad_arg(
                call,
                &format!(
                    "`{tags}` must be a list of tags (class labels or text) as long as the tokens"
                ),
            ))
        }
    }
    Ok((Func::Entities { tags }, Type::Text))
}

fn eval_entities(f: &Func, v: V, cx: &Cx<'_>) -> Result<V, RenderError> {
    let Func::Entities { tags } = f else {
        return Err(not_mine(f, cx));
    };
    let V::List(tokens) = v else {
        return fail(cx, "`entities` needs a list of tokens");
    };
    let V::List(tag_values) = cx.env.field(tags)? else {
        return fail(cx, format!("`{tags}` is not a list"));
    };
    if tag_values.len() != tokens.len() {
        let count = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
        return fail(
            cx,
            format!(
                "{} but {} in `{tags}`",
                count(tokens.len(), "token"),
                count(tag_values.len(), "tag")
            ),
        );
    }
    let mut spans: Vec<(String, Vec<String>)> = Vec::new();
    let mut open = false;
    for (tok, tag) in tokens.iter().zip(&tag_values) {
        let tok = to_text(tok, cx.text)?;
        let tag = to_text(tag, cx.text)?;
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
    Ok(V::Text(
        spans
            .iter()
            .map(|(l, w)| format!("[{l}] {}", w.join(" ")))
            .collect::<Vec<_>>()
            .join(" "),
    ))
}

pub(super) const CHOICE: Def = Def {
    name: "choice",
    usage: "list | choice",
    takes: list,
    wants: "a list",
    sees_null: false,
    check: |c| Ok((Func::Choice, elem(c))),
    eval: |_, v, cx| {
        let V::List(items) = v else {
            return fail(cx, "`choice` needs a list");
        };
        if items.is_empty() {
            return if cx.lenient {
                Ok(V::Null)
            } else {
                fail(cx, "the list is empty: nothing to choose")
            };
        }
        let pick = choice_hash(cx.env.seed, cx.env.row, cx.text) % items.len() as u64;
        Ok(items.into_iter().nth(pick as usize).unwrap_or(V::Null))
    },
};

/// FNV-1a over the seed, the row as JSON and the expression: stable across
/// runs, machines and the row's position in the stream.
fn choice_hash(seed: u64, row: &serde_json::Value, text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(&seed.to_le_bytes());
    eat(row.to_string().as_bytes());
    eat(text.as_bytes());
    h
}
