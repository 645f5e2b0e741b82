//! Settings blocks of a mixture -> typed plan parts: `c4 { }` -> [`C4Plan`],
//! `train { }` -> [`TrainPlan`], `model …` -> [`ModelPlan`].

use crate::ast::{self, MixEntry, ModelDecl};
use crate::check_source::escapes;
use crate::diagnostic::{suggestion, Diagnostic};
use crate::ir::Source;
use crate::lower::Cx;
use crate::plan::{self, C4Plan, ModelConfig, ModelPlan, Schedule, StageKind, TrainPlan};
use crate::settings::Settings;
use crate::source::{Span, Spanned};
use indexmap::IndexMap;

const TRAIN_KEYS: &[&str] = &[
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
const C4_KEYS: &[&str] = &["ratio", "noise_density", "mean_span"];
const MODEL_KEYS: &[&str] = &[
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
const OPTIMIZERS: &[(&str, &[&str])] = &[
    (
        "adafactor",
        &[
            "decay_rate",
            "clip_threshold",
            "scale_parameter",
            "beta1",
            "epsilon1",
            "epsilon2",
            "weight_decay",
        ],
    ),
    ("adamw", &["beta1", "beta2", "epsilon", "weight_decay"]),
];
const SCHEDULES: &[(&str, &[&str])] = &[
    ("constant", &["value"]),
    ("rsqrt", &["peak", "warmup"]),
    ("cosine", &["peak", "warmup", "end"]),
    ("linear", &["peak", "warmup", "end"]),
];

impl Cx<'_> {
    pub(crate) fn c4(&mut self, eff: &[&Spanned<MixEntry>]) -> Option<C4Plan> {
        let mut settings = Settings::new("c4");
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
        for (k, ok, want) in [
            ("ratio", ratio >= 0.0, "zero or more"),
            (
                "noise_density",
                noise_density > 0.0 && noise_density < 1.0,
                "between 0 and 1",
            ),
            ("mean_span", mean >= 1.0, "at least 1"),
        ] {
            if !ok {
                let span = settings
                    .map
                    .get(k)
                    .map(|(v, _)| v.span())
                    .unwrap_or_default();
                self.diags.push(
                    Diagnostic::error(
                        "exc::check::bad_setting",
                        format!("c4 `{k}` must be {want}"),
                        span,
                    )
                    .label("out of range")
                    .help(
                        "T5 uses noise_density 0.15 and mean_span 3; the paper's best ratio R is 2",
                    ),
                );
            }
        }
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
        let mut s = Settings::new("train");
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
        let batch = required("batch", d);
        let pretrain = kind == StageKind::Pretrain;
        let lr_default = if pretrain {
            Schedule {
                name: "rsqrt".into(),
                options: [
                    ("peak".to_string(), serde_json::json!(0.01)),
                    ("warmup".to_string(), serde_json::json!(10000)),
                ]
                .into_iter()
                .collect(),
            }
        } else {
            Schedule {
                name: "constant".into(),
                options: [("value".to_string(), serde_json::json!(0.001))]
                    .into_iter()
                    .collect(),
            }
        };
        TrainPlan {
            steps,
            batch,
            inputs: s.int("inputs", Some(512), d).unwrap_or(512),
            targets: s.int("targets", Some(114), d).unwrap_or(114),
            optimizer: s.schedule(
                "optimizer",
                OPTIMIZERS,
                Schedule {
                    name: "adafactor".into(),
                    options: IndexMap::new(),
                },
                None,
                d,
            ),
            lr: s.schedule("lr", SCHEDULES, lr_default, Some(("constant", "value")), d),
            dropout: s.float("dropout", if pretrain { 0.0 } else { 0.1 }, d),
            seed: s.int("seed", Some(0), d).unwrap_or(0),
            accumulate: s.int("accumulate", Some(1), d).unwrap_or(1).max(1),
            clip: s.map.contains_key("clip").then(|| s.float("clip", 1.0, d)),
            z_loss: s.float("z_loss", 1e-4, d),
            label_smoothing: s.float("label_smoothing", 0.0, d),
            precision: s.word("precision", &["auto", "bf16", "fp32"], "auto", d),
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
                let mut s = Settings::new("model");
                s.extend(settings);
                s.check_keys(MODEL_KEYS, &mut self.diags);
                let d = &mut self.diags;
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
                ModelPlan {
                    name: "custom".into(),
                    init: None,
                    config: Some(config),
                }
            }
        }
    }
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
