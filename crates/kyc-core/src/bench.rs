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

/// How the faces of one image of the evaluation set are labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EvalMode {
    /// The largest face is the row's identity.
    Largest,
    /// Every face is a different person, seen nowhere else.
    Distinct,
    /// Every face is the row's identity.
    Same,
}

/// One row of the truth file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TruthRow {
    file: String,
    identity: String,
    mode: EvalMode,
}

/// Parse a truth file: `file<TAB>identity<TAB>mode` lines, `#` comments.
fn parse_truth(text: &str, path: &Path) -> Result<Vec<TruthRow>> {
    let bad = |line: usize, why: String| crate::error::Error::Config {
        path: path.to_path_buf(),
        reason: format!("truth file line {line}: {why}"),
    };
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, identity, mode] = cols[..] else {
            return Err(bad(
                line_no,
                format!(
                    "expected 3 tab-separated columns (file, identity, mode), found {}",
                    cols.len()
                ),
            ));
        };
        let mode = match mode {
            "largest" => EvalMode::Largest,
            "distinct" => EvalMode::Distinct,
            "same" => EvalMode::Same,
            other => {
                return Err(bad(
                    line_no,
                    format!("mode {other:?} is not largest, distinct or same"),
                ));
            }
        };
        if file.is_empty() || identity.is_empty() {
            return Err(bad(line_no, "empty file or identity".into()));
        }
        rows.push(TruthRow {
            file: file.to_string(),
            identity: identity.to_string(),
            mode,
        });
    }
    if rows.is_empty() {
        return Err(bad(0, "no rows".into()));
    }
    Ok(rows)
}

/// One scored pair, for the lists of extremes.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoredPair {
    /// First face (`file#index`).
    pub a: String,
    /// Second face.
    pub b: String,
    /// Cosine of the two templates.
    pub cosine: f64,
}

/// Result of `kyc-kiosk eval-faces`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceEvalReport {
    /// Images in the truth file.
    pub images: usize,
    /// Faces embedded.
    pub faces: usize,
    /// Distinct identities among them.
    pub identities: usize,
    /// Images where no usable face was found (skipped).
    pub images_without_face: Vec<String>,
    /// Same-identity pairs.
    pub genuine_pairs: usize,
    /// Different-identity pairs.
    pub impostor_pairs: usize,
    /// Mean and sd of the impostor cosines.
    pub impostor_mean_sd: (f64, f64),
    /// Mean and sd of the genuine cosines.
    pub genuine_mean_sd: (f64, f64),
    /// Each configured level measured on these pairs.
    pub levels: Vec<crate::face::calibration::LevelCheck>,
    /// Lowest cosine leaving at most each rate of impostors at or above it (None: too few
    /// pairs to tell).
    pub empirical_threshold: Vec<(f64, Option<f64>)>,
    /// Cosine reaching each rate under a normal fit of the impostor scores.
    pub normal_fit_threshold: Vec<(f64, f64)>,
    /// The highest-scoring impostor pairs.
    pub top_impostors: Vec<ScoredPair>,
    /// The lowest-scoring genuine pairs.
    pub bottom_genuine: Vec<ScoredPair>,
}

/// Long side at which `distinct` images (group photos) are searched for faces too: their faces
/// are small, and the configured 640 px misses many of them.
const GROUP_MAX_SIDE: u32 = 1920;

