//! Decoding and scoring: greedy search, beam search and rank
//! classification over a [`T5`] with its KV cache.
//!
//! Token ids enter as `Vec<i64>` rows (padded here); outputs are the
//! generated ids without the decoder start token, ending at EOS when one was
//! produced. Beam search follows transformers' `generate(num_beams=k,
//! early_stopping=True)`: the top 2k continuations per step, finished
//! hypotheses among the top k kept with their length-normalised score, done
//! when k hypotheses are finished.

use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::model::{sequence_nll, T5};

/// How beam search normalises a finished hypothesis's log-probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LengthPenalty {
    /// transformers: `score / len^alpha`.
    Power(f64),
    /// GNMT (Wu et al. 2016), used by T5X: `score / ((5 + len) / 6)^alpha`.
    Gnmt(f64),
}

impl LengthPenalty {
    fn divisor(self, len: i64) -> f64 {
        match self {
            LengthPenalty::Power(a) => (len as f64).powf(a),
            LengthPenalty::Gnmt(a) => ((5.0 + len as f64) / 6.0).powf(a),
        }
    }
}

/// Decoding options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerateConfig {
    pub max_new_tokens: i64,
    /// 1 = greedy.
    pub num_beams: i64,
    pub length_penalty: LengthPenalty,
    pub eos_id: i64,
    pub pad_id: i64,
    pub start_id: i64,
}

impl GenerateConfig {
    pub fn for_model(model: &T5) -> Self {
        GenerateConfig {
            max_new_tokens: 64,
            num_beams: 1,
            length_penalty: LengthPenalty::Gnmt(0.6),
            eos_id: model.cfg.eos_token_id,
            pad_id: model.cfg.pad_token_id,
            start_id: model.cfg.decoder_start_token_id,
        }
    }
}

/// Right-pads rows into `[b, max_len]` int64 ids plus a 0/1 mask.
pub fn pad_batch(rows: &[Vec<i64>], pad: i64, device: Device) -> (Tensor, Tensor) {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let mut ids = Vec::with_capacity(rows.len() * n);
    let mut mask = Vec::with_capacity(rows.len() * n);
    for r in rows {
        for j in 0..n {
            ids.push(r.get(j).copied().unwrap_or(pad));
            mask.push(i64::from(j < r.len()));
        }
    }
    let shape = [rows.len() as i64, n as i64];
    (
        Tensor::from_slice(&ids).view(shape).to_device(device),
        Tensor::from_slice(&mask).view(shape).to_device(device),
    )
}

/// Generates for a batch of inputs with greedy or beam search.
pub fn generate(
    model: &T5,
    inputs: &[Vec<i64>],
    cfg: &GenerateConfig,
    device: Device,
) -> Result<Vec<Vec<i64>>> {
    if inputs.is_empty() {
        return Ok(Vec::new());
    }
    let (ids, mask) = pad_batch(inputs, cfg.pad_id, device);
    tch::no_grad(|| {
        if cfg.num_beams <= 1 {
            greedy(model, &ids, &mask, cfg)
        } else {
            beam(model, &ids, &mask, cfg)
        }
    })
}

fn greedy(model: &T5, ids: &Tensor, mask: &Tensor, cfg: &GenerateConfig) -> Result<Vec<Vec<i64>>> {
    let b = ids.size()[0];
    let enc = model.encode(ids, Some(mask), false)?;
    let mut cache = model.start_cache(&enc);
    let mut cur = Tensor::full([b, 1], cfg.start_id, (Kind::Int64, ids.device()));
    let mut out: Vec<Vec<i64>> = vec![Vec::new(); b as usize];
    let mut done = vec![false; b as usize];
    for _ in 0..cfg.max_new_tokens {
        let logits = model.decode_step(&cur, &mut cache, Some(mask))?;
        let next: Vec<i64> = Vec::try_from(
            &logits
                .select(1, -1)
                .argmax(-1, false)
                .to_device(Device::Cpu),
        )?;
        let mut fed = Vec::with_capacity(next.len());
        for (i, &t) in next.iter().enumerate() {
            if done[i] {
                fed.push(cfg.pad_id);
                continue;
            }
            out[i].push(t);
            done[i] = t == cfg.eos_id;
            fed.push(t);
        }
        if done.iter().all(|&d| d) {
            break;
        }
        cur = Tensor::from_slice(&fed)
            .view([b, 1])
            .to_device(ids.device());
    }
    Ok(out)
}

/// One batch row's beam state.
struct Row {
    /// Running hypotheses: tokens and summed log-probability.
    running: Vec<(Vec<i64>, f64)>,
    /// Finished hypotheses with normalised scores, best first.
    finished: Vec<(Vec<i64>, f64)>,
}

