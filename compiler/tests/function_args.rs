//! Every template function, called with every argument of a pool of awkward
//! ones (huge, negative, fractional, empty, unbalanced braces, bad regexes,
//! fields of each type), on every input field, over awkward sample rows:
//! checking (which renders the task's sample) may reject a call, but never
//! panics. The fuzz target `template_functions` (fuzz/) searches further;
//! what it finds is added to the pools here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use exc_compiler::check_task::check_task_text;
use exc_compiler::render::render_row;

const FIELDS: &str = "t: text, n: int, x: float, b: bool, c: class[a, b], l: list<text>, \
     r: list<{ k: text, v: int }>, o: text?, ol: list<int>?";

const INPUTS: &[&str] = &["t", "n", "x", "b", "c", "l", "r", "o", "ol", "l[0]", "r.k"];

const ARGS: &[&str] = &[
    "",
    "0",
    "1",
    "-1",
    "3",
    "65535",
    "65536",
    "1e300",
    "-1e300",
    "0.5",
    "9223372036854775807",
    "-9223372036854775808",
    "''",
    "'{'",
    "'}'",
    "'{}'",
    "'{0}'",
    "'{k}'",
    "'{v | str}'",
    "'{nope}'",
    "'('",
    "'$1'",
    "'\\\\'",
    "'a', 'b'",
    "n",
    "t",
    "l",
    "c",
    "o",
    "r.v",
    "nope",
    "[]",
    "['a', null]",
    "{ 'a': 'x', 'b': null }",
    "l, l",
    "['a'], ['x']",
    "0, 2",
    "-5, 65536",
    "n, n",
    "n, t, '['",
];

const ROWS: &[&str] = &[
    r#"{ t: "", n: 0, x: 0.0, b: false, c: "a", l: [], r: [], o: null, ol: null }"#,
    r#"{ t: "one two  three", n: 65536, x: 1e300, b: true, c: "b", l: ["x", ""], r: [{ k: "a", v: -1 }], o: "p", ol: [1] }"#,
    r#"{ t: "é {x} }", n: -9223372036854775808, x: -0.5, b: true, c: "a", l: ["a", "b", "c"], r: [{ k: "", v: 9223372036854775807 }], o: "", ol: [] }"#,
];

#[test]
fn no_argument_makes_a_function_panic() {
    let mut checked = 0;
    let mut rendered = 0;
    for name in exc_compiler::funcs::names() {
        for input in INPUTS {
            for args in ARGS {
                let call = if args.is_empty() {
                    name.to_string()
                } else {
                    format!("{name}({args})")
                };
                // One row per call, in turn (every row with every call
                // takes a minute in a debug build).
                let row = ROWS[checked % ROWS.len()];
                {
                    let src = format!(
                        "task t {{ fields {{ {FIELDS} }} input \"{{{input} | {call}}}\" \
                         target t metrics accuracy sample {row} }}"
                    );
                    let (tasks, diags) = check_task_text(&src, "t.task");
                    checked += 1;
                    if !diags.is_empty() {
                        continue;
                    }
                    // The sample rendered while checking; render it once
                    // more as `validation`, which `each … only` treats apart.
                    if let Some(task) = tasks.values().next() {
                        let _ = render_row(task, &task.samples[0], "validation");
                        rendered += 1;
                    }
                }
            }
        }
    }
    assert!(
        checked > 10_000 && rendered > 500,
        "{checked} checked, {rendered} rendered"
    );
}
