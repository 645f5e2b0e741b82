//! A task's `source` declaration -> `ir::Source`, with the checks that need
//! only the source: file paths stay inside the data directory, `{FIELD}`
//! placeholders name the source's `parts`, every split uses them, and
//! line-aligned column files are read as text. [`check_part_field`] checks the
//! parts' field against the task's `fields` once those are known.

use crate::ast::{self, PartsDecl, SplitFiles};
use crate::diagnostic::Diagnostic;
use crate::ir::{self, FileFormat, Parts, Source, Type};
use crate::source::{Span, Spanned};
use indexmap::IndexMap;

pub fn source_of(s: &ast::SourceDecl, diags: &mut Vec<Diagnostic>) -> Option<Source> {
    match s {
        ast::SourceDecl::Hf {
            dataset,
            config,
            revision,
            parts,
            splits,
        } => {
            if !dataset.node.contains('/') && !dataset.node.is_empty() {
                diags.push(
                    Diagnostic::warning(
                        "exc::check::hf_id_without_org",
                        format!("hub id `{}` has no organisation", dataset.node),
                        dataset.span,
                    )
                    .label("legacy id")
                    .help("most canonical datasets moved under an organisation, e.g. `glue` is now `nyu-mll/glue`"),
                );
            }
            let parts_ir = parts.as_ref().and_then(|p| parts_of(p, diags));
            let field = parts_ir.as_ref().map(|p| p.field.as_str());
            let in_config = config.as_ref().is_some_and(|c| {
                check_placeholders(c, field, diags);
                field.is_some_and(|f| uses(&c.node, f))
            });
            for (name, hub) in splits {
                check_placeholders(hub, field, diags);
                if let Some(f) = field.filter(|f| !in_config && !uses(&hub.node, f)) {
                    diags.push(part_unused(
                        &name.node,
                        f,
                        hub.span,
                        "in the config or in this hub split, e.g. `config \"stance_{target}\"`",
                    ));
                }
            }
            Some(Source::Hf {
                dataset: dataset.node.clone(),
                config: config.as_ref().map(|c| c.node.clone()),
                revision: revision.as_ref().map(|c| c.node.clone()),
                parts: parts_ir,
                splits: splits
                    .iter()
                    .map(|(k, v)| (k.node.clone(), v.node.clone()))
                    .collect(),
            })
        }
        ast::SourceDecl::Files {
            format,
            columns,
            header,
            quoting,
            rows,
            parts,
            splits,
        } => {
            let Some(fmt) = FileFormat::parse(&format.node) else {
                diags.push(
                    Diagnostic::error(
                        "exc::check::unknown_format",
                        format!("unknown file format `{}`", format.node),
                        format.span,
                    )
                    .label("not a format")
                    .help(format!("the formats are: {}", FileFormat::NAMES.join(", "))),
                );
                return None;
            };
            header_and_columns(format, columns.as_deref(), *header, diags);
            let rows = rows.as_ref().and_then(|r| rows_path(r, fmt, diags));
            let parts_ir = parts.as_ref().and_then(|p| parts_of(p, diags));
            let field = parts_ir.as_ref().map(|p| p.field.as_str());
            let mut out = IndexMap::new();
            for (name, files) in splits {
                let split = split_files(&name.node, files, fmt, field, diags);
                out.insert(name.node.clone(), split);
            }
            Some(Source::Files {
                format: fmt,
                columns: columns
                    .as_ref()
                    .map(|c| c.iter().map(|n| n.node.clone()).collect()),
                header: header.unwrap_or(true),
                quoting: quoting.unwrap_or(!matches!(fmt, FileFormat::Tsv)),
                rows,
                parts: parts_ir,
                splits: out,
            })
        }
    }
}

/// `columns` and `header` together say where a TSV/CSV's field names come
/// from; every combination that could read a header row as data, or data
/// as a header, must be said outright.
fn header_and_columns(
    format: &ast::Name,
    columns: Option<&[ast::Name]>,
    header: Option<bool>,
    diags: &mut Vec<Diagnostic>,
) {
    match (columns.and_then(|c| c.first()), header) {
        (Some(first), None) => diags.push(
            Diagnostic::error(
                "exc::check::header",
                "say whether the files have a header row: `columns` names every field",
                first.span,
            )
            .label("the files' field names")
            .help("`header false`: the files start with data; `header true`: their header row is skipped and these names replace it"),
        ),
        (None, Some(false)) => diags.push(
            Diagnostic::error(
                "exc::check::header",
                "files without a header row need their field names",
                format.span,
            )
            .label("no header row and no `columns`")
            .help("name the fields in order: `columns [sentence, label] header false`"),
        ),
        _ => {}
    }
}

