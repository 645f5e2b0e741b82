//! The Porter stemmer exactly as NLTK's `nltk.stem.porter.PorterStemmer`
//! computes it, which is what rouge_score calls when `use_stemmer=True`.
//!
//! NLTK offers three modes; rouge_score uses the default, `NLTK_EXTENSIONS`.
//! The other two are kept because they are cheap and let the tests pin down
//! which deviations belong to which mode. This is not the Snowball stemmer:
//! the two differ on many words (`generously`, `dying`, ...).

/// Which variant of the algorithm to run (NLTK's `mode` argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// NLTK's default, used by rouge_score.
    #[default]
    NltkExtensions,
    /// Martin Porter's own later implementations.
    MartinExtensions,
    /// The 1980 paper as published.
    OriginalAlgorithm,
}

/// NLTK's `PorterStemmer`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PorterStemmer {
    mode: Mode,
}

type Cond<'a> = Option<&'a dyn Fn(&[char]) -> bool>;

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

fn ends_with(word: &[char], suffix: &str) -> bool {
    let n = suffix.chars().count();
    word.len() >= n && word[word.len() - n..].iter().copied().eq(suffix.chars())
}

fn strip(word: &[char], suffix: &str) -> Vec<char> {
    word[..word.len() - suffix.chars().count()].to_vec()
}

fn join(stem: &[char], rep: &str) -> Vec<char> {
    let mut v = stem.to_vec();
    v.extend(rep.chars());
    v
}

/// `True` per position where NLTK's `_is_consonant` holds: a `y` is a
/// consonant iff the letter before it is not one.
fn consonant_flags(word: &[char]) -> Vec<bool> {
    let mut flags: Vec<bool> = Vec::with_capacity(word.len());
    for (i, &c) in word.iter().enumerate() {
        let f = if is_vowel(c) {
            false
        } else if c == 'y' {
            i == 0 || !flags[i - 1]
        } else {
            true
        };
        flags.push(f);
    }
    flags
}

fn is_consonant(word: &[char], i: usize) -> bool {
    consonant_flags(&word[..=i])[i]
}

fn measure(stem: &[char]) -> usize {
    let f = consonant_flags(stem);
    f.windows(2).filter(|w| !w[0] && w[1]).count()
}

fn contains_vowel(stem: &[char]) -> bool {
    consonant_flags(stem).iter().any(|&c| !c)
}

fn ends_double_consonant(word: &[char]) -> bool {
    let n = word.len();
    n >= 2 && word[n - 1] == word[n - 2] && is_consonant(word, n - 1)
}

impl PorterStemmer {
    /// A stemmer in the given mode.
    pub fn new(mode: Mode) -> Self {
        Self { mode }
    }

    fn nltk(&self) -> bool {
        self.mode == Mode::NltkExtensions
    }

    fn ends_cvc(&self, w: &[char]) -> bool {
        let n = w.len();
        (n >= 3
            && is_consonant(w, n - 3)
            && !is_consonant(w, n - 2)
            && is_consonant(w, n - 1)
            && !matches!(w[n - 1], 'w' | 'x' | 'y'))
            || (self.nltk() && n == 2 && !is_consonant(w, 0) && is_consonant(w, 1))
    }

