//! T5 / T5.1.1 hyper-parameters: the built-in sizes and Hugging Face
//! `config.json` in both directions.
//!
//! Field names follow transformers' `T5Config` so that a config.json reads
//! straight into [`T5Config`] (unknown keys are ignored) and the one we
//! write is read back by `T5ForConditionalGeneration.from_pretrained`.

use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::error::{Error, Result};

/// The feed-forward activation, as `feed_forward_proj` spells it after the
/// optional `gated-` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Relu,
    /// transformers' `gelu_new`: the tanh approximation (T5.1.1's `gated-gelu`).
    GeluTanh,
    /// The exact (erf) gelu, transformers' `gelu`.
    Gelu,
    Silu,
}

/// The model's shape and numerics. Defaults are transformers' `T5Config`
/// defaults, so keys that older config.json files omit read as they do there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct T5Config {
    pub vocab_size: i64,
    pub d_model: i64,
    pub d_kv: i64,
    pub d_ff: i64,
    pub num_layers: i64,
    /// `None` means as many decoder layers as encoder layers.
    pub num_decoder_layers: Option<i64>,
    pub num_heads: i64,
    pub relative_attention_num_buckets: i64,
    pub relative_attention_max_distance: i64,
    pub dropout_rate: f64,
    pub layer_norm_epsilon: f64,
    pub initializer_factor: f64,
    /// `relu`, `gated-gelu`, `gelu`, `gated-silu`, ...
    pub feed_forward_proj: String,
    /// Tied input/output embeddings (original T5): the decoder output is then
    /// scaled by `d_model ** -0.5` before the shared projection.
    pub tie_word_embeddings: bool,
    /// Whether the decoder output is scaled by `d_model ** -0.5` before the
    /// LM head. transformers 5 writes this key (and then always says
    /// `tie_word_embeddings: true`); absent, it follows `tie_word_embeddings`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_decoder_outputs: Option<bool>,
    pub pad_token_id: i64,
    pub eos_token_id: i64,
    pub decoder_start_token_id: i64,
}

impl Default for T5Config {
    fn default() -> Self {
        // transformers' T5Config() defaults (the original t5-small shape).
        T5Config {
            vocab_size: 32128,
            d_model: 512,
            d_kv: 64,
            d_ff: 2048,
            num_layers: 6,
            num_decoder_layers: None,
            num_heads: 8,
            relative_attention_num_buckets: 32,
            relative_attention_max_distance: 128,
            dropout_rate: 0.1,
            layer_norm_epsilon: 1e-6,
            initializer_factor: 1.0,
            feed_forward_proj: "relu".to_string(),
            tie_word_embeddings: true,
            scale_decoder_outputs: None,
            pad_token_id: 0,
            eos_token_id: 1,
            decoder_start_token_id: 0,
        }
    }
}

impl T5Config {
    /// A built-in T5.1.1 size: `small`, `base`, `large`, `xl` or `xxl`
    /// (also accepted with a `t5.1.1-` or `t5-v1_1-` prefix).
    pub fn t5_1_1(size: &str) -> Result<Self> {
        let name = size
            .trim_start_matches("t5.1.1-")
            .trim_start_matches("t5-v1_1-")
            .to_ascii_lowercase();
        // (d_model, d_ff, heads, layers) from the released T5.1.1 gin files.
        let (d_model, d_ff, num_heads, num_layers) = match name.as_str() {
            "small" => (512, 1024, 6, 8),
            "base" => (768, 2048, 12, 12),
            "large" => (1024, 2816, 16, 24),
            "xl" => (2048, 5120, 32, 24),
            "xxl" => (4096, 10240, 64, 24),
            _ => {
                return Err(Error::Config(format!(
                    "unknown T5.1.1 size `{size}` (expected small, base, large, xl or xxl)"
                )))
            }
        };
        Ok(T5Config {
            d_model,
            d_ff,
            num_heads,
            num_layers,
            d_kv: 64,
            feed_forward_proj: "gated-gelu".to_string(),
            tie_word_embeddings: false,
            ..T5Config::default()
        })
    }

