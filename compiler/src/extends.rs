//! `extends`, for tasks and mixtures alike: a declaration's lineage (its
//! ancestors and itself, the root first), or the diagnostic for a parent
//! that is not defined or a chain that closes on itself. What a child's
//! entries do to its parent's is the caller's: `task_entries` for tasks,
//! `lib::mixture_entries` for mixtures.

use crate::ast::{MixtureDecl, Name, TaskDecl};
use crate::diagnostic::{suggestion, Diagnostic};

/// A declaration that may extend another of its kind.
pub(crate) trait Extending {
    /// `task` or `mixture`, for messages.
    const NOUN: &'static str;
    /// The code of a diagnostic for an unknown parent.
    const UNKNOWN: &'static str;
    fn name(&self) -> &Name;
    fn parent(&self) -> Option<&Name>;
}

impl Extending for TaskDecl {
    const NOUN: &'static str = "task";
    const UNKNOWN: &'static str = "exc::check::unknown_task";
    fn name(&self) -> &Name {
        &self.name
    }
    fn parent(&self) -> Option<&Name> {
        self.extends.as_ref()
    }
}

impl Extending for MixtureDecl {
    const NOUN: &'static str = "mixture";
    const UNKNOWN: &'static str = "exc::check::unknown_mixture";
    fn name(&self) -> &Name {
        &self.name
    }
    fn parent(&self) -> Option<&Name> {
        self.extends.as_ref()
    }
}

/// `decl`, its parent, the parent's parent… as found in `all` (the first
/// declaration of a name), returned root first; `None` once a parent is
/// unknown or the chain comes back to a declaration already in it.
pub(crate) fn lineage<'a, D: Extending>(
    decl: &'a D,
    all: &[&'a D],
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<&'a D>> {
    let mut chain = vec![decl];
    let mut cur = decl;
    while let Some(parent) = cur.parent() {
        if chain.iter().any(|d| d.name().node == parent.node) {
            diags.push(cycle(cur, parent, &chain));
            return None;
        }
        let Some(&p) = all.iter().find(|d| d.name().node == parent.node) else {
            diags.push(unknown(cur, parent, all));
            return None;
        };
        chain.push(p);
        cur = p;
    }
    chain.reverse();
    Some(chain)
}

fn cycle<D: Extending>(cur: &D, parent: &Name, chain: &[&D]) -> Diagnostic {
    let names: Vec<&str> = chain.iter().map(|d| d.name().node.as_str()).collect();
    Diagnostic::error(
        "exc::check::extends_cycle",
        format!(
            "`{}` extends itself through {}",
            cur.name().node,
            names.join(" -> ")
        ),
        parent.span,
    )
    .label("cycle closes here")
    .help(format!(
        "break the cycle: a {0} may extend only {0}s that do not extend it",
        D::NOUN
    ))
}

fn unknown<D: Extending>(cur: &D, parent: &Name, all: &[&D]) -> Diagnostic {
    Diagnostic::error(
        D::UNKNOWN,
        format!(
            "`{}` extends unknown {} `{}`",
            cur.name().node,
            D::NOUN,
            parent.node
        ),
        parent.span,
    )
    .label("not defined")
    .maybe_help(suggestion(
        &parent.node,
        all.iter().map(|d| d.name().node.as_str()),
    ))
}