/// Score every pair of faces of a labelled set: same identity = genuine, else impostor.
///
/// `truth` is a TSV beside the images (`packaging/fetch.py evaldata` writes one). When `scores`
/// is given, every pair is written there as `a\tb\tgenuine\tcosine`.
///
/// # Errors
/// A malformed truth file, an image that cannot be read, or failed inference.
pub fn eval_faces(config: Config, truth: &Path, scores: Option<&Path>) -> Result<FaceEvalReport> {
    let text = std::fs::read_to_string(truth).map_err(|source| crate::error::Error::Io {
        context: format!("reading the truth file {}", truth.display()),
        source,
    })?;
    let rows = parse_truth(&text, truth)?;
    let dir = truth.parent().unwrap_or_else(|| Path::new("."));
    let levels = config.matching.levels.clone();
    let limits = config.limits;
    let mut pipeline = Pipeline::load(config)?;
    let engine = pipeline
        .face_engine()
        .ok_or_else(|| crate::error::Error::Inference {
            model: "face models".into(),
            message: "not loaded".into(),
        })?;
    let min_px = engine.config().min_face_px;
    let normal_side = engine.config().detector.max_side;
    // (face name, identity, template)
    let mut faces: Vec<(String, String, Vec<f32>)> = Vec::new();
    let mut images_without_face = Vec::new();
    for row in &rows {
        let img = crate::imaging::decode_file(&dir.join(&row.file), &limits)?.rgb;
        let mut found = engine.detect_all(&img)?;
        if row.mode == EvalMode::Distinct {
            for extra in engine.detect_all_at(&img, GROUP_MAX_SIDE.max(normal_side))? {
                if found.iter().all(|f| f.iou(&extra) < 0.3) {
                    found.push(extra);
                }
            }
        }
        found.retain(|f| f.width >= min_px);
        found.sort_by(|a, b| b.area().total_cmp(&a.area()));
        if row.mode == EvalMode::Largest {
            found.truncate(1);
        }
        let before = faces.len();
        for (i, face) in found.iter().enumerate() {
            if let Some(t) = engine.embed_face(&img, face)? {
                let identity = match row.mode {
                    EvalMode::Distinct => format!("{}#{i}", row.identity),
                    _ => row.identity.clone(),
                };
                faces.push((format!("{}#{i}", row.file), identity, t));
            }
        }
        if faces.len() == before {
            images_without_face.push(row.file.clone());
        }
    }
    let mut genuine = Vec::new();
    let mut impostor = Vec::new();
    let mut genuine_pairs = Vec::new();
    let mut impostor_pairs = Vec::new();
    let mut out = String::new();
    for i in 0..faces.len() {
        for j in i + 1..faces.len() {
            let c = f64::from(crate::face::embed::cosine(&faces[i].2, &faces[j].2));
            let same = faces[i].1 == faces[j].1;
            if scores.is_some() {
                out.push_str(&format!(
                    "{}\t{}\t{}\t{c:.6}\n",
                    faces[i].0,
                    faces[j].0,
                    u8::from(same)
                ));
            }
            let pair = (c, i, j);
            if same {
                genuine.push(c);
                genuine_pairs.push(pair);
            } else {
                impostor.push(c);
                impostor_pairs.push(pair);
            }
        }
    }
    if let Some(path) = scores {
        std::fs::write(path, out).map_err(|source| crate::error::Error::Io {
            context: format!("writing the scores to {}", path.display()),
            source,
        })?;
    }
    let named = |&(c, i, j): &(f64, usize, usize)| ScoredPair {
        a: faces[i].0.clone(),
        b: faces[j].0.clone(),
        cosine: (c * 10_000.0).round() / 10_000.0,
    };
    impostor_pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    genuine_pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let rates = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6];
    let (mean, sd) = crate::face::calibration::mean_sd(&impostor);
    let identities: std::collections::BTreeSet<&str> = faces.iter().map(|f| f.1.as_str()).collect();
    Ok(FaceEvalReport {
        images: rows.len(),
        faces: faces.len(),
        identities: identities.len(),
        images_without_face,
        genuine_pairs: genuine.len(),
        impostor_pairs: impostor.len(),
        impostor_mean_sd: (mean, sd),
        genuine_mean_sd: crate::face::calibration::mean_sd(&genuine),
        levels: crate::face::calibration::check_levels(&levels, &impostor, &genuine),
        empirical_threshold: rates
            .iter()
            .map(|&r| {
                (
                    r,
                    crate::face::calibration::empirical_threshold(&impostor, r)
                        .map(|t| (t * 10_000.0).round() / 10_000.0),
                )
            })
            .collect(),
        normal_fit_threshold: rates
            .iter()
            .map(|&p| {
                (
                    p,
                    ((mean + z_for_upper_tail(p) * sd) * 1000.0).round() / 1000.0,
                )
            })
            .collect(),
        top_impostors: impostor_pairs.iter().take(8).map(named).collect(),
        bottom_genuine: genuine_pairs.iter().take(8).map(named).collect(),
    })
}

impl FaceEvalReport {
    /// A plain-text summary with the level table.
    #[must_use]
    pub fn table(&self) -> String {
        let mut s = format!(
            "{} images, {} faces, {} identities; {} genuine pairs, {} impostor pairs\n",
            self.images, self.faces, self.identities, self.genuine_pairs, self.impostor_pairs
        );
        s.push_str(&format!(
            "impostor cosine mean {:.3} sd {:.3}; genuine mean {:.3} sd {:.3}\n",
            self.impostor_mean_sd.0,
            self.impostor_mean_sd.1,
            self.genuine_mean_sd.0,
            self.genuine_mean_sd.1
        ));
        s.push_str("level cosine  target   hits  observed    upper95   measured  FNMR\n");
        for l in &self.levels {
            s.push_str(&format!(
                "{:>5} {:>6.3}  {:<7.0e} {:>5}  {:<9.2e} {:<9.2e} {:<9} {:.3} ({}/{})\n",
                l.level,
                l.cosine,
                l.target_fmr,
                l.impostor_hits,
                l.observed_fmr,
                l.fmr_upper95,
                if l.measured { "yes" } else { "extrap." },
                l.fnmr,
                l.genuine_misses,
                self.genuine_pairs
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_file_rows_and_errors() {
        let p = Path::new("faces.tsv");
        let rows = parse_truth("# c\na.jpg\tann\tlargest\nb.jpg\tgrp\tdistinct\n", p).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].mode, EvalMode::Distinct);
        let e = parse_truth("a.jpg\tann\n", p).unwrap_err().to_string();
        assert!(
            e.contains("faces.tsv") && e.contains("line 1") && e.contains("3 tab-separated"),
            "{e}"
        );
        let e = parse_truth("a.jpg\tann\teach\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"each\""), "{e}");
        assert!(parse_truth("# only a comment\n", p).is_err());
    }
}
