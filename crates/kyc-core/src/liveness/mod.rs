//! Liveness: passive anti-spoofing on camera frames and an active challenge the customer performs.
//!
//! [`LivenessChecker`] holds the loaded models; [`LivenessChecker::start`] opens a
//! [`LivenessSession`] for one [`Challenge`]; each frame goes in with its capture time
//! ([`LivenessSession::push_frame`]) and is reduced to an [`challenge::Observation`] for the pure
//! state machine in [`challenge`]; [`LivenessSession::finish`] gives the [`LivenessResult`] for
//! the audit record and the selfie frame to match against the document.

pub mod challenge;
pub mod checks;
pub mod passive;

use std::time::Instant;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::face::detect::FaceBox;
use crate::face::mesh::FaceMesher;
use crate::face::{FaceConfig, FaceEngine, align, embed, quality};
use crate::inference::{ModelInfo, Runtime};
use crate::verdict::Reason;
use challenge::{
    Baseline, Challenge, ChallengeConfig, ChallengeState, ChallengeTracker, FaceObservation,
    Observation, StepOutcome,
};
use passive::{PassiveConfig, PassiveDetector, PassiveSummary};

/// Liveness settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LivenessConfig {
    /// Challenge thresholds and timing.
    pub challenge: ChallengeConfig,
    /// Passive-check threshold and aggregation.
    pub passive: PassiveConfig,
    /// Embed the face every this many frames to check it is still the same person (embedding
    /// is the costliest stage; the first frames are always embedded for the reference).
    pub embed_every: usize,
    /// Frontal single-face frames whose embeddings form the identity reference.
    pub reference_frames: usize,
    /// Another face at least this fraction of the subject's width counts as a face in view.
    pub other_face_ratio: f32,
    /// Thresholds of the checks over the whole challenge (3D consistency, background, temporal).
    pub checks: checks::CheckConfig,
    /// A selfie whose face embedding has a cosine above this to the document portrait's is the
    /// document's own picture (a real selfie never matches its document that closely).
    pub max_document_cosine: f32,
    /// A selfie whose aligned face correlates above this, pixel for pixel, with the document
    /// portrait's is the document's own picture.
    pub max_document_pixel_similarity: f32,
}

impl Default for LivenessConfig {
    fn default() -> Self {
        Self {
            challenge: ChallengeConfig::default(),
            passive: PassiveConfig::default(),
            embed_every: 3,
            reference_frames: 2,
            other_face_ratio: 0.3,
            checks: checks::CheckConfig::default(),
            max_document_cosine: 0.93,
            max_document_pixel_similarity: 0.9,
        }
    }
}

/// Where a verification's selfie came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CaptureSource {
    /// A still image (a file, the kiosk's import): never approved, at best referred.
    #[default]
    Still,
    /// The frame a liveness challenge chose.
    Challenge,
}

/// How close the selfie is to the document's own portrait.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentLikeness {
    /// Cosine between the two face embeddings, when both were embedded.
    pub cosine: Option<f32>,
    /// Correlation of the two aligned grey faces (−1–1), when both were aligned.
    pub pixel_similarity: Option<f32>,
    /// Cosine limit in force.
    pub max_cosine: f32,
    /// Pixel-similarity limit in force.
    pub max_pixel_similarity: f32,
    /// Either limit was exceeded: the selfie is the document's picture.
    pub same_picture: bool,
}

impl DocumentLikeness {
    /// Compare the selfie with the document portrait by embedding cosine and by the pixels of
    /// the two aligned faces.
    #[must_use]
    pub fn measure(
        cosine: Option<f32>,
        aligned: Option<(&RgbImage, &RgbImage)>,
        cfg: &LivenessConfig,
    ) -> Self {
        let pixel_similarity = aligned.and_then(|(a, b)| pixel_similarity(a, b));
        let same_picture = cosine.is_some_and(|c| c > cfg.max_document_cosine)
            || pixel_similarity.is_some_and(|p| p > cfg.max_document_pixel_similarity);
        Self {
            cosine,
            pixel_similarity,
            max_cosine: cfg.max_document_cosine,
            max_pixel_similarity: cfg.max_document_pixel_similarity,
            same_picture,
        }
    }
}

