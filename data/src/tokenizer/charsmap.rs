//! SentencePiece's precompiled character map (`precompiled_charsmap`), the
//! normaliser T5's vocabulary carries (NFKC plus a few rewrites such as tab
//! and newline to space).
//!
//! The blob is `u32 trie size (bytes, little endian)`, a darts-clone double
//! array of that size, then NUL-terminated replacement strings that the
//! array's values point into.
//!
//! We apply it exactly as the `tokenizers` crate's `Precompiled` normaliser
//! does, since that path defines our goldens: text is cut into extended
//! grapheme clusters; a cluster shorter than 6 bytes whose bytes start with a
//! key is replaced whole by the *shortest* matching key's replacement;
//! otherwise each character is looked up on its own. Why the fast path is
//! safe: between two ASCII characters there is always a grapheme boundary
//! (except CR LF), so plain ASCII runs need no segmentation at all; only the
//! stretches around non-ASCII characters go through `unicode-segmentation`.

use unicode_segmentation::UnicodeSegmentation;

/// A parsed precompiled charsmap.
#[derive(Clone, Debug)]
pub struct CharsMap {
    units: Vec<u32>,
    replacements: String,
    /// The replacement of each single ASCII byte, as a range of `replacements`.
    ascii: [Option<(u32, u32)>; 128],
}

impl CharsMap {
    /// Parses the blob.
    pub fn parse(blob: &[u8]) -> Result<Self, String> {
        let size = blob
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or("precompiled charsmap: too short")?;
        let trie = blob
            .get(4..4 + size)
            .ok_or("precompiled charsmap: truncated trie")?;
        let units = trie
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let replacements = String::from_utf8(blob[4 + size..].to_vec())
            .map_err(|_| "precompiled charsmap: replacements are not UTF-8")?;
        let mut map = CharsMap {
            units,
            replacements,
            ascii: [None; 128],
        };
        for b in 0u8..128 {
            map.ascii[usize::from(b)] = map.find(&[b]);
        }
        Ok(map)
    }

    /// Range (in `replacements`) of the replacement of the shortest key that
    /// is a prefix of `key`. Walks the darts-clone array: a unit holds a
    /// label (low byte, plus bit 31 for "not a node"), a has-leaf flag (bit
    /// 8) and an offset (bits 10.., scaled by 256 when bit 9 is set); a
    /// child is found by XOR-ing the parent's position with its offset and
    /// the byte; a leaf's value is stored at the node's own offset.
    fn find(&self, key: &[u8]) -> Option<(u32, u32)> {
        let offset = |u: u32| ((u >> 10) << ((u & (1 << 9)) >> 6)) as usize;
        let mut pos = offset(*self.units.first()?);
        for &c in key {
            if c == 0 {
                return None;
            }
            pos ^= usize::from(c);
            let unit = *self.units.get(pos)?;
            if unit & ((1 << 31) | 0xff) != u32::from(c) {
                return None;
            }
            pos ^= offset(unit);
            if (unit >> 8) & 1 == 1 {
                let value = (*self.units.get(pos)? & ((1 << 31) - 1)) as usize;
                let rest = self.replacements.as_bytes().get(value..)?;
                let len = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                // A replacement that does not cut at character boundaries
                // is treated as no match rather than panicking.
                self.replacements.get(value..value + len)?;
                return Some((value as u32, (value + len) as u32));
            }
        }
        None
    }

    fn replacement(&self, range: (u32, u32)) -> &str {
        self.replacements
            .get(range.0 as usize..range.1 as usize)
            .unwrap_or("")
    }

    /// One grapheme cluster, as the `tokenizers` `Precompiled` normaliser
    /// treats it.
    fn grapheme(&self, g: &str, out: &mut String) {
        if g.len() < 6 {
            if let Some(r) = self.find(g.as_bytes()) {
                out.push_str(self.replacement(r));
                return;
            }
        }
        let mut buf = [0u8; 4];
        for c in g.chars() {
            match self.find(c.encode_utf8(&mut buf).as_bytes()) {
                Some(r) => out.push_str(self.replacement(r)),
                None => out.push(c),
            }
        }
    }

    /// Appends the normalised `text` to `out`.
    pub fn normalize_into(&self, text: &str, out: &mut String) {
        let b = text.as_bytes();
        let n = b.len();
        let mut pos = 0;
        while pos < n {
            let c = b[pos];
            let next = b.get(pos + 1).copied();
            if c < 0x80 && next.is_none_or(|x| x < 0x80) {
                if c == b'\r' && next == Some(b'\n') {
                    self.grapheme("\r\n", out);
                    pos += 2;
                } else {
                    match self.ascii[usize::from(c)] {
                        Some(r) => out.push_str(self.replacement(r)),
                        None => out.push(char::from(c)),
                    }
                    pos += 1;
                }
                continue;
            }
            // A stretch with non-ASCII characters: it ends at the first
            // ASCII-to-ASCII boundary (never inside CR LF), where a grapheme
            // boundary is certain, so segmenting it alone is exact.
            let mut end = pos + 1;
            while end < n
                && !(b[end - 1] < 0x80 && b[end] < 0x80 && (b[end - 1], b[end]) != (b'\r', b'\n'))
            {
                end += 1;
            }
            match text.get(pos..end) {
                Some(stretch) => {
                    for g in stretch.graphemes(true) {
                        self.grapheme(g, out);
                    }
                }
                None => out.push_str(&text[pos..]), // unreachable: pos, end are char boundaries
            }
            pos = end;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    /// Plain grapheme-by-grapheme normalisation, the reference for the fast path.
    fn slow(map: &CharsMap, text: &str) -> String {
        let mut out = String::new();
        for g in text.graphemes(true) {
            map.grapheme(g, &mut out);
        }
        out
    }

    /// The charsmap of T5's `spiece.model` in the repository's `fixtures/data`.
    fn t5_map() -> CharsMap {
        let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/data/t5_tokenizer/spiece.model");
        let bytes = std::fs::read(&p).unwrap_or_else(|e| {
            panic!(
                "fixture {} is missing: it ships in the repository under fixtures/data ({e})",
                p.display()
            )
        });
        let model = crate::tokenizer::spm::SpmModel::parse(&bytes).unwrap();
        CharsMap::parse(&model.precompiled_charsmap).unwrap()
    }

    #[test]
    fn fast_path_segments_like_plain_graphemes() {
        let map = t5_map();
        for text in [
            "plain ascii\ttext\r\nwith CRLF\r\n",
            "e\u{301}t\u{e9} caf\u{e9}\u{301}\r\u{301}\n",
            "\u{ff21}\u{ff22} \u{2160} \u{fb01}x \u{1f469}\u{200d}\u{1f4bb}!",
            "a\u{0600}b \u{0915}\u{094d}\u{0937}a \u{1f1eb}\u{1f1f7}\u{1f1eb}z",
            "\u{ff1c}extra_id_0\u{ff1e}\u{3000}x\u{00a0}\u{0085}",
        ] {
            let mut fast = String::new();
            map.normalize_into(text, &mut fast);
            assert_eq!(fast, slow(&map, text), "{text:?}");
        }
    }
}
