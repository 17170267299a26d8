//! The verification pipeline: decode → faces → match → decision, with stage timings.
//!
//! Two images are processed on two lanes at once (one per core), each lane with its own
//! single-threaded model sessions: on a 2-core kiosk this beats one lane with two intra-op
//! threads, because small models do not split well across threads.

use std::path::Path;
use std::time::Instant;

use crate::config::Config;
use crate::decision;
use crate::document::reader::{DocumentReader, DocumentReading, ReaderOptions};
use crate::error::{Error, Result};
use crate::face::{FaceAnalysis, FaceEngine, Role};
use crate::imaging::{self, Decoded};
use crate::inference::{ModelInfo, Runtime};
use crate::liveness::LivenessResult;
use crate::liveness::passive::PassiveDetector;
use crate::models;
use crate::result::{
    DocumentBlock, FaceMatch, ImageFaces, ImageMeta, LivenessBlock, MatchResult, QualityBlock,
    SCHEMA_VERSION, VerificationResult,
};
use crate::timing::Timings;

/// A loaded pipeline: models verified and warm.
pub struct Pipeline {
    config: Config,
    lanes: Vec<FaceEngine>,
    passive: PassiveDetector,
    passive_model: ModelInfo,
    reader: Option<DocumentReader>,
    models: Vec<ModelInfo>,
    /// Milliseconds spent loading the runtime and models (cold start).
    pub load_ms: f64,
}

/// One image after decoding and face analysis.
pub struct Analyzed {
    /// The decoded image.
    pub decoded: Decoded,
    /// Where it came from.
    pub source: String,
    /// Face findings.
    pub faces: FaceAnalysis,
    /// Stage timings for this image.
    pub timings: Timings,
}

impl Analyzed {
    fn meta(&self) -> ImageMeta {
        image_meta(&self.decoded, &self.source)
    }
}

fn image_meta(decoded: &Decoded, source: &str) -> ImageMeta {
    ImageMeta {
        source: source.to_string(),
        width: decoded.rgb.width(),
        height: decoded.rgb.height(),
        format: decoded.format.to_string(),
        bytes: decoded.file_bytes,
    }
}

/// An input image: a file to decode, or an already-decoded frame (camera, GUI).
pub enum Input<'a> {
    /// A file path.
    File(&'a Path),
    /// A decoded image and a name for it.
    Image(Decoded, String),
}

fn analyze_one(
    engine: &mut FaceEngine,
    input: Input<'_>,
    role: Role,
    limits: &imaging::ImageLimits,
) -> Result<Analyzed> {
    let mut timings = Timings::default();
    let t = Instant::now();
    let (decoded, source) = match input {
        Input::File(path) => (
            imaging::decode_file(path, limits)?,
            path.display().to_string(),
        ),
        Input::Image(decoded, source) => (decoded, source),
    };
    timings.record("decode", t);
    let faces = engine.analyze(&decoded.rgb, role, &mut timings, "")?;
    Ok(Analyzed {
        decoded,
        source,
        faces,
        timings,
    })
}

/// Face analysis of an image another stage reads at the same time (no copy of its pixels).
fn analyze_borrowed(
    engine: &mut FaceEngine,
    rgb: &image::RgbImage,
    role: Role,
) -> Result<(FaceAnalysis, Timings)> {
    let mut timings = Timings::default();
    timings.set("decode", 0.0);
    let faces = engine.analyze(rgb, role, &mut timings, "")?;
    Ok((faces, timings))
}

fn lane_panicked() -> Error {
    Error::Inference {
        model: "face models".into(),
        message: "worker thread panicked".into(),
    }
}

fn no_lane() -> Error {
    Error::Inference {
        model: "face models".into(),
        message: "no face engine loaded".into(),
    }
}