/// `rows "data.paragraphs.qas"`: the names of the nested lists, from the
/// top of a JSON document down. Only `json` documents have them, and every
/// name is a field's (no empty step).
fn rows_path(
    rows: &Spanned<String>,
    fmt: FileFormat,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<String>> {
    if fmt != FileFormat::Json {
        diags.push(
            Diagnostic::error(
                "exc::check::rows_format",
                format!(
                    "`rows` picks the rows out of a JSON document, but the source's format is `{}`",
                    fmt_name(fmt)
                ),
                rows.span,
            )
            .label("only for `json`")
            .help(format!(
                "for a document such as SQuAD's `{{\"data\": [{{\"paragraphs\": [{{\"qas\": […]}}]}}]}}`, write `source files json rows \"{}\" {{ … }}`; otherwise leave `rows` out: each {} row is one {}",
                rows.node,
                fmt_name(fmt),
                if fmt == FileFormat::Jsonl { "line" } else { "record of the file" }
            )),
        );
        return None;
    }
    let steps: Vec<String> = rows.node.split('.').map(str::to_string).collect();
    if steps.iter().any(String::is_empty) {
        diags.push(
            Diagnostic::error(
                "exc::check::rows_path",
                format!("`rows \"{}\"` has an empty step", rows.node),
                rows.span,
            )
            .label("names of nested lists, separated by `.`")
            .help("name each list from the top of the document down, e.g. `rows \"data.paragraphs.qas\"`: the document's `data` list, each record's `paragraphs` list, each of those records' `qas` list"),
        );
        return None;
    }
    Some(steps)
}

/// One split of `source files`, checked: paths stay inside the data
/// directory, placeholders name the parts and are used, columns are text.
fn split_files(
    split: &str,
    files: &Spanned<SplitFiles>,
    fmt: FileFormat,
    field: Option<&str>,
    diags: &mut Vec<Diagnostic>,
) -> ir::SplitFiles {
    let example = "e.g. `gpt2_output/{label}.train.jsonl`";
    match &files.node {
        SplitFiles::Pattern(p) => {
            let path = Spanned::new(p.clone(), files.span);
            check_path(&path, field, diags);
            if let Some(f) = field.filter(|f| !uses(p, f)) {
                diags.push(part_unused(split, f, files.span, example));
            }
            ir::SplitFiles::Pattern(p.clone())
        }
        SplitFiles::Columns(cols) => {
            if fmt != FileFormat::Text {
                diags.push(
                    Diagnostic::error(
                        "exc::check::column_files_format",
                        format!(
                            "line-aligned column files are read as text, but the source's format is `{}`",
                            fmt_name(fmt)
                        ),
                        files.span,
                    )
                    .label("one file per column")
                    .help("write `source files text …`: line i of each file is that column of row i"),
                );
            }
            let mut out = IndexMap::new();
            for (col, path) in cols {
                check_path(path, field, diags);
                if let Some(f) = field.filter(|f| !uses(&path.node, f)) {
                    diags.push(part_unused(split, f, path.span, example));
                }
                if out.insert(col.node.clone(), path.node.clone()).is_some() {
                    diags.push(
                        Diagnostic::error(
                            "exc::check::duplicate_entry",
                            format!("column `{}` is given twice", col.node),
                            col.span,
                        )
                        .label("again")
                        .help("each column reads one file; give each field once"),
                    );
                }
            }
            ir::SplitFiles::Columns(out)
        }
    }
}

fn fmt_name(fmt: FileFormat) -> &'static str {
    match fmt {
        FileFormat::Jsonl => "jsonl",
        FileFormat::Json => "json",
        FileFormat::Tsv => "tsv",
        FileFormat::Csv => "csv",
        FileFormat::Parquet => "parquet",
        FileFormat::Text => "text",
    }
}

