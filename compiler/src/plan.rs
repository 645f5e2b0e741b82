//! The plan: the contract between the compiler and the runtime. Serde JSON
//! with a format version, deterministic (same input, same bytes) and hashed.

use crate::ir::{Source, Task};
pub use crate::train_settings::{
    AdafactorOptions, AdamWOptions, Constant, Decay, LrSchedule, Optimizer, Precision, Rsqrt,
    SettingCall,
};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bumped whenever a field changes meaning or disappears, or is added where
/// an older runtime would read the plan wrongly by ignoring it.
/// 2: a source's `parts` (an older runtime would read `{field}` literally)
/// and `source files` splits of line-aligned column files.
/// 3: a task's `joins` (an older runtime would ignore them and train on the
/// main rows as they are, e.g. KILT TriviaQA with empty questions).
/// 4: a run's own `model`, when a sweep changes the model (an older runtime
/// would train every point with the first point's model).
pub const FORMAT: u32 = 4;
/// The oldest format this exc reads: a format-1 plan is a format-4 plan
/// without parts, column files, joins or per-run models, a format-2 plan
/// one without joins or per-run models, a format-3 plan one without
/// per-run models, so runs planned by an older exc resume.
pub const OLDEST_FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    /// sha256 of the plan's JSON with this field empty.
    pub hash: String,
    pub mixture: String,
    /// The mixture file, relative to the project root.
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    pub model: ModelPlan,
    /// Every task any stage uses, in name order.
    pub tasks: IndexMap<String, std::sync::Arc<Task>>,
    /// One run per point of the sweep grid (one run when there is no sweep).
    pub runs: Vec<RunPlan>,
    /// The command line's `--set` arguments the plan was made with, as given
    /// (`train.lr=rsqrt(peak=0.005)`); their values are already in the plan.
    /// A record only (no format bump: a runtime that ignores it runs the
    /// same plan), kept so that the hash, `config.json` and `report.md`
    /// tell an overridden plan from the file's.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub overrides: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPlan {
    /// `main`, or the sweep point, e.g. `ratio=2`.
    pub name: String,
    #[serde(skip_serializing_if = "IndexMap::is_empty", default)]
    pub params: IndexMap<String, serde_json::Value>,
    pub stages: Vec<StagePlan>,
    /// This run's model when a sweep makes it differ from the plan's
    /// `model` (the first point's), e.g. `sweep d in [256, 512]` used as
    /// `d_model $d`; absent otherwise. Read it with [`Plan::model_of`].
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub model: Option<ModelPlan>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    Pretrain,
    Finetune,
    Evaluate,
}