impl Pipeline {
    /// Open ONNX Runtime and load the face models (verified), in `config.models_dir` or the
    /// default models folder.
    ///
    /// # Errors
    /// When the runtime or a model is missing, altered or unusable.
    pub fn load(config: Config) -> Result<Self> {
        let started = Instant::now();
        config.validate().map_err(|reason| Error::Config {
            path: "(settings)".into(),
            reason,
        })?;
        let dir = config.models_dir.clone().unwrap_or_else(models::models_dir);
        let runtime = Runtime::open(&dir)?;
        let lane_count = if config.threads >= 2 { 2 } else { 1 };
        let lanes: Vec<FaceEngine> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..lane_count)
                .map(|_| scope.spawn(|| FaceEngine::load(&runtime, config.face, 1)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::Inference {
                            model: "face models".into(),
                            message: "loader thread panicked".into(),
                        })
                    })
                })
                .collect::<Result<Vec<_>>>()
        })?;
        let models = lanes
            .first()
            .map(|l| l.models().to_vec())
            .unwrap_or_default();
        let spoof = runtime.load("antispoof", 1)?;
        let passive_model = spoof.info().clone();
        let passive = PassiveDetector::new(Box::new(spoof));
        // The document's text (OCR, MRZ, fields); its portrait is analysed by the face lanes.
        let reader = DocumentReader::from_runtime(
            &runtime,
            config.reader_options(ReaderOptions {
                portrait: false,
                ..ReaderOptions::default()
            }),
        )?;
        let load_ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(lanes = lane_count, ms = load_ms, "pipeline loaded");
        Ok(Self {
            config,
            lanes,
            passive,
            passive_model,
            reader: Some(reader),
            models,
            load_ms,
        })
    }

    /// Settings in force.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replace the decision thresholds and the match levels' policy (the kiosk's settings
    /// screen); the next verification uses them. Models and every other setting stay.
    ///
    /// # Errors
    /// The validation message when the new values are out of range (nothing is changed).
    pub fn set_thresholds(
        &mut self,
        matching: crate::face::matching::MatchPolicy,
        decision: crate::config::DecisionPolicy,
    ) -> std::result::Result<(), String> {
        let mut next = self.config.clone();
        next.matching = matching;
        next.decision = decision;
        next.validate()?;
        self.config = next;
        Ok(())
    }

    /// Take the thresholds and liveness rules of `config` (a fleet policy newly in force);
    /// the models stay loaded.
    ///
    /// # Errors
    /// The validation message when the new values are out of range (nothing is changed).
    pub fn set_policy(&mut self, config: &Config) -> std::result::Result<(), String> {
        let mut next = self.config.clone();
        next.matching = config.matching.clone();
        next.decision = config.decision;
        next.liveness = config.liveness;
        next.duplicates = config.duplicates;
        next.validate()?;
        self.config = next;
        Ok(())
    }

    /// Face models in use (the anti-spoof model is listed in each verification's `models`).
    #[must_use]
    pub fn models(&self) -> &[ModelInfo] {
        &self.models
    }

    /// The first lane's face engine (single-image work such as detection on a frame).
    pub fn face_engine(&mut self) -> Option<&mut FaceEngine> {
        self.lanes.first_mut()
    }

    /// Decode and analyse two images, on two lanes when there are two.
    ///
    /// # Errors
    /// The first input error, or an inference failure.
    pub fn analyze_pair(
        &mut self,
        a: Input<'_>,
        role_a: Role,
        b: Input<'_>,
        role_b: Role,
    ) -> Result<(Analyzed, Analyzed)> {
        let limits = self.config.limits;
        match self.lanes.as_mut_slice() {
            [first, second, ..] => {
                let (ra, rb) = std::thread::scope(|scope| {
                    let hb = scope.spawn(|| analyze_one(second, b, role_b, &limits));
                    let ra = analyze_one(first, a, role_a, &limits);
                    let rb = hb.join().unwrap_or_else(|_| {
                        Err(Error::Inference {
                            model: "face models".into(),
                            message: "worker thread panicked".into(),
                        })
                    });
                    (ra, rb)
                });
                Ok((ra?, rb?))
            }
            [only] => {
                let ra = analyze_one(only, a, role_a, &limits)?;
                let rb = analyze_one(only, b, role_b, &limits)?;
                Ok((ra, rb))
            }
            [] => Err(Error::Inference {
                model: "face models".into(),
                message: "no face engine loaded".into(),
            }),
        }
    }

    fn face_match(&self, a: &Analyzed, b: &Analyzed, which: (&str, &str)) -> FaceMatch {
        match (&a.faces.embedding, &b.faces.embedding) {
            (Some(ea), Some(eb)) => FaceMatch {
                computed: true,
                outcome: self
                    .config
                    .matching
                    .decide(crate::face::embed::cosine(ea, eb)),
                reason: None,
            },
            _ => {
                let missing: Vec<String> = [(a, which.0), (b, which.1)]
                    .iter()
                    .filter(|(x, _)| x.faces.embedding.is_none())
                    .map(|(x, name)| {
                        format!(
                            "{name}: {}",
                            x.faces
                                .detection
                                .reason
                                .as_deref()
                                .unwrap_or("no usable face")
                        )
                    })
                    .collect();
                let mut outcome = self.config.matching.decide(-1.0);
                outcome.confidence = 0.0;
                outcome.cosine = 0.0;
                FaceMatch {
                    computed: false,
                    outcome,
                    reason: Some(missing.join("; ")),
                }
            }
        }
    }

    /// 1:1 match of two photos.
    ///
    /// # Errors
    /// When an image is refused (bad input) or inference fails. No face is in-band.
    pub fn match_inputs(&mut self, a: Input<'_>, b: Input<'_>) -> Result<MatchResult> {
        let started = Instant::now();
        let (ia, ib) = self.analyze_pair(a, Role::Photo, b, Role::Photo)?;
        let t = Instant::now();
        let face_match = self.face_match(&ia, &ib, ("first image", "second image"));
        let mut timings = Timings::default();
        timings.record("match", t);
        for (name, img) in [("a", &ia), ("b", &ib)] {
            for (stage, ms) in &img.timings.0 {
                timings.set(&format!("{name}.{stage}"), *ms);
            }
        }
        timings.record("total", started);
        Ok(MatchResult {
            schema_version: SCHEMA_VERSION,
            face_match,
            images: vec![
                ImageFaces {
                    image: ia.meta(),
                    face_detection: ia.faces.detection.clone(),
                },
                ImageFaces {
                    image: ib.meta(),
                    face_detection: ib.faces.detection.clone(),
                },
            ],
            models: self.models.clone(),
            timings_ms: timings.rounded(),
        })
    }

    /// Verify a customer: document portrait vs selfie, with the aggregate result.
    ///
    /// # Errors
    /// When an image is refused (bad input) or inference fails. Failed checks are in-band.
    pub fn verify_inputs(
        &mut self,
        document: Input<'_>,
        selfie: Input<'_>,
    ) -> Result<VerificationResult> {
        self.verify_detailed(document, selfie).map(|v| v.result)
    }

    /// As [`Pipeline::verify_inputs`], also returning what the audit store keeps besides the
    /// result: the selfie template and the portrait crop.
    ///
    /// # Errors
    /// As [`Pipeline::verify_inputs`].
    pub fn verify_detailed(
        &mut self,
        document: Input<'_>,
        selfie: Input<'_>,
    ) -> Result<Verification> {
        self.verify_with_liveness(document, selfie, None)
    }

    /// As [`Pipeline::verify_detailed`]; with `sequence`, the selfie is the frame a liveness
    /// challenge chose and the liveness block reports that challenge; without it, the passive
    /// check runs on the selfie image.
    ///
    /// # Errors
    /// As [`Pipeline::verify_inputs`].
    pub fn verify_with_liveness(
        &mut self,
        document: Input<'_>,
        selfie: Input<'_>,
        sequence: Option<&LivenessResult>,
    ) -> Result<Verification> {
        self.verify_sides(document, None, selfie, sequence)
    }

    /// As [`Pipeline::verify_with_liveness`], with the document's back side when there is one:
    /// both sides are read and merged by [`DocumentReader::read_sides`] (the MRZ from the side
    /// that has a valid one, printed fields from the front first, cross-checks over both), the
    /// portrait comes from the front. The back image is decoded with the same limits and
    /// refused with the same errors as the front.
    ///
    /// # Errors
    /// As [`Pipeline::verify_inputs`].
    pub fn verify_sides(
        &mut self,
        document: Input<'_>,
        document_back: Option<Input<'_>>,
        selfie: Input<'_>,
        sequence: Option<&LivenessResult>,
    ) -> Result<Verification> {
        let started = Instant::now();
        // Decode the document once: the text reader and the face lane both use it, at once.
        let t = Instant::now();
        let decode = |input: Input<'_>| -> Result<(Decoded, String)> {
            Ok(match input {
                Input::File(path) => (
                    imaging::decode_file(path, &self.config.limits)?,
                    path.display().to_string(),
                ),
                Input::Image(decoded, source) => (decoded, source),
            })
        };
        let (doc_decoded, doc_source) = decode(document)?;
        let doc_decode_ms = t.elapsed().as_secs_f64() * 1000.0;
        let t = Instant::now();
        let back = document_back.map(decode).transpose()?;
        let back_decode_ms = t.elapsed().as_secs_f64() * 1000.0;
        let mut reader = self.reader.take();
        let back_rgb = back.as_ref().map(|(d, _)| &d.rgb);
        // The reader and the document's face lane borrow the one decoded page: a 12 MP page
        // is 36 MB, and a copy for the reader would be held through the whole verification.
        let doc_rgb = &doc_decoded.rgb;
        let limits = self.config.limits;
        let (pair, read) = std::thread::scope(|scope| {
            let ocr = reader.as_mut().map(|r| {
                scope.spawn(move || {
                    let t = Instant::now();
                    let out = r.read_sides(doc_rgb, back_rgb).map(|(reading, _)| reading);
                    (out, t.elapsed().as_secs_f64() * 1000.0)
                })
            });
            let pair = match self.lanes.as_mut_slice() {
                [first, second, ..] => {
                    let hs = scope.spawn(|| analyze_one(second, selfie, Role::Selfie, &limits));
                    let doc = analyze_borrowed(first, doc_rgb, Role::Document);
                    let sel = hs.join().unwrap_or_else(|_| Err(lane_panicked()));
                    doc.and_then(|d| sel.map(|s| (d, s)))
                }
                [only] => analyze_borrowed(only, doc_rgb, Role::Document)
                    .and_then(|d| analyze_one(only, selfie, Role::Selfie, &limits).map(|s| (d, s))),
                [] => Err(no_lane()),
            };
            let read = ocr.map(|h| {
                h.join().unwrap_or_else(|_| {
                    (
                        Err(Error::Inference {
                            model: "document reader".into(),
                            message: "reader thread panicked".into(),
                        }),
                        0.0,
                    )
                })
            });
            (pair, read)
        });
        self.reader = reader;
        let ((doc_faces, doc_timings), sel) = pair?;
        let doc = Analyzed {
            decoded: doc_decoded,
            source: doc_source,
            faces: doc_faces,
            timings: doc_timings,
        };
        let t = Instant::now();
        let face_match = self.face_match(&doc, &sel, ("document", "selfie"));
        let mut timings = Timings::default();
        timings.record("match", t);
        let reading: Option<DocumentReading> = match read {
            Some((out, ms)) => {
                timings.set("document.read", ms);
                // A reading that failed (inference error) is reported in the document block,
                // as the reference service does; the face match and liveness still stand.
                Some(out.unwrap_or_else(|e| {
                    DocumentReading::unread(
                        "ocr_failed",
                        format!("the document could not be read: {e}"),
                    )
                }))
            }
            None => None,
        };
        let t = Instant::now();
        let mut liveness = match sequence {
            Some(r) => LivenessBlock::from_sequence(r),
            None => {
                let score = match sel.faces.detection.face.as_ref() {
                    Some(face) if sel.faces.detection.usable => {
                        Some(self.passive.score(&sel.decoded.rgb, face)?)
                    }
                    _ => None,
                };
                timings.record("selfie.passive", t);
                LivenessBlock::single_image(score, &self.config.liveness.passive)
            }
        };
        for (name, img) in [("document", &doc), ("selfie", &sel)] {
            for (stage, ms) in &img.timings.0 {
                timings.set(&format!("{name}.{stage}"), *ms);
            }
        }
        timings.set("document.decode", doc_decode_ms);
        if back.is_some() {
            timings.set("documentBack.decode", back_decode_ms);
        }
        let portrait = doc.faces.detection.clone();
        let portrait_confidence = if portrait.usable {
            portrait.confidence
        } else {
            0.0
        };
        let (confidence, confidence_basis) = match &reading {
            Some(r) => {
                let text = if r.found { r.assembled.confidence } else { 0.0 };
                (
                    0.6 * text + 0.4 * portrait_confidence,
                    format!(
                        "0.6 × document reading {text:.1} + 0.4 × portrait detection {portrait_confidence:.1}"
                    ),
                )
            }
            None => (
                portrait_confidence,
                "portrait detection (the document text was not read)".into(),
            ),
        };
        let document_block = DocumentBlock {
            confidence: (confidence * 100.0).round() / 100.0,
            image: doc.meta(),
            portrait,
            confidence_basis,
            reading,
            id_number_match: None,
            back_image: back.as_ref().map(|(d, source)| image_meta(d, source)),
        };
        let selfie_detection = sel.faces.detection.clone();
        let q = |d: &crate::face::FaceDetection| {
            d.quality.as_ref().map(|q| {
                (
                    (q.sharpness * 10.0).round() / 10.0,
                    (q.brightness * 10.0).round() / 10.0,
                )
            })
        };
        let (id_s, id_b) = q(&document_block.portrait).unzip();
        let (se_s, se_b) = q(&selfie_detection).unzip();
        let quality = QualityBlock {
            id_face_sharpness: id_s,
            id_face_brightness: id_b,
            selfie_face_sharpness: se_s,
            selfie_face_brightness: se_b,
        };
        let selfie_confidence = if selfie_detection.usable {
            selfie_detection.confidence
        } else {
            0.0
        };
        let match_confidence = if face_match.computed {
            face_match.outcome.confidence
        } else {
            0.0
        };
        let overall = decision::overall_confidence(
            &self.config.weights,
            document_block.confidence,
            selfie_confidence,
            match_confidence,
        );
        let (decision, reasons) = decision::decide(
            &self.config.decision,
            overall,
            &document_block,
            &selfie_detection,
            &face_match,
            &quality,
        );
        let mut reasons = reasons;
        let decision = decision::apply_document_with(
            &self.config.decision,
            decision,
            &mut reasons,
            document_block.reading.as_ref(),
        );
        liveness.document_likeness = Some(crate::liveness::DocumentLikeness::measure(
            face_match.computed.then_some(face_match.outcome.cosine),
            doc.faces.aligned.as_ref().zip(sel.faces.aligned.as_ref()),
            &self.config.liveness,
        ));
        let decision = decision::apply_liveness(decision, &mut reasons, &liveness);
        let decision = decision::apply_capture_source(decision, &mut reasons, &liveness);
        timings.record("total", started);
        tracing::info!(
            decision = ?decision,
            overall = f64::from(overall),
            reasons = reasons.len(),
            stages = %timings.summary(),
            "verification done"
        );
        let portrait = document_block.portrait.face.as_ref().map(|f| {
            // The portrait with a margin, as an agent would crop it.
            imaging::crop(
                &doc.decoded.rgb,
                f.x - f.width * 0.25,
                f.y - f.height * 0.25,
                f.width * 1.5,
                f.height * 1.5,
            )
        });
        let result = VerificationResult {
            schema_version: SCHEMA_VERSION,
            verified: decision == crate::result::Decision::Approve,
            decision,
            reasons,
            overall_confidence: overall,
            weights: self.config.weights,
            document: document_block,
            face_detection: selfie_detection,
            selfie: sel.meta(),
            face_match,
            quality,
            models: self
                .models
                .iter()
                .chain(std::iter::once(&self.passive_model))
                .cloned()
                .collect(),
            timings_ms: timings.rounded(),
            liveness: Some(liveness),
            record: None,
            previous_attempts: Vec::new(),
            consent: None,
        };
        Ok(Verification {
            result,
            selfie_template: sel.faces.embedding,
            portrait,
            document_image: doc.decoded.rgb,
            document_back_image: back.map(|(d, _)| d.rgb),
        })
    }
}

/// A verification with the artefacts the audit store keeps.
#[derive(Debug)]
pub struct Verification {
    /// The result.
    pub result: VerificationResult,
    /// The selfie's face template (for 1:N duplicate search), when a face was usable.
    pub selfie_template: Option<Vec<f32>>,
    /// The holder's portrait cropped from the document, when one was found.
    pub portrait: Option<image::RgbImage>,
    /// The decoded document image (the front when there are two sides).
    pub document_image: image::RgbImage,
    /// The decoded back side of the document, when one was given.
    pub document_back_image: Option<image::RgbImage>,
}
