//! Printing compiler diagnostics: rustc-like excerpts through miette.

use exc_compiler::Compilation;
use std::io::IsTerminal;

pub fn install_hook() {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100);
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .terminal_links(false)
                .color(color)
                .unicode(color)
                .width(width)
                .build(),
        )
    }));
}

/// Print every diagnostic to stderr, errors first in file order.
pub fn print(c: &Compilation) {
    let mut diags: Vec<_> = c.diagnostics.iter().collect();
    diags.sort_by_key(|d| (d.severity, d.span.map(|s| (s.file, s.start))));
    for d in diags {
        eprintln!("{:?}", d.to_report(&c.loaded.sources));
    }
}

/// The outcome for a compilation: I/O problems are usage errors (2), others invalid input (1).
pub fn outcome(c: &Compilation) -> crate::Outcome {
    if c.has_io_error() {
        crate::Outcome::Usage
    } else if c.errors() > 0 {
        crate::Outcome::Invalid
    } else {
        crate::Outcome::Ok
    }
}

pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
