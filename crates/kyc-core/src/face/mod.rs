//! Faces: detect, choose the subject, align, embed, measure quality.

pub mod align;
pub mod calibration;
pub mod detect;
pub mod embed;
pub mod matching;
pub mod mesh;
pub mod quality;

use std::time::Instant;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::inference::{ModelInfo, Runtime};
use crate::timing::Timings;
use detect::{DetectorConfig, FaceBox, FaceDetector};
use embed::FaceEmbedder;
use quality::FaceQuality;

/// What an image is, which decides how several faces are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// A live selfie: exactly one prominent face.
    Selfie,
    /// An ID document: the largest face is the holder's portrait; smaller ones (a ghost image,
    /// a hologram) are allowed.
    Document,
    /// Any photo given to `match`: the largest face is the subject, however many others are
    /// in view (`faceCount` says how many).
    Photo,
}

/// Face rules.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FaceConfig {
    /// Detector settings.
    pub detector: DetectorConfig,
    /// Another face at least this fraction of the largest face's width makes a selfie
    /// ambiguous ("several faces"); smaller ones are background and only counted.
    pub ambiguous_face_ratio: f32,
    /// Smallest usable face width in image pixels.
    pub min_face_px: f32,
}

impl Default for FaceConfig {
    fn default() -> Self {
        Self {
            detector: DetectorConfig::default(),
            ambiguous_face_ratio: 0.5,
            min_face_px: 40.0,
        }
    }
}

/// Face detection result for one image, reported in-band whatever happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceDetection {
    /// At least one face was found.
    pub face_detected: bool,
    /// Detector confidence of the chosen face, 0–100 (0 when none).
    pub confidence: f32,
    /// Faces found above the score threshold.
    pub face_count: usize,
    /// The face the checks use (the largest), when one was found.
    pub face: Option<FaceBox>,
    /// Its quality, when it was usable.
    pub quality: Option<FaceQuality>,
    /// The face can be used for matching.
    pub usable: bool,
    /// Why not, when it cannot: `no_face`, `several_faces`, `face_too_small`.
    pub reason_code: Option<String>,
    /// The reason in words.
    pub reason: Option<String>,
}

/// Everything learned about the face in one image.
#[derive(Debug, Clone)]
pub struct FaceAnalysis {
    /// The in-band report.
    pub detection: FaceDetection,
    /// Template of the chosen face when usable.
    pub embedding: Option<Vec<f32>>,
    /// The aligned 112×112 crop when usable.
    pub aligned: Option<RgbImage>,
}

/// Choose the subject among detected faces and say whether it is usable for `role`.
#[must_use]
pub fn choose_subject(mut faces: Vec<FaceBox>, role: Role, cfg: &FaceConfig) -> FaceDetection {
    faces.sort_by(|a, b| b.area().total_cmp(&a.area()));
    let count = faces.len();
    let Some(primary) = faces.first().cloned() else {
        return FaceDetection {
            face_detected: false,
            confidence: 0.0,
            face_count: 0,
            face: None,
            quality: None,
            usable: false,
            reason_code: Some("no_face".into()),
            reason: Some(match role {
                Role::Document => "no portrait found on the document".into(),
                _ => "no face found in the image".into(),
            }),
        };
    };
    let prominent = faces
        .iter()
        .filter(|f| f.width >= cfg.ambiguous_face_ratio * primary.width)
        .count();
    let (usable, code, reason) = if role == Role::Selfie && prominent > 1 {
        (
            false,
            Some("several_faces"),
            Some(format!(
                "{prominent} faces of similar size: exactly one person must be in view"
            )),
        )
    } else if primary.width < cfg.min_face_px {
        (
            false,
            Some("face_too_small"),
            Some(format!(
                "face is {:.0} px wide; at least {:.0} px is needed",
                primary.width, cfg.min_face_px
            )),
        )
    } else {
        (true, None, None)
    };
    FaceDetection {
        face_detected: true,
        confidence: (primary.score * 10_000.0).round() / 100.0,
        face_count: count,
        face: Some(primary),
        quality: None,
        usable,
        reason_code: code.map(str::to_string),
        reason,
    }
}

