//! Positions and file names as the protocol spells them: byte offsets <->
//! (line, character) in UTF-8 or UTF-16 code units, paths <-> `file://` URIs.

use lsp_types::{Position, Range, Uri};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// How a `Position`'s character counts, as agreed at initialization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

impl Encoding {
    fn units(self, c: char) -> usize {
        match self {
            Encoding::Utf8 => c.len_utf8(),
            Encoding::Utf16 => c.len_utf16(),
        }
    }
}

/// The position of byte `offset` in `text` (clamped to the text, and down to a character boundary).
pub fn position(text: &str, offset: usize, enc: Encoding) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = text.get(..offset).unwrap_or("");
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count();
    let character: usize = before
        .get(line_start..)
        .unwrap_or("")
        .chars()
        .map(|c| enc.units(c))
        .sum();
    Position::new(to_u32(line), to_u32(character))
}

/// The byte offset of `pos` in `text`; a position past a line's end is its end.
pub fn offset(text: &str, pos: Position, enc: Encoding) -> usize {
    let mut start = 0;
    for _ in 0..pos.line {
        match text.get(start..).and_then(|t| t.find('\n')) {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let line = text.get(start..).unwrap_or("");
    let line = line.split('\n').next().unwrap_or("");
    let mut units = 0;
    for (i, c) in line.char_indices() {
        if units >= pos.character as usize {
            return start + i;
        }
        units += enc.units(c);
    }
    start + line.len()
}

pub fn range(text: &str, start: usize, end: usize, enc: Encoding) -> Range {
    Range::new(position(text, start, enc), position(text, end, enc))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Characters a path keeps as they are in a URI (RFC 3986's unreserved and `/`).
fn keep(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/')
}

/// `file:///abs/path`, percent-encoding the rest; `None` for a relative path.
pub fn path_to_uri(path: &Path) -> Option<Uri> {
    if !path.is_absolute() {
        return None;
    }
    let mut s = String::from("file://");
    for &b in path.to_string_lossy().as_bytes() {
        if keep(b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    Uri::from_str(&s).ok()
}

/// The path of a `file:` URI (host empty or `localhost`), percent-decoded.
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    if !rest.starts_with('/') {
        return None;
    }
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units_or_bytes() {
        let text = "ab\n\u{e9}\u{1f600}x\n";
        let x = text.find('x').unwrap();
        assert_eq!(position(text, x, Encoding::Utf16), Position::new(1, 3));
        assert_eq!(position(text, x, Encoding::Utf8), Position::new(1, 6));
        assert_eq!(offset(text, Position::new(1, 3), Encoding::Utf16), x);
        assert_eq!(offset(text, Position::new(1, 6), Encoding::Utf8), x);
        // Past the end of a line: the line's end; past the last line: the text's end.
        assert_eq!(offset(text, Position::new(0, 99), Encoding::Utf8), 2);
        assert_eq!(
            offset(text, Position::new(9, 0), Encoding::Utf8),
            text.len()
        );
        // Inside a character: its start.
        assert_eq!(position(text, 4, Encoding::Utf8), Position::new(1, 0));
    }

    #[test]
    fn uris_round_trip_paths_with_spaces_and_unicode() {
        let p = Path::new("/tmp/my tasks/gl\u{fc}e#1.task");
        let uri = path_to_uri(p).unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/my%20tasks/gl%C3%BCe%231.task");
        assert_eq!(uri_to_path(&uri).unwrap(), p);
        let host = Uri::from_str("file://localhost/a/b.task").unwrap();
        assert_eq!(uri_to_path(&host).unwrap(), Path::new("/a/b.task"));
        assert!(uri_to_path(&Uri::from_str("untitled:Untitled-1").unwrap()).is_none());
        assert!(path_to_uri(Path::new("relative.task")).is_none());
    }
}
