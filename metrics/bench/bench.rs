//! Times our BLEU and ROUGE on a predictions/references pair of files and
//! prints the seconds and scores as JSON; `bench/bench.py` runs it next to
//! sacrebleu and rouge_score and prints the ratios. Not a test.
//!
//! cargo run --release -p exc-metrics --example bench -- PRED REF

use std::time::Instant;

use exc_metrics::bleu::BleuConfig;
use exc_metrics::rouge::{corpus_rouge, RougeScorer, RougeType};

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, pred, refs] = args.as_slice() else {
        return Err("usage: bench PREDICTIONS REFERENCES".into());
    };
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
    let (pt, rt) = (read(pred)?, read(refs)?);
    let preds: Vec<&str> = pt.lines().collect();
    let refs: Vec<&str> = rt.lines().collect();
    let ref_rows: Vec<Vec<&str>> = refs.iter().map(|r| vec![*r]).collect();

    let t = Instant::now();
    let bleu = BleuConfig::default().corpus_score(&preds, &ref_rows).score;
    let bleu_s = t.elapsed().as_secs_f64();

    let types = vec![RougeType::N(1), RougeType::N(2), RougeType::Lsum];
    let mut out = format!("{{\"bleu\": {bleu}, \"bleu_s\": {bleu_s}");
    // BENCH_ONLY=bleu skips ROUGE, for profiling one metric.
    let stems: &[bool] = if std::env::var("BENCH_ONLY").as_deref() == Ok("bleu") {
        &[]
    } else {
        &[false, true]
    };
    for &stem in stems {
        let scorer = RougeScorer::new(types.clone(), stem);
        let t = Instant::now();
        let r = corpus_rouge(&scorer, &refs, &preds, true);
        let s = t.elapsed().as_secs_f64();
        out.push_str(&format!(
            ", \"rouge_stem_{stem}\": {r:?}, \"rouge_stem_{stem}_s\": {s}"
        ));
    }
    println!("{out}}}");
    Ok(())
}
