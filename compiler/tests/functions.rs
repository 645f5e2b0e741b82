//! Template functions over real-looking rows: each test declares a task,
//! checks it, and renders one row.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use exc_compiler::check_task::check_task_text;
use exc_compiler::diagnostic::Diagnostic;
use exc_compiler::ir::Task;
use exc_compiler::render::{render_row, Example};
use indexmap::IndexMap;

/// Check one task written inline: the checked tasks and the diagnostics.
fn checked(task_src: &str) -> (IndexMap<String, Task>, Vec<Diagnostic>) {
    check_task_text(task_src, "t.task")
}

fn render(task_src: &str, row: serde_json::Value, split: &str) -> Vec<Example> {
    let (tasks, diags) = checked(task_src);
    assert!(diags.is_empty(), "{diags:?}");
    let task = tasks.values().next().unwrap();
    render_row(task, &row, split).unwrap()
}

fn check_errors(task_src: &str) -> Vec<String> {
    checked(task_src)
        .1
        .into_iter()
        .map(|d| format!("{}: {} ({})", d.code, d.message, d.help.unwrap_or_default()))
        .collect()
}

#[test]
fn wsc_simple_marks_the_pronoun() {
    let ex = render(
        r#"task t { fields { text: text, span1_text: text, span2_index: int } input "wsc: {text | mark(span2_index)}" target span1_text metrics accuracy }"#,
        serde_json::json!({"text": "Mark told Pete lies. He should stop.", "span1_text": "Mark", "span2_index": 4}),
        "train",
    );
    assert_eq!(ex[0].input, "wsc: Mark told Pete lies. *He* should stop.");
}

const WSC_CHECKED: &str = r#"task t { fields { text: text, span1_text: text, span2_text: text, span2_index: int } input "wsc: {text | mark(span2_index, span2_text)}" target span1_text metrics accuracy }"#;

#[test]
fn wsc_mark_checked_against_the_word_as_t5() {
    // Validation row 42 (fixtures/data/superglue/WSC_val.jsonl): the index
    // names `use`; T5 hard-codes "want to use *it* ,".
    let text = "When they had eventually calmed down a bit , and had gotten home, Mr. Farley put the magic pebble in an iron safe . Some day they might want to use it , but really for now, what more could they wish for?";
    let ex = render(
        WSC_CHECKED,
        serde_json::json!({"text": text, "span1_text": "safe", "span2_text": "it", "span2_index": 30}),
        "validation",
    );
    assert_eq!(
        ex[0].input,
        format!("wsc: {}", text.replace("use it ,", "use *it* ,"))
    );
    // The other text T5 mends by hand: the pronoun carries punctuation, which
    // T5 splits off ("Good for *him* ,\"").
    let text = "The boy continued to whip the pony , and eventually the pony threw him over. John laughed out quite loud. \"Good for him,\" he said. ";
    let ex = render(
        WSC_CHECKED,
        serde_json::json!({"text": text, "span1_text": "John", "span2_text": "him", "span2_index": 22}),
        "train",
    );
    assert!(
        ex[0].input.ends_with("\"Good for *him* ,\" he said. "),
        "{}",
        ex[0].input
    );
    // Every other row: the word at the index is the pronoun.
    let ex = render(
        WSC_CHECKED,
        serde_json::json!({"text": "Mark told Pete lies. He should stop.", "span1_text": "Mark", "span2_text": "He", "span2_index": 4}),
        "train",
    );
    assert_eq!(ex[0].input, "wsc: Mark told Pete lies. *He* should stop.");
}

#[test]
fn wsc_mark_refuses_a_word_that_is_not_there() {
    let (tasks, diags) = checked(WSC_CHECKED);
    assert!(diags.is_empty(), "{diags:?}");
    let task = tasks.values().next().unwrap();
    let row = serde_json::json!({"text": "Mark told Pete lies. He should stop.", "span1_text": "Mark", "span2_text": "she", "span2_index": 4});
    let e = render_row(task, &row, "train").unwrap_err().to_string();
    assert!(e.contains("word 4 is `He`, not `she`"), "{e}");
    // The expected word must be a text field.
    let errs = check_errors(
        r#"task t { fields { text: text, span2_index: int } input "{text | mark(span2_index, span2_index)}" target text metrics accuracy }"#,
    );
    assert!(
        errs.iter().any(|e| e.contains("must be a text field")),
        "{errs:?}"
    );
    // A string second argument is still the mark.
    let ex = render(
        r#"task t { fields { text: text, i: int } input "{text | mark(i, '_')}" target text metrics accuracy }"#,
        serde_json::json!({"text": "a b c", "i": 1}),
        "train",
    );
    assert_eq!(ex[0].input, "a _b_ c");
}

