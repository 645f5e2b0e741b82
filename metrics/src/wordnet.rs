//! Just enough of NLTK's `WordNetCorpusReader` for METEOR's synonym stage:
//! `synsets(word)` over nouns, verbs, adjectives and adverbs (with NLTK's
//! `_morphy` lemmatisation and exception lists) and each synset's lemma
//! names. Reads the WordNet 3.0 database files (`index.*`, `data.*`,
//! `*.exc`) from a directory the user names; nothing is bundled because the
//! data is tens of megabytes.

use std::collections::{HashMap, HashSet};
use std::path::Path;

const POS: [(char, &str); 4] = [('n', "noun"), ('v', "verb"), ('a', "adj"), ('r', "adv")];

fn substitutions(pos: char) -> &'static [(&'static str, &'static str)] {
    match pos {
        'n' => &[
            ("s", ""),
            ("ses", "s"),
            ("ves", "f"),
            ("xes", "x"),
            ("zes", "z"),
            ("ches", "ch"),
            ("shes", "sh"),
            ("men", "man"),
            ("ies", "y"),
        ],
        'v' => &[
            ("s", ""),
            ("ies", "y"),
            ("es", "e"),
            ("es", ""),
            ("ed", "e"),
            ("ed", ""),
            ("ing", "e"),
            ("ing", ""),
        ],
        'a' => &[("er", ""), ("est", ""), ("er", "e"), ("est", "e")],
        _ => &[],
    }
}

/// A loaded WordNet: lemma -> pos -> synset offsets, exceptions per pos, and
/// the lemma names of every synset.
#[derive(Debug, Default)]
pub struct WordNet {
    index: HashMap<String, HashMap<char, Vec<u64>>>,
    exceptions: HashMap<char, HashMap<String, Vec<String>>>,
    synsets: HashMap<(char, u64), Vec<String>>,
}

fn read(dir: &Path, name: &str) -> Result<String, String> {
    let p = dir.join(name);
    std::fs::read(&p)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| format!("cannot read `{}`: {e}", p.display()))
}

impl WordNet {
    /// Loads the database in `dir` (a WordNet 3.0 `dict` directory).
    pub fn load(dir: &Path) -> Result<Self, String> {
        let mut wn = WordNet::default();
        for (pos, suffix) in POS {
            let index = read(dir, &format!("index.{suffix}"))?;
            for (no, line) in index.lines().enumerate() {
                if line.starts_with(' ') || line.is_empty() {
                    continue;
                }
                let bad = || format!("index.{suffix} line {}: malformed", no + 1);
                let t: Vec<&str> = line.split_whitespace().collect();
                let n_syn: usize = t.get(2).and_then(|x| x.parse().ok()).ok_or_else(bad)?;
                let n_ptr: usize = t.get(3).and_then(|x| x.parse().ok()).ok_or_else(bad)?;
                let start = 4 + n_ptr + 2;
                let offs: Vec<u64> = t
                    .get(start..start + n_syn)
                    .ok_or_else(bad)?
                    .iter()
                    .map(|x| x.parse().map_err(|_| bad()))
                    .collect::<Result<_, _>>()?;
                wn.index
                    .entry(t[0].to_string())
                    .or_default()
                    .insert(pos, offs);
            }
            let exc = read(dir, &format!("{suffix}.exc"))?;
            let map = wn.exceptions.entry(pos).or_default();
            for line in exc.lines() {
                let mut t = line.split_whitespace();
                if let Some(k) = t.next() {
                    map.insert(k.to_string(), t.map(str::to_string).collect());
                }
            }
            let data = read(dir, &format!("data.{suffix}"))?;
            for line in data.lines() {
                if line.starts_with(' ') || line.is_empty() {
                    continue;
                }
                let t: Vec<&str> = line.split_whitespace().collect();
                let (Some(off), Some(cnt)) = (
                    t.first().and_then(|x| x.parse::<u64>().ok()),
                    t.get(3).and_then(|x| usize::from_str_radix(x, 16).ok()),
                ) else {
                    continue;
                };
                let names = (0..cnt)
                    .filter_map(|i| t.get(4 + 2 * i))
                    .map(|w| strip_marker(w).to_string())
                    .collect();
                wn.synsets.insert((pos, off), names);
            }
        }
        Ok(wn)
    }

    /// NLTK's `_morphy(form, pos)`: the exception forms (or rule outputs),
    /// with the form itself first, kept if the index has them for `pos`.
    fn morphy(&self, form: &str, pos: char) -> Vec<String> {
        let cands: Vec<String> = match self.exceptions.get(&pos).and_then(|m| m.get(form)) {
            Some(exc) => exc.clone(),
            None => substitutions(pos)
                .iter()
                .filter_map(|(old, new)| form.strip_suffix(old).map(|s| format!("{s}{new}")))
                .collect(),
        };
        let mut seen = HashSet::new();
        std::iter::once(form.to_string())
            .chain(cands)
            .filter(|f| self.index.get(f).is_some_and(|m| m.contains_key(&pos)))
            .filter(|f| seen.insert(f.clone()))
            .collect()
    }

    /// Every lemma name of every synset of `word` (`wordnet.synsets(word)`).
    pub fn synonyms(&self, word: &str) -> HashSet<String> {
        let lemma = word.to_lowercase();
        let mut out = HashSet::new();
        for (pos, _) in POS {
            for form in self.morphy(&lemma, pos) {
                let offs = self.index.get(&form).and_then(|m| m.get(&pos));
                for off in offs.into_iter().flatten() {
                    if let Some(names) = self.synsets.get(&(pos, *off)) {
                        out.extend(names.iter().cloned());
                    }
                }
            }
        }
        out
    }
}

/// Drops an adjective's syntactic marker: `(.*?)(\(.*\))?$`.
fn strip_marker(w: &str) -> &str {
    if w.ends_with(')') {
        if let Some(i) = w.find('(') {
            return &w[..i];
        }
    }
    w
}