fn beam(model: &T5, ids: &Tensor, mask: &Tensor, cfg: &GenerateConfig) -> Result<Vec<Vec<i64>>> {
    let (b, k) = (ids.size()[0], cfg.num_beams);
    let dev = ids.device();
    let expand = Tensor::arange(b, (Kind::Int64, dev)).repeat_interleave_self_int(k, 0, None);
    let ids_k = ids.index_select(0, &expand);
    let mask_k = mask.index_select(0, &expand);
    let enc = model.encode(&ids_k, Some(&mask_k), false)?;
    let mut cache = model.start_cache(&enc);
    let mut rows: Vec<Row> = (0..b)
        .map(|_| Row {
            // Only the first beam is live at the start, as in transformers.
            running: (0..k)
                .map(|j| (Vec::new(), if j == 0 { 0.0 } else { -1e9 }))
                .collect(),
            finished: Vec::new(),
        })
        .collect();
    let mut last = vec![cfg.start_id; (b * k) as usize];
    let max_len = 1 + cfg.max_new_tokens;
    let mut cur_len = 1;
    while cur_len < max_len {
        let cur = Tensor::from_slice(&last).view([b * k, 1]).to_device(dev);
        let logits = model.decode_step(&cur, &mut cache, Some(&mask_k))?;
        let logp = logits
            .select(1, -1)
            .to_kind(Kind::Float)
            .log_softmax(-1, Kind::Float);
        let vocab = logp.size()[1];
        let run: Vec<f32> = rows
            .iter()
            .flat_map(|r| r.running.iter().map(|(_, s)| *s as f32))
            .collect();
        let acc =
            (logp + Tensor::from_slice(&run).view([b * k, 1]).to_device(dev)).view([b, k * vocab]);
        let (vals, idx) = acc.topk(2 * k, -1, true, true);
        let vals: Vec<f32> = Vec::try_from(&vals.to_device(Device::Cpu).view([-1]))?;
        let idx: Vec<i64> = Vec::try_from(&idx.to_device(Device::Cpu).view([-1]))?;
        let mut reorder = Vec::with_capacity((b * k) as usize);
        for (i, row) in rows.iter_mut().enumerate() {
            let full = row.finished.len() as i64 >= k;
            let mut next: Vec<(Vec<i64>, f64, i64, bool)> = Vec::new();
            for r in 0..(2 * k) as usize {
                let pos = i * (2 * k) as usize + r;
                let (score, flat) = (f64::from(vals[pos]), idx[pos]);
                let (src, tok) = (flat / vocab, flat % vocab);
                let mut toks = row
                    .running
                    .get(src as usize)
                    .map(|h| h.0.clone())
                    .unwrap_or_default();
                toks.push(tok);
                let stop = tok == cfg.eos_id || cur_len + 1 >= max_len;
                if stop && (r as i64) < k && !full {
                    let norm = score / cfg.length_penalty.divisor(cur_len);
                    row.finished.push((toks.clone(), norm));
                }
                next.push((toks, if stop { score - 1e9 } else { score }, src, stop));
            }
            row.finished.sort_by(|a, b| b.1.total_cmp(&a.1));
            row.finished.truncate(k as usize);
            next.sort_by(|a, b| b.1.total_cmp(&a.1));
            next.truncate(k as usize);
            row.running = next.iter().map(|(t, s, _, _)| (t.clone(), *s)).collect();
            for (t, _, src, _) in &next {
                reorder.push(i as i64 * k + src);
                last[reorder.len() - 1] = t.last().copied().unwrap_or(cfg.pad_id);
            }
        }
        cur_len += 1;
        if rows.iter().all(|r| r.finished.len() as i64 >= k) {
            break;
        }
        cache = cache.select(&Tensor::from_slice(&reorder).to_device(dev));
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            r.finished
                .into_iter()
                .next()
                .or_else(|| r.running.into_iter().max_by(|a, b| a.1.total_cmp(&b.1)))
                .map(|h| h.0)
                .unwrap_or_default()
        })
        .collect())
}

/// Summed negative log-likelihood and token count of each target given its
/// input (targets should end with EOS, as training targets do).
pub fn score(
    model: &T5,
    inputs: &[Vec<i64>],
    targets: &[Vec<i64>],
    device: Device,
) -> Result<Vec<(f64, i64)>> {
    if inputs.len() != targets.len() {
        return Err(Error::Input(format!(
            "{} inputs but {} targets",
            inputs.len(),
            targets.len()
        )));
    }
    if inputs.is_empty() {
        return Ok(Vec::new());
    }
    let pad = model.cfg.pad_token_id;
    let (ids, mask) = pad_batch(inputs, pad, device);
    let (tgt, tmask) = pad_batch(targets, pad, device);
    let labels = tgt.masked_fill(&tmask.eq(0), -100);
    let dec_in = crate::model::shift_right(&labels, model.cfg.decoder_start_token_id, pad);
    let (nll, count) = tch::no_grad(|| -> Result<(Tensor, Tensor)> {
        let enc = model.encode(&ids, Some(&mask), false)?;
        let h = model.decode(&dec_in, None, &enc, Some(&mask), false)?;
        Ok(sequence_nll(&model.logits(&h), &labels))
    })?;
    let nll: Vec<f64> = Vec::try_from(&nll.to_kind(Kind::Double).to_device(Device::Cpu))?;
    let count: Vec<f64> = Vec::try_from(&count.to_kind(Kind::Double).to_device(Device::Cpu))?;
    Ok(nll
        .into_iter()
        .zip(count)
        .map(|(s, c)| (s, c as i64))
        .collect())
}

/// Rank classification: the index of the choice with the highest summed
/// log-likelihood given `input`, and every choice's summed NLL.
pub fn rank_classify(
    model: &T5,
    input: &[i64],
    choices: &[Vec<i64>],
    device: Device,
) -> Result<(usize, Vec<f64>)> {
    let inputs = vec![input.to_vec(); choices.len()];
    let nll: Vec<f64> = score(model, &inputs, choices, device)?
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let best = nll
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i);
    Ok((best, nll))
}
