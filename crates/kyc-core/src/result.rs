//! The result types: what the pipeline produces, the CLI prints as JSON, the GUI shows and the
//! audit store keeps. One definition each, serde camelCase, with the reference services' names.

use serde::{Deserialize, Serialize};

use crate::config::Weights;
use crate::face::FaceDetection;
use crate::face::matching::MatchOutcome;
use crate::inference::ModelInfo;
use crate::timing::Timings;
pub use crate::verdict::{Decision, Reason, ReasonCode};

/// Version of the JSON shape below; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// An input image as read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageMeta {
    /// Where it came from (a path, or a capture source).
    pub source: String,
    /// Width after EXIF orientation.
    pub width: u32,
    /// Height after EXIF orientation.
    pub height: u32,
    /// "jpeg" or "png".
    pub format: String,
    /// Encoded size in bytes.
    pub bytes: u64,
}

/// One image's face findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageFaces {
    /// The image.
    pub image: ImageMeta,
    /// Its face detection and quality.
    pub face_detection: FaceDetection,
}

/// The 1:1 face-match block. Present even when a face was missing: then `computed` is false,
/// `isMatch` false, and `reason` says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceMatch {
    /// Whether both templates were available and compared.
    pub computed: bool,
    /// The outcome (zeros with the policy's thresholds when not computed).
    #[serde(flatten)]
    pub outcome: MatchOutcome,
    /// Why the match could not be computed.
    pub reason: Option<String>,
}

/// `kyc-kiosk match` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchResult {
    /// JSON shape version.
    pub schema_version: u32,
    /// The match block, flattened to the top level (`isMatch`, `confidence`, …).
    #[serde(flatten)]
    pub face_match: FaceMatch,
    /// The two images, in the order given.
    pub images: Vec<ImageFaces>,
    /// Models used.
    pub models: Vec<ModelInfo>,
    /// Per-stage milliseconds.
    pub timings_ms: Timings,
}

/// The document block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentBlock {
    /// 0–100: 0.6 × the reading's confidence (0 when no document text was found) + 0.4 × the
    /// portrait-detection confidence; the portrait alone when the text was not read.
    pub confidence: f32,
    /// The image read.
    pub image: ImageMeta,
    /// The holder's portrait found on the document, with its quality.
    pub portrait: FaceDetection,
    /// What the document confidence is made of.
    pub confidence_basis: String,
    /// What was read: fields with sources and confidences, the MRZ and its checks, cross-checks,
    /// flags, the ID-number check, capture quality, the text lines (the `read-document` output
    /// without its portrait, which is `portrait` above). Not read back from stored JSON.
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub reading: Option<crate::document::reader::DocumentReading>,
    /// The ID number the customer claimed against the number read (when both exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number_match: Option<crate::document::idnumber::MismatchReport>,
    /// The document's back side, when one was given (its reading is `reading.back`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_image: Option<ImageMeta>,
}

/// Image quality figures, with the reference services' names (0–100; absent when no face).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QualityBlock {
    /// Document portrait sharpness.
    pub id_face_sharpness: Option<f32>,
    /// Document portrait brightness.
    pub id_face_brightness: Option<f32>,
    /// Selfie face sharpness.
    pub selfie_face_sharpness: Option<f32>,
    /// Selfie face brightness.
    pub selfie_face_brightness: Option<f32>,
}

/// `kyc-kiosk verify` output: the aggregate shape of the reference "verify identity" service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationResult {
    /// JSON shape version.
    pub schema_version: u32,
    /// True only when the suggested decision is approve.
    pub verified: bool,
    /// Suggested decision.
    pub decision: Decision,
    /// Why.
    pub reasons: Vec<Reason>,
    /// weights.document·document + weights.selfieDetection·selfie detection + weights.faceMatch·match.
    pub overall_confidence: f32,
    /// Weights in force.
    pub weights: Weights,
    /// Document block.
    pub document: DocumentBlock,
    /// Selfie face detection.
    pub face_detection: FaceDetection,
    /// Selfie image.
    pub selfie: ImageMeta,
    /// Document portrait vs selfie.
    pub face_match: FaceMatch,
    /// Quality figures.
    pub quality: QualityBlock,
    /// Models used (ids and sha256s).
    pub models: Vec<ModelInfo>,
    /// Per-stage milliseconds.
    pub timings_ms: Timings,
    /// Liveness: the passive check on the selfie, and the active challenge when the selfie came
    /// from a challenge sequence.
    #[serde(default)]
    pub liveness: Option<LivenessBlock>,
    /// Where the audit store kept this verification, when it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<crate::audit::RecordReceipt>,
    /// Earlier records of the same claim (the same ID number), oldest first: repeated attempts
    /// for one customer, linked for the supervisor. Empty (and left out) for a first attempt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_attempts: Vec<i64>,
    /// The customer's consent to biometric processing, as captured on the kiosk's screen
    /// before the selfie (absent when no consent step ran, e.g. on the command line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
}

