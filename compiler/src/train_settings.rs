//! The training settings a plan carries as values rather than words: the
//! optimizer, the learning-rate schedule and the precision of a `train { }`
//! block. The compiler builds them (`lower_settings`, which checks the
//! ranges of their options), the runtime matches on them exhaustively
//! (`runtime/src/run/train.rs`), and each default lives here once.
//!
//! In the plan's JSON an optimizer or a schedule keeps the form it had when
//! it was a string and a map, `{"name": "rsqrt", "options": {"peak": 0.01}}`
//! ([`SettingCall`]): the enums convert through it (`serde(try_from, into)`),
//! so plans keep their bytes and older plans still read. Options are written
//! in their declared order, numbers as JSON writes an `f64` (`1.0`, not the
//! `1` a mixture may have said): the plan's hash is checked against the
//! file's own bytes ([`crate::plan::Plan::hash_matches`]), so a plan written
//! in another form by an older exc still verifies.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The JSON form of a function-like setting, `rsqrt(peak = 0.01)`: its
/// name and the options given, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingCall {
    pub name: String,
    #[serde(skip_serializing_if = "IndexMap::is_empty", default)]
    pub options: IndexMap<String, Value>,
}

/// The optimizer of a training stage. Options left out take the runtime
/// optimizer's own defaults (`AdafactorConfig`, `AdamWConfig`: HF's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SettingCall", into = "SettingCall")]
pub enum Optimizer {
    Adafactor(AdafactorOptions),
    AdamW(AdamWOptions),
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AdafactorOptions {
    pub decay_rate: Option<f64>,
    pub clip_threshold: Option<f64>,
    pub scale_parameter: Option<bool>,
    pub beta1: Option<f64>,
    pub epsilon1: Option<f64>,
    pub epsilon2: Option<f64>,
    pub weight_decay: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AdamWOptions {
    pub beta1: Option<f64>,
    pub beta2: Option<f64>,
    pub epsilon: Option<f64>,
    pub weight_decay: Option<f64>,
}

impl Default for Optimizer {
    /// T5's: Adafactor with its own defaults.
    fn default() -> Self {
        Optimizer::Adafactor(AdafactorOptions::default())
    }
}

impl Optimizer {
    /// The names a mixture may give, as `optimizer NAME(…)`.
    pub const NAMES: &'static [&'static str] = &["adafactor", "adamw"];

    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::Adafactor(_) => "adafactor",
            Optimizer::AdamW(_) => "adamw",
        }
    }
}