#[test]
fn conll_tags_become_bracketed_entities() {
    let ex = render(
        r#"task t { fields { tokens: list<text>, tags: list<class[O, B-PER, I-PER, B-LOC, I-LOC]> } input "{tokens | join(' ')}" target tokens | entities(tags) metrics conll_exact_match }"#,
        serde_json::json!({"tokens": ["Alice", "flew", "to", "New", "York", "."], "tags": [1, 0, 0, 3, 4, 0]}),
        "train",
    );
    assert_eq!(ex[0].target, "[PER] Alice [LOC] New York");
}

#[test]
fn a_list_item_is_picked_by_another_field() {
    let ex = render(
        r#"task t { fields { question: text, options: list<text>, label: int } input "{question}" target options | at(label) metrics accuracy }"#,
        serde_json::json!({"question": "2+2?", "options": ["3", "4"], "label": 1}),
        "train",
    );
    assert_eq!(ex[0].target, "4");
}

#[test]
fn parallel_lists_walk_in_step() {
    let ex = render(
        r#"task t { fields { questions: list<text>, answers: list<text> } each q, i in questions input "{q}" target answers | at(i) metrics squad }"#,
        serde_json::json!({"questions": ["a?", "b?"], "answers": ["A", "B"]}),
        "train",
    );
    let pairs: Vec<(&str, &str)> = ex
        .iter()
        .map(|e| (e.input.as_str(), e.target.as_str()))
        .collect();
    assert_eq!(pairs, [("a?", "A"), ("b?", "B")]);
}

#[test]
fn slices_count_characters_like_python() {
    let ex = render(
        r#"task t { fields { text: text, start: int, end: int } input "{text | slice(start, end)}|{text | slice(-3)}" target text metrics squad }"#,
        serde_json::json!({"text": "café au lait", "start": 0, "end": 4}),
        "train",
    );
    assert_eq!(ex[0].input, "café|ait");
}

#[test]
fn nested_lists_join_through_map() {
    let ex = render(
        r#"task t { fields { triples: list<list<text>>, meta: list<{ k: text }> } input "{triples | map('{0} : {1} : {2}') | join(' | ')} {meta | map('<{k}>') | join('')}" target "x" metrics bleu }"#,
        serde_json::json!({"triples": [["A", "is", "B"], ["C", "has", "D"]], "meta": [{"k": "m"}]}),
        "train",
    );
    assert_eq!(ex[0].input, "A : is : B | C : has : D <m>");
}

#[test]
fn nonempty_drops_blank_answers() {
    let ex = render(
        r#"task t { fields { q: text, answers: list<text> } input "{q}" target answers | nonempty | first references answers | nonempty metrics squad }"#,
        serde_json::json!({"q": "?", "answers": ["", "yes", " "]}),
        "train",
    );
    assert_eq!(ex[0].target, "yes");
    assert_eq!(ex[0].references, ["yes"]);
}

#[test]
fn field_arguments_are_checked() {
    let errors = check_errors(
        r#"task t { fields { text: text, idx: text, options: list<text> } input "{text | mark(idx)} {options | at(labl)} {options | map('{name}')}" target text metrics squad }"#,
    );
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(
        errors[0].contains("`idx` is text, not a whole number"),
        "{}",
        errors[0]
    );
    assert!(errors[1].contains("`labl` is not a field"), "{}", errors[1]);
    assert!(
        errors[2].contains("`{name}` names a field, but the elements are text"),
        "{}",
        errors[2]
    );
}

#[test]
fn a_filter_can_apply_to_one_split() {
    let src = r#"task t { fields { text: text, label: class[False, True] } filter label != 0 only train input "{text}" target label metrics accuracy }"#;
    let row = serde_json::json!({"text": "x", "label": 0});
    assert!(render(src, row.clone(), "train").is_empty());
    assert_eq!(render(src, row, "validation").len(), 1);
}

