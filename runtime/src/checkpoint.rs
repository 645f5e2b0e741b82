//! Hugging Face checkpoints in and out: `config.json` plus
//! `model.safetensors` (or shards listed in `model.safetensors.index.json`).
//!
//! Loading matches tensors to the model's variables by HF name, reports
//! missing and unexpected names, and refuses to go on with missing ones.
//! Pickle files (`.bin`, `.pt`) are refused: unpickling runs arbitrary code.
//! Saving writes each file atomically (temporary file, fsync, rename, fsync
//! of the directory), so a crash never leaves a truncated checkpoint.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tch::{nn, Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::model::{T5Config, T5};

pub const WEIGHTS: &str = "model.safetensors";
pub const INDEX: &str = "model.safetensors.index.json";
pub const CONFIG: &str = "config.json";

/// Names an HF checkpoint may hold besides ours: copies of the shared
/// embedding, and a table transformers itself ignores.
const ALIASES_OF_SHARED: [&str; 2] = ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight"];
const IGNORED: [&str; 1] =
    ["decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight"];

/// What a load matched.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LoadReport {
    pub loaded: usize,
    pub missing: Vec<String>,
    pub unexpected: Vec<String>,
}

fn is_pickle(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("bin" | "pt" | "pth" | "ckpt" | "pkl")
    )
}

fn pickle_error(path: &Path) -> Error {
    Error::Checkpoint(format!(
        "`{}` is a pickle file, which exc does not load (unpickling can run arbitrary code); \
         convert it once with transformers: \
         `T5ForConditionalGeneration.from_pretrained(dir).save_pretrained(out, safe_serialization=True)`",
        path.display()
    ))
}

/// The safetensors files of a checkpoint: a `.safetensors` file itself, or
/// a directory's single file or its shards (from the index).
pub fn weight_files(path: &Path) -> Result<Vec<PathBuf>> {
    if is_pickle(path) {
        return Err(pickle_error(path));
    }
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let single = path.join(WEIGHTS);
    if single.is_file() {
        return Ok(vec![single]);
    }
    let index = path.join(INDEX);
    if index.is_file() {
        let text = std::fs::read_to_string(&index).map_err(|e| Error::io(&index, e))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::Checkpoint(format!("`{}`: {e}", index.display())))?;
        let map = json
            .get("weight_map")
            .and_then(|m| m.as_object())
            .ok_or_else(|| {
                Error::Checkpoint(format!("`{}` has no `weight_map`", index.display()))
            })?;
        let mut files: Vec<String> = map
            .values()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        files.sort();
        files.dedup();
        return Ok(files.into_iter().map(|f| path.join(f)).collect());
    }
    for name in [
        "pytorch_model.bin",
        "model.pt",
        "pytorch_model.bin.index.json",
    ] {
        if path.join(name).exists() {
            return Err(pickle_error(&path.join(name)));
        }
    }
    Err(Error::Checkpoint(format!(
        "no `{WEIGHTS}` or `{INDEX}` in `{}`",
        path.display()
    )))
}

/// Reads every tensor of a checkpoint (CPU, stored dtype).
pub fn read_tensors(path: &Path) -> Result<HashMap<String, Tensor>> {
    let mut out = HashMap::new();
    for file in weight_files(path)? {
        for (name, t) in Tensor::read_safetensors(&file)? {
            out.insert(name, t);
        }
    }
    Ok(out)
}

/// Copies checkpoint tensors into the variables of `vs` by name, converting
/// dtype and device. Fails, naming them, on missing tensors or shape
/// mismatches; unexpected names are only reported.
pub fn load_into(vs: &nn::VarStore, tensors: &HashMap<String, Tensor>) -> Result<LoadReport> {
    let vars = vs.variables();
    let mut report = LoadReport::default();
    let mut used: HashSet<&str> = HashSet::new();
    let mut mismatched = Vec::new();
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    for name in names {
        let Some(var) = vars.get(name) else { continue };
        let mut found = tensors.get(name.as_str()).map(|t| (name.as_str(), t));
        if found.is_none() && name == "shared.weight" {
            found = ALIASES_OF_SHARED
                .iter()
                .find_map(|a| tensors.get(*a).map(|t| (*a, t)));
        }
        let Some((src_name, src)) = found else {
            report.missing.push(name.clone());
            continue;
        };
        used.insert(src_name);
        if src.size() != var.size() {
            mismatched.push(format!(
                "`{name}`: checkpoint {:?}, model {:?}",
                src.size(),
                var.size()
            ));
            continue;
        }
        let mut dst = var.shallow_clone();
        tch::no_grad(|| dst.f_copy_(&src.to_kind(var.kind()).to_device(var.device())))?;
        report.loaded += 1;
    }
    let mut unexpected: Vec<String> = tensors
        .keys()
        .filter(|k| !used.contains(k.as_str()))
        .filter(|k| !IGNORED.contains(&k.as_str()) && !ALIASES_OF_SHARED.contains(&k.as_str()))
        .cloned()
        .collect();
    unexpected.sort();
    report.unexpected = unexpected;
    if !mismatched.is_empty() {
        return Err(Error::Checkpoint(format!(
            "shape mismatches: {}",
            mismatched.join("; ")
        )));
    }
    if !report.missing.is_empty() {
        return Err(Error::Checkpoint(format!(
            "missing tensors: {} (unexpected: {})",
            report.missing.join(", "),
            if report.unexpected.is_empty() {
                "none".to_string()
            } else {
                report.unexpected.join(", ")
            }
        )));
    }
    Ok(report)
}

