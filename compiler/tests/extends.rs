//! `extends`: what a child task takes from its parent (and the parent's
//! parent): each entry unless the child gives its own, `filter`s added up,
//! `fields` merged by name, the child's `sample`s instead of the parent's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use exc_compiler::check_task::check_task_text;
use exc_compiler::ir::{Task, Type};

const FAMILY: &str = r#"
abstract task base {
  family qa
  fields { q: text, a: text }
  filter q != ""
  input "q: {q}"
  target a
  metrics squad
  sample { q: "who?", a: "me" }
}

abstract task middle extends base {
  collection test
  fields { a: class[yes, no], why: text }
  metrics accuracy
  sample { q: "why?", a: "no", why: "none" }
}

task leaf extends middle {
  filter why != "-"
  input "q: {q} why: {why}"
  sample { q: "really?", a: "yes", why: "because" }
  sample { q: "sure?", a: "no", why: "just" }
}
"#;

fn leaf() -> Task {
    let (tasks, diags) = check_task_text(FAMILY, "t.task");
    assert!(diags.is_empty(), "{diags:?}");
    tasks["leaf"].clone()
}

#[test]
fn entries_come_from_the_nearest_ancestor_that_gives_them() {
    let t = leaf();
    assert_eq!(t.family.as_deref(), Some("qa"));
    assert_eq!(t.collection.as_deref(), Some("test"));
    assert_eq!(t.input.text, "q: {q} why: {why}");
    let metrics: Vec<&str> = t.metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(metrics, ["accuracy"]);
}

#[test]
fn fields_merge_by_name_and_filters_add_up() {
    let t = leaf();
    let names: Vec<&str> = t.fields.keys().map(String::as_str).collect();
    assert_eq!(names, ["q", "a", "why"]);
    assert!(matches!(t.fields["a"], Type::Class { .. }));
    assert_eq!(t.filters.len(), 2);
}

#[test]
fn a_childs_samples_replace_its_parents() {
    let t = leaf();
    assert_eq!(t.samples.len(), 2);
    assert_eq!(t.samples[0]["q"], "really?");
}

#[test]
fn unknown_parents_and_cycles_are_named() {
    let (_, d) = check_task_text("task a extends nope { }", "t.task");
    assert_eq!(d[0].code, "exc::check::unknown_task");
    assert_eq!(d[0].message, "`a` extends unknown task `nope`");

    let (_, d) = check_task_text(
        "task a extends c { }\ntask b extends a { }\ntask c extends b { }",
        "t.task",
    );
    let messages: Vec<&str> = d.iter().map(|x| x.message.as_str()).collect();
    assert!(
        messages.contains(&"`c` extends itself through b -> a -> c"),
        "{messages:?}"
    );
    assert!(d.iter().all(|x| x.code == "exc::check::extends_cycle"));
}