#[test]
fn field_arguments_may_be_paths() {
    let ex = render(
        r#"task t { fields { utterance: text, slot: { span: { start: int, end: int } } } input "{utterance}" target utterance | slice(slot.span.start, slot.span.end) metrics squad }"#,
        serde_json::json!({"utterance": "book a table at 7pm", "slot": {"span": {"start": 16, "end": 19}}}),
        "train",
    );
    assert_eq!(ex[0].target, "7pm");
}

#[test]
fn map_shows_class_names() {
    let ex = render(
        r#"task t { fields { acts: list<{ act: class[INFORM, REQUEST], slot: text }> } input "{acts | map('{act} ( {slot} )') | join(' ')}" target "x" metrics bleu }"#,
        serde_json::json!({"acts": [{"act": 1, "slot": "cuisine"}, {"act": 0, "slot": "time"}]}),
        "train",
    );
    assert_eq!(ex[0].input, "REQUEST ( cuisine ) INFORM ( time )");
}

#[test]
fn lists_slice_and_keys_look_up() {
    let ex = render(
        r#"task t { fields { questions: list<text>, answerKey: text, choices: { label: list<text>, text: list<text> } } each q, i in questions input "{questions | slice(0, i) | join(' / ')} >> {q}" target answerKey | lookup(choices.label, choices.text) metrics accuracy }"#,
        serde_json::json!({"questions": ["a?", "b?", "c?"], "answerKey": "B", "choices": {"label": ["A", "B"], "text": ["no", "yes"]}}),
        "train",
    );
    let inputs: Vec<&str> = ex.iter().map(|e| e.input.as_str()).collect();
    assert_eq!(inputs, [" >> a?", "a? >> b?", "a? / b? >> c?"]);
    assert_eq!(ex[0].target, "yes");
}

#[test]
fn reference_record_renders_one_object_per_example() {
    let ex = render(
        r#"task t { fields { text: text, span1_text: text, label: class[False, True], tags: list<text> } input "wsc: {text}" target span1_text references { referent: span1_text, label: label, tags: tags } metrics wsc_simple }"#,
        serde_json::json!({"text": "it fell", "span1_text": "The cup", "label": 0, "tags": ["a", "b"]}),
        "validation",
    );
    assert_eq!(ex[0].target, "The cup");
    assert_eq!(ex[0].references, ["The cup"]);
    assert_eq!(
        ex[0].reference_record,
        Some(serde_json::json!({"referent": "The cup", "label": 0, "tags": ["a", "b"]}))
    );
    // Scores the way `wsc_simple` reads it.
    let r = exc_metrics::compute(
        "wsc_simple",
        &["a bowl".to_string()],
        &[ex[0].reference_record.clone().unwrap()],
        &exc_metrics::Options::default(),
    )
    .unwrap();
    assert_eq!(r.scores["accuracy"], 100.0);
}

/// GEM SGD's acts: a list field of each element joined inside the element.
const SGD: &str = r#"task t { fields { acts: list<{ act: class[GOODBYE, REQUEST], slot: text, values: list<text> }> } input "{acts | map('{act} ( {slot} = {values | join(" , ")} )') | join(' ') | replace(' =  )', ' )') | replace(' (  )', '')}" target "x" metrics bleu }"#;

#[test]
fn list_fields_join_inside_a_map_element() {
    let ex = render(
        SGD,
        serde_json::json!({"acts": [
            {"act": 1, "slot": "cuisine", "values": ["Mexican", "Italian"]},
            {"act": 1, "slot": "city", "values": []},
            {"act": 0, "slot": "", "values": []},
        ]}),
        "train",
    );
    assert_eq!(
        ex[0].input,
        "REQUEST ( cuisine = Mexican , Italian ) REQUEST ( city ) GOODBYE"
    );
}

#[test]
fn map_hole_strings_may_use_escaped_single_quotes() {
    let ex = render(
        r#"task t { fields { acts: list<{ slot: text, values: list<text> }> } input "{acts | map('{slot}={values | join(\'}, \')}') | join(' ')}" target "x" metrics bleu }"#,
        serde_json::json!({"acts": [{"slot": "a", "values": ["x", "y"]}]}),
        "train",
    );
    assert_eq!(ex[0].input, "a=x}, y");
}