/// The learning rate over a stage's steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SettingCall", into = "SettingCall")]
pub enum LrSchedule {
    /// The same rate at every step.
    Constant(Constant),
    /// T5's: `peak` for `warmup` steps, then `peak * sqrt(warmup / step)`.
    Rsqrt(Rsqrt),
    /// Linear warm-up to `peak`, then a cosine down to `end` at the last step.
    Cosine(Decay),
    /// Linear warm-up to `peak`, then linearly down to `end` at the last step.
    Linear(Decay),
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Constant {
    pub value: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rsqrt {
    pub peak: Option<f64>,
    pub warmup: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Decay {
    pub peak: Option<f64>,
    pub warmup: Option<u64>,
    pub end: Option<f64>,
}

impl Constant {
    /// The fine-tuning rate of T5 (and of a stage that names none).
    pub const VALUE: f64 = 1e-3;

    pub fn value(&self) -> f64 {
        self.value.unwrap_or(Self::VALUE)
    }
}

impl Rsqrt {
    /// T5's pre-training schedule: 0.01 for the first 10,000 steps.
    pub const PEAK: f64 = 0.01;
    pub const WARMUP: u64 = 10_000;

    pub fn peak(&self) -> f64 {
        self.peak.unwrap_or(Self::PEAK)
    }

    pub fn warmup(&self) -> u64 {
        self.warmup.unwrap_or(Self::WARMUP)
    }
}

impl Decay {
    pub const PEAK: f64 = 1e-3;
    pub const WARMUP: u64 = 0;
    pub const END: f64 = 0.0;

    pub fn peak(&self) -> f64 {
        self.peak.unwrap_or(Self::PEAK)
    }

    pub fn warmup(&self) -> u64 {
        self.warmup.unwrap_or(Self::WARMUP)
    }

    pub fn end(&self) -> f64 {
        self.end.unwrap_or(Self::END)
    }
}

impl LrSchedule {
    /// The names a mixture may give, as `lr NAME(…)`.
    pub const NAMES: &'static [&'static str] = &["constant", "rsqrt", "cosine", "linear"];

    /// The schedule of a stage whose `train` names none: T5's rsqrt for
    /// pre-training, a constant 1e-3 for fine-tuning. Its values are
    /// written out, so the plan says what the stage trains with.
    pub fn default_for(pretrain: bool) -> LrSchedule {
        if pretrain {
            LrSchedule::Rsqrt(Rsqrt {
                peak: Some(Rsqrt::PEAK),
                warmup: Some(Rsqrt::WARMUP),
            })
        } else {
            LrSchedule::Constant(Constant {
                value: Some(Constant::VALUE),
            })
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            LrSchedule::Constant(_) => "constant",
            LrSchedule::Rsqrt(_) => "rsqrt",
            LrSchedule::Cosine(_) => "cosine",
            LrSchedule::Linear(_) => "linear",
        }
    }
}

/// What a training stage computes in: `auto` is bf16 on CUDA and float32
/// elsewhere (the runtime resolves it per device).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    Auto,
    Bf16,
    Fp32,
}

impl Precision {
    /// The names a mixture may give, as `precision NAME`.
    pub const NAMES: &'static [&'static str] = &["auto", "bf16", "fp32"];

    pub fn from_name(name: &str) -> Option<Precision> {
        match name {
            "auto" => Some(Precision::Auto),
            "bf16" => Some(Precision::Bf16),
            "fp32" => Some(Precision::Fp32),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Precision::Auto => "auto",
            Precision::Bf16 => "bf16",
            Precision::Fp32 => "fp32",
        }
    }
}

/// Reads the options of one call, each once; what is left is an error.
struct Options {
    call: String,
    map: IndexMap<String, Value>,
}

impl Options {
    fn take(
        &mut self,
        key: &str,
        wants: &str,
        read: impl Fn(&Value) -> bool,
    ) -> Result<Option<Value>, String> {
        match self.map.shift_remove(key) {
            None => Ok(None),
            Some(v) if read(&v) => Ok(Some(v)),
            Some(v) => Err(format!(
                "option `{key}` of `{}` must be {wants}, not `{v}`",
                self.call
            )),
        }
    }

    fn number(&mut self, key: &str) -> Result<Option<f64>, String> {
        Ok(self
            .take(key, "a number", Value::is_number)?
            .and_then(|v| v.as_f64()))
    }

    /// A count; `10000.0` reads as 10000 (an older compiler wrote a whole
    /// number given as `1e4` so).
    fn whole(&mut self, key: &str) -> Result<Option<u64>, String> {
        let whole = |v: &Value| {
            v.as_u64().or_else(|| {
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 9.0e15)
                    .map(|f| f as u64)
            })
        };
        Ok(self
            .take(key, "a whole number", |v| whole(v).is_some())?
            .as_ref()
            .and_then(whole))
    }

    fn boolean(&mut self, key: &str) -> Result<Option<bool>, String> {
        Ok(self
            .take(key, "true or false", Value::is_boolean)?
            .and_then(|v| v.as_bool()))
    }

    /// An option the setting does not have is refused, not ignored.
    fn finish(self) -> Result<(), String> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(k) => Err(format!("`{}` has no option `{k}`", self.call)),
        }
    }
}

/// Builds a [`SettingCall`]'s options in their declared order.
#[derive(Default)]
struct Written(IndexMap<String, Value>);