/// Pearson correlation of two equally sized images' grey levels (−1–1); `None` when the sizes
/// differ or either image is flat.
#[must_use]
pub fn pixel_similarity(a: &RgbImage, b: &RgbImage) -> Option<f32> {
    if a.dimensions() != b.dimensions() || a.width() == 0 || a.height() == 0 {
        return None;
    }
    let grey = |p: &image::Rgb<u8>| {
        0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])
    };
    let n = f64::from(a.width() * a.height());
    let (ga, gb): (Vec<f64>, Vec<f64>) = a
        .pixels()
        .zip(b.pixels())
        .map(|(p, q)| (grey(p), grey(q)))
        .unzip();
    let (ma, mb) = (ga.iter().sum::<f64>() / n, gb.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ga.iter().zip(&gb) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    let d = (saa * sbb).sqrt();
    (d > 1e-9).then(|| (sab / d) as f32)
}

/// What was measured on one frame (kept in the result for the audit record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameRecord {
    /// Position in the sequence (0-based).
    pub index: usize,
    /// Capture time (ms).
    pub t_ms: f64,
    /// Faces in view.
    pub face_count: usize,
    /// Subject's yaw (degrees).
    pub yaw: Option<f32>,
    /// Subject's pitch (degrees).
    pub pitch: Option<f32>,
    /// Subject's face width / frame width.
    pub width_frac: Option<f32>,
    /// Passive live score 0–100 (frames with exactly one face).
    pub passive_score: Option<f32>,
    /// Cosine to the identity reference, when embedded.
    pub similarity: Option<f32>,
    /// Sharpness 0–100 of the aligned face.
    pub sharpness: Option<f32>,
    /// Eye openness and mouth shape from the face mesh (challenges with a smile or blink).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<crate::face::mesh::Expression>,
    /// Challenge state after this frame.
    pub state: ChallengeState,
}

/// The active part of the result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveSummary {
    /// Every step was performed under the rules.
    pub passed: bool,
    /// Final state (with the failure reason when failed).
    pub state: ChallengeState,
    /// Each step's outcome and timestamps.
    pub steps: Vec<StepOutcome>,
    /// Frontal reference pose and size captured before the first step.
    pub baseline: Option<Baseline>,
}

/// The selfie chosen for matching.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelfieChoice {
    /// Frame index in the sequence.
    pub frame_index: usize,
    /// Its capture time (ms).
    pub t_ms: f64,
    /// Its sharpness 0–100.
    pub sharpness: f32,
    /// Its yaw and pitch (degrees).
    pub yaw: f32,
    /// Its pitch (degrees).
    pub pitch: f32,
}

/// Live or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LivenessDecision {
    /// Challenge passed, passive check live, a usable selfie frame found.
    Live,
    /// Any of those failed; see `reasons`.
    NotLive,
}

/// Everything the audit record keeps about one liveness check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LivenessResult {
    /// The challenge that was issued (nonce, steps, timeouts).
    pub challenge: Challenge,
    /// The active challenge: decision, state, steps.
    pub active: ActiveSummary,
    /// The passive check: median score, threshold, decision.
    pub passive: PassiveSummary,
    /// The frame chosen as the selfie (sharpest frontal one), when any.
    pub selfie: Option<SelfieChoice>,
    /// Overall decision.
    pub decision: LivenessDecision,
    /// `decision == Live`.
    pub is_live: bool,
    /// Why not live (empty when live).
    pub reasons: Vec<Reason>,
    /// The checks over the whole challenge, each with its measure and whether it passed.
    #[serde(default)]
    pub checks: Vec<checks::Check>,
    /// Frames received.
    pub frame_count: usize,
    /// Per-frame measurements.
    pub frames: Vec<FrameRecord>,
    /// Models used (id and sha256).
    pub models: Vec<ModelInfo>,
    /// Median milliseconds per frame for each stage.
    pub timings_ms: std::collections::BTreeMap<String, f64>,
}