#[test]
fn functions_apply_inside_map_templates() {
    let ex = render(
        r#"task t { fields { items: list<{ name: text, n: int, tags: list<text>? }> } input "{items | map('{name | upper}={n | names("zero", "one")}:{tags | len | str | default("-")}') | join(' ')}" target "x" metrics bleu }"#,
        serde_json::json!({"items": [{"name": "a", "n": 1, "tags": ["x", "y"]}, {"name": "b", "n": 0, "tags": null}]}),
        "train",
    );
    assert_eq!(ex[0].input, "A=one:2 B=zero:-");
}

/// DialoGLUE's slots: each element's offsets slice a field of the row; an
/// element field shadows a row field of the same name; a null offset is
/// Python's `None`.
#[test]
fn map_holes_see_the_element_then_the_row() {
    let src = r#"task t { fields { text: text, slot: text, labels: list<{ slot: text, span: { start: int?, end: int } }> } input "{slot}: {labels | map('{slot}={text | slice(span.start, span.end)}') | join('; ')}" target "x" metrics bleu }"#;
    let ex = render(
        src,
        serde_json::json!({"text": "Anaheim to Sacramento", "slot": "row", "labels": [
            {"slot": "to", "span": {"end": 7}},
            {"slot": "from", "span": {"start": 11, "end": 21}},
        ]}),
        "train",
    );
    assert_eq!(ex[0].input, "row: to=Anaheim; from=Sacramento");
}

/// Where a diagnostic points, as the source text under its span.
fn spans(src: &str) -> Vec<(String, &str)> {
    checked(src)
        .1
        .into_iter()
        .map(|d| {
            let s = d.span.unwrap();
            (d.code.to_string(), src[s.start..s.end].trim_end())
        })
        .collect()
}

#[test]
fn type_errors_inside_map_templates_point_into_the_template() {
    let head = r#"task t { fields { text: text, acts: list<{ slot: text, n: int, values: list<text> }> } target "x" metrics bleu input "#;
    let with = |t: &str| format!("{head}\"{{acts | map('{t}') | join(' ')}}\" }}");
    // A function on the wrong type: the call, inside the template.
    let src = with("{n | upper}");
    assert_eq!(
        spans(&src),
        vec![("exc::check::type_mismatch".to_string(), "upper")]
    );
    // A list field used as text.
    let src = with("{slot} {values}");
    assert_eq!(
        spans(&src),
        vec![("exc::check::not_text".to_string(), "values")]
    );
    // A name neither the element nor the row has.
    let src = with("{slott | lower}");
    assert_eq!(
        spans(&src),
        vec![("exc::check::unknown_field".to_string(), "slott")]
    );
    let errs = check_errors(&with("{slott | lower}"));
    assert!(errs[0].contains("slot"), "{errs:?}");
    // A hole that does not parse is a syntax diagnostic, not a panic.
    let src = with("{values | join(}");
    let got = spans(&src);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "exc::syntax::unexpected");
    // A hole left open.
    let errs = check_errors(&with("{values | join(\" \")"));
    assert!(errs[0].contains("unclosed"), "{errs:?}");
}

/// Render one row and expect an error: its message.
fn render_error(task_src: &str, row: serde_json::Value) -> String {
    let (tasks, diags) = checked(task_src);
    assert!(diags.is_empty(), "{diags:?}");
    let task = tasks.values().next().unwrap();
    render_row(task, &row, "train").unwrap_err().message
}

/// ARC: two parallel lists of one record, written element by element; an
/// unnamed list is named after its path's last field.
#[test]
fn zip_writes_parallel_lists_element_by_element() {
    let ex = render(
        r#"task t { fields { choices: { text: list<text>, label: list<text> } } input "{zip(choices.label, choices.text) | map('({label}) {text}') | join(' ')}" target "x" metrics bleu }"#,
        serde_json::json!({"choices": {"text": ["dry palms", "wet palms"], "label": ["A", "B"]}}),
        "train",
    );
    assert_eq!(ex[0].input, "(A) dry palms (B) wet palms");
}

