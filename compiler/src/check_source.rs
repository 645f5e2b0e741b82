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