fn check_path(path: &Spanned<String>, field: Option<&str>, diags: &mut Vec<Diagnostic>) {
    check_placeholders(path, field, diags);
    if escapes(&path.node) {
        diags.push(
            Diagnostic::error(
                "exc::check::path_escapes_root",
                format!("`{}` points outside the data directory", path.node),
                path.span,
            )
            .label("escapes with `..`")
            .help("source paths are relative to the data directory (`--data-dir`); use an absolute path to read elsewhere"),
        );
    }
}

fn parts_of(p: &PartsDecl, diags: &mut Vec<Diagnostic>) -> Option<Parts> {
    if p.parts.is_empty() {
        diags.push(
            Diagnostic::error(
                "exc::check::part_field",
                format!("`parts {}` names no parts", p.field.node),
                p.span,
            )
            .label("empty")
            .help("name each part, e.g. `parts target [abortion, atheism]`"),
        );
        return None;
    }
    let mut values = IndexMap::new();
    for (name, value) in &p.parts {
        if values
            .insert(name.node.clone(), value.node.clone())
            .is_some()
        {
            diags.push(
                Diagnostic::error(
                    "exc::check::duplicate_entry",
                    format!("part `{}` is named twice", name.node),
                    name.span,
                )
                .label("again")
                .help("each part is read once; name it once"),
            );
        }
    }
    Some(Parts {
        field: p.field.node.clone(),
        values,
    })
}

/// Whether `text` holds the placeholder `{field}`.
fn uses(text: &str, field: &str) -> bool {
    text.contains(&format!("{{{field}}}"))
}

/// The names inside `{…}` in a source string.
fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = rest.get(open + 1..).unwrap_or("");
        match after.find('}') {
            Some(close) => {
                out.push(after.get(..close).unwrap_or(""));
                rest = after.get(close + 1..).unwrap_or("");
            }
            None => break,
        }
    }
    out
}

fn check_placeholders(s: &Spanned<String>, field: Option<&str>, diags: &mut Vec<Diagnostic>) {
    for name in placeholders(&s.node) {
        if Some(name) == field {
            continue;
        }
        let help = match field {
            Some(f) => format!("this source's parts are bound to `{f}`; write `{{{f}}}`"),
            None => format!(
                "`{{…}}` stands for each part's value: declare the parts, e.g. `parts {name} [a, b]`, or remove the braces"
            ),
        };
        diags.push(
            Diagnostic::error(
                "exc::check::unknown_placeholder",
                format!("`{{{name}}}` names no part of this source"),
                s.span,
            )
            .label("not a part")
            .help(help),
        );
    }
}

fn part_unused(split: &str, field: &str, span: Span, example: &str) -> Diagnostic {
    Diagnostic::error(
        "exc::check::part_unused",
        format!(
            "split `{split}` does not use `{{{field}}}`, so every part would read the same data"
        ),
        span,
    )
    .label(format!("no `{{{field}}}`"))
    .help(format!(
        "write `{{{field}}}` where each part's value goes, {example}"
    ))
}

/// The field a source's `parts` binds must be declared, as a `class` holding
/// every part name or as `text`: the row then carries the part's name.
pub fn check_part_field(
    s: &ast::SourceDecl,
    fields: &IndexMap<String, Type>,
    diags: &mut Vec<Diagnostic>,
) {
    let parts = match s {
        ast::SourceDecl::Hf { parts, .. } | ast::SourceDecl::Files { parts, .. } => parts,
    };
    let Some(p) = parts else { return };
    let names: Vec<&str> = p.parts.iter().map(|(n, _)| n.node.as_str()).collect();
    let field = &p.field;
    match fields.get(&field.node).map(Type::strip_optional) {
        None => diags.push(
            Diagnostic::error(
                "exc::check::part_field",
                format!(
                    "`parts` binds `{}`, which `fields` does not declare",
                    field.node
                ),
                field.span,
            )
            .label("not a field")
            .help(format!(
                "declare it, e.g. `{}: class[{}]`",
                field.node,
                names.join(", ")
            )),
        ),
        Some(Type::Text) => {}
        Some(Type::Class { names: declared }) => {
            for (name, _) in &p.parts {
                if !declared.contains(&name.node) {
                    diags.push(
                        Diagnostic::error(
                            "exc::check::part_field",
                            format!(
                                "part `{}` is not a name of `{}`: {}",
                                name.node,
                                field.node,
                                Type::Class {
                                    names: declared.clone()
                                }
                                .describe()
                            ),
                            name.span,
                        )
                        .label("not in the class")
                        .help(format!(
                            "add `{}` to the class, or rename the part",
                            name.node
                        )),
                    );
                }
            }
        }
        Some(other) => diags.push(
            Diagnostic::error(
                "exc::check::part_field",
                format!(
                    "`parts` stores a part's name in `{}`, which is {}",
                    field.node,
                    other.describe()
                ),
                field.span,
            )
            .label("not a class or text")
            .help(format!(
                "declare `{}: class[{}]` (or `text`)",
                field.node,
                names.join(", ")
            )),
        ),
    }
}