impl Written {
    fn number(mut self, key: &str, v: Option<f64>) -> Self {
        if let Some(n) = v.and_then(serde_json::Number::from_f64) {
            self.0.insert(key.into(), Value::Number(n));
        }
        self
    }

    fn whole(mut self, key: &str, v: Option<u64>) -> Self {
        if let Some(n) = v {
            self.0.insert(key.into(), n.into());
        }
        self
    }

    fn boolean(mut self, key: &str, v: Option<bool>) -> Self {
        if let Some(b) = v {
            self.0.insert(key.into(), b.into());
        }
        self
    }

    fn call(self, name: &str) -> SettingCall {
        SettingCall {
            name: name.into(),
            options: self.0,
        }
    }
}

fn options_of(call: SettingCall) -> Options {
    Options {
        call: call.name,
        map: call.options,
    }
}

impl TryFrom<SettingCall> for Optimizer {
    type Error = String;

    fn try_from(call: SettingCall) -> Result<Self, String> {
        let name = call.name.clone();
        let mut o = options_of(call);
        let out = match name.as_str() {
            "adafactor" => Optimizer::Adafactor(AdafactorOptions {
                decay_rate: o.number("decay_rate")?,
                clip_threshold: o.number("clip_threshold")?,
                scale_parameter: o.boolean("scale_parameter")?,
                beta1: o.number("beta1")?,
                epsilon1: o.number("epsilon1")?,
                epsilon2: o.number("epsilon2")?,
                weight_decay: o.number("weight_decay")?,
            }),
            "adamw" => Optimizer::AdamW(AdamWOptions {
                beta1: o.number("beta1")?,
                beta2: o.number("beta2")?,
                epsilon: o.number("epsilon")?,
                weight_decay: o.number("weight_decay")?,
            }),
            other => {
                return Err(format!(
                    "unknown optimizer `{other}` (one of: {})",
                    Optimizer::NAMES.join(", ")
                ))
            }
        };
        o.finish()?;
        Ok(out)
    }
}

impl From<Optimizer> for SettingCall {
    fn from(o: Optimizer) -> SettingCall {
        let name = o.name();
        match o {
            Optimizer::Adafactor(a) => Written::default()
                .number("decay_rate", a.decay_rate)
                .number("clip_threshold", a.clip_threshold)
                .boolean("scale_parameter", a.scale_parameter)
                .number("beta1", a.beta1)
                .number("epsilon1", a.epsilon1)
                .number("epsilon2", a.epsilon2)
                .number("weight_decay", a.weight_decay),
            Optimizer::AdamW(a) => Written::default()
                .number("beta1", a.beta1)
                .number("beta2", a.beta2)
                .number("epsilon", a.epsilon)
                .number("weight_decay", a.weight_decay),
        }
        .call(name)
    }
}

impl TryFrom<SettingCall> for LrSchedule {
    type Error = String;

    fn try_from(call: SettingCall) -> Result<Self, String> {
        let name = call.name.clone();
        let mut o = options_of(call);
        let decay = |o: &mut Options| -> Result<Decay, String> {
            Ok(Decay {
                peak: o.number("peak")?,
                warmup: o.whole("warmup")?,
                end: o.number("end")?,
            })
        };
        let out = match name.as_str() {
            "constant" => LrSchedule::Constant(Constant {
                value: o.number("value")?,
            }),
            "rsqrt" => LrSchedule::Rsqrt(Rsqrt {
                peak: o.number("peak")?,
                warmup: o.whole("warmup")?,
            }),
            "cosine" => LrSchedule::Cosine(decay(&mut o)?),
            "linear" => LrSchedule::Linear(decay(&mut o)?),
            other => {
                return Err(format!(
                    "unknown LR schedule `{other}` (one of: {})",
                    LrSchedule::NAMES.join(", ")
                ))
            }
        };
        o.finish()?;
        Ok(out)
    }
}