/// A finished check: the result and the selfie image itself.
#[derive(Debug, Clone)]
pub struct LivenessOutcome {
    /// The audit result.
    pub result: LivenessResult,
    /// The chosen selfie frame's pixels (to match against the document).
    pub selfie: Option<RgbImage>,
}

/// Loaded models for liveness: face detector + embedder, and the anti-spoof model.
pub struct LivenessChecker {
    face: FaceEngine,
    passive: PassiveDetector,
    mesher: Option<FaceMesher>,
    face_config: FaceConfig,
    config: LivenessConfig,
    models: Vec<ModelInfo>,
}

impl LivenessChecker {
    /// Load (verified) the face models and the anti-spoof model with `threads` intra-op threads.
    ///
    /// # Errors
    /// When a model is missing, altered or rejected.
    pub fn load(
        runtime: &Runtime,
        face_config: FaceConfig,
        config: LivenessConfig,
        threads: usize,
    ) -> Result<Self> {
        let face = FaceEngine::load(runtime, face_config, threads)?;
        let spoof = runtime.load("antispoof", threads)?;
        let mesh = runtime.load("face_mesh", threads)?;
        let mut models = face.models().to_vec();
        models.push(spoof.info().clone());
        models.push(mesh.info().clone());
        let mut mesher = FaceMesher::new(Box::new(mesh));
        let mut passive = PassiveDetector::new(Box::new(spoof));
        // Warm up the anti-spoof session too.
        let probe = FaceBox {
            x: 280.0,
            y: 200.0,
            width: 80.0,
            height: 80.0,
            score: 1.0,
            landmarks: [[0.0; 2]; 5],
        };
        passive.score(&RgbImage::new(640, 480), &probe)?;
        mesher.mesh(&RgbImage::new(640, 480), &probe)?;
        Ok(Self {
            face,
            passive,
            mesher: Some(mesher),
            face_config,
            config,
            models,
        })
    }

    /// Build from already-wrapped parts (tests may use fakes); `mesher` is needed only for
    /// smile and blink steps.
    #[must_use]
    pub fn from_parts(
        face: FaceEngine,
        passive: PassiveDetector,
        mesher: Option<FaceMesher>,
        face_config: FaceConfig,
        config: LivenessConfig,
    ) -> Self {
        Self {
            face,
            passive,
            mesher,
            face_config,
            config,
            models: Vec::new(),
        }
    }

    /// Settings in force.
    #[must_use]
    pub fn config(&self) -> &LivenessConfig {
        &self.config
    }

    /// The face engine (detection, embedding) this checker uses.
    pub fn face_engine(&mut self) -> &mut FaceEngine {
        &mut self.face
    }

    /// Issue a random challenge with the configured timeouts.
    #[must_use]
    pub fn issue_challenge(&self) -> Challenge {
        Challenge::random(&self.config.challenge)
    }

    /// Start checking `challenge`.
    #[must_use]
    pub fn start(&self, challenge: Challenge) -> LivenessSession {
        LivenessSession {
            samples: Vec::new(),
            needs_mesh: challenge
                .steps
                .iter()
                .any(|s| matches!(s, challenge::Step::Smile | challenge::Step::Blink)),
            tracker: ChallengeTracker::new(challenge, self.config.challenge),
            frames: Vec::new(),
            reference: Vec::new(),
            reference_mean: None,
            selfie: None,
            stage_ms: std::collections::BTreeMap::new(),
        }
    }

    /// Score one image's largest face with the passive check alone (0–100), `None` without a face.
    ///
    /// # Errors
    /// When inference fails.
    pub fn passive_score(&mut self, img: &RgbImage) -> Result<Option<f32>> {
        let faces = self.face.detect_all(img)?;
        match faces.iter().max_by(|a, b| a.area().total_cmp(&b.area())) {
            Some(f) => self.passive.score(img, f).map(Some),
            None => Ok(None),
        }
    }