    /// Reads a Hugging Face `config.json`.
    pub fn from_json_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg: T5Config = serde_json::from_str(&text)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The config.json transformers expects: our fields plus the keys it
    /// needs to pick the architecture and activation.
    pub fn to_hf_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let serde_json::Value::Object(map) = &mut v {
            let (gated, act) = self.ffn_kind_names();
            let extra = [
                ("model_type", serde_json::json!("t5")),
                (
                    "architectures",
                    serde_json::json!(["T5ForConditionalGeneration"]),
                ),
                ("is_encoder_decoder", serde_json::json!(true)),
                ("is_gated_act", serde_json::json!(gated)),
                ("dense_act_fn", serde_json::json!(act)),
                (
                    "num_decoder_layers",
                    serde_json::json!(self.decoder_layers()),
                ),
                ("use_cache", serde_json::json!(true)),
            ];
            for (k, val) in extra {
                map.insert(k.to_string(), val);
            }
        }
        v
    }

    /// Checks the values a model cannot be built from.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("vocab_size", self.vocab_size),
            ("d_model", self.d_model),
            ("d_kv", self.d_kv),
            ("d_ff", self.d_ff),
            ("num_layers", self.num_layers),
            ("num_heads", self.num_heads),
            (
                "relative_attention_num_buckets",
                self.relative_attention_num_buckets,
            ),
            (
                "relative_attention_max_distance",
                self.relative_attention_max_distance,
            ),
        ];
        for (name, v) in positive {
            if v <= 0 {
                return Err(Error::Config(format!("`{name}` must be positive, got {v}")));
            }
        }
        if !(0.0..1.0).contains(&self.dropout_rate) {
            return Err(Error::Config(format!(
                "`dropout_rate` must be in [0, 1), got {}",
                self.dropout_rate
            )));
        }
        self.ffn()?;
        Ok(())
    }

    /// Whether logits are computed from `d_model ** -0.5`-scaled outputs.
    pub fn scales_decoder_output(&self) -> bool {
        self.scale_decoder_outputs
            .unwrap_or(self.tie_word_embeddings)
    }

    pub fn decoder_layers(&self) -> i64 {
        self.num_decoder_layers.unwrap_or(self.num_layers)
    }

    /// Whether the FFN is gated (`wi_0`, `wi_1`) and its activation.
    pub fn ffn(&self) -> Result<(bool, Activation)> {
        let spec = self.feed_forward_proj.as_str();
        let (gated, act) = match spec.strip_prefix("gated-") {
            Some(rest) => (true, rest),
            None => (false, spec),
        };
        let act = match act {
            "relu" => Activation::Relu,
            // transformers maps `gated-gelu` to gelu_new for T5.1.1 checkpoints.
            "gelu" if gated => Activation::GeluTanh,
            "gelu" => Activation::Gelu,
            "gelu_new" => Activation::GeluTanh,
            "silu" | "swish" => Activation::Silu,
            _ => {
                return Err(Error::Config(format!(
                    "unsupported `feed_forward_proj` `{spec}` (expected relu, gated-gelu, gelu, gated-silu, ...)"
                )))
            }
        };
        Ok((gated, act))
    }

    fn ffn_kind_names(&self) -> (bool, &'static str) {
        match self.ffn() {
            Ok((g, Activation::Relu)) => (g, "relu"),
            Ok((g, Activation::GeluTanh)) => (g, "gelu_new"),
            Ok((g, Activation::Gelu)) => (g, "gelu"),
            Ok((g, Activation::Silu)) => (g, "silu"),
            Err(_) => (false, "relu"),
        }
    }

    /// The number of parameters the model holds (shared embedding counted once).
    pub fn num_parameters(&self) -> i64 {
        let (gated, _) = self.ffn().unwrap_or((false, Activation::Relu));
        let inner = self.num_heads * self.d_kv;
        let attn = 4 * self.d_model * inner;
        let ffn = (if gated { 3 } else { 2 }) * self.d_model * self.d_ff;
        let bias = self.relative_attention_num_buckets * self.num_heads;
        let enc = self.num_layers * (attn + ffn + 2 * self.d_model) + bias + self.d_model;
        let dec = self.decoder_layers() * (2 * attn + ffn + 3 * self.d_model) + bias + self.d_model;
        let emb = self.vocab_size * self.d_model;
        let head = if self.tie_word_embeddings { 0 } else { emb };
        enc + dec + emb + head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_has_about_248m_parameters() {
        let cfg = T5Config::t5_1_1("base").unwrap();
        // T5.1.1-base is quoted as 248M parameters.
        let n = cfg.num_parameters();
        assert!((247_000_000..249_000_000).contains(&n), "{n}");
    }

    #[test]
    fn reads_hf_keys_and_ignores_others() {
        let cfg: T5Config = serde_json::from_str(
            r#"{"d_model": 8, "feed_forward_proj": "gated-gelu", "tie_word_embeddings": false,
                "architectures": ["T5ForConditionalGeneration"], "torch_dtype": "float32"}"#,
        )
        .unwrap();
        assert_eq!(cfg.d_model, 8);
        assert_eq!(cfg.ffn().unwrap(), (true, Activation::GeluTanh));
        assert_eq!(cfg.vocab_size, 32128);
    }

    #[test]
    fn unknown_size_and_activation_are_errors() {
        assert!(T5Config::t5_1_1("huge").is_err());
        let cfg = T5Config {
            feed_forward_proj: "tanh".into(),
            ..T5Config::default()
        };
        assert!(cfg.validate().is_err());
    }
}
