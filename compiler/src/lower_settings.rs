//! Settings blocks of a mixture -> typed plan parts: `c4 { }` -> [`C4Plan`],
//! `train { }` -> [`TrainPlan`], `model …` -> [`ModelPlan`].

use crate::ast::{self, MixEntry, ModelDecl};
use crate::check_source::escapes;
use crate::diagnostic::{suggestion, Diagnostic};
use crate::ir::Source;
use crate::lower::Cx;
use crate::plan::{
    self, C4Plan, LrSchedule, ModelConfig, ModelPlan, Optimizer, Precision, StageKind, TrainPlan,
};
use crate::range::{Limit, Opt, Range};
use crate::settings::Settings;
use crate::source::{Span, Spanned};

pub const TRAIN_KEYS: &[&str] = &[
    "steps",
    "batch",
    "inputs",
    "targets",
    "optimizer",
    "lr",
    "dropout",
    "seed",
    "accumulate",
    "clip",
    "z_loss",
    "label_smoothing",
    "precision",
    "pack",
    "checkpoint_every",
    "keep",
    "eval_every",
];
pub const C4_KEYS: &[&str] = &["ratio", "noise_density", "mean_span"];
pub const MODEL_KEYS: &[&str] = &[
    "d_model",
    "d_ff",
    "d_kv",
    "num_heads",
    "num_layers",
    "num_decoder_layers",
    "vocab_size",
    "feed_forward_proj",
    "tie_word_embeddings",
    "relative_attention_num_buckets",
    "relative_attention_max_distance",
    "dropout_rate",
    "layer_norm_epsilon",
];
const fn limit(key: &'static str, range: Range, help: &'static str) -> Limit {
    Limit { key, range, help }
}

/// What each numeric `train` setting may be. A count that 0 would turn into
/// nothing (no steps, an empty batch) is at least 1.
const TRAIN_LIMITS: &[Limit] = &[
    limit("steps", Range::at_least(1.0), "a training stage trains for at least one step; to score a checkpoint without training it, use an `evaluate` stage with `from`"),
    limit("batch", Range::at_least(1.0), "`batch` is the number of examples in one step, e.g. `batch 128`"),
    limit("inputs", Range::at_least(1.0), "`inputs` is the input length in tokens, e.g. `inputs 512`"),
    limit("targets", Range::at_least(1.0), "`targets` is the target length in tokens, e.g. `targets 114`"),
    limit("accumulate", Range::at_least(1.0), "`accumulate N` takes each batch as N micro-batches; 1 (the default) takes it at once"),
    limit("checkpoint_every", Range::at_least(1.0), "a checkpoint is always saved after the last step; to save only that one, set `checkpoint_every` to `steps`"),
    limit("keep", Range::at_least(1.0), "`keep` is how many of the newest checkpoints stay on disk (the best ones are kept besides)"),
    limit("eval_every", Range::at_least(1.0), "leave `eval_every` out to score only after the last step"),
    limit("dropout", Range::FRACTION, "`dropout` is the probability of dropping a unit: 0 turns it off; T5 fine-tunes with 0.1"),
    limit("clip", Range::POSITIVE, "`clip` is the largest gradient norm let through; leave it out to train without clipping"),
    limit("z_loss", Range::NON_NEGATIVE, "`z_loss` weighs the penalty on the softmax normaliser (T5: 1e-4); 0 turns it off"),
    limit("label_smoothing", Range::FRACTION, "`label_smoothing` is the probability mass spread over the vocabulary: 0 turns it off"),
];
const C4_HELP: &str = "T5 uses noise_density 0.15 and mean_span 3; the paper's best ratio R is 2";
const C4_LIMITS: &[Limit] = &[
    limit("ratio", Range::NON_NEGATIVE, C4_HELP),
    limit("noise_density", Range::OPEN_FRACTION, C4_HELP),
    limit("mean_span", Range::at_least(1.0), C4_HELP),
];
const DIMENSION_HELP: &str =
    "T5.1.1-small has d_model 512, d_ff 1024, d_kv 64, num_heads 6, num_layers 8 and vocab_size 32128";