    /// Passive score (0–100) of a given face in `img`; `None` when `face` is `None`.
    ///
    /// # Errors
    /// When inference fails.
    pub fn passive_score_face(
        &mut self,
        img: &RgbImage,
        face: Option<&FaceBox>,
    ) -> Result<Option<f32>> {
        match face {
            Some(f) => self.passive.score(img, f).map(Some),
            None => Ok(None),
        }
    }

    /// Run a whole recorded sequence of `(frame, capture time ms)` through `challenge`.
    ///
    /// # Errors
    /// When inference fails.
    pub fn check_sequence<I>(&mut self, challenge: Challenge, frames: I) -> Result<LivenessOutcome>
    where
        I: IntoIterator<Item = (RgbImage, f64)>,
    {
        let mut session = self.start(challenge);
        for (img, t) in frames {
            session.push_frame(self, &img, t)?;
        }
        Ok(session.finish(self))
    }
}

/// One challenge in progress.
pub struct LivenessSession {
    tracker: ChallengeTracker,
    samples: Vec<checks::FrameSample>,
    needs_mesh: bool,
    frames: Vec<FrameRecord>,
    reference: Vec<Vec<f32>>,
    reference_mean: Option<Vec<f32>>,
    selfie: Option<(SelfieChoice, RgbImage)>,
    stage_ms: std::collections::BTreeMap<String, Vec<f64>>,
}

impl LivenessSession {
    /// The challenge state so far.
    #[must_use]
    pub fn state(&self) -> ChallengeState {
        self.tracker.state()
    }

    /// The challenge being checked.
    #[must_use]
    pub fn challenge(&self) -> &Challenge {
        self.tracker.challenge()
    }

    /// Each step's outcome so far (when it started, when it completed), for a live prompt.
    #[must_use]
    pub fn steps(&self) -> &[StepOutcome] {
        self.tracker.outcomes()
    }

    fn time(&mut self, stage: &str, start: Instant) {
        self.stage_ms
            .entry(stage.to_string())
            .or_default()
            .push(start.elapsed().as_secs_f64() * 1000.0);
    }

