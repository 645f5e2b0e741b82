//! One prompt (a Jinja template, or lm-eval's `doc_to_text`/`doc_to_target`)
//! -> exc's `filter`, `input` and `target`, with the original's whole-text
//! rules: promptsource splits the rendering on `|||` and strips each part,
//! and a template whose `|||` lies inside `{% if %}` renders no example for
//! the rows that fail the test (exc: a `filter`).

use crate::jinja::{self, Expr, Node};
use crate::to_exc::{Ctx, Tpl};

/// A translated prompt.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub filter: Option<String>,
    pub input: Tpl,
    pub target: Tpl,
}

/// promptsource's `Template.apply`.
pub fn promptsource(jinja_text: &str, ctx: &mut Ctx<'_>) -> Result<Prompt, String> {
    let nodes = inline_sets(jinja::parse(jinja_text)?, &mut Vec::new());
    let mut parts = split_parts(&nodes)?;
    let mut filter = None;
    if parts.len() == 1 {
        // `{% if test %} … ||| … {% endif %}`: rows failing the test render
        // "" (no example).
        let (sets, guard) =
            lone_if(&nodes).ok_or("the template has no `|||` outside a block: no target")?;
        ctx.nodes(&sets)?;
        filter = Some(filter_of(&guard.0, ctx)?);
        parts = split_parts(&guard.1)?;
    }
    let [input, target] = <[Vec<Node>; 2]>::try_from(parts)
        .map_err(|p| format!("the template has {} parts between `|||`, not 2", p.len()))?;
    let mut input = input;
    let mut target = target;
    strip(&mut input);
    strip(&mut target);
    Ok(Prompt {
        filter,
        input: ctx.nodes(&input)?,
        target: ctx.nodes(&target)?,
    })
}

/// `{% set name = value %}` written into the expressions that read it, so
/// that each hole is seen whole (a `choice` among written strings at an
/// edge of the prompt is stripped as the rendering would be). The sets stay
/// in place for the translation.
fn inline_sets(nodes: Vec<Node>, sets: &mut Vec<(String, Expr)>) -> Vec<Node> {
    nodes
        .into_iter()
        .map(|n| match n {
            Node::Set(name, value) => {
                let value = inline(value, sets);
                sets.push((name.clone(), value.clone()));
                Node::Set(name, value)
            }
            Node::Out(e) => Node::Out(inline(e, sets)),
            Node::If(arms, other) => Node::If(
                arms.into_iter()
                    .map(|(t, body)| (inline(t, sets), inline_sets(body, sets)))
                    .collect(),
                other.map(|b| inline_sets(b, sets)),
            ),
            t => t,
        })
        .collect()
}

fn inline(e: Expr, sets: &[(String, Expr)]) -> Expr {
    let b = |x: Box<Expr>| Box::new(inline(*x, sets));
    match e {
        Expr::Var(n) => match sets.iter().rev().find(|(s, _)| *s == n) {
            Some((_, v)) => v.clone(),
            None => Expr::Var(n),
        },
        Expr::List(items) => Expr::List(items.into_iter().map(|i| inline(i, sets)).collect()),
        Expr::Attr(x, a) => Expr::Attr(b(x), a),
        Expr::Index(x, i) => Expr::Index(b(x), b(i)),
        Expr::Slice(x, s, t) => Expr::Slice(b(x), s.map(b), t.map(b)),
        Expr::Call(f, args) => {
            Expr::Call(b(f), args.into_iter().map(|a| inline(a, sets)).collect())
        }
        Expr::Filter(x, f, args) => {
            Expr::Filter(b(x), f, args.into_iter().map(|a| inline(a, sets)).collect())
        }
        Expr::Bin(o, x, y) => Expr::Bin(o, b(x), b(y)),
        Expr::Neg(x) => Expr::Neg(b(x)),
        Expr::Not(x) => Expr::Not(b(x)),
        Expr::And(x, y) => Expr::And(b(x), b(y)),
        Expr::Or(x, y) => Expr::Or(b(x), b(y)),
        Expr::Cmp(o, x, y) => Expr::Cmp(o, b(x), b(y)),
        Expr::Cond(c, x, y) => Expr::Cond(b(c), b(x), b(y)),
        e => e,
    }
}