/// A source's `join`s, checked against the main source's splits and the
/// task's `fields`: the key is a declared field a row can be matched on,
/// every copied field is declared and written once (across all joins), each
/// split of the main source has a joined split, and the policy for a row
/// without a match is `error` or `drop`.
pub fn joins_of(
    joins: &[ast::JoinDecl],
    main: Option<&Source>,
    fields: &IndexMap<String, Type>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<ir::Join> {
    let main_splits = main.map(Source::split_names).unwrap_or_default();
    let mut written: IndexMap<String, Span> = IndexMap::new();
    let mut out = Vec::new();
    for j in joins {
        let mut ok = true;
        if let ast::SourceDecl::Hf { parts: Some(p), .. }
        | ast::SourceDecl::Files { parts: Some(p), .. } = &j.source
        {
            ok = false;
            diags.push(
                Diagnostic::error(
                    "exc::check::join_source",
                    "a joined source is read as one table per split; `parts` belongs to the main source",
                    p.span,
                )
                .label("parts in a join")
                .help("remove `parts` from the join, or join each part's data in its own `join`"),
            );
        }
        ok &= join_key(&j.key, fields, diags);
        ok &= join_set(j, fields, &mut written, diags);
        let unmatched = match &j.unmatched {
            None => ir::Unmatched::Error,
            Some(u) => match ir::Unmatched::parse(&u.node) {
                Some(p) => p,
                None => {
                    ok = false;
                    diags.push(
                        Diagnostic::error(
                            "exc::check::join_unmatched",
                            format!("`unmatched {}` is not a policy", u.node),
                            u.span,
                        )
                        .label("not a policy")
                        .help(format!(
                            "a row whose key the joined source lacks is an `error` (the default) or is dropped and counted: `unmatched drop`; the policies are: {}",
                            ir::Unmatched::NAMES.join(", ")
                        )),
                    );
                    ir::Unmatched::Error
                }
            },
        };
        let source = source_of(&same_splits(&j.source, &main_splits), diags);
        if let Some(src) = &source {
            ok &= join_splits(j, src, main, diags);
        }
        if let (true, Some(source)) = (ok, source) {
            out.push(ir::Join {
                source,
                key: j.key.node.clone(),
                on: j.on.node.clone(),
                set: j
                    .set
                    .iter()
                    .map(|(to, from)| (to.node.clone(), from.node.clone()))
                    .collect(),
                unmatched,
            });
        }
    }
    out
}

/// An `hf` join without a split map reads, for each of the main source's
/// splits, the joined dataset's split of the same name.
fn same_splits(s: &ast::SourceDecl, main_splits: &[String]) -> ast::SourceDecl {
    let mut out = s.clone();
    if let ast::SourceDecl::Hf {
        dataset, splits, ..
    } = &mut out
    {
        if splits.is_empty() {
            *splits = main_splits
                .iter()
                .map(|n| {
                    (
                        Spanned::new(n.clone(), dataset.span),
                        Spanned::new(n.clone(), dataset.span),
                    )
                })
                .collect();
        }
    }
    out
}

/// The main row's key: declared, and a value rows can be matched on.
fn join_key(key: &ast::Name, fields: &IndexMap<String, Type>, diags: &mut Vec<Diagnostic>) -> bool {
    match fields.get(&key.node).map(Type::strip_optional) {
        None => {
            diags.push(
                Diagnostic::error(
                    "exc::check::join_key",
                    format!(
                        "the join matches on `{}`, which `fields` does not declare",
                        key.node
                    ),
                    key.span,
                )
                .label("not a field")
                .help(format!(
                    "declare the main row's key, e.g. `{}: text`, or match on a declared field",
                    key.node
                )),
            );
            false
        }
        Some(Type::Text | Type::Int) => true,
        Some(other) => {
            diags.push(
                Diagnostic::error(
                    "exc::check::join_key",
                    format!(
                        "the join matches on `{}`, which is {}; rows are matched on a text or int key",
                        key.node,
                        other.describe()
                    ),
                    key.span,
                )
                .label("not text or int")
                .help("match on an id field: `on id = question_id`"),
            );
            false
        }
    }
}

/// The fields a join writes: each declared (the task's `fields` type the
/// joined values), each written by one assignment of one join.
fn join_set(
    j: &ast::JoinDecl,
    fields: &IndexMap<String, Type>,
    written: &mut IndexMap<String, Span>,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let mut ok = true;
    if j.set.is_empty() {
        diags.push(
            Diagnostic::error(
                "exc::check::join_field",
                "the join copies no field",
                j.set_span,
            )
            .label("empty")
            .help("name what the joined row gives the main row: `{ input = question }`"),
        );
        return false;
    }
    for (to, from) in &j.set {
        if !fields.contains_key(&to.node) {
            ok = false;
            diags.push(
                Diagnostic::error(
                    "exc::check::join_field",
                    format!("the join writes `{}`, which `fields` does not declare", to.node),
                    to.span,
                )
                .label("not a field")
                .help(format!(
                    "declare it with the type of the joined `{}`, e.g. `{}: text`; the task's `fields` type what the join writes",
                    from.node, to.node
                )),
            );
        }
        if let Some(first) = written.get(&to.node) {
            ok = false;
            diags.push(
                Diagnostic::error(
                    "exc::check::duplicate_entry",
                    format!("`{}` is written twice by the source's joins", to.node),
                    to.span,
                )
                .label("again")
                .related(*first, "first written here")
                .help("each field takes its value from one joined field; remove one assignment"),
            );
        } else {
            written.insert(to.node.clone(), to.span);
        }
    }
    ok
}

/// Each split of the main source reads a split of the joined one, and the
/// join names no split the main source lacks.
fn join_splits(
    j: &ast::JoinDecl,
    joined: &Source,
    main: Option<&Source>,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let Some(main) = main else {
        return true;
    };
    let ours = main.split_names();
    let theirs = joined.split_names();
    let mut ok = true;
    for split in ours.iter().filter(|s| !theirs.contains(s)) {
        ok = false;
        diags.push(
            Diagnostic::error(
                "exc::check::join_split",
                format!("split `{split}` has no split in the join"),
                name_span(&j.source),
            )
            .label(format!("no `{split}`"))
            .help(format!(
                "each split of the source is joined with a split of this one: add `{split} = \"…\"` to the join's splits"
            )),
        );
    }
    let names = split_names_of(&j.source);
    for (name, span) in names.iter().filter(|(n, _)| !ours.contains(n)) {
        ok = false;
        diags.push(
            Diagnostic::error(
                "exc::check::join_split",
                format!("the join names split `{name}`, which the source does not read"),
                *span,
            )
            .label("not a split of the source")
            .help(format!("the source's splits are: {}", ours.join(", "))),
        );
    }
    ok
}

/// Where a source names what it reads: the hub id, or the file format.
fn name_span(s: &ast::SourceDecl) -> Span {
    match s {
        ast::SourceDecl::Hf { dataset, .. } => dataset.span,
        ast::SourceDecl::Files { format, .. } => format.span,
    }
}

/// The split names a source declares, with their spans.
fn split_names_of(s: &ast::SourceDecl) -> Vec<(String, Span)> {
    match s {
        ast::SourceDecl::Hf { splits, .. } => splits
            .iter()
            .map(|(n, _)| (n.node.clone(), n.span))
            .collect(),
        ast::SourceDecl::Files { splits, .. } => splits
            .iter()
            .map(|(n, _)| (n.node.clone(), n.span))
            .collect(),
    }
}

/// Whether a relative path climbs above its base with `..`.
pub fn escapes(path: &str) -> bool {
    if std::path::Path::new(path).is_absolute() {
        return false;
    }
    let mut depth: i64 = 0;
    for part in path.split(['/', '\\']) {
        match part {
            ".." => depth -= 1,
            "" | "." => {}
            _ => depth += 1,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}
