//! Functions over text: case, whitespace, replacement, words, marking.

use super::{
    arg, arg_int, arg_text, bad_arg, fail, not_mine, opt_str_arg, ref_arg, str_arg, stringy,
    text_arg, Call, Cx, Def,
};
use crate::ast::Value;
use crate::diagnostic::Diagnostic;
use crate::ir::{ArgRef, Func, Pattern, Type};
use crate::render::{to_text, RenderError, V};
use crate::types::is_scalar;

/// A function of one text to another, without arguments.
const fn simple(
    name: &'static str,
    usage: &'static str,
    check: fn(&Call<'_>) -> Result<(Func, Type), Diagnostic>,
    eval: fn(&Func, V, &Cx<'_>) -> Result<V, RenderError>,
) -> Def {
    Def {
        name,
        usage,
        takes: stringy,
        wants: "text",
        sees_null: false,
        check,
        eval,
    }
}

fn text_of(v: &V, cx: &Cx<'_>) -> Result<String, RenderError> {
    to_text(v, cx.text)
}

pub(super) const LOWER: Def = simple(
    "lower",
    "text | lower",
    |_| Ok((Func::Lower, Type::Text)),
    |_, v, cx| Ok(V::Text(text_of(&v, cx)?.to_lowercase())),
);

pub(super) const UPPER: Def = simple(
    "upper",
    "text | upper",
    |_| Ok((Func::Upper, Type::Text)),
    |_, v, cx| Ok(V::Text(text_of(&v, cx)?.to_uppercase())),
);

pub(super) const STRIP: Def = simple(
    "strip",
    "text | strip",
    |_| Ok((Func::Strip, Type::Text)),
    |_, v, cx| Ok(V::Text(text_of(&v, cx)?.trim().to_string())),
);

pub(super) const LSTRIP: Def = simple(
    "lstrip",
    "text | lstrip",
    |_| Ok((Func::Lstrip, Type::Text)),
    |_, v, cx| Ok(V::Text(text_of(&v, cx)?.trim_start().to_string())),
);

pub(super) const RSTRIP: Def = simple(
    "rstrip",
    "text | rstrip",
    |_| Ok((Func::Rstrip, Type::Text)),
    |_, v, cx| Ok(V::Text(text_of(&v, cx)?.trim_end().to_string())),
);

pub(super) const REPLACE: Def = simple(
    "replace",
    "text | replace('from', 'to')",
    |c| {
        let from = text_arg(c.call, 0, "from", c.scope)?;
        let to = text_arg(c.call, 1, "to", c.scope)?;
        Ok((Func::Replace { from, to }, Type::Text))
    },
    |f, v, cx| match f {
        Func::Replace { from, to } => {
            let (from, to) = (arg_text(cx, from)?, arg_text(cx, to)?);
            Ok(V::Text(text_of(&v, cx)?.replace(from.as_str(), &to)))
        }
        _ => Err(not_mine(f, cx)),
    },
);

pub(super) const SUB: Def = simple(
    "sub",
    "text | sub('regex', 'to $1')",
    |c| {
        let pattern = str_arg(c.call, 0, "pattern")?;
        let to = str_arg(c.call, 1, "to")?;
        let pattern = Pattern::new(&pattern).map_err(|e| {
            bad_arg(
                c.call,
                &format!("`{pattern}` is not a valid regular expression: {e}"),
            )
        })?;
        Ok((Func::Sub { pattern, to }, Type::Text))
    },
    |f, v, cx| match f {
        Func::Sub { pattern, to } => Ok(V::Text(
            pattern
                .regex
                .replace_all(&text_of(&v, cx)?, to.as_str())
                .into_owned(),
        )),
        _ => Err(not_mine(f, cx)),
    },
);

/// `words(n)`: the first `n` words, as text; `words`: the list of words.
pub(super) const WORDS: Def = simple(
    "words",
    "text | words(n), text | words",
    |c| {
        if arg(c.call, 0, "n").is_none() {
            return Ok((Func::Split { sep: None }, text_list()));
        }
        let n = super::num_arg(c.call, 0, "n", f64::MAX)?;
        Ok((Func::Words { n: n as usize }, Type::Text))
    },
    |f, v, cx| match f {
        Func::Words { n } => Ok(V::Text(
            text_of(&v, cx)?
                .split_whitespace()
                .take(*n)
                .collect::<Vec<_>>()
                .join(" "),
        )),
        _ => Err(not_mine(f, cx)),
    },
);

pub(super) const STR: Def = Def {
    name: "str",
    usage: "scalar | str",
    takes: is_scalar,
    wants: "a scalar",
    sees_null: false,
    check: |_| Ok((Func::Str, Type::Text)),
    eval: |_, v, cx| Ok(V::Text(text_of(&v, cx)?)),
};

pub(super) const MARK: Def = simple(
    "mark",
    "text | mark(index, word?, '*')",
    check_mark,
    eval_mark,
);

fn check_mark(c: &Call<'_>) -> Result<(Func, Type), Diagnostic> {
    let call = c.call;
    let index = ref_arg(call, 0, "index", c.scope, true)?;
    // `mark(i)`, `mark(i, "[")`, `mark(i, word)`, `mark(i, word, "[")`:
    // a bare name is the field holding the expected word.
    let word = match arg(call, 1, "word").map(|v| &v.node) {
        Some(Value::Word(_)) => match ref_arg(call, 1, "word", c.scope, false)? {
            ArgRef::Field(f)
                if matches!(
                    c.scope
                        .lookup_path(&f.text)
                        .as_ref()
                        .map(Type::strip_optional),
                    Some(Type::Text)
                ) =>
            {
                Some(f)
            }
            ArgRef::Field(f) => {
                return Err(bad_arg(
                    call,
                    &format!("`{f}` must be a text field: the word expected at the index"),
                ))
            }
            ArgRef::Int(_) => None,
        },
        _ => None,
    };
    let mark_at = if word.is_some() { 2 } else { 1 };
    let mark = opt_str_arg(call, mark_at, "mark")?.unwrap_or_else(|| "*".into());
    Ok((Func::Mark { index, word, mark }, Type::Text))
}

fn eval_mark(f: &Func, v: V, cx: &Cx<'_>) -> Result<V, RenderError> {
    let Func::Mark { index, word, mark } = f else {
        return Err(not_mine(f, cx));
    };
    let s = text_of(&v, cx)?;
    let i = arg_int(cx, index)?;
    let mut words: Vec<String> = s.split(' ').map(str::to_string).collect();
    let len = words.len();
    let Some(at) = usize::try_from(i).ok().filter(|&i| i < len) else {
        return fail(
            cx,
            format!("word {i} is out of range (the text has {len} words)"),
        );
    };
    match word {
        None => words[at] = format!("{mark}{}{mark}", words[at]),
        Some(field) => {
            let want = text_of(&cx.env.field(field)?, cx)?;
            let Some((at, marked)) = mark_word(&words, at, &want, mark) else {
                return fail(
                    cx,
                    format!(
                        "word {i} is `{}`, not `{want}` (`{field}`), and neither word beside it is",
                        words[at]
                    ),
                );
            };
            words[at] = marked;
        }
    }
    Ok(V::Text(words.join(" ")))
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

fn text_list() -> Type {
    Type::List {
        of: Box::new(Type::Text),
    }
}

pub(super) const SPLIT: Def = simple(
    "split",
    "text | split, text | split(', ')",
    |c| {
        let sep = opt_str_arg(c.call, 0, "sep")?;
        if sep.as_deref() == Some("") {
            return Err(bad_arg(
                c.call,
                "the separator is empty; `split` without one splits at whitespace",
            ));
        }
        Ok((Func::Split { sep }, text_list()))
    },
    |f, v, cx| {
        let Func::Split { sep } = f else {
            return Err(not_mine(f, cx));
        };
        let s = text_of(&v, cx)?;
        let pieces: Vec<V> = match sep.as_deref() {
            // Python's `str.split("")` raises; the checker refuses it.
            Some("") => return fail(cx, "`split` has an empty separator"),
            Some(sep) => s.split(sep).map(|p| V::Text(p.to_string())).collect(),
            None => s
                .split_whitespace()
                .map(|p| V::Text(p.to_string()))
                .collect(),
        };
        Ok(V::List(pieces))
    },
);

/// Jinja's default `truncate.leeway` policy.
const LEEWAY: usize = 5;

pub(super) const TRUNCATE: Def = simple(
    "truncate",
    "text | truncate(255, killwords = false, end = '...', leeway = 5)",
    check_truncate,
    |f, v, cx| {
        let Func::Truncate {
            length,
            killwords,
            end,
            leeway,
        } = f
        else {
            return Err(not_mine(f, cx));
        };
        Ok(V::Text(truncate(
            &text_of(&v, cx)?,
            *length,
            *killwords,
            end,
            *leeway,
        )))
    },
);

fn check_truncate(c: &Call<'_>) -> Result<(Func, Type), Diagnostic> {
    let call = c.call;
    let length = match arg(call, 0, "length") {
        None => 255,
        Some(_) => super::num_arg(call, 0, "length", f64::MAX)? as usize,
    };
    let killwords = match arg(call, 1, "killwords").map(|v| &v.node) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad_arg(call, "`killwords` is `true` or `false`")),
    };
    let end = opt_str_arg(call, 2, "end")?.unwrap_or_else(|| "...".into());
    let leeway = match arg(call, 3, "leeway") {
        None => LEEWAY,
        Some(_) => super::num_arg(call, 3, "leeway", f64::MAX)? as usize,
    };
    // Jinja asserts this when it renders; here the task is refused instead.
    let end_len = end.chars().count();
    if length < end_len {
        return Err(bad_arg(
            call,
            &format!("`length` ({length}) must be at least the length of `end` ({end_len}), as Jinja requires"),
        ));
    }
    Ok((
        Func::Truncate {
            length,
            killwords,
            end,
            leeway,
        },
        Type::Text,
    ))
}

/// Jinja's `do_truncate` (jinja2/filters.py), counted in characters as
/// Python counts a `str`.
pub(crate) fn truncate(
    s: &str,
    length: usize,
    killwords: bool,
    end: &str,
    leeway: usize,
) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= length.saturating_add(leeway) {
        return s.to_string();
    }
    let keep = length.saturating_sub(end.chars().count());
    let head: String = chars.iter().take(keep).collect();
    if killwords {
        return head + end;
    }
    // `s[:length - len(end)].rsplit(" ", 1)[0]`: back to the last space.
    let head = match head.rsplit_once(' ') {
        Some((before, _)) => before.to_string(),
        None => head,
    };
    head + end
}