/// Detector and embedder, loaded once and reused.
pub struct FaceEngine {
    detector: FaceDetector,
    embedder: FaceEmbedder,
    config: FaceConfig,
    models: Vec<ModelInfo>,
}

impl FaceEngine {
    /// Load (verified) YuNet and SFace with `threads` intra-op threads each, and warm them up.
    ///
    /// # Errors
    /// When a model is missing, altered or rejected by ONNX Runtime.
    pub fn load(runtime: &Runtime, config: FaceConfig, threads: usize) -> Result<Self> {
        let det = runtime.load("face_detector", threads)?;
        let emb = runtime.load("face_embedder", threads)?;
        let models = vec![det.info().clone(), emb.info().clone()];
        let mut engine = Self {
            detector: FaceDetector::new(Box::new(det), config.detector),
            embedder: FaceEmbedder::new(Box::new(emb)),
            config,
            models,
        };
        // First runs allocate ONNX Runtime's buffers; do it now, not on a customer's photo.
        engine.detector.detect(&RgbImage::new(640, 480))?;
        engine.embedder.embed(&RgbImage::new(112, 112))?;
        Ok(engine)
    }

    /// Build from already-wrapped parts (tests use fakes here).
    #[must_use]
    pub fn from_parts(detector: FaceDetector, embedder: FaceEmbedder, config: FaceConfig) -> Self {
        Self {
            detector,
            embedder,
            config,
            models: Vec::new(),
        }
    }

    /// Ids and sha256s of the models in use.
    #[must_use]
    pub fn models(&self) -> &[ModelInfo] {
        &self.models
    }

    /// Detect every face (best score first).
    ///
    /// # Errors
    /// When inference fails.
    pub fn detect_all(&mut self, img: &RgbImage) -> Result<Vec<FaceBox>> {
        self.detector.detect(img)
    }

    /// Detect every face with the image shrunk to `max_side` instead of the configured size
    /// (evaluation of group photos, whose faces are small).
    ///
    /// # Errors
    /// When inference fails.
    pub fn detect_all_at(&mut self, img: &RgbImage, max_side: u32) -> Result<Vec<FaceBox>> {
        let input = detect::prepare(img, max_side);
        self.detector.detect_prepared(&input)
    }

    /// The face rules in force.
    #[must_use]
    pub fn config(&self) -> &FaceConfig {
        &self.config
    }

    /// Align and embed one given face.
    ///
    /// # Errors
    /// When inference fails; `Ok(None)` when the landmarks cannot be aligned.
    pub fn embed_face(&mut self, img: &RgbImage, face: &FaceBox) -> Result<Option<Vec<f32>>> {
        match align::align_112(img, &face.landmarks) {
            Some((aligned, _)) => self.embedder.embed(&aligned).map(Some),
            None => Ok(None),
        }
    }

    /// Detect, choose the subject, align, embed and measure; stage times go to `timings`
    /// under `prefix`.
    ///
    /// # Errors
    /// When inference fails. No face or several faces are in-band results, not errors.
    pub fn analyze(
        &mut self,
        img: &RgbImage,
        role: Role,
        timings: &mut Timings,
        prefix: &str,
    ) -> Result<FaceAnalysis> {
        self.analyze_turned(img, 0, role, timings, prefix)
    }