/// A model's sizes and counts are at least 1 (the runtime could not build
/// it otherwise); the relative-attention buckets need room for both
/// directions (see `check_relative_attention`).
const MODEL_LIMITS: &[Limit] = &[
    limit("d_model", Range::at_least(1.0), DIMENSION_HELP),
    limit("d_ff", Range::at_least(1.0), DIMENSION_HELP),
    limit("d_kv", Range::at_least(1.0), DIMENSION_HELP),
    limit("num_heads", Range::at_least(1.0), DIMENSION_HELP),
    limit("num_layers", Range::at_least(1.0), DIMENSION_HELP),
    limit("num_decoder_layers", Range::at_least(1.0), DIMENSION_HELP),
    limit("vocab_size", Range::at_least(1.0), DIMENSION_HELP),
    limit("relative_attention_num_buckets", Range::at_least(4.0), "the encoder gives half the buckets to each direction and a quarter of each half to exact positions; T5 uses 32"),
    limit("relative_attention_max_distance", Range::at_least(1.0), "T5 uses 128"),
    limit("dropout_rate", Range::FRACTION, "`dropout_rate` is the probability of dropping a unit: 0 turns it off"),
    limit("layer_norm_epsilon", Range::POSITIVE, "T5 uses 1e-6"),
];
const OPTIMIZERS: &[(&str, &[Opt])] = &[
    (
        "adafactor",
        &[
            Opt::number(
                "decay_rate",
                Range::POSITIVE,
                "the second-moment decay is 1 - step^-decay_rate: T5 uses 0.8",
            ),
            Opt::number(
                "clip_threshold",
                Range::POSITIVE,
                "updates are scaled down to at most this RMS: T5 uses 1",
            ),
            Opt::boolean("scale_parameter", "`scale_parameter` is true (T5) or false"),
            Opt::number(
                "beta1",
                Range::FRACTION,
                "`beta1` is the first-moment decay; leave it out for none, as T5",
            ),
            Opt::number(
                "epsilon1",
                Range::POSITIVE,
                "`epsilon1` is added to squared gradients: T5 uses 1e-30",
            ),
            Opt::number(
                "epsilon2",
                Range::POSITIVE,
                "`epsilon2` is the lower bound of the parameter scale: T5 uses 1e-3",
            ),
            Opt::number(
                "weight_decay",
                Range::NON_NEGATIVE,
                "0 (the default) turns weight decay off",
            ),
        ],
    ),
    (
        "adamw",
        &[
            Opt::number(
                "beta1",
                Range::FRACTION,
                "`beta1` is the first-moment decay, e.g. 0.9",
            ),
            Opt::number(
                "beta2",
                Range::FRACTION,
                "`beta2` is the second-moment decay, e.g. 0.999",
            ),
            Opt::number(
                "epsilon",
                Range::POSITIVE,
                "`epsilon` keeps the update's denominator above 0, e.g. 1e-8",
            ),
            Opt::number(
                "weight_decay",
                Range::NON_NEGATIVE,
                "0 turns weight decay off",
            ),
        ],
    ),
];
const PEAK: Opt = Opt::number(
    "peak",
    Range::POSITIVE,
    "a learning rate is greater than 0, e.g. `peak = 0.01`",
);
const WARMUP: Opt = Opt::whole(
    "warmup",
    Range::NON_NEGATIVE,
    "`warmup` is a number of steps, e.g. `warmup = 10000`",
);
const END: Opt = Opt::number(
    "end",
    Range::NON_NEGATIVE,
    "`end` is the learning rate after the last step, e.g. `end = 0`",
);
const SCHEDULES: &[(&str, &[Opt])] = &[
    (
        "constant",
        &[Opt::number(
            "value",
            Range::POSITIVE,
            "a learning rate is greater than 0, e.g. `lr constant(0.001)`",
        )],
    ),
    ("rsqrt", &[PEAK, WARMUP]),
    ("cosine", &[PEAK, WARMUP, END]),
    ("linear", &[PEAK, WARMUP, END]),
];