impl StageKind {
    pub fn name(self) -> &'static str {
        match self {
            StageKind::Pretrain => "pretrain",
            StageKind::Finetune => "finetune",
            StageKind::Evaluate => "evaluate",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Init {
    /// The checkpoint another stage of the same run ends with.
    Stage(String),
    /// An HF or exc checkpoint directory.
    Path(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StagePlan {
    pub kind: StageKind,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub from: Option<Init>,
    pub tasks: Vec<TaskRate>,
    /// How the task rates were computed, e.g. `proportional(cap = 300000)`.
    pub rates: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub c4: Option<C4Plan>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub train: Option<TrainPlan>,
    /// Splits an evaluate stage scores, or that a fine-tune stage selects checkpoints on.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub splits: Vec<String>,
    /// Fine-tune (or evaluate) each task on its own rather than as one mixture.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub per_task: bool,
    /// A fine-tune stage that does not select: its checkpoints are not
    /// scored, and every task is evaluated with the last one (`splits` is
    /// then empty). Absent (false) in plans written before it existed,
    /// which select as before.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub last_checkpoint: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRate {
    pub task: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub examples: Option<u64>,
    /// Size after the cap, as used for mixing.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub capped: Option<f64>,
    /// Share of all training examples (C4 included), summing to 1 with C4.
    pub rate: f64,
    /// Expected passes over the task's training set during the stage.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub epochs: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct C4Plan {
    /// C4 examples per supervised example (the paper's R).
    pub ratio: f64,
    /// Share of all training examples.
    pub rate: f64,
    pub noise_density: f64,
    pub mean_noise_span_length: f64,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainPlan {
    pub steps: u64,
    pub batch: u64,
    pub inputs: u64,
    pub targets: u64,
    pub optimizer: Optimizer,
    pub lr: LrSchedule,
    pub dropout: f64,
    pub seed: u64,
    pub accumulate: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub clip: Option<f64>,
    pub z_loss: f64,
    pub label_smoothing: f64,
    pub precision: Precision,
    pub pack: bool,
    pub checkpoint_every: u64,
    pub keep: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub eval_every: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelPlan {
    /// `t5.1.1-base`, `custom`, or `hf`.
    pub name: String,
    /// Start from this checkpoint directory (its config.json wins).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub init: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub config: Option<ModelConfig>,
}

/// The model's shape, named as HF's `T5Config` names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub d_model: u64,
    pub d_ff: u64,
    pub d_kv: u64,
    pub num_heads: u64,
    pub num_layers: u64,
    pub num_decoder_layers: u64,
    pub vocab_size: u64,
    pub feed_forward_proj: String,
    pub tie_word_embeddings: bool,
    pub relative_attention_num_buckets: u64,
    pub relative_attention_max_distance: u64,
    pub dropout_rate: f64,
    pub layer_norm_epsilon: f64,
}

impl ModelConfig {
    /// T5.1.1 of the given size (HF `google/t5-v1_1-*`).
    pub fn t5_1_1(size: &str) -> Option<Self> {
        let (d_model, d_ff, num_heads, layers) = match size {
            "small" => (512, 1024, 6, 8),
            "base" => (768, 2048, 12, 12),
            "large" => (1024, 2816, 16, 24),
            "xl" => (2048, 5120, 32, 24),
            "xxl" => (4096, 10240, 64, 24),
            _ => return None,
        };
        Some(ModelConfig {
            d_model,
            d_ff,
            d_kv: 64,
            num_heads,
            num_layers: layers,
            num_decoder_layers: layers,
            vocab_size: 32128,
            feed_forward_proj: "gated-gelu".into(),
            tie_word_embeddings: false,
            relative_attention_num_buckets: 32,
            relative_attention_max_distance: 128,
            dropout_rate: 0.1,
            layer_norm_epsilon: 1e-6,
        })
    }

    /// Parameter count (embeddings and LM head included).
    pub fn parameters(&self) -> u64 {
        let attn = 4 * self.d_model * self.num_heads * self.d_kv;
        let ffn = if self.feed_forward_proj.starts_with("gated") {
            3
        } else {
            2
        } * self.d_model
            * self.d_ff;
        let enc = self.num_layers * (attn + ffn + 2 * self.d_model);
        let dec = self.num_decoder_layers * (2 * attn + ffn + 3 * self.d_model);
        let emb = self.vocab_size * self.d_model;
        let head = if self.tie_word_embeddings { 0 } else { emb };
        let bias = 2 * self.relative_attention_num_buckets * self.num_heads;
        enc + dec + emb + head + bias + 2 * self.d_model
    }
}

pub const MODEL_PRESETS: &[&str] = &[
    "t5.1.1-small",
    "t5.1.1-base",
    "t5.1.1-large",
    "t5.1.1-xl",
    "t5.1.1-xxl",
];

impl Plan {
    /// The model run `run` trains: its own when a sweep changed it.
    pub fn model_of<'a>(&'a self, run: &'a RunPlan) -> &'a ModelPlan {
        run.model.as_ref().unwrap_or(&self.model)
    }

    /// Fill in `hash` from the rest of the plan.
    pub fn seal(mut self) -> Self {
        self.hash = String::new();
        // Streamed into the hasher: the JSON of a mixture of a hundred tasks
        // is never held whole (the bytes hashed are `to_vec`'s).
        let mut hasher = Sha256::new(); // an `io::Write`
        if serde_json::to_writer(&mut hasher, &self).is_err() {
            hasher = Sha256::new(); // as `to_vec`'s empty default
        }
        self.hash = hex(&hasher.finalize());
        self
    }

    /// Whether `hash` matches the content (a hand-edited plan does not).
    pub fn verify(&self) -> bool {
        self.clone().seal().hash == self.hash
    }

    /// Whether the hash in the plan file `text` matches the file as it is
    /// written (a hand-edited plan does not). Unlike [`Plan::verify`], this
    /// does not depend on this exc writing every value as the exc that
    /// wrote the file did (a whole number in a real-valued option, options
    /// out of their declared order: see [`crate::train_settings`]).
    pub fn hash_matches(text: &str) -> bool {
        let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) else {
            return false;
        };
        let Some(hash) = value.get_mut("hash") else {
            return false;
        };
        let recorded = std::mem::take(hash);
        *hash = serde_json::Value::String(String::new());
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        recorded.as_str() == Some(hex(&Sha256::digest(&bytes)).as_str())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Plan, String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        match value.get("format").and_then(serde_json::Value::as_u64) {
            Some(v) if (u64::from(OLDEST_FORMAT)..=u64::from(FORMAT)).contains(&v) => {}
            Some(v) => {
                return Err(format!(
                    "plan format {v} is not supported (this exc reads formats \
                     {OLDEST_FORMAT} to {FORMAT}; a newer plan needs a newer exc)"
                ))
            }
            None => return Err("not an exc plan: no `format` field".into()),
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_model_has_the_published_size() {
        // google/t5-v1_1-base has 247,577,856 parameters.
        let n = ModelConfig::t5_1_1("base").unwrap().parameters();
        assert_eq!(n, 247_577_856);
    }
}