    /// [`FaceEngine::analyze`] of `img` turned by `quarters` clockwise quarter turns (as
    /// [`crate::imaging::rotate_quarters`] turns it; a document read upright), with the same
    /// result, without turning the whole image: the detector's input is shrunk from the image as
    /// it lies, and only the pixels the alignment reads around the chosen face are turned.
    ///
    /// # Errors
    /// As [`FaceEngine::analyze`].
    pub fn analyze_turned(
        &mut self,
        img: &RgbImage,
        quarters: u32,
        role: Role,
        timings: &mut Timings,
        prefix: &str,
    ) -> Result<FaceAnalysis> {
        let quarters = quarters % 4;
        let t = Instant::now();
        let input = detect::prepare_turned(img, quarters, self.config.detector.max_side);
        timings.record(&format!("{prefix}detect.prepare"), t);
        let t = Instant::now();
        let faces = self.detector.detect_prepared(&input)?;
        timings.record(&format!("{prefix}detect.infer"), t);
        let mut detection = choose_subject(faces, role, &self.config);
        let Some(face) = detection.face.clone().filter(|_| detection.usable) else {
            return Ok(FaceAnalysis {
                detection,
                embedding: None,
                aligned: None,
            });
        };
        let t = Instant::now();
        let region;
        let upright = if quarters == 0 {
            img
        } else {
            let (w, h) = if quarters % 2 == 1 {
                (img.height(), img.width())
            } else {
                (img.width(), img.height())
            };
            let r = align::sampled_region(&face.landmarks, w, h).unwrap_or((0, 0, 0, 0));
            region = crate::imaging::rotate_quarters_region(img, quarters, r);
            &region
        };
        let Some((aligned, _)) = align::align_112(upright, &face.landmarks) else {
            detection.usable = false;
            detection.reason_code = Some("face_too_small".into());
            detection.reason = Some("face landmarks coincide; the face cannot be aligned".into());
            return Ok(FaceAnalysis {
                detection,
                embedding: None,
                aligned: None,
            });
        };
        timings.record(&format!("{prefix}align"), t);
        let t = Instant::now();
        let embedding = self.embedder.embed(&aligned)?;
        timings.record(&format!("{prefix}embed"), t);
        let t = Instant::now();
        detection.quality = Some(quality::measure(&face, &aligned));
        timings.record(&format!("{prefix}quality"), t);
        Ok(FaceAnalysis {
            detection,
            embedding: Some(embedding),
            aligned: Some(aligned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(w: f32, score: f32) -> FaceBox {
        FaceBox {
            x: 0.0,
            y: 0.0,
            width: w,
            height: w,
            score,
            landmarks: [[0.0; 2]; 5],
        }
    }

    #[test]
    fn no_face_is_reported_in_band() {
        let d = choose_subject(vec![], Role::Selfie, &FaceConfig::default());
        assert!(!d.face_detected && !d.usable);
        assert_eq!(d.reason_code.as_deref(), Some("no_face"));
    }

    #[test]
    fn two_similar_faces_make_a_selfie_ambiguous_but_not_a_document() {
        let faces = vec![face(200.0, 0.9), face(150.0, 0.95)];
        let s = choose_subject(faces.clone(), Role::Selfie, &FaceConfig::default());
        assert!(!s.usable);
        assert_eq!(s.reason_code.as_deref(), Some("several_faces"));
        assert_eq!(s.face_count, 2);
        let d = choose_subject(faces, Role::Document, &FaceConfig::default());
        assert!(d.usable);
        assert_eq!(d.face.unwrap().width, 200.0);
    }

    #[test]
    fn a_photo_for_match_takes_the_largest_face_and_counts_the_others() {
        let faces = vec![face(150.0, 0.95), face(200.0, 0.9), face(180.0, 0.9)];
        let s = choose_subject(faces, Role::Photo, &FaceConfig::default());
        assert!(s.usable && s.reason_code.is_none());
        assert_eq!(s.face.unwrap().width, 200.0);
        assert_eq!(s.face_count, 3);
    }

    #[test]
    fn small_background_face_is_counted_not_blocking() {
        let s = choose_subject(
            vec![face(60.0, 0.8), face(300.0, 0.9)],
            Role::Selfie,
            &FaceConfig::default(),
        );
        assert!(s.usable);
        assert_eq!((s.face_count, s.confidence), (2, 90.0));
    }

    #[test]
    fn tiny_face_is_not_usable() {
        let s = choose_subject(vec![face(20.0, 0.9)], Role::Photo, &FaceConfig::default());
        assert_eq!(s.reason_code.as_deref(), Some("face_too_small"));
    }
}