impl Cx<'_> {
    pub(crate) fn c4(&mut self, eff: &[&Spanned<MixEntry>]) -> Option<C4Plan> {
        let mut settings = Settings::new("c4", C4_LIMITS);
        let mut source = None;
        let mut any = false;
        for e in eff {
            if let MixEntry::C4(list) = &e.node {
                any = true;
                for c in list {
                    match &c.node {
                        ast::C4Entry::Setting(s) => settings.extend(std::slice::from_ref(s)),
                        ast::C4Entry::Source(s) => {
                            for j in &s.joins {
                                self.diags.push(
                                    Diagnostic::error(
                                        "exc::check::join_source",
                                        "`c4` reads one corpus; `join` belongs to task sources",
                                        j.span,
                                    )
                                    .label("not for c4")
                                    .help("remove the `join` from the c4 source"),
                                );
                            }
                            source = Some(s.source.clone());
                        }
                    }
                }
            }
        }
        if !any {
            return None;
        }
        settings.check_keys(C4_KEYS, &mut self.diags);
        let ratio = settings.float("ratio", 0.0, &mut self.diags);
        let noise_density = settings.float("noise_density", 0.15, &mut self.diags);
        let mean = settings.float("mean_span", 3.0, &mut self.diags);
        let source = match source {
            Some(s) => {
                let mut d = Vec::new();
                let out = crate::check_source::source_of(&s, &mut d);
                self.diags.extend(d);
                // Span corruption reads one `text` per row: a part field
                // would mean nothing to it, and column files give no text.
                if let ast::SourceDecl::Files { splits, .. } = &s {
                    for (name, files) in splits {
                        if let ast::SplitFiles::Columns(_) = &files.node {
                            self.diags.push(
                                Diagnostic::error(
                                    "exc::check::column_files",
                                    format!("`c4` reads one `text` per row; split `{}` declares column files", name.node),
                                    files.span,
                                )
                                .label("column files")
                                .help("give the c4 split one path pattern, e.g. `train = \"c4/*.json.gz\"`"),
                            );
                        }
                    }
                }
                if let ast::SourceDecl::Hf { parts: Some(p), .. }
                | ast::SourceDecl::Files { parts: Some(p), .. } = &s
                {
                    self.diags.push(
                        Diagnostic::error(
                            "exc::check::part_field",
                            "`c4` reads one corpus; `parts` belongs to task sources",
                            p.span,
                        )
                        .label("not for c4")
                        .help("remove `parts` from the c4 source"),
                    );
                }
                out?
            }
            None => Source::Hf {
                dataset: "allenai/c4".into(),
                config: Some("en".into()),
                revision: None,
                parts: None,
                splits: [("train", "train"), ("validation", "validation")]
                    .into_iter()
                    .map(|(a, b)| (a.into(), b.into()))
                    .collect(),
            },
        };
        Some(C4Plan {
            ratio,
            rate: 0.0,
            noise_density,
            mean_noise_span_length: mean,
            source,
        })
    }

    pub(crate) fn train(
        &mut self,
        kind: StageKind,
        eff: &[&Spanned<MixEntry>],
        at: Span,
    ) -> TrainPlan {
        let mut s = Settings::new("train", TRAIN_LIMITS);
        for e in eff {
            if let MixEntry::Train(list) = &e.node {
                s.extend(list);
            }
        }
        s.check_keys(TRAIN_KEYS, &mut self.diags);
        let d = &mut self.diags;
        let required = |key: &str, d: &mut Vec<Diagnostic>| {
            s.int(key, None, d).unwrap_or_else(|| {
                if !s.map.contains_key(key) {
                    d.push(
                        Diagnostic::error(
                            "exc::check::missing_setting",
                            format!("the {} stage has no `{key}`", kind.name()),
                            at,
                        )
                        .label(format!("needs `train {{ {key} … }}`"))
                        .help("set it in the mixture's `train { }` or the stage's own"),
                    );
                }
                1
            })
        };
        let steps = required("steps", d);
        let before = d.len();
        let batch = required("batch", d);
        let accumulate = s.int("accumulate", Some(1), d).unwrap_or(1);
        if d.len() == before {
            check_accumulate(&s, batch, accumulate, d);
        }
        let pretrain = kind == StageKind::Pretrain;
        TrainPlan {
            steps,
            batch,
            inputs: s.int("inputs", Some(512), d).unwrap_or(512),
            targets: s.int("targets", Some(114), d).unwrap_or(114),
            optimizer: s.schedule("optimizer", OPTIMIZERS, Optimizer::default(), None, d),
            lr: s.schedule(
                "lr",
                SCHEDULES,
                LrSchedule::default_for(pretrain),
                Some(("constant", "value")),
                d,
            ),
            dropout: s.float("dropout", if pretrain { 0.0 } else { 0.1 }, d),
            seed: s.int("seed", Some(0), d).unwrap_or(0),
            accumulate,
            clip: s.map.contains_key("clip").then(|| s.float("clip", 1.0, d)),
            z_loss: s.float("z_loss", 1e-4, d),
            label_smoothing: s.float("label_smoothing", 0.0, d),
            precision: Precision::from_name(&s.word(
                "precision",
                Precision::NAMES,
                Precision::default().name(),
                d,
            ))
            .unwrap_or_default(),
            pack: s.boolean("pack", pretrain, d),
            checkpoint_every: s.int("checkpoint_every", Some(1000), d).unwrap_or(1000),
            keep: s.int("keep", Some(3), d).unwrap_or(3),
            eval_every: s.int("eval_every", None, d),
        }
    }

    pub(crate) fn model(&mut self, entries: &[Spanned<MixEntry>]) -> ModelPlan {
        let decl = entries.iter().rev().find_map(|e| match &e.node {
            MixEntry::Model(m) => Some(m),
            _ => None,
        });
        let preset = |name: &str| name.strip_prefix("t5.1.1-").and_then(ModelConfig::t5_1_1);
        match decl {
            None => ModelPlan {
                name: "t5.1.1-base".into(),
                init: None,
                config: preset("t5.1.1-base"),
            },
            Some(ModelDecl::Named(n)) => match preset(&n.node) {
                Some(c) => ModelPlan {
                    name: n.node.clone(),
                    init: None,
                    config: Some(c),
                },
                None => {
                    self.diags.push(
                        Diagnostic::error("exc::check::unknown_model", format!("unknown model `{}`", n.node), n.span)
                            .label("not a built-in model")
                            .help(suggestion(&n.node, plan::MODEL_PRESETS.iter().copied()).unwrap_or_else(|| {
                                format!("built in: {}; or `model custom {{ … }}`, or `model hf \"dir\"`", plan::MODEL_PRESETS.join(", "))
                            })),
                    );
                    ModelPlan {
                        name: n.node.clone(),
                        init: None,
                        config: None,
                    }
                }
            },
            Some(ModelDecl::Hf(dir)) => {
                if escapes(&dir.node) {
                    self.diags.push(
                        Diagnostic::error(
                            "exc::check::path_escapes_root",
                            format!("`{}` points outside the project root", dir.node),
                            dir.span,
                        )
                        .label("escapes with `..`")
                        .help("use a path inside the project, or an absolute path"),
                    );
                }
                ModelPlan {
                    name: "hf".into(),
                    init: Some(dir.node.clone()),
                    config: None,
                }
            }
            Some(ModelDecl::Custom { base, settings }) => {
                self.custom_model(base.as_ref(), settings)
            }
        }
    }

    /// `model custom [BASE] { … }`: a preset (T5.1.1-small unless `BASE`
    /// names another) with the block's settings over it.
    fn custom_model(&mut self, base: Option<&ast::Name>, settings: &[ast::Setting]) -> ModelPlan {
        let preset = |name: &str| name.strip_prefix("t5.1.1-").and_then(ModelConfig::t5_1_1);
        let base_cfg = match base {
            Some(b) => preset(&b.node).unwrap_or_else(|| {
                self.diags.push(
                    Diagnostic::error(
                        "exc::check::unknown_model",
                        format!("unknown base model `{}`", b.node),
                        b.span,
                    )
                    .label("not a built-in model")
                    .maybe_help(suggestion(&b.node, plan::MODEL_PRESETS.iter().copied())),
                );
                ModelConfig::t5_1_1("small").unwrap_or_else(tiny)
            }),
            None => ModelConfig::t5_1_1("small").unwrap_or_else(tiny),
        };
        let mut s = Settings::new("model", MODEL_LIMITS);
        s.extend(settings);
        s.check_keys(MODEL_KEYS, &mut self.diags);
        let d = &mut self.diags;
        let before = d.len();
        let c = base_cfg;
        let config = ModelConfig {
            d_model: s.int("d_model", Some(c.d_model), d).unwrap_or(c.d_model),
            d_ff: s.int("d_ff", Some(c.d_ff), d).unwrap_or(c.d_ff),
            d_kv: s.int("d_kv", Some(c.d_kv), d).unwrap_or(c.d_kv),
            num_heads: s
                .int("num_heads", Some(c.num_heads), d)
                .unwrap_or(c.num_heads),
            num_layers: s
                .int("num_layers", Some(c.num_layers), d)
                .unwrap_or(c.num_layers),
            num_decoder_layers: s
                .int("num_decoder_layers", Some(c.num_decoder_layers), d)
                .unwrap_or(c.num_decoder_layers),
            vocab_size: s
                .int("vocab_size", Some(c.vocab_size), d)
                .unwrap_or(c.vocab_size),
            feed_forward_proj: s.word(
                "feed_forward_proj",
                &["gated-gelu", "relu", "gated-relu"],
                &c.feed_forward_proj,
                d,
            ),
            tie_word_embeddings: s.boolean("tie_word_embeddings", c.tie_word_embeddings, d),
            relative_attention_num_buckets: s
                .int(
                    "relative_attention_num_buckets",
                    Some(c.relative_attention_num_buckets),
                    d,
                )
                .unwrap_or(32),
            relative_attention_max_distance: s
                .int(
                    "relative_attention_max_distance",
                    Some(c.relative_attention_max_distance),
                    d,
                )
                .unwrap_or(128),
            dropout_rate: s.float("dropout_rate", c.dropout_rate, d),
            layer_norm_epsilon: s.float("layer_norm_epsilon", c.layer_norm_epsilon, d),
        };
        if d.len() == before {
            check_relative_attention(&s, &config, d);
        }
        ModelPlan {
            name: "custom".into(),
            init: None,
            config: Some(config),
        }
    }
}

