//! The catalog against the paper's Table 11 (ExT5, Appendix A): per row, the
//! number of ExMix tasks and the sum of their declared training-set sizes.
//! The rows are the paper's; `tasks/README.md` explains each resolution
//! (GLUE counts `glue_rte` in its |D| but trains RTE once, as SuperGLUE's;
//! TweetEval's printed 8 is read as 7).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

/// (collection tag in tasks/, tasks in ExMix, |D| as printed in Table 11).
const TABLE_11: &[(&str, usize, u64)] = &[
    ("glue", 7, 949_101),
    ("super_glue", 8, 185_673),
    ("kilt", 9, 3_129_859),
    ("rainbow", 6, 324_742),
    ("gem", 8, 1_067_955),
    ("dialoglue", 6, 76_122),
    ("tweet_eval", 7, 120_104),
    ("cnn_dailymail", 1, 287_113),
    ("xsum", 1, 203_577),
    ("multi_news", 1, 44_972),
    ("aeslc", 1, 14_436),
    ("gigaword", 1, 3_803_957),
    ("samsum", 1, 14_372),
    ("anli", 1, 162_865),
    ("esnli", 1, 549_367),
    ("agreesum", 1, 7_750),
    ("docnli", 1, 942_314),
    ("vitaminc", 1, 370_653),
    ("web_questions", 1, 3_778),
    ("squad", 1, 87_599),
    ("quac", 1, 83_568),
    ("drop", 1, 77_409),
    ("race", 4, 113_013),
    ("eraser_multirc", 1, 24_029),
    ("tweet_qa", 1, 10_692),
    ("newsquizqa", 1, 16_160),
    ("amazon_reviews", 1, 100_000),
    ("go_emotions", 1, 43_410),
    ("imdb", 1, 25_000),
    ("sentiment140", 1, 1_600_000),
    ("yelp", 1, 560_000),
    ("ag_news", 1, 120_000),
    ("trec", 1, 5_000),
    ("civil_comments", 1, 1_804_874),
    ("wiki_toxicity", 1, 159_571),
    ("yahoo_answers", 1, 140_000),
    ("ukp_argmin", 1, 18_341),
    ("funql", 3, 5_565),
    ("intermediate_repr", 4, 117_318),
    ("cogs", 1, 24_155),
    ("gpt_deepfake", 8, 500_000),
    ("style_ptb", 4, 53_546),
    ("shakespeare", 2, 36_790),
    ("ms_marco", 1, 100_000),
];

#[test]
fn exmix_matches_table_11_row_by_row() {
    let root = env!("CARGO_MANIFEST_DIR");
    let c = exc_compiler::compile(&[format!("{root}/examples/paper/exmix.exmix").into()]);
    assert_eq!(c.errors(), 0);
    let plan = c.plans.iter().find(|p| p.mixture == "exmix").unwrap();
    let stage = &plan.runs[0].stages[0];
    assert_eq!(stage.tasks.len(), 107, "ExMix has 107 tasks");
    let mut rows: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for t in &stage.tasks {
        let task = &plan.tasks[&t.task];
        let row = rows
            .entry(task.collection.clone().unwrap_or_default())
            .or_default();
        row.0 += 1;
        row.1 += task.examples.unwrap();
    }
    // RTE is trained once, as SuperGLUE's; Table 11 counts it in GLUE's |D| too.
    let glue_rte = c.tasks["glue_rte"].examples.unwrap();
    rows.entry("glue".into()).or_default().1 += glue_rte;
    for (collection, count, size) in TABLE_11 {
        let got = rows.remove(*collection).unwrap_or_default();
        assert_eq!(
            got,
            (*count, *size),
            "Table 11 row `{collection}`: (tasks, |D|)"
        );
    }
    assert!(rows.is_empty(), "collections not in Table 11: {rows:?}");
    // The capped sizes are what mixing uses: nothing above 3e5.
    assert!(stage.tasks.iter().all(|t| t.capped.unwrap() <= 300_000.0));
}