    /// Analyse one frame captured at `t_ms` and advance the challenge.
    ///
    /// # Errors
    /// When inference fails. Every rule violation is an in-band state, not an error.
    pub fn push_frame(
        &mut self,
        checker: &mut LivenessChecker,
        img: &RgbImage,
        t_ms: f64,
    ) -> Result<ChallengeState> {
        let index = self.frames.len();
        let cfg = checker.config;
        let t = Instant::now();
        let mut faces = checker.face.detect_all(img)?;
        self.time("detect", t);
        faces.sort_by(|a, b| b.area().total_cmp(&a.area()));
        let primary = faces
            .first()
            .filter(|f| f.width >= checker.face_config.min_face_px)
            .cloned();
        let face_count = match faces.first() {
            Some(p) => faces
                .iter()
                .filter(|f| f.width >= cfg.other_face_ratio * p.width)
                .count(),
            None => 0,
        };
        let mut record = FrameRecord {
            index,
            t_ms,
            face_count,
            yaw: None,
            pitch: None,
            width_frac: None,
            passive_score: None,
            similarity: None,
            sharpness: None,
            expression: None,
            state: self.tracker.state(),
        };
        let mut observation = Observation {
            t_ms,
            face_count,
            face: None,
        };
        let t = Instant::now();
        let mut sample = checks::FrameSample {
            t_ms,
            thumb: checks::thumbnail(img),
            face: None,
            mesh: None,
        };
        self.time("thumbnail", t);
        if let Some(face) = primary.filter(|_| !self.tracker.state().is_final()) {
            let (yaw, pitch, _) = quality::pose(&face.landmarks);
            let width_frac = face.width / img.width().max(1) as f32;
            let frontal = yaw.abs() <= cfg.challenge.frontal_max_deg
                && pitch.abs() <= cfg.challenge.frontal_max_deg;
            record.yaw = Some(yaw);
            record.pitch = Some(pitch);
            record.width_frac = Some(width_frac);
            if face_count == 1 {
                let t = Instant::now();
                record.passive_score = Some(checker.passive.score(img, &face)?);
                self.time("passive", t);
                sample.face = Some((face.x, face.y, face.width, face.height));
                // The mesh serves the expression steps and the 3D-consistency check of the
                // head movements, so every frame with one face is meshed.
                if let Some(mesher) = checker.mesher.as_mut() {
                    let t = Instant::now();
                    let mesh = mesher.mesh(img, &face)?;
                    self.time("mesh", t);
                    if mesh.presence >= 0.5 {
                        if self.needs_mesh {
                            record.expression = mesh.expression();
                        }
                        sample.mesh = Some((mesh.points, mesh.depth));
                    }
                }
            }
            let t = Instant::now();
            let aligned = align::align_112(img, &face.landmarks);
            if let Some((crop, _)) = &aligned {
                record.sharpness = Some(quality::sharpness(crop));
            }
            self.time("align+sharpness", t);
            let need_reference =
                self.reference.len() < cfg.reference_frames.max(1) && frontal && face_count == 1;
            let periodic = index.is_multiple_of(cfg.embed_every.max(1));
            if aligned.is_some() && (need_reference || periodic) {
                let t = Instant::now();
                let emb = checker.face.embed_face(img, &face)?;
                self.time("embed", t);
                // `None` (landmarks that cannot be aligned) leaves identity unknown for the frame.
                if let Some(emb) = emb {
                    if need_reference {
                        self.reference.push(emb);
                        self.reference_mean = mean_embedding(&self.reference);
                    } else if let Some(r) = &self.reference_mean {
                        record.similarity = Some(embed::cosine(&emb, r));
                    }
                }
            }
            observation.face = Some(FaceObservation {
                yaw,
                pitch,
                width_frac,
                similarity: record.similarity,
                expression: record.expression,
            });
            let same_person = record
                .similarity
                .is_none_or(|s| s >= cfg.challenge.min_similarity);
            if let (true, true, Some(sharpness)) =
                (frontal && face_count == 1, same_person, record.sharpness)
                && self
                    .selfie
                    .as_ref()
                    .is_none_or(|(s, _)| sharpness > s.sharpness)
            {
                self.selfie = Some((
                    SelfieChoice {
                        frame_index: index,
                        t_ms,
                        sharpness,
                        yaw,
                        pitch,
                    },
                    img.clone(),
                ));
            }
        }
        let state = self.tracker.observe(&observation);
        record.state = state;
        self.frames.push(record);
        self.samples.push(sample);
        Ok(state)
    }

