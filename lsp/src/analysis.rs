//! The open buffers, checked as `exc check` checks files: one compilation per
//! project (the directory with `exc.toml` or `.git`) over its open files, with
//! the buffers' unsaved texts read instead of the files on disk. A mixture
//! loads the tasks it `use`s, so its diagnostics span files.

use crate::text::{self, Encoding};
use exc_compiler::diagnostic::{Diagnostic, Severity};
use exc_compiler::ir::Task;
use exc_compiler::source::{FileId, Span};
use exc_compiler::Compilation;
use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Position, Range,
};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// An open buffer.
pub struct Doc {
    pub text: String,
    pub version: i32,
}

/// One project's compilation, with the canonical path of every file it read.
pub struct Project {
    pub compilation: Compilation,
    paths: Vec<(FileId, PathBuf)>,
}

impl Project {
    pub fn file_id(&self, path: &Path) -> Option<FileId> {
        self.paths
            .iter()
            .find(|(_, p)| p == path)
            .map(|(id, _)| *id)
    }

    pub fn path(&self, id: FileId) -> Option<&Path> {
        self.paths
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, p)| p.as_path())
    }

    pub fn text(&self, id: FileId) -> &str {
        self.compilation
            .loaded
            .sources
            .get(id)
            .map_or("", |f| &f.text)
    }

    /// The protocol's location of a span.
    pub fn location(&self, span: Span, enc: Encoding) -> Option<Location> {
        let uri = text::path_to_uri(self.path(span.file)?)?;
        let range = text::range(self.text(span.file), span.start, span.end, enc);
        Some(Location::new(uri, range))
    }
}

/// The canonical form of a buffer's path (itself when it is not on disk yet).
pub fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Checks every open buffer, grouped by project.
pub fn check(docs: &BTreeMap<PathBuf, Doc>) -> Vec<Project> {
    let overlay: HashMap<PathBuf, String> = docs
        .iter()
        .map(|(p, d)| (p.clone(), d.text.clone()))
        .collect();
    let mut by_root: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for path in docs.keys() {
        let root = exc_compiler::load::find_root(path);
        by_root.entry(root).or_default().push(path.clone());
    }
    by_root
        .into_values()
        .map(|paths| {
            let compilation = exc_compiler::compile_with(&paths, overlay.clone());
            let sources = &compilation.loaded.sources;
            let paths = (0..sources.len())
                .filter_map(|i| {
                    let id = FileId(u32::try_from(i).ok()?);
                    Some((id, canonical(&sources.get(id)?.path)))
                })
                .collect();
            Project { compilation, paths }
        })
        .collect()
}

/// Every diagnostic of every project, by the canonical path of its file.
/// Diagnostics without a place (a missing path given on no line) go to the
/// top of the project's first open buffer.
pub fn diagnostics(
    projects: &[Project],
    docs: &BTreeMap<PathBuf, Doc>,
    enc: Encoding,
) -> BTreeMap<PathBuf, Vec<lsp_types::Diagnostic>> {
    let mut out: BTreeMap<PathBuf, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
    for p in projects {
        let first_open = p
            .paths
            .iter()
            .map(|(_, path)| path)
            .find(|path| docs.contains_key(*path));
        for d in &p.compilation.diagnostics {
            let placed = d.span.and_then(|s| {
                Some((
                    p.path(s.file)?.to_path_buf(),
                    text::range(p.text(s.file), s.start, s.end, enc),
                ))
            });
            let Some((path, range)) = placed.or_else(|| {
                first_open.map(|f| {
                    (
                        f.clone(),
                        Range::new(Position::new(0, 0), Position::new(0, 0)),
                    )
                })
            }) else {
                continue;
            };
            let list = out.entry(path).or_default();
            let converted = convert(d, range, p, enc);
            // Two projects (or a file both opened and `use`d) report it once.
            if !list.contains(&converted) {
                list.push(converted);
            }
        }
    }
    out
}

/// One diagnostic as the protocol has it: `exc check`'s code, message, label
/// (the text under the excerpt's underline) and help, and its related places.
fn convert(d: &Diagnostic, range: Range, p: &Project, enc: Encoding) -> lsp_types::Diagnostic {
    let mut message = d.message.clone();
    if !d.label.is_empty() {
        message.push_str(&format!("\n{}", d.label));
    }
    if let Some(help) = &d.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .related
        .iter()
        .filter_map(|(span, label)| {
            Some(DiagnosticRelatedInformation {
                location: p.location(*span, enc)?,
                message: label.clone(),
            })
        })
        .collect();
    lsp_types::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.to_string())),
        source: Some("exc".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..lsp_types::Diagnostic::default()
    }
}

/// Tasks that checked cleanly, by name, across projects, kept from earlier
/// checks while a buffer does not parse (completion needs their fields).
#[derive(Default)]
pub struct KnownTasks(pub HashMap<String, std::sync::Arc<Task>>);

impl KnownTasks {
    pub fn update(&mut self, projects: &[Project]) {
        for p in projects {
            for (name, t) in &p.compilation.tasks {
                self.0.insert(name.clone(), t.clone());
            }
        }
    }
}