impl From<LrSchedule> for SettingCall {
    fn from(s: LrSchedule) -> SettingCall {
        let name = s.name();
        match s {
            LrSchedule::Constant(c) => Written::default().number("value", c.value),
            LrSchedule::Rsqrt(r) => Written::default()
                .number("peak", r.peak)
                .whole("warmup", r.warmup),
            LrSchedule::Cosine(d) | LrSchedule::Linear(d) => Written::default()
                .number("peak", d.peak)
                .whole("warmup", d.warmup)
                .number("end", d.end),
        }
        .call(name)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn read<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn settings_keep_the_json_they_had_as_strings() {
        for json in [
            r#"{"name":"adafactor"}"#,
            r#"{"name":"adafactor","options":{"decay_rate":0.8,"scale_parameter":false,"weight_decay":0.01}}"#,
            r#"{"name":"adamw","options":{"beta1":0.9,"beta2":0.999,"epsilon":1e-8,"weight_decay":0.0}}"#,
        ] {
            let o: Optimizer = read(json).unwrap();
            assert_eq!(serde_json::to_string(&o).unwrap(), json);
        }
        for json in [
            r#"{"name":"constant","options":{"value":0.0001}}"#,
            r#"{"name":"rsqrt","options":{"peak":0.01,"warmup":10000}}"#,
            r#"{"name":"rsqrt"}"#,
            r#"{"name":"cosine","options":{"peak":0.001,"warmup":100,"end":0.0}}"#,
            r#"{"name":"linear","options":{"warmup":5}}"#,
        ] {
            let s: LrSchedule = read(json).unwrap();
            assert_eq!(serde_json::to_string(&s).unwrap(), json);
        }
        assert_eq!(
            serde_json::to_string(&Precision::Bf16).unwrap(),
            r#""bf16""#
        );
        for p in Precision::NAMES {
            assert_eq!(Precision::from_name(p).unwrap().name(), *p);
        }
    }

    #[test]
    fn older_forms_read_as_the_same_values() {
        // Options in another order, a count written as a float, a rate
        // written as a whole number: what older compilers could write.
        let s: LrSchedule =
            read(r#"{"name":"cosine","options":{"end":0,"warmup":1000.0,"peak":1}}"#).unwrap();
        assert_eq!(
            s,
            LrSchedule::Cosine(Decay {
                peak: Some(1.0),
                warmup: Some(1000),
                end: Some(0.0)
            })
        );
    }

    #[test]
    fn what_a_setting_does_not_have_is_refused() {
        let e = read::<Optimizer>(r#"{"name":"sgd"}"#).unwrap_err();
        assert!(e.contains("unknown optimizer `sgd`"), "{e}");
        let e = read::<LrSchedule>(r#"{"name":"rsqrt","options":{"peek":1}}"#).unwrap_err();
        assert!(e.contains("`rsqrt` has no option `peek`"), "{e}");
        let e = read::<LrSchedule>(r#"{"name":"rsqrt","options":{"warmup":0.5}}"#).unwrap_err();
        assert!(e.contains("must be a whole number"), "{e}");
        let e = read::<Optimizer>(r#"{"name":"adafactor","options":{"scale_parameter":1}}"#)
            .unwrap_err();
        assert!(e.contains("true or false"), "{e}");
        assert!(read::<Precision>(r#""fp16""#).is_err());
    }

    #[test]
    fn defaults_are_written_out_for_a_stage_without_a_schedule() {
        let pre = serde_json::to_string(&LrSchedule::default_for(true)).unwrap();
        assert_eq!(
            pre,
            r#"{"name":"rsqrt","options":{"peak":0.01,"warmup":10000}}"#
        );
        let fine = serde_json::to_string(&LrSchedule::default_for(false)).unwrap();
        assert_eq!(fine, r#"{"name":"constant","options":{"value":0.001}}"#);
        assert_eq!(
            serde_json::to_string(&Optimizer::default()).unwrap(),
            r#"{"name":"adafactor"}"#
        );
    }
}
