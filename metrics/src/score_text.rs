//! The scoring functions of metrics over generated text: question
//! answering, BLEU, ROUGE, METEOR and MRR@10. Inputs are read through
//! `targets`; the modules named after each reference compute.

use crate::bleu::{BleuConfig, Smooth};
use crate::bleu_tok::Tokenizer;
use crate::meteor::{self, MeteorConfig};
use crate::options::{bad, Opts};
use crate::qa::{self, Normalization};
use crate::rank;
use crate::report::{MetricError, Report};
use crate::rouge::{corpus_rouge, RougeScorer, RougeType};
use crate::spec::Input;
use crate::targets::{all_lists, all_texts, answers, id_list, strs};

type R = Result<Report, MetricError>;

pub(crate) fn squad(i: &Input<'_>) -> R {
    qa_scores(i, Normalization::Squad)
}

pub(crate) fn trivia_qa(i: &Input<'_>) -> R {
    qa_scores(i, Normalization::TriviaQa)
}

fn qa_scores(i: &Input<'_>, how: Normalization) -> R {
    let t: Vec<Vec<String>> = i
        .targets
        .iter()
        .enumerate()
        .map(|(row, v)| answers(row, v))
        .collect::<Result<_, _>>()?;
    let (em, f1) = qa::qa_metrics(&t, &strs(i.preds), how);
    Ok(Report::default().score("em", em).score("f1", f1))
}

/// The BLEU options; both BLEU metrics' schemas give the defaults (T5's
/// `intl` for corpus BLEU, sacrebleu's `13a` and effective order for
/// sentence BLEU).
fn bleu_config(o: &Opts<'_>) -> Result<BleuConfig, MetricError> {
    let tok = o.text("tokenize").unwrap_or("13a");
    let method = o.text("smooth_method").unwrap_or("exp");
    Ok(BleuConfig {
        tokenizer: Tokenizer::parse(tok)
            .ok_or_else(|| bad("tokenize", format!("`{tok}` is not 13a, intl or none")))?,
        smooth: Smooth::parse(method, o.f64("smooth_value")?).ok_or_else(|| {
            bad(
                "smooth_method",
                format!("`{method}` is not none, floor, add-k or exp"),
            )
        })?,
        lowercase: o.bool("lowercase")?,
        effective_order: o.bool("use_effective_order")?,
    })
}

pub(crate) fn bleu(i: &Input<'_>) -> R {
    let cfg = bleu_config(&i.opts)?;
    let refs = all_lists(i.targets)?;
    let refs: Vec<Vec<&str>> = refs.iter().map(|r| strs(r)).collect();
    let s = cfg.corpus_score(&strs(i.preds), &refs);
    let mut r = Report::default().score("bleu", s.score).score("bp", s.bp);
    for n in 0..4 {
        r = r.score(format!("precision_{}", n + 1), s.precisions[n]);
    }
    let mut r = r
        .score("sys_len", s.sys_len as f64)
        .score("ref_len", s.ref_len as f64);
    r.info.insert("signature".into(), cfg.signature(&refs));
    Ok(r)
}

pub(crate) fn sentence_bleu(i: &Input<'_>) -> R {
    let cfg = bleu_config(&i.opts)?;
    let refs = all_lists(i.targets)?;
    let refs: Vec<Vec<&str>> = refs.iter().map(|r| strs(r)).collect();
    let sum: f64 = i
        .preds
        .iter()
        .zip(&refs)
        .map(|(p, r)| cfg.sentence_score(p, r).score)
        .sum();
    let mut r = Report::default().score("sentence_bleu", sum / i.preds.len() as f64);
    r.info.insert("signature".into(), cfg.signature(&refs));
    Ok(r)
}

/// Whether `rouge_types` may name `n`.
pub(crate) fn is_rouge_type(n: &str) -> bool {
    RougeType::parse(n).is_some()
}

pub(crate) fn rouge(i: &Input<'_>) -> R {
    let names = i.opts.list("rouge_types").unwrap_or_default();
    let types: Vec<RougeType> = names
        .iter()
        .map(|n| {
            RougeType::parse(n).ok_or_else(|| {
                bad(
                    "rouge_types",
                    format!("`{n}` is not rougeN, rougeL or rougeLsum"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let scorer = RougeScorer::new(types.clone(), i.opts.bool("use_stemmer")?);
    let t = all_texts(i.targets, |s| s)?;
    let means = corpus_rouge(
        &scorer,
        &strs(&t),
        &strs(i.preds),
        i.opts.bool("prepare_summary")?,
    );
    let mut r = Report::default();
    for (ty, m) in types.iter().zip(means) {
        r.scores.insert(ty.name(), m);
    }
    Ok(r)
}

pub(crate) fn mrr10(i: &Input<'_>) -> R {
    let ranked: Vec<Vec<String>> = i.preds.iter().map(|p| id_list(p)).collect();
    let rel = all_lists(i.targets)?;
    Ok(Report::default()
        .score("MRR@10", rank::mrr_at_10(&ranked, &rel))
        .score("QueriesRanked", i.preds.len() as f64))
}

pub(crate) fn meteor(i: &Input<'_>) -> R {
    let cfg = MeteorConfig::from_options(&i.opts)?;
    let refs = all_lists(i.targets)?;
    let m = meteor::corpus_meteor(&cfg, &strs(i.preds), &refs);
    Ok(Report::default().score("meteor", 100.0 * m))
}
