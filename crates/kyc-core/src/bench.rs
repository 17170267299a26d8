//! Benchmarks (commands, not tests): per-stage medians over repeated runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::config::Config;
use crate::error::Result;
use crate::pipeline::{Input, Pipeline};

/// Result of `kyc-kiosk bench`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BenchReport {
    /// Runtime + models loaded, verified and warmed up, in ms.
    pub load_ms: f64,
    /// Load plus the first match, in ms: what a user waits for after start.
    pub cold_start_to_first_result_ms: f64,
    /// Timed runs.
    pub runs: usize,
    /// Lanes (images processed at once) and intra-op threads per session.
    pub lanes: usize,
    /// Median ms per stage.
    pub median_ms: BTreeMap<String, f64>,
    /// 90th percentile of the total, in ms.
    pub p90_total_ms: f64,
    /// Cosine of the pair (identical in every run).
    pub cosine: f32,
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let idx = ((values.len() - 1) as f64 * q).round() as usize;
    values[idx]
}

/// Time `runs` matches of `a` and `b` (decode included) after loading and one warm-up.
///
/// # Errors
/// As [`Pipeline::match_inputs`].
pub fn bench_match(config: Config, a: &Path, b: &Path, runs: usize) -> Result<BenchReport> {
    let started = Instant::now();
    let lanes = if config.threads >= 2 { 2 } else { 1 };
    let mut pipeline = Pipeline::load(config)?;
    let load_ms = pipeline.load_ms;
    let first = pipeline.match_inputs(Input::File(a), Input::File(b))?;
    let cold = started.elapsed().as_secs_f64() * 1000.0;
    let mut samples: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for _ in 0..runs.max(1) {
        let r = pipeline.match_inputs(Input::File(a), Input::File(b))?;
        for (k, v) in r.timings_ms.0 {
            samples.entry(k).or_default().push(v);
        }
    }
    let mut median_ms = BTreeMap::new();
    let mut p90 = 0.0;
    for (k, mut v) in samples {
        if k == "total" {
            p90 = percentile(&mut v, 0.9);
        }
        median_ms.insert(k, (percentile(&mut v, 0.5) * 100.0).round() / 100.0);
    }
    Ok(BenchReport {
        load_ms: (load_ms * 10.0).round() / 10.0,
        cold_start_to_first_result_ms: (cold * 10.0).round() / 10.0,
        runs,
        lanes,
        median_ms,
        p90_total_ms: (p90 * 100.0).round() / 100.0,
        cosine: first.face_match.outcome.cosine,
    })
}

impl BenchReport {
    /// A plain-text table.
    #[must_use]
    pub fn table(&self) -> String {
        let mut s = format!(
            "load {:.0} ms; cold start to first result {:.0} ms; {} runs on {} lane(s); cosine {:.4}\n",
            self.load_ms, self.cold_start_to_first_result_ms, self.runs, self.lanes, self.cosine
        );
        for (k, v) in &self.median_ms {
            s.push_str(&format!("  {k:<16} {v:>8.2} ms (median)\n"));
        }
        s.push_str(&format!(
            "  {:<16} {:>8.2} ms\n",
            "total p90", self.p90_total_ms
        ));
        s
    }
}

/// Impostor-score statistics: every detected face in the given images is taken as a different
/// person, and every pair of them is scored. Used to set the match levels (ARCHITECTURE.md).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImpostorReport {
    /// Faces embedded.
    pub faces: usize,
    /// Pairs scored.
    pub pairs: usize,
    /// Mean cosine.
    pub mean: f64,
    /// Standard deviation.
    pub sd: f64,
    /// Highest impostor cosine and the two faces (image:index).
    pub max: (f64, String, String),
    /// Share of pairs at or above each configured level's cosine.
    pub observed_rate_at_level: Vec<(u8, f32, f64)>,
    /// Cosine reaching each false-match rate under a normal fit (FMR, cosine).
    pub normal_fit_threshold: Vec<(f64, f64)>,
}

/// Inverse of the standard normal upper tail for the few rates used (Acklam-free table).
fn z_for_upper_tail(p: f64) -> f64 {
    // Upper-tail z for 1e-2 … 1e-6 (exact to 3 decimals).
    match p {
        p if p >= 1e-2 => 2.326,
        p if p >= 1e-3 => 3.090,
        p if p >= 1e-4 => 3.719,
        p if p >= 1e-5 => 4.265,
        _ => 4.753,
    }
}

/// Score every pair of faces found in `images`.
///
/// # Errors
/// When an image is refused or inference fails.
pub fn eval_impostors(config: Config, images: &[std::path::PathBuf]) -> Result<ImpostorReport> {
    let levels = config.matching.levels.clone();
    let limits = config.limits;
    let mut pipeline = Pipeline::load(config)?;
    let engine = pipeline
        .face_engine()
        .ok_or_else(|| crate::error::Error::Inference {
            model: "face models".into(),
            message: "not loaded".into(),
        })?;
    let mut templates: Vec<(String, Vec<f32>)> = Vec::new();
    for path in images {
        let img = crate::imaging::decode_file(path, &limits)?.rgb;
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        for (i, face) in engine.detect_all(&img)?.iter().enumerate() {
            if let Some(t) = engine.embed_face(&img, face)? {
                templates.push((format!("{name}:{i}"), t));
            }
        }
    }
    let mut scores = Vec::new();
    let mut max = (f64::MIN, String::new(), String::new());
    for i in 0..templates.len() {
        for j in i + 1..templates.len() {
            let c = f64::from(crate::face::embed::cosine(&templates[i].1, &templates[j].1));
            if c > max.0 {
                max = (c, templates[i].0.clone(), templates[j].0.clone());
            }
            scores.push(c);
        }
    }
    let n = scores.len().max(1) as f64;
    let mean = scores.iter().sum::<f64>() / n;
    let sd = (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n).sqrt();
    let observed_rate_at_level = levels
        .iter()
        .map(|l| {
            (
                l.level,
                l.cosine,
                scores.iter().filter(|&&s| s >= f64::from(l.cosine)).count() as f64 / n,
            )
        })
        .collect();
    let normal_fit_threshold = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6]
        .iter()
        .map(|&p| {
            (
                p,
                ((mean + z_for_upper_tail(p) * sd) * 1000.0).round() / 1000.0,
            )
        })
        .collect();
    Ok(ImpostorReport {
        faces: templates.len(),
        pairs: scores.len(),
        mean,
        sd,
        max,
        observed_rate_at_level,
        normal_fit_threshold,
    })
}