/// QuAC: a row-level list and a record's list, named, then cut at the `each`
/// position; an element field that is a list takes functions in `map`.
#[test]
fn zip_interleaves_a_dialogue_turn_by_turn() {
    let src = r#"task t { fields { questions: list<text>, answers: { texts: list<list<text>> } } each q, i in questions input "{zip(question = questions, answers = answers.texts) | slice(0, i) | slice(-2) | map('{question} {answers | first}') | join(' | ')} >> {q}" target "x" metrics bleu }"#;
    let ex = render(
        src,
        serde_json::json!({"questions": ["q1", "q2", "q3", "q4"], "answers": {"texts": [["a1"], ["a2", "x"], ["a3"], ["a4"]]}}),
        "train",
    );
    let inputs: Vec<&str> = ex.iter().map(|e| e.input.as_str()).collect();
    assert_eq!(
        inputs,
        [
            " >> q1",
            "q1 a1 >> q2",
            "q1 a1 | q2 a2 >> q3",
            "q2 a2 | q3 a3 >> q4"
        ]
    );
}

/// Lists of different lengths stop the row with both lengths named; they are
/// never cut to the shorter one.
#[test]
fn zip_of_lists_of_different_lengths_is_an_error() {
    let msg = render_error(
        r#"task t { fields { a: list<text>, b: list<int> } input "{zip(a, b) | map('{a}{b}') | join(' ')}" target "x" metrics bleu }"#,
        serde_json::json!({"a": ["x", "y", "z"], "b": [1, 2]}),
    );
    assert!(msg.contains("zip(a, b)"), "{msg}");
    assert!(msg.contains("differ in length"), "{msg}");
    assert!(msg.contains("`a` has 3, `b` has 2"), "{msg}");
}

/// An absent optional list makes the zip absent, as an absent path is.
#[test]
fn zip_of_an_absent_optional_list_is_absent() {
    let ex = render(
        r#"task t { fields { a: list<text>?, b: list<text> } input "[{zip(a, b) | map('{a}={b}') | join(' ') | default('none')}]" target "x" metrics bleu }"#,
        serde_json::json!({"a": null, "b": ["y"]}),
        "train",
    );
    assert_eq!(ex[0].input, "[none]");
}

#[test]
fn zip_mistakes_are_diagnosed_where_they_are() {
    let head = r#"task t { fields { text: text, labels: list<text>, texts: list<text>, more: { labels: list<text> } } target "x" metrics bleu input "#;
    let with = |hole: &str| format!("{head}\"{{{hole}}}\" }}");
    // A list element field that the zip does not give, at the hole.
    let src = with("zip(label = labels, text = texts) | map('({labl}) {text}') | join(' ')");
    assert_eq!(
        spans(&src),
        vec![("exc::check::unknown_field".to_string(), "labl")]
    );
    let errs = check_errors(&src);
    assert!(errs[0].contains("did you mean `label`?"), "{errs:?}");
    // Two lists under one name.
    let src = with("zip(labels, more.labels) | map('{labels}') | join(' ')");
    assert_eq!(
        spans(&src),
        vec![("exc::check::duplicate_field".to_string(), "more.labels")]
    );
    // A list that is text.
    let src = with("zip(labels, text) | map('{labels}') | join(' ')");
    assert_eq!(
        spans(&src),
        vec![("exc::check::not_a_list".to_string(), "text")]
    );
    // An unknown list.
    let src = with("zip(labels, textz) | map('{labels}') | join(' ')");
    assert_eq!(
        spans(&src),
        vec![("exc::check::unknown_field".to_string(), "textz")]
    );
    // One list only.
    let errs = check_errors(&with("zip(labels) | map('{labels}') | join(' ')"));
    assert!(errs[0].contains("at least two lists"), "{errs:?}");
    // Records used as text.
    let errs = check_errors(&with("zip(labels, texts) | join(' ')"));
    assert!(errs[0].contains("exc::check::type_mismatch"), "{errs:?}");
    let errs = check_errors(&with("zip(labels, texts)"));
    assert!(errs[0].contains("map('…')"), "{errs:?}");
}

