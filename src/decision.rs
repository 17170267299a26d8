//! The suggested decision: overall confidence from the configured weights, and the reasons.

use crate::config::{DecisionPolicy, Weights};
use crate::face::FaceDetection;
use crate::result::{Decision, DocumentBlock, FaceMatch, QualityBlock, Reason};

fn reason(code: &str, message: impl Into<String>) -> Reason {
    Reason {
        code: code.to_string(),
        message: message.into(),
    }
}

/// weights·(document, selfie detection, face match) confidences, 0–100, rounded to 0.01.
#[must_use]
pub fn overall_confidence(
    weights: &Weights,
    document: f32,
    selfie_detection: f32,
    face_match: f32,
) -> f32 {
    let v = weights.document * document
        + weights.selfie_detection * selfie_detection
        + weights.face_match * face_match;
    (v.clamp(0.0, 100.0) * 100.0).round() / 100.0
}

/// Decide approve / refer / reject with every reason that applies.
#[must_use]
pub fn decide(
    policy: &DecisionPolicy,
    overall: f32,
    document: &DocumentBlock,
    selfie: &FaceDetection,
    face_match: &FaceMatch,
    quality: &QualityBlock,
) -> (Decision, Vec<Reason>) {
    let mut reasons = Vec::new();
    if face_match.computed && face_match.outcome.confidence < policy.reject_match_below {
        reasons.push(reason(
            "face_mismatch",
            format!(
                "the selfie does not match the document portrait (confidence {:.1} of {:.1} needed)",
                face_match.outcome.confidence, face_match.outcome.threshold
            ),
        ));
        return (Decision::Reject, reasons);
    }
    if !document.portrait.usable {
        reasons.push(reason(
            document
                .portrait
                .reason_code
                .as_deref()
                .unwrap_or("no_portrait"),
            format!(
                "document: {}",
                document
                    .portrait
                    .reason
                    .as_deref()
                    .unwrap_or("portrait unusable")
            ),
        ));
    }
    if !selfie.usable {
        reasons.push(reason(
            selfie.reason_code.as_deref().unwrap_or("no_face"),
            format!(
                "selfie: {}",
                selfie.reason.as_deref().unwrap_or("face unusable")
            ),
        ));
    }
    if face_match.computed && !face_match.outcome.is_match {
        reasons.push(reason(
            "face_match_below_threshold",
            format!(
                "face match confidence {:.1} is below the threshold {:.1} (level {} of {} needed)",
                face_match.outcome.confidence,
                face_match.outcome.threshold,
                face_match.outcome.match_level,
                face_match.outcome.minimum_match_level
            ),
        ));
    }
    let (lo, hi) = policy.brightness_range;
    for (which, sharp, bright) in [
        (
            "document portrait",
            quality.id_face_sharpness,
            quality.id_face_brightness,
        ),
        (
            "selfie",
            quality.selfie_face_sharpness,
            quality.selfie_face_brightness,
        ),
    ] {
        if let Some(s) = sharp.filter(|s| *s < policy.min_sharpness) {
            reasons.push(reason(
                "blurry_face",
                format!(
                    "{which} face is blurry (sharpness {s:.0} < {:.0})",
                    policy.min_sharpness
                ),
            ));
        }
        if let Some(b) = bright.filter(|b| *b < lo || *b > hi) {
            reasons.push(reason(
                "bad_lighting",
                format!("{which} face brightness {b:.0} is outside {lo:.0}–{hi:.0}"),
            ));
        }
    }
    if reasons.is_empty() && overall < policy.approve_at {
        reasons.push(reason(
            "low_overall_confidence",
            format!(
                "overall confidence {overall:.1} is below {:.1}",
                policy.approve_at
            ),
        ));
    }
    if reasons.is_empty() {
        reasons.push(reason("all_checks_passed", "every check passed"));
        (Decision::Approve, reasons)
    } else {
        (Decision::Refer, reasons)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overall_uses_the_weights() {
        let w = Weights::default();
        assert!((overall_confidence(&w, 100.0, 100.0, 100.0) - 100.0).abs() < 1e-3);
        assert!((overall_confidence(&w, 50.0, 100.0, 0.0) - 40.0).abs() < 1e-3);
        let custom = Weights {
            document: 0.0,
            selfie_detection: 0.0,
            face_match: 1.0,
        };
        assert!((overall_confidence(&custom, 0.0, 0.0, 73.0) - 73.0).abs() < 1e-3);
    }
}