/// A model with its variables, ready to run.
#[derive(Debug)]
pub struct Loaded {
    pub vs: nn::VarStore,
    pub model: T5,
    pub report: LoadReport,
}

/// Loads `config.json` and the weights of an HF checkpoint directory onto
/// `device`, with parameters in `kind` (Float, or BFloat16 on GPU).
pub fn load_model(dir: &Path, device: Device, kind: Kind) -> Result<Loaded> {
    if is_pickle(dir) {
        return Err(pickle_error(dir));
    }
    let cfg = T5Config::from_json_file(&dir.join(CONFIG))?;
    let mut vs = nn::VarStore::new(device);
    let model = T5::new(&vs.root(), &cfg)?;
    if kind != Kind::Float {
        vs.set_kind(kind);
    }
    let tensors = read_tensors(dir)?;
    let report = load_into(&vs, &tensors)?;
    Ok(Loaded { vs, model, report })
}

/// Writes `config.json` and `model.safetensors` into `dir` (created if
/// needed) so that `T5ForConditionalGeneration.from_pretrained(dir)` loads it.
pub fn save_model(vs: &nn::VarStore, cfg: &T5Config, dir: &Path) -> Result<()> {
    let mut tensors: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    save_tensors(&tensors, cfg, dir)
}

/// [`save_model`] from named tensors (HF names) rather than a `VarStore`:
/// training saves its float32 master weights this way.
pub fn save_tensors(tensors: &[(String, Tensor)], cfg: &T5Config, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    write_safetensors(&dir.join(WEIGHTS), tensors, &BTreeMap::new())?;
    let json = serde_json::to_string_pretty(&cfg.to_hf_json())
        .map_err(|e| Error::Checkpoint(format!("cannot encode config: {e}")))?;
    write_atomic(&dir.join(CONFIG), json.as_bytes())
}

fn dtype_name(kind: Kind) -> Result<&'static str> {
    Ok(match kind {
        Kind::Float => "F32",
        Kind::BFloat16 => "BF16",
        Kind::Half => "F16",
        Kind::Double => "F64",
        Kind::Int64 => "I64",
        Kind::Int => "I32",
        Kind::Bool => "BOOL",
        Kind::Uint8 => "U8",
        k => {
            return Err(Error::Checkpoint(format!(
                "cannot store dtype {k:?} in safetensors"
            )))
        }
    })
}

/// Encodes tensors as safetensors bytes; `metadata` goes into
/// `__metadata__` next to `format: pt`, which transformers requires.
pub fn safetensors_bytes(
    tensors: &[(String, Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    let mut header = serde_json::Map::new();
    let mut meta = serde_json::Map::new();
    meta.insert("format".into(), "pt".into());
    for (k, v) in metadata {
        meta.insert(k.clone(), v.clone().into());
    }
    header.insert("__metadata__".into(), serde_json::Value::Object(meta));
    let mut offset = 0usize;
    let mut datas = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let t = t.detach().to_device(Device::Cpu).contiguous();
        let n = t.numel() * t.kind().elt_size_in_bytes();
        let mut buf = vec![0u8; n];
        t.f_copy_data_u8(&mut buf, t.numel())?;
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": dtype_name(t.kind())?, "shape": t.size(), "data_offsets": [offset, offset + n]}),
        );
        offset += n;
        datas.push(buf);
    }
    let mut head = serde_json::to_vec(&serde_json::Value::Object(header))
        .map_err(|e| Error::Checkpoint(format!("cannot encode header: {e}")))?;
    // The format pads the header with spaces so the data starts 8-aligned.
    while head.len() % 8 != 0 {
        head.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + head.len() + offset);
    out.extend_from_slice(&(head.len() as u64).to_le_bytes());
    out.extend_from_slice(&head);
    for d in datas {
        out.extend_from_slice(&d);
    }
    Ok(out)
}

/// Writes a safetensors file atomically.
pub fn write_safetensors(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    write_atomic(path, &safetensors_bytes(tensors, metadata)?)
}

/// Writes `bytes` to a temporary file beside `path`, fsyncs it, renames it
/// over `path` and fsyncs the directory: readers see the old file or the
/// whole new one, never a truncated one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("checkpoint");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Persist the rename itself.
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| Error::io(path, e))
}

/// Reads the `__metadata__` of a safetensors file.
pub fn read_metadata(path: &Path) -> Result<BTreeMap<String, String>> {
    use std::io::Read;
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len).map_err(|e| Error::io(path, e))?;
    let n = u64::from_le_bytes(len) as usize;
    if n > 100_000_000 {
        return Err(Error::Checkpoint(format!(
            "`{}`: header too large",
            path.display()
        )));
    }
    let mut head = vec![0u8; n];
    f.read_exact(&mut head).map_err(|e| Error::io(path, e))?;
    let json: serde_json::Value = serde_json::from_slice(&head)
        .map_err(|e| Error::Checkpoint(format!("`{}`: {e}", path.display())))?;
    let mut out = BTreeMap::new();
    if let Some(m) = json.get("__metadata__").and_then(|m| m.as_object()) {
        for (k, v) in m {
            if let Some(s) = v.as_str() {
                out.insert(k.clone(), s.to_string());
            }
        }
    }
    Ok(out)
}