/// The pipeline cuts each batch into `accumulate` micro-batches of
/// `batch / accumulate` examples: a remainder would silently shrink the batch.
fn check_accumulate(s: &Settings, batch: u64, accumulate: u64, d: &mut Vec<Diagnostic>) {
    if accumulate == 0 || batch.is_multiple_of(accumulate) {
        return;
    }
    let span = s
        .map
        .get("accumulate")
        .map(|(v, _)| v.span())
        .unwrap_or_default();
    // The next multiple up, or down where up is past u64 (a fuzzed batch).
    let up = batch
        .div_ceil(accumulate)
        .checked_mul(accumulate)
        .unwrap_or(batch - batch % accumulate);
    d.push(
        Diagnostic::error(
            "exc::check::out_of_range",
            format!("`batch {batch}` does not split into `accumulate {accumulate}` equal micro-batches"),
            span,
        )
        .label(format!("does not divide {batch}"))
        .help(format!(
            "each micro-batch takes `batch / accumulate` examples: make `batch` a multiple of `accumulate`, e.g. `batch {up} accumulate {accumulate}`"
        )),
    );
}

/// T5's relative position buckets: the decoder gives the first half of its
/// buckets to exact distances and spreads the rest logarithmically up to
/// `max_distance`, which must therefore lie beyond them (else the bucket of
/// a far position divides by zero).
fn check_relative_attention(s: &Settings, c: &ModelConfig, d: &mut Vec<Diagnostic>) {
    let (buckets, distance) = (
        c.relative_attention_num_buckets,
        c.relative_attention_max_distance,
    );
    if distance * 2 > buckets {
        return;
    }
    let span = [
        "relative_attention_max_distance",
        "relative_attention_num_buckets",
    ]
    .iter()
    .find_map(|k| s.map.get(*k).map(|(v, _)| v.span()))
    .unwrap_or_default();
    d.push(
        Diagnostic::error(
            "exc::check::out_of_range",
            format!(
                "`relative_attention_max_distance` ({distance}) must be greater than half of `relative_attention_num_buckets` ({buckets})"
            ),
            span,
        )
        .label("out of range")
        .help("the decoder's first half of the buckets are exact distances and the rest reach up to the maximum distance: T5 uses 32 buckets and 128"),
    );
}