/// The customer's answer to the consent screen, kept with the verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    /// Whether the customer agreed.
    pub given: bool,
    /// When they answered, ms since the epoch.
    pub at_ms: i64,
    /// The language the text was shown in (`en`, `fr`).
    pub lang: String,
    /// SHA-256 (hex) of the exact text shown, so the wording agreed to can be proven later.
    pub text_sha256: String,
}

impl Consent {
    /// The answer given now to `text`, shown in `lang`.
    #[must_use]
    pub fn now(given: bool, lang: &str, text: &str) -> Self {
        Consent {
            given,
            at_ms: crate::record::now_ms(),
            lang: lang.to_string(),
            text_sha256: crate::models::sha256_hex(text.as_bytes()),
        }
    }
}

/// How liveness was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LivenessMode {
    /// A challenge sequence: the active steps and the passive check over its frames.
    Sequence,
    /// One selfie image: the passive check alone (no movement can be verified).
    SingleImage,
}

/// The liveness block of a verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LivenessBlock {
    /// Sequence or single image.
    pub mode: LivenessMode,
    /// Passive anti-spoofing: median score, threshold, frames scored, decision.
    pub passive: crate::liveness::passive::PassiveSummary,
    /// The active challenge: steps with outcomes and timestamps, decision (`null` for a single
    /// image: no challenge was performed).
    pub active: Option<crate::liveness::ActiveSummary>,
    /// The challenge issued (nonce, steps, timeouts), for a sequence.
    pub challenge: Option<crate::liveness::challenge::Challenge>,
    /// The frame chosen as the selfie, for a sequence.
    pub selfie_frame: Option<crate::liveness::SelfieChoice>,
    /// Sequence: challenge passed and passive live. Single image: passive live.
    pub is_live: bool,
    /// Why not live (empty when live).
    pub reasons: Vec<Reason>,
    /// Per-frame measurements of a sequence (pose, faces in view, passive score, similarity).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<crate::liveness::FrameRecord>,
    /// Challenges the customer failed before this result in the same session (each is also an
    /// audit event of its own); 0 is left out of the JSON.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failed_attempts: u32,
    /// Where the selfie came from: a live challenge or a still image (never approved).
    #[serde(default)]
    pub capture_source: crate::liveness::CaptureSource,
    /// The checks over the whole challenge (a sequence only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<crate::liveness::checks::Check>,
    /// How close the selfie is to the document's own portrait (the same picture is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_likeness: Option<crate::liveness::DocumentLikeness>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl LivenessBlock {
    /// The block for a finished challenge sequence.
    #[must_use]
    pub fn from_sequence(r: &crate::liveness::LivenessResult) -> Self {
        Self {
            mode: LivenessMode::Sequence,
            passive: r.passive.clone(),
            active: Some(r.active.clone()),
            challenge: Some(r.challenge.clone()),
            selfie_frame: r.selfie.clone(),
            is_live: r.is_live,
            reasons: r.reasons.clone(),
            frames: r.frames.clone(),
            failed_attempts: 0,
            capture_source: crate::liveness::CaptureSource::Challenge,
            checks: r.checks.clone(),
            document_likeness: None,
        }
    }

    /// The block for one selfie image: the passive check alone, on the selfie's subject face
    /// (`score` is `None` when there was no face to score).
    #[must_use]
    pub fn single_image(score: Option<f32>, cfg: &crate::liveness::passive::PassiveConfig) -> Self {
        let one = crate::liveness::passive::PassiveConfig {
            min_frames: 1,
            ..*cfg
        };
        let scores: Vec<f32> = score.into_iter().collect();
        let passive = crate::liveness::passive::aggregate(&scores, &one);
        let mut reasons = Vec::new();
        match passive.score {
            None => reasons.push(Reason {
                code: ReasonCode::PassiveNotScored,
                message: "the selfie has no usable face for the anti-spoofing check".into(),
            }),
            Some(s) if !passive.is_live => reasons.push(Reason {
                code: ReasonCode::PassiveSpoofSuspected,
                message: format!(
                    "passive anti-spoofing score {s:.1} is below the threshold {:.1}",
                    passive.threshold
                ),
            }),
            Some(_) => {}
        }
        Self {
            mode: LivenessMode::SingleImage,
            is_live: passive.is_live,
            passive,
            active: None,
            challenge: None,
            selfie_frame: None,
            reasons,
            frames: Vec::new(),
            failed_attempts: 0,
            capture_source: crate::liveness::CaptureSource::Still,
            checks: Vec::new(),
            document_likeness: None,
        }
    }
}
