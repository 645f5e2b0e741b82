//! What the name under the cursor refers to: the places in a parsed file
//! that name a task, a mixture, a directory, a file or a metric.

use exc_compiler::ast::{File, Item, MixEntry, RatesDecl, Selector, TaskEntry};
use exc_compiler::source::Span;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Task(String),
    Mixture(String),
    /// A `use` directory, resolved against the file's directory.
    Dir(PathBuf),
    /// An `include`d file.
    File(PathBuf),
    Metric(String),
}

/// Every reference in `file` (whose directory is `dir`), in source order.
pub fn references(file: &File, dir: &Path) -> Vec<(Span, Target)> {
    let mut out = Vec::new();
    for item in &file.items {
        match item {
            Item::Include(s) => out.push((s.span, Target::File(dir.join(&s.node)))),
            Item::Task(t) => {
                out.push((t.name.span, Target::Task(t.name.node.clone())));
                if let Some(p) = &t.extends {
                    out.push((p.span, Target::Task(p.node.clone())));
                }
                for e in &t.entries {
                    if let TaskEntry::Metrics(calls) | TaskEntry::Postprocess(calls) = &e.node {
                        for c in calls {
                            out.push((c.name.span, Target::Metric(c.name.node.clone())));
                        }
                    }
                }
            }
            Item::Mixture(m) => {
                out.push((m.name.span, Target::Mixture(m.name.node.clone())));
                if let Some(p) = &m.extends {
                    out.push((p.span, Target::Mixture(p.node.clone())));
                }
                mixture_entries(&m.entries, dir, &mut out);
            }
        }
    }
    out.sort_by_key(|(s, _)| s.start);
    out
}

fn mixture_entries(
    entries: &[exc_compiler::source::Spanned<MixEntry>],
    dir: &Path,
    out: &mut Vec<(Span, Target)>,
) {
    for e in entries {
        match &e.node {
            MixEntry::Use(list) => {
                out.extend(
                    list.iter()
                        .map(|s| (s.span, Target::Dir(dir.join(&s.node)))),
                );
            }
            MixEntry::Select(sel) | MixEntry::Exclude(sel) => {
                for s in sel {
                    // A glob names many tasks; only a plain name has one definition.
                    if let Selector::Glob(g) = &s.node {
                        if !g.contains(['*', '?', '[']) {
                            out.push((s.span, Target::Task(g.clone())));
                        }
                    }
                }
            }
            MixEntry::Rates(RatesDecl::Weights(w)) => {
                out.extend(
                    w.iter()
                        .map(|(n, _)| (n.span, Target::Task(n.node.clone()))),
                );
            }
            MixEntry::Stage(stage) => mixture_entries(&stage.entries, dir, out),
            _ => {}
        }
    }
}

/// The reference whose span holds byte `offset` (its end included, where a
/// cursor after the last letter stands).
pub fn at(refs: &[(Span, Target)], offset: usize) -> Option<&(Span, Target)> {
    refs.iter()
        .find(|(s, _)| s.start <= offset && offset <= s.end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use exc_compiler::source::FileId;

    #[test]
    fn finds_tasks_directories_and_metrics() {
        let text = r#"
mixture m extends base {
  use "../tasks"
  select glue_rte, glue_*
  rates weights { glue_rte = 2 }
  finetune f { select squad_v1 }
}
task t extends base_t {
  fields { a: text }
  input "{a}"
  target "{a}"
  metrics accuracy, bleu
}
"#;
        let file = exc_compiler::syntax::parse(FileId(0), text).unwrap();
        let refs = references(&file, Path::new("/p/x"));
        let targets: Vec<&Target> = refs.iter().map(|(_, t)| t).collect();
        assert_eq!(
            targets,
            [
                &Target::Mixture("m".into()),
                &Target::Mixture("base".into()),
                &Target::Dir("/p/x/../tasks".into()),
                &Target::Task("glue_rte".into()),
                &Target::Task("glue_rte".into()),
                &Target::Task("squad_v1".into()),
                &Target::Task("t".into()),
                &Target::Task("base_t".into()),
                &Target::Metric("accuracy".into()),
                &Target::Metric("bleu".into()),
            ]
        );
        let rte = text.find("glue_rte").unwrap();
        assert_eq!(
            at(&refs, rte + 3).unwrap().1,
            Target::Task("glue_rte".into())
        );
        assert_eq!(
            at(&refs, rte + 8).unwrap().1,
            Target::Task("glue_rte".into())
        );
        assert!(at(&refs, text.find("glue_*").unwrap()).is_none());
    }
}