fn tiny() -> ModelConfig {
    ModelConfig {
        d_model: 64,
        d_ff: 128,
        d_kv: 16,
        num_heads: 4,
        num_layers: 2,
        num_decoder_layers: 2,
        vocab_size: 32128,
        feed_forward_proj: "gated-gelu".into(),
        tie_word_embeddings: false,
        relative_attention_num_buckets: 32,
        relative_attention_max_distance: 128,
        dropout_rate: 0.0,
        layer_norm_epsilon: 1e-6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A numeric setting without a limit would take any value again.
    #[test]
    fn every_numeric_setting_has_a_range() {
        let not_numeric = [
            "optimizer",
            "lr",
            "precision",
            "pack",
            "feed_forward_proj",
            "tie_word_embeddings",
            // Any whole number is a seed (`int` refuses negatives).
            "seed",
        ];
        for (keys, limits) in [
            (TRAIN_KEYS, TRAIN_LIMITS),
            (C4_KEYS, C4_LIMITS),
            (MODEL_KEYS, MODEL_LIMITS),
        ] {
            for k in keys.iter().filter(|k| !not_numeric.contains(k)) {
                assert!(limits.iter().any(|l| l.key == *k), "`{k}` has no range");
            }
            for l in limits {
                assert!(keys.contains(&l.key), "`{}` is not a setting", l.key);
            }
        }
    }

    /// The option tables the compiler checks with and the plan's typed
    /// settings name the same settings and options, in the same order (the
    /// order positional arguments take and the plan writes).
    #[test]
    fn option_tables_match_the_typed_settings() {
        use crate::plan::SettingCall;
        use crate::range::OptKind;
        fn call(name: &str, opts: &[Opt]) -> SettingCall {
            let options = opts
                .iter()
                .map(|o| {
                    let v = match o.kind {
                        OptKind::Number(_) => serde_json::json!(0.5),
                        OptKind::Whole(_) => serde_json::json!(3),
                        OptKind::Bool => serde_json::json!(true),
                    };
                    (o.name.to_string(), v)
                })
                .collect();
            SettingCall {
                name: name.into(),
                options,
            }
        }
        let names: Vec<&str> = OPTIMIZERS.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, Optimizer::NAMES);
        for (name, opts) in OPTIMIZERS {
            let c = call(name, opts);
            let typed = Optimizer::try_from(c.clone()).unwrap();
            assert_eq!(SettingCall::from(typed), c);
        }
        let names: Vec<&str> = SCHEDULES.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, LrSchedule::NAMES);
        for (name, opts) in SCHEDULES {
            let c = call(name, opts);
            let typed = LrSchedule::try_from(c.clone()).unwrap();
            assert_eq!(SettingCall::from(typed), c);
        }
    }
}