    /// NLTK's `_apply_rule_list`: the first rule whose suffix matches decides,
    /// whether or not its condition holds.
    fn apply_rules(&self, word: &[char], rules: &[(&str, &str, Cond<'_>)]) -> Vec<char> {
        for &(suffix, rep, cond) in rules {
            if ends_with(word, suffix) {
                let stem = strip(word, suffix);
                return match cond {
                    Some(c) if !c(&stem) => word.to_vec(),
                    _ => join(&stem, rep),
                };
            }
        }
        word.to_vec()
    }

    fn step1a(&self, w: &[char]) -> Vec<char> {
        if self.nltk() && ends_with(w, "ies") && w.len() == 4 {
            return join(&strip(w, "ies"), "ie");
        }
        self.apply_rules(
            w,
            &[
                ("sses", "ss", None),
                ("ies", "i", None),
                ("ss", "ss", None),
                ("s", "", None),
            ],
        )
    }

    fn step1b(&self, w: &[char]) -> Vec<char> {
        if self.nltk() && ends_with(w, "ied") {
            let rep = if w.len() == 4 { "ie" } else { "i" };
            return join(&strip(w, "ied"), rep);
        }
        if ends_with(w, "eed") {
            let stem = strip(w, "eed");
            return if measure(&stem) > 0 {
                join(&stem, "ee")
            } else {
                w.to_vec()
            };
        }
        let mut inter = None;
        for suffix in ["ed", "ing"] {
            if ends_with(w, suffix) {
                let s = strip(w, suffix);
                if contains_vowel(&s) {
                    inter = Some(s);
                    break;
                }
            }
        }
        let Some(inter) = inter else {
            return w.to_vec();
        };
        for (suffix, rep) in [("at", "ate"), ("bl", "ble"), ("iz", "ize")] {
            if ends_with(&inter, suffix) {
                return join(&strip(&inter, suffix), rep);
            }
        }
        // The "*d" rule: a double consonant loses one letter unless l, s or z.
        if ends_double_consonant(&inter) {
            let last = inter[inter.len() - 1];
            return if matches!(last, 'l' | 's' | 'z') {
                inter
            } else {
                let mut s = inter[..inter.len() - 2].to_vec();
                s.push(last);
                s
            };
        }
        if measure(&inter) == 1 && self.ends_cvc(&inter) {
            return join(&inter, "e");
        }
        inter
    }

    fn step1c(&self, w: &[char]) -> Vec<char> {
        let nltk_cond = |s: &[char]| s.len() > 1 && is_consonant(s, s.len() - 1);
        let orig_cond = |s: &[char]| contains_vowel(s);
        let cond: &dyn Fn(&[char]) -> bool = if self.nltk() { &nltk_cond } else { &orig_cond };
        self.apply_rules(w, &[("y", "i", Some(cond))])
    }

    fn step2(&self, w: &[char]) -> Vec<char> {
        if self.nltk() && ends_with(w, "alli") && measure(&strip(w, "alli")) > 0 {
            return self.step2(&join(&strip(w, "alli"), "al"));
        }
        let pos = |s: &[char]| measure(s) > 0;
        let p: Cond<'_> = Some(&pos);
        let bli = if self.mode == Mode::OriginalAlgorithm {
            ("abli", "able", p)
        } else {
            ("bli", "ble", p)
        };
        let mut rules: Vec<(&str, &str, Cond<'_>)> = vec![
            ("ational", "ate", p),
            ("tional", "tion", p),
            ("enci", "ence", p),
            ("anci", "ance", p),
            ("izer", "ize", p),
            bli,
            ("alli", "al", p),
            ("entli", "ent", p),
            ("eli", "e", p),
            ("ousli", "ous", p),
            ("ization", "ize", p),
            ("ation", "ate", p),
            ("ator", "ate", p),
            ("alism", "al", p),
            ("iveness", "ive", p),
            ("fulness", "ful", p),
            ("ousness", "ous", p),
            ("aliti", "al", p),
            ("iviti", "ive", p),
            ("biliti", "ble", p),
        ];
        // NLTK tests the measure of the word less "ogi" (keeping the "l").
        let logi_nltk = |_: &[char]| w.len() >= 3 && measure(&w[..w.len() - 3]) > 0;
        match self.mode {
            Mode::NltkExtensions => {
                rules.push(("fulli", "ful", p));
                rules.push(("logi", "log", Some(&logi_nltk)));
            }
            Mode::MartinExtensions => rules.push(("logi", "log", p)),
            Mode::OriginalAlgorithm => {}
        }
        self.apply_rules(w, &rules)
    }

    fn step3(&self, w: &[char]) -> Vec<char> {
        let pos = |s: &[char]| measure(s) > 0;
        let p: Cond<'_> = Some(&pos);
        self.apply_rules(
            w,
            &[
                ("icate", "ic", p),
                ("ative", "", p),
                ("alize", "al", p),
                ("iciti", "ic", p),
                ("ical", "ic", p),
                ("ful", "", p),
                ("ness", "", p),
            ],
        )
    }

    fn step4(&self, w: &[char]) -> Vec<char> {
        let gt1 = |s: &[char]| measure(s) > 1;
        let ion = |s: &[char]| measure(s) > 1 && matches!(s.last(), Some('s' | 't'));
        let m: Cond<'_> = Some(&gt1);
        self.apply_rules(
            w,
            &[
                ("al", "", m),
                ("ance", "", m),
                ("ence", "", m),
                ("er", "", m),
                ("ic", "", m),
                ("able", "", m),
                ("ible", "", m),
                ("ant", "", m),
                ("ement", "", m),
                ("ment", "", m),
                ("ent", "", m),
                ("ion", "", Some(&ion)),
                ("ou", "", m),
                ("ism", "", m),
                ("ate", "", m),
                ("iti", "", m),
                ("ous", "", m),
                ("ive", "", m),
                ("ize", "", m),
            ],
        )
    }

    fn step5a(&self, w: &[char]) -> Vec<char> {
        if ends_with(w, "e") {
            let stem = strip(w, "e");
            let m = measure(&stem);
            if m > 1 || (m == 1 && !self.ends_cvc(&stem)) {
                return stem;
            }
        }
        w.to_vec()
    }

    fn step5b(&self, w: &[char]) -> Vec<char> {
        // NLTK measures the word less one letter, not the stem less "ll".
        let cond = |_: &[char]| measure(&w[..w.len().saturating_sub(1)]) > 1;
        self.apply_rules(w, &[("ll", "l", Some(&cond))])
    }

    /// NLTK's `stem(word)` with `to_lowercase=True`.
    pub fn stem(&self, word: &str) -> String {
        let lower = word.to_lowercase();
        if self.nltk() {
            if let Some(s) = irregular(&lower) {
                return s.to_string();
            }
        }
        if self.mode != Mode::OriginalAlgorithm && word.chars().count() <= 2 {
            return lower;
        }
        let w: Vec<char> = lower.chars().collect();
        let w = self.step1a(&w);
        let w = self.step1b(&w);
        let w = self.step1c(&w);
        let w = self.step2(&w);
        let w = self.step3(&w);
        let w = self.step4(&w);
        let w = self.step5a(&w);
        let w = self.step5b(&w);
        w.into_iter().collect()
    }
}

/// NLTK_EXTENSIONS' table of irregular forms.
fn irregular(w: &str) -> Option<&'static str> {
    Some(match w {
        "sky" | "skies" => "sky",
        "dying" => "die",
        "lying" => "lie",
        "tying" => "tie",
        "news" => "news",
        "innings" | "inning" => "inning",
        "outings" | "outing" => "outing",
        "cannings" | "canning" => "canning",
        "howe" => "howe",
        "proceed" => "proceed",
        "exceed" => "exceed",
        "succeed" => "succeed",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_examples() {
        let s = PorterStemmer::default();
        for (w, want) in [
            ("caresses", "caress"),
            ("ponies", "poni"),
            ("ties", "tie"),
            ("motoring", "motor"),
            ("hopping", "hop"),
            ("filing", "file"),
            ("happy", "happi"),
            ("relational", "relat"),
            ("generously", "gener"),
            ("dying", "die"),
        ] {
            assert_eq!(s.stem(w), want, "{w}");
        }
    }
}