    /// End the check (the footage or the time is over) and build the result.
    #[must_use]
    pub fn finish(mut self, checker: &LivenessChecker) -> LivenessOutcome {
        let state = self.tracker.finish();
        let scores: Vec<f32> = self.frames.iter().filter_map(|f| f.passive_score).collect();
        let passive = passive::aggregate(&scores, &checker.config.passive);
        let mut reasons = Vec::new();
        if let ChallengeState::Failed { reason, step } = state {
            let step_name = step
                .and_then(|i| self.tracker.challenge().steps.get(i))
                .map(|s| format!(" (step {}: {})", step.unwrap_or(0) + 1, s.name()))
                .unwrap_or_default();
            reasons.push(Reason {
                code: format!("challenge_{}", snake(&format!("{reason:?}"))).into(),
                message: format!("{}{step_name}", reason.message()),
            });
        }
        if !passive.is_live {
            reasons.push(Reason {
                code: if passive.frames < checker.config.passive.min_frames.max(1) {
                    "passive_too_few_frames".into()
                } else {
                    "passive_spoof_suspected".into()
                },
                message: match passive.score {
                    Some(s) if passive.frames >= checker.config.passive.min_frames.max(1) => {
                        format!(
                            "passive anti-spoofing score {s:.1} is below the threshold {:.1}",
                            passive.threshold
                        )
                    }
                    _ => format!(
                        "only {} frame(s) with one face could be scored; {} needed",
                        passive.frames, checker.config.passive.min_frames
                    ),
                },
            });
        }
        let (selfie, selfie_img) = match self.selfie.take() {
            Some((c, img)) => (Some(c), Some(img)),
            None => {
                reasons.push(Reason {
                    code: "no_frontal_selfie".into(),
                    message: "no sharp frontal frame of the customer to use as the selfie".into(),
                });
                (None, None)
            }
        };
        let cfg = &checker.config.checks;
        let mut checks = vec![checks::Check {
            check: "passive".into(),
            passed: passive.is_live,
            value: passive.score,
            limit: Some(passive.threshold),
            detail: format!(
                "median passive score over the {} frame(s) of the challenge with one face",
                passive.frames
            ),
        }];
        let unrequested = matches!(
            state,
            ChallengeState::Failed {
                reason: challenge::FailReason::UnrequestedMovement,
                ..
            }
        );
        checks.push(checks::Check {
            check: "movementOrder".into(),
            passed: !unrequested,
            value: None,
            limit: None,
            detail: if unrequested {
                challenge::FailReason::UnrequestedMovement.message().into()
            } else {
                "no head movement other than the one asked was held".into()
            },
        });
        checks.extend(checks::temporal(&self.samples, cfg));
        checks.extend(checks::motion(&self.samples, self.tracker.outcomes(), cfg));
        for c in checks
            .iter()
            .filter(|c| !c.passed && c.check != "passive" && c.check != "movementOrder")
        {
            reasons.push(Reason {
                code: format!("liveness_{}", snake(&c.check)).into(),
                message: format!("{} check failed: {}", c.check, c.detail),
            });
        }
        let passed = state == ChallengeState::Passed;
        let is_live =
            passed && passive.is_live && selfie.is_some() && checks.iter().all(|c| c.passed);
        let timings_ms = self
            .stage_ms
            .iter()
            .filter_map(|(k, v)| {
                let v: Vec<f32> = v.iter().map(|&x| x as f32).collect();
                passive::median(&v).map(|m| (k.clone(), (f64::from(m) * 100.0).round() / 100.0))
            })
            .collect();
        LivenessOutcome {
            result: LivenessResult {
                challenge: self.tracker.challenge().clone(),
                active: ActiveSummary {
                    passed,
                    state,
                    steps: self.tracker.outcomes().to_vec(),
                    baseline: self.tracker.baseline(),
                },
                passive,
                selfie,
                decision: if is_live {
                    LivenessDecision::Live
                } else {
                    LivenessDecision::NotLive
                },
                is_live,
                reasons,
                checks,
                frame_count: self.frames.len(),
                frames: self.frames,
                models: checker.models.clone(),
                timings_ms,
            },
            selfie: selfie_img,
        }
    }
}

fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn mean_embedding(list: &[Vec<f32>]) -> Option<Vec<f32>> {
    let first = list.first()?;
    let mut mean = vec![0.0f32; first.len()];
    for e in list {
        for (m, v) in mean.iter_mut().zip(e) {
            *m += v;
        }
    }
    let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        mean.iter_mut().for_each(|v| *v /= norm);
    }
    Some(mean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_codes() {
        assert_eq!(snake("StepTimeout"), "step_timeout");
        assert_eq!(snake("SeveralFaces"), "several_faces");
    }

    #[test]
    fn mean_embedding_is_normalised() {
        let m = mean_embedding(&[vec![1.0, 0.0], vec![0.0, 1.0]]).unwrap();
        assert!((m[0] - m[1]).abs() < 1e-6 && (m[0] * m[0] + m[1] * m[1] - 1.0).abs() < 1e-5);
        assert!(mean_embedding(&[]).is_none());
    }
}
