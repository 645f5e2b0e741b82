//! Token-level goldens: sacrebleu's tokenizers, NLTK's Porter stemmer on a
//! large word list (all three modes) and rouge_score per pair.

mod common;

use common::{close, golden};
use exc_metrics::bleu_tok::Tokenizer;
use exc_metrics::porter::{Mode, PorterStemmer};
use exc_metrics::rouge::{prepare_summary, RougeScorer, RougeType};
use exc_metrics::text::py_rstrip;

#[test]
fn sacrebleu_tokenizers() {
    let g = golden("bleu_tokenizers.json");
    let lines = g["lines"].as_array().unwrap();
    for l in lines {
        let line = py_rstrip(l["line"].as_str().unwrap());
        assert_eq!(
            Tokenizer::T13a.tokenize(line),
            l["13a"].as_str().unwrap(),
            "13a: {line:?}"
        );
        assert_eq!(
            Tokenizer::Intl.tokenize(line),
            l["intl"].as_str().unwrap(),
            "intl: {line:?}"
        );
    }
    eprintln!(
        "{} lines tokenized identically by 13a and intl",
        lines.len()
    );
}

#[test]
fn porter_matches_nltk_on_word_list() {
    let g = golden("porter.json");
    let words = g["words"].as_array().unwrap();
    for (key, mode) in [
        ("nltk", Mode::NltkExtensions),
        ("martin", Mode::MartinExtensions),
        ("original", Mode::OriginalAlgorithm),
    ] {
        let s = PorterStemmer::new(mode);
        let want = g[key].as_array().unwrap();
        let bad: Vec<String> = words
            .iter()
            .zip(want)
            .filter_map(|(w, x)| {
                let (w, x) = (w.as_str().unwrap(), x.as_str().unwrap());
                let got = s.stem(w);
                (got != x).then(|| format!("{w}: {got} != {x}"))
            })
            .collect();
        assert!(
            bad.is_empty(),
            "{key}: {} of {} differ:\n{}",
            bad.len(),
            words.len(),
            bad.join("\n")
        );
    }
    eprintln!("{} words stemmed identically in 3 modes", words.len());
}

#[test]
fn rouge_pairs_match_rouge_score() {
    let g = golden("rouge_pairs.json");
    let types = ["rouge1", "rouge2", "rougeL", "rougeLsum"];
    let parsed: Vec<RougeType> = types.iter().map(|t| RougeType::parse(t).unwrap()).collect();
    let scorers = [
        RougeScorer::new(parsed.clone(), false),
        RougeScorer::new(parsed, true),
    ];
    let pairs = g["pairs"].as_array().unwrap();
    let mut bitwise = 0;
    for p in pairs {
        let stem = p["use_stemmer"].as_bool().unwrap();
        let t = prepare_summary(p["target"].as_str().unwrap());
        let pr = prepare_summary(p["prediction"].as_str().unwrap());
        let got = scorers[usize::from(stem)].score(&t, &pr);
        for (ty, s) in types.iter().zip(got) {
            let want: Vec<f64> = p["scores"][ty]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            for (g, w) in [s.precision, s.recall, s.fmeasure].into_iter().zip(want) {
                assert!(close(g, w), "{ty} stem={stem} {t:?}: {g} vs {w}");
                bitwise += usize::from(g == w);
            }
        }
    }
    eprintln!(
        "{} rouge pairs x 4 types x P/R/F: {bitwise} values bitwise equal",
        pairs.len()
    );
}
