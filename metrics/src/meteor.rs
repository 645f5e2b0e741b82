//! METEOR as NLTK's `nltk.translate.meteor_score.meteor_score` computes it:
//! exact, then Porter-stem, then WordNet-synonym alignment, F-mean with
//! `alpha`, fragmentation penalty `gamma * (chunks/matches)^beta`, best over
//! references, texts split on whitespace and lowercased.
//!
//! GEM reports METEOR 1.5 (the Java jar: paraphrase tables, function-word
//! weights, tuned parameters); no pure implementation of it exists, so this
//! follows NLTK, the closest reproducible reference. Without a WordNet
//! directory the synonym stage is skipped; the measured effect is in the
//! crate README.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::options::{bad, Opts};
use crate::porter::PorterStemmer;
use crate::report::MetricError;
use crate::text::py_split;
use crate::wordnet::WordNet;

/// METEOR parameters (NLTK's defaults) and the optional WordNet.
#[derive(Clone, Debug)]
pub struct MeteorConfig {
    /// Weight of precision against recall in the F-mean.
    pub alpha: f64,
    /// Exponent of the fragmentation fraction.
    pub beta: f64,
    /// Weight of the fragmentation penalty.
    pub gamma: f64,
    /// Synonyms; `None` skips NLTK's third matching stage.
    pub wordnet: Option<Arc<WordNet>>,
}

impl Default for MeteorConfig {
    fn default() -> Self {
        Self {
            alpha: 0.9,
            beta: 3.0,
            gamma: 0.5,
            wordnet: None,
        }
    }
}

impl MeteorConfig {
    /// Reads `alpha`, `beta`, `gamma` and `wordnet=DIR` (the option
    /// schema's defaults are [`MeteorConfig::default`]'s, a test checks).
    pub fn from_options(o: &Opts<'_>) -> Result<Self, MetricError> {
        let d = Self::default();
        let wordnet = match o.text("wordnet") {
            None => None,
            Some(p) => Some(Arc::new(
                WordNet::load(&PathBuf::from(p)).map_err(|m| bad("wordnet", m))?,
            )),
        };
        Ok(Self {
            alpha: o.f64("alpha")?.unwrap_or(d.alpha),
            beta: o.f64("beta")?.unwrap_or(d.beta),
            gamma: o.f64("gamma")?.unwrap_or(d.gamma),
            wordnet,
        })
    }
}

type Enum = Vec<(usize, String)>;

/// NLTK's `_match_enums`: hypothesis words from last to first take the last
/// still-free equal reference word.
fn match_enums(hyp: Enum, refs: Enum) -> (Vec<(usize, usize)>, Enum, Enum) {
    let mut pos: HashMap<&str, Vec<usize>> = HashMap::new();
    for (j, (_, w)) in refs.iter().enumerate() {
        pos.entry(w.as_str()).or_default().push(j);
    }
    let mut hm = vec![false; hyp.len()];
    let mut rm = vec![false; refs.len()];
    let mut matches = Vec::new();
    for i in (0..hyp.len()).rev() {
        if let Some(j) = pos.get_mut(hyp[i].1.as_str()).and_then(Vec::pop) {
            hm[i] = true;
            rm[j] = true;
            matches.push((hyp[i].0, refs[j].0));
        }
    }
    (matches, keep(hyp, &hm), keep(refs, &rm))
}

fn keep(v: Enum, matched: &[bool]) -> Enum {
    v.into_iter()
        .zip(matched)
        .filter(|(_, m)| !**m)
        .map(|(x, _)| x)
        .collect()
}

/// NLTK's `_enum_wordnetsyn_match`: among the synonyms of a hypothesis
/// word, the one whose last free reference position is largest wins.
fn synonym_match(hyp: Enum, refs: Enum, wn: &WordNet) -> (Vec<(usize, usize)>, Enum, Enum) {
    let mut pos: HashMap<String, Vec<usize>> = HashMap::new();
    for (j, (_, w)) in refs.iter().enumerate() {
        pos.entry(w.clone()).or_default().push(j);
    }
    let mut hm = vec![false; hyp.len()];
    let mut rm = vec![false; refs.len()];
    let mut matches = Vec::new();
    for i in (0..hyp.len()).rev() {
        let mut syns = wn.synonyms(&hyp[i].1);
        syns.retain(|s| !s.contains('_'));
        syns.insert(hyp[i].1.clone());
        let mut best: Option<(usize, &String)> = None;
        for s in &syns {
            if let Some(&j) = pos.get(s).and_then(|p| p.last()) {
                if best.is_none_or(|(b, _)| j > b) {
                    best = Some((j, s));
                }
            }
        }
        if let Some((j, s)) = best {
            if let Some(p) = pos.get_mut(s) {
                p.pop();
            }
            hm[i] = true;
            rm[j] = true;
            matches.push((hyp[i].0, refs[j].0));
        }
    }
    (matches, keep(hyp, &hm), keep(refs, &rm))
}

fn count_chunks(m: &[(usize, usize)]) -> usize {
    1 + m
        .windows(2)
        .filter(|w| !(w[1].0 == w[0].0 + 1 && w[1].1 == w[0].1 + 1))
        .count()
}

/// NLTK's `single_meteor_score` on whitespace-split, lowercased texts.
pub fn single_meteor(cfg: &MeteorConfig, reference: &str, hypothesis: &str) -> f64 {
    let en = |s: &str| -> Enum { py_split(s).map(str::to_lowercase).enumerate().collect() };
    let (hyp, refs) = (en(hypothesis), en(reference));
    let (hyp_len, ref_len) = (hyp.len(), refs.len());
    let stemmer = PorterStemmer::default();
    let (mut all, hyp, refs) = match_enums(hyp, refs);
    let stem = |v: &Enum| -> Enum { v.iter().map(|(i, w)| (*i, stemmer.stem(w))).collect() };
    let (sm, hyp_s, refs_s) = match_enums(stem(&hyp), stem(&refs));
    all.extend(sm);
    // NLTK matches synonyms on the unmatched *stemmed* words' original
    // enumeration, which carries the stems forward.
    if let Some(wn) = &cfg.wordnet {
        let (wm, _, _) = synonym_match(hyp_s, refs_s, wn);
        all.extend(wm);
    }
    all.sort_by_key(|p| p.0);
    let m = all.len() as f64;
    if m == 0.0 || hyp_len == 0 || ref_len == 0 {
        return 0.0;
    }
    let precision = m / hyp_len as f64;
    let recall = m / ref_len as f64;
    let fmean = (precision * recall) / (cfg.alpha * precision + (1.0 - cfg.alpha) * recall);
    let frag = count_chunks(&all) as f64 / m;
    let penalty = cfg.gamma * frag.powf(cfg.beta);
    (1.0 - penalty) * fmean
}

/// Mean over examples of the best score over each example's references.
pub fn corpus_meteor(cfg: &MeteorConfig, hyps: &[&str], refs: &[Vec<String>]) -> f64 {
    let mut sum = 0.0;
    for (h, rs) in hyps.iter().zip(refs) {
        let best = rs
            .iter()
            .map(|r| single_meteor(cfg, r, h))
            .fold(f64::NEG_INFINITY, f64::max);
        sum += if best.is_finite() { best } else { 0.0 };
    }
    sum / hyps.len() as f64
}
