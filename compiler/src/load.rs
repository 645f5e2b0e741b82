//! Paths -> parsed files: walks directories, follows `include`s (reporting
//! cycles), and finds the project root. All I/O of the compiler happens here.

use crate::ast::{File, Item};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, SourceMap, Span};
use crate::syntax;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Extensions the compiler reads when given a directory.
pub const EXTENSIONS: &[&str] = &["task", "exmix"];

/// Every file read in one run, parsed.
#[derive(Default)]
pub struct Loaded {
    pub sources: SourceMap,
    /// Parsed files by id; `None` where the file had a syntax error.
    pub files: Vec<(FileId, Option<File>)>,
    pub root: PathBuf,
    canonical: Vec<(PathBuf, FileId)>,
    /// Texts read instead of the file's on disk, by canonical path (the
    /// language server's unsaved buffers); a path not on disk is its own key.
    pub overlay: HashMap<PathBuf, String>,
}

/// The nearest ancestor holding `exc.toml` or `.git`; else the current directory.
pub fn find_root(start: &Path) -> PathBuf {
    let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
    let mut dir = if start.is_file() {
        start.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        start.clone()
    };
    loop {
        if dir.join("exc.toml").exists() || dir.join(".git").exists() {
            return dir;
        }
        if !dir.pop() {
            return std::env::current_dir().unwrap_or_default();
        }
    }
}

impl Loaded {
    pub fn new(root: PathBuf) -> Self {
        Loaded {
            root,
            ..Loaded::default()
        }
    }

    pub fn file(&self, id: FileId) -> Option<&File> {
        self.files
            .iter()
            .find(|(f, _)| *f == id)
            .and_then(|(_, f)| f.as_ref())
    }

    /// The path of a file relative to the root, with `/` separators (for the plan).
    pub fn relative(&self, id: FileId) -> String {
        let Some(f) = self.sources.get(id) else {
            return String::new();
        };
        let canon = std::fs::canonicalize(&f.path).unwrap_or_else(|_| f.path.clone());
        let rel = canon.strip_prefix(&self.root).unwrap_or(&canon);
        rel.to_string_lossy().replace('\\', "/")
    }

    /// Load a file or a directory (recursively, sorted for determinism).
    pub fn load_path(
        &mut self,
        path: &Path,
        from: Option<Span>,
        diags: &mut Vec<Diagnostic>,
    ) -> Vec<FileId> {
        if path.is_dir() {
            let mut found = Vec::new();
            collect(path, &mut found, diags);
            found.sort();
            return found
                .iter()
                .filter_map(|p| self.load_file(p, from, diags, &mut Vec::new()))
                .collect();
        }
        self.load_file(path, from, diags, &mut Vec::new())
            .into_iter()
            .collect()
    }

    fn load_file(
        &mut self,
        path: &Path,
        from: Option<Span>,
        diags: &mut Vec<Diagnostic>,
        stack: &mut Vec<PathBuf>,
    ) -> Option<FileId> {
        let canon = match std::fs::canonicalize(path) {
            Ok(c) => c,
            // A new buffer the editor has not saved yet.
            Err(_) if self.overlay.contains_key(path) => path.to_path_buf(),
            Err(e) => {
                let msg = format!("cannot read `{}`: {}", path.display(), io_reason(&e));
                let d = match from {
                    Some(span) => {
                        Diagnostic::error("exc::io::not_found", msg, span).label("referenced here")
                    }
                    None => Diagnostic::global("exc::io::not_found", msg),
                };
                // A path from a file is relative to that file; one from the
                // command line, to the current directory.
                let help = if from.is_some() {
                    "check the path; relative paths in files are relative to that file"
                } else {
                    "check the path; relative paths on the command line are relative to the current directory"
                };
                diags.push(d.help(help));
                return None;
            }
        };
        if let Some((_, id)) = self.canonical.iter().find(|(p, _)| *p == canon) {
            return Some(*id);
        }
        let read = match self.overlay.get(&canon) {
            Some(t) => Ok(t.clone().into_bytes()),
            None => std::fs::read(&canon),
        };
        let text = match read {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => {
                    diags.push(self.not_utf8(path, &e));
                    return None;
                }
            },
            Err(e) => {
                let msg = format!("cannot read `{}`: {}", path.display(), io_reason(&e));
                diags.push(
                    Diagnostic::global("exc::io::unreadable", msg)
                        .help("exc reads UTF-8 text files"),
                );
                return None;
            }
        };
        let id = self.sources.add(path.to_path_buf(), text.clone());
        self.canonical.push((canon.clone(), id));
        let parsed = match syntax::parse(id, &text) {
            Ok(f) => Some(f),
            Err(d) => {
                diags.push(d);
                None
            }
        };
        let includes: Vec<(String, Span)> = parsed
            .iter()
            .flat_map(|f| f.items.iter())
            .filter_map(|i| match i {
                Item::Include(s) => Some((s.node.clone(), s.span)),
                _ => None,
            })
            .collect();
        self.files.push((id, parsed));
        stack.push(canon.clone());
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for (inc, span) in includes {
            let target = dir.join(&inc);
            if let Ok(tc) = std::fs::canonicalize(&target) {
                if let Some(pos) = stack.iter().position(|p| *p == tc) {
                    let chain: Vec<String> = stack
                        .get(pos..)
                        .unwrap_or(&[])
                        .iter()
                        .chain(std::iter::once(&tc))
                        .map(|p| short(p, &self.root))
                        .collect();
                    diags.push(
                        Diagnostic::error(
                            "exc::check::include_cycle",
                            format!("include cycle: {}", chain.join(" -> ")),
                            span,
                        )
                        .label("closes the cycle")
                        .help("remove one of the includes; shared definitions belong in a file that includes nothing back"),
                    );
                    continue;
                }
                if !tc.starts_with(&self.root) {
                    diags.push(
                        Diagnostic::error(
                            "exc::check::path_escapes_root",
                            format!("`{inc}` is outside the project root `{}`", self.root.display()),
                            span,
                        )
                        .label("outside the project")
                        .help("keep task files inside the project (the directory with exc.toml or .git)"),
                    );
                    continue;
                }
            }
            self.load_file(&target, Some(span), diags, stack);
        }
        stack.pop();
        Some(id)
    }
}

impl Loaded {
    /// A file that is not UTF-8, pointed at its first bad byte. The file is
    /// kept (bad bytes shown as U+FFFD) so that the error can quote the
    /// line; the text before the bad byte is unchanged, so offsets agree.
    fn not_utf8(&mut self, path: &Path, e: &std::string::FromUtf8Error) -> Diagnostic {
        let at = e.utf8_error().valid_up_to();
        let byte = e.as_bytes().get(at).copied().unwrap_or_default();
        let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
        let end = text
            .get(at..)
            .and_then(|t| t.chars().next())
            .map_or(at, |c| at + c.len_utf8());
        let id = self.sources.add(path.to_path_buf(), text);
        Diagnostic::error(
            "exc::io::not_utf8",
            format!(
                "`{}` is not UTF-8: byte 0x{byte:02x} at offset {at} is invalid",
                path.display()
            ),
            Span::new(id, at, end),
        )
        .label("not UTF-8")
        .help(
            "exc reads UTF-8 text files: save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
        )
    }
}

fn short(p: &Path, root: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string().to_lowercase(),
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>, diags: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            diags.push(Diagnostic::global(
                "exc::io::unreadable",
                format!("cannot list `{}`: {}", dir.display(), io_reason(&e)),
            ));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            collect(&path, out, diags);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e))
        {
            out.push(path);
        }
    }
}