/// WinoGrande: a text column with a fixed set of values mapped through a
/// table written in the task; an unlabelled row's "" is mapped explicitly.
#[test]
fn lookup_maps_a_text_column_through_a_written_table() {
    let src = r#"task t { fields { answer: text } input "x" target answer | lookup({ "1": "option1", "2": "option2", "": null }) metrics accuracy }"#;
    let target = |a: &str| {
        render(src, serde_json::json!({ "answer": a }), "train")[0]
            .target
            .clone()
    };
    assert_eq!(target("2"), "option2");
    // `null`: no label, rendered as T5 renders an unlabelled class.
    assert_eq!(target(""), "<unk>");
    // The written values are the target's classes, as `names` gives them.
    let task = checked(src).0.into_values().next().unwrap();
    assert_eq!(task.choices, Some(vec!["option1".into(), "option2".into()]));
    assert_eq!(task.target_kind, exc_compiler::ir::TargetKind::Class);
    let msg = render_error(src, serde_json::json!({"answer": "3"}));
    assert!(
        msg.contains(r#""3" is not among the keys "1", "2", """#),
        "{msg}"
    );
}

/// RACE: the letter's position among written keys picks the option's text.
#[test]
fn lookup_keys_may_be_written_and_values_a_field() {
    let src = r#"task t { fields { answer: text, options: list<text> } input "x" target answer | lookup(["A", "B", "C", "D"], options) metrics accuracy }"#;
    let ex = render(
        src,
        serde_json::json!({"answer": "C", "options": ["w", "x", "y", "z"]}),
        "train",
    );
    assert_eq!(ex[0].target, "y");
    let msg = render_error(
        src,
        serde_json::json!({"answer": "D", "options": ["w", "x"]}),
    );
    assert!(msg.contains("key 3 but the values have 2"), "{msg}");
}

#[test]
fn lookup_table_mistakes_are_diagnosed() {
    let with = |call: &str| {
        format!(
            r#"task t {{ fields {{ answer: text, options: list<text> }} input "x" target answer | {call} metrics accuracy }}"#
        )
    };
    let src = with(r#"lookup({ "1": "option1", "1": "option2" })"#);
    assert_eq!(
        spans(&src),
        vec![("exc::check::duplicate_key".to_string(), r#""1""#)]
    );
    let errs = check_errors(&with(r#"lookup(["1", "2"], ["option1"])"#));
    assert!(
        errs[0].starts_with("exc::check::table_length_mismatch: `lookup` has 2 keys but 1 values"),
        "{errs:?}"
    );
    let errs = check_errors(&with(r#"lookup({ "1": null })"#));
    assert!(errs[0].contains("every value is `null`"), "{errs:?}");
    let errs = check_errors(&with(r#"lookup([null], ["x"])"#));
    assert!(
        errs[0].contains("a `lookup` key is a string or a number"),
        "{errs:?}"
    );
    let src = with(r#"lookup({ "1": ["option1"] })"#);
    assert_eq!(
        spans(&src),
        vec![("exc::check::bad_argument".to_string(), r#"["option1"]"#)]
    );
    let errs = check_errors(&with(r#"lookup(["A"], optionz)"#));
    assert!(errs[0].contains("did you mean `options`?"), "{errs:?}");
    let errs = check_errors(&with("lookup(answer, options)"));
    assert!(errs[0].contains("must be a list of scalars"), "{errs:?}");
}

/// Plans written before these features still read: a `lookup` over fields
/// names them as strings, and every expression has a path.
#[test]
fn older_plan_expressions_still_read() {
    let e: exc_compiler::ir::Expr = serde_json::from_value(serde_json::json!({
        "text": "answerKey | lookup(choices.label, choices.text)",
        "path": ["answerKey"],
        "calls": [{"fn": "lookup", "keys": "choices.label", "values": "choices.text"}],
    }))
    .unwrap();
    assert!(e.zip.is_empty());
    assert_eq!(
        e.calls[0],
        exc_compiler::ir::Func::Lookup {
            keys: exc_compiler::ir::Table::Field("choices.label".into()),
            values: exc_compiler::ir::Table::Field("choices.text".into()),
        }
    );
}

/// A field of a list of records, then an index: `output.answer[0]` is the
/// first record's answer, as the checker types it (the list of answers,
/// indexed), not an index into each record's answer.
#[test]
fn an_index_after_a_mapped_field_indexes_the_mapped_list() {
    let ex = render(
        r#"task t { fields { q: text, output: list<{ answer: text }> } input "{q}" target output.answer[0] metrics bleu }"#,
        serde_json::json!({"q": "who?", "output": [{"answer": "Alice"}, {"answer": "Bob"}]}),
        "train",
    );
    assert_eq!(ex[0].target, "Alice");
}

/// Scores predictions with a checked task's metric as `exc run` does.
fn score(task: &Task, metric: &str, key: &str, preds: &[&str], targets: &[&str]) -> f64 {
    let m = task.metrics.iter().find(|m| m.name == metric).unwrap();
    let opts = exc_metrics::registry::Options(
        m.options
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect(),
    );
    let preds: Vec<String> = preds.iter().map(|s| s.to_string()).collect();
    let targets: Vec<serde_json::Value> = targets.iter().map(|s| serde_json::json!(s)).collect();
    let r = exc_metrics::registry::compute(&m.name, &preds, &targets, &opts).unwrap();
    r.scores[key]
}

#[test]
fn class_metrics_score_a_class_target_by_its_names() {
    // As glue_mrpc declares it: the target renders to the class names, and
    // F1 is of class 1 (`equivalent`), as T5's label_to_id makes it.
    let (tasks, diags) = checked(
        r#"task t { fields { s: text, quality: class[not_equivalent, equivalent] } input "{s}" target quality metrics f1, accuracy, matthews_corrcoef, macro_f1 }"#,
    );
    assert!(diags.is_empty(), "{diags:?}");
    let task = tasks.values().next().unwrap();
    let targets = ["equivalent", "equivalent", "equivalent", "not_equivalent"];
    let preds = [
        "equivalent",
        "not_equivalent",
        "equivalent",
        "not_equivalent",
    ];
    assert!((score(task, "f1", "f1", &preds, &targets) - 80.0).abs() < 1e-9);
    assert!(
        (score(
            task,
            "mean_multiclass_f1",
            "mean_2class_f1",
            &preds,
            &targets
        ) - 73.333_333_333)
            .abs()
            < 1e-6
    );
    // Every invalid prediction is one class, as T5's -1: two different
    // invalid strings score as two equal ones.
    let a = score(
        task,
        "matthews_corrcoef",
        "matthews_corrcoef",
        &["equivalent", "x", "y", "not_equivalent"],
        &targets,
    );
    let b = score(
        task,
        "matthews_corrcoef",
        "matthews_corrcoef",
        &["equivalent", "x", "x", "not_equivalent"],
        &targets,
    );
    assert!((a - b).abs() < 1e-12, "{a} {b}");
    // Accuracy compares texts and takes no labels; labels a task gives are kept.
    assert!(!task.metrics[1].options.contains_key("labels"));
    let (tasks, _) = checked(
        r#"task t { fields { s: text, b: bool } input "{s}" target b metrics f1(labels = "no,yes") }"#,
    );
    let m = &tasks.values().next().unwrap().metrics[0];
    assert_eq!(m.options["labels"], "no,yes");
    let (tasks, _) =
        checked(r#"task t { fields { s: text, b: bool } input "{s}" target b metrics f1 }"#);
    assert_eq!(
        tasks.values().next().unwrap().metrics[0].options["labels"],
        "False,True"
    );
}

#[test]
fn round_even_rounds_as_t5_rounds_stsb_and_round_halves_away() {
    // T5's STS-B target is tf.round(label * 5) / 5 on a float32 label: halves
    // go to the even multiple (2.5 -> 2.4), and 0.7 * 5 is 3.5 in float32
    // (-> 0.8); tasks/golden/t5_formats.jsonl holds T5's own outputs.
    let target = |func: &str, label: f64| {
        let src = format!(
            r#"task t {{ fields {{ s: text, label: float }} input "{{s}}" target label | {func} | fixed(1) metrics accuracy }}"#
        );
        render(&src, serde_json::json!({"s": "x", "label": label}), "train")[0]
            .target
            .clone()
    };
    for (label, t5) in [
        (0.5, "0.4"),
        (1.5, "1.6"),
        (2.5, "2.4"),
        (4.5, "4.4"),
        (0.7, "0.8"),
        (2.9, "2.8"),
        (4.75, "4.8"),
        (2.333, "2.4"),
        (-1.0, "-1.0"),
    ] {
        assert_eq!(target("round_even(0.2)", label), t5, "label {label}");
    }
    // `round` halves away from zero (Civil Comments: toxicity 0.5 -> 1).
    assert_eq!(target("round(0.2)", 2.5), "2.6");
    assert_eq!(target("round(1)", 0.5), "1.0");
}