/// Split top-level text on `|||`.
fn split_parts(nodes: &[Node]) -> Result<Vec<Vec<Node>>, String> {
    let mut parts = vec![Vec::new()];
    for n in nodes {
        match n {
            Node::Text(t) if t.contains("|||") => {
                let mut pieces = t.split("|||");
                if let (Some(first), Some(last)) = (pieces.next(), parts.last_mut()) {
                    last.push(Node::Text(first.to_string()));
                }
                for p in pieces {
                    parts.push(vec![Node::Text(p.to_string())]);
                }
            }
            n => {
                if let Some(last) = parts.last_mut() {
                    last.push(n.clone());
                }
            }
        }
    }
    Ok(parts)
}

type Guard = (Expr, Vec<Node>);

/// The template is `{% set … %}`s, whitespace and one `{% if %}` without
/// `else`: its sets and the `if`.
fn lone_if(nodes: &[Node]) -> Option<(Vec<Node>, Guard)> {
    let mut sets = Vec::new();
    let mut guard = None;
    for n in nodes {
        match n {
            Node::Text(t) if t.trim().is_empty() => {}
            Node::Set(..) => sets.push(n.clone()),
            Node::If(arms, None) if arms.len() == 1 && guard.is_none() => {
                guard = arms.first().cloned()
            }
            _ => return None,
        }
    }
    Some((sets, guard?))
}

/// exc's `filter` takes one comparison with a literal, or a value's emptiness.
fn filter_of(test: &Expr, ctx: &Ctx<'_>) -> Result<String, String> {
    let t = ctx.test(test)?;
    if t.starts_with('(') || t.starts_with("not ") {
        return Err(format!(
            "the guard `{t}` is not one comparison, which is what `filter` takes"
        ));
    }
    Ok(t)
}

/// Python's `str.strip()` of the rendered part, done on the template: the
/// whitespace of literal text at both ends, and inside `{% if %}` branches
/// found there.
fn strip(nodes: &mut Vec<Node>) {
    strip_side(nodes, true);
    strip_side(nodes, false);
}

fn strip_side(nodes: &mut Vec<Node>, start: bool) {
    loop {
        let idx = if start {
            nodes.iter().position(|n| !matches!(n, Node::Set(..)))
        } else {
            nodes.iter().rposition(|n| !matches!(n, Node::Set(..)))
        };
        let Some(i) = idx else { return };
        match &mut nodes[i] {
            Node::Text(t) => {
                let s = if start { t.trim_start() } else { t.trim_end() };
                if s.is_empty() {
                    nodes.remove(i);
                    continue;
                }
                *t = s.to_string();
                return;
            }
            // `{{ ['a ', 'b'] | choice }}` at an edge: each alternative stripped.
            Node::Out(Expr::Filter(base, f, args))
                if f == "choice" && args.is_empty() && matches!(**base, Expr::List(_)) =>
            {
                if let Expr::List(items) = &mut **base {
                    for item in items.iter_mut() {
                        if let Expr::Str(s) = item {
                            *s = if start { s.trim_start() } else { s.trim_end() }.to_string();
                        }
                    }
                }
                return;
            }
            // A hole at an edge: its value stripped on that side, after
            // promptsource's truncation (`to_exc` reads the mark; Jinja has
            // no filter of these names, so none is the template's own).
            Node::Out(e) => {
                let side = if start { EDGE_START } else { EDGE_END };
                let inner = std::mem::replace(e, Expr::None);
                *e = match inner {
                    Expr::Filter(x, f, a) if (f == EDGE_START || f == EDGE_END) && f != side => {
                        Expr::Filter(x, EDGE_BOTH.to_string(), a)
                    }
                    Expr::Filter(x, f, a) if f == side || f == EDGE_BOTH => Expr::Filter(x, f, a),
                    x => Expr::Filter(Box::new(x), side.to_string(), Vec::new()),
                };
                return;
            }
            Node::If(arms, other) => {
                for (_, body) in arms.iter_mut() {
                    strip_side(body, start);
                }
                if let Some(b) = other {
                    strip_side(b, start);
                }
                return;
            }
            Node::Set(..) => return,
        }
    }
}

/// The marks of a hole at the start, the end or both ends of a part.
pub const EDGE_START: &str = "lstrip";
pub const EDGE_END: &str = "rstrip";
pub const EDGE_BOTH: &str = "strip";

/// lm-eval's `doc_to_text` or `doc_to_target` template (rendered as is:
/// no split, no strip, no truncation).
pub fn lm_eval(template: &str, ctx: &mut Ctx<'_>) -> Result<Tpl, String> {
    ctx.nodes(&jinja::parse(template)?)
}
