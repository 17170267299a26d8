//! The suggested decision: overall confidence from the configured weights, and the reasons.

use crate::config::{DecisionPolicy, Weights};
use crate::face::FaceDetection;
use crate::result::{DocumentBlock, FaceMatch, QualityBlock};
use crate::verdict::{Decision, Reason, ReasonCode};

/// The reason given when nothing else is.
const ALL_PASSED: ReasonCode = ReasonCode::AllChecksPassed;

/// Drop "every check passed" once a later check has something to say.
pub(crate) fn drop_all_passed(reasons: &mut Vec<Reason>) {
    reasons.retain(|r| r.code != ALL_PASSED);
}

fn reason(code: impl Into<ReasonCode>, message: impl Into<String>) -> Reason {
    Reason::new(code, message)
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
        reasons.push(reason(ALL_PASSED, "every check passed"));
        (Decision::Approve, reasons)
    } else {
        (Decision::Refer, reasons)
    }
}

/// Fold the liveness check into a decision. A challenge sequence that is not live rejects the
/// case (someone other than the live customer may be in front of the camera); a single selfie
/// whose passive score is below the threshold is referred (the passive check alone is not
/// proof either way).
#[must_use]
pub fn apply_liveness(
    decision: Decision,
    reasons: &mut Vec<Reason>,
    liveness: &crate::result::LivenessBlock,
) -> Decision {
    use crate::result::LivenessMode;
    if liveness.is_live
        || (liveness.mode == LivenessMode::SingleImage && liveness.passive.score.is_none())
    {
        // Live, or no face to score: the selfie's own reasons already say so.
        return decision;
    }
    drop_all_passed(reasons);
    for r in &liveness.reasons {
        reasons.push(reason(r.code.clone(), format!("liveness: {}", r.message)));
    }
    match liveness.mode {
        LivenessMode::Sequence => Decision::Reject,
        LivenessMode::SingleImage => decision.max(Decision::Refer),
    }
}

/// Fold where the selfie came from into a decision: a selfie that is the document's own
/// picture (by embedding cosine or pixels) rejects; a still selfie (a file, an import) is at
/// best referred, never approved: only a live challenge can approve.
#[must_use]
pub fn apply_capture_source(
    decision: Decision,
    reasons: &mut Vec<Reason>,
    liveness: &crate::result::LivenessBlock,
) -> Decision {
    let mut decision = decision;
    if let Some(l) = liveness.document_likeness.filter(|l| l.same_picture) {
        drop_all_passed(reasons);
        reasons.push(reason(
            "selfie_is_document_portrait",
            format!(
                "the selfie is the document's own portrait (cosine {}, pixel similarity {}; \
                 limits {:.2} and {:.2}), not a picture of the customer taken now",
                l.cosine.map_or("-".into(), |c| format!("{c:.3}")),
                l.pixel_similarity.map_or("-".into(), |p| format!("{p:.3}")),
                l.max_cosine,
                l.max_pixel_similarity
            ),
        ));
        decision = Decision::Reject;
    }
    if liveness.capture_source == crate::liveness::CaptureSource::Still
        && decision == Decision::Approve
    {
        drop_all_passed(reasons);
        reasons.push(reason(
            "still_selfie",
            "the selfie is a still image, not a live challenge: a still is never approved \
             without a supervisor",
        ));
        decision = Decision::Refer;
    }
    decision
}

/// A challenge passed only after this many failed ones is referred to a supervisor.
pub const REFER_AFTER_FAILED_CHALLENGES: u32 = 2;

/// Fold the liveness challenges the customer failed earlier in the session into the result: a
/// still selfie used after a failed challenge, or a challenge passed only after
/// [`REFER_AFTER_FAILED_CHALLENGES`] failures, is referred to a supervisor. One failure before a
/// pass (a customer who misunderstood a prompt) is kept in the result without a referral.
pub fn apply_failed_attempts(result: &mut crate::result::VerificationResult, failed: u32) {
    use crate::result::LivenessMode;
    let Some(l) = result.liveness.as_mut() else {
        return;
    };
    l.failed_attempts = failed;
    if failed == 0 || result.decision == Decision::Reject {
        return;
    }
    let message = match l.mode {
        LivenessMode::SingleImage => format!(
            "liveness: the challenge failed {failed} time(s) and a still image was used instead"
        ),
        LivenessMode::Sequence if failed >= REFER_AFTER_FAILED_CHALLENGES => {
            format!("liveness: the challenge passed after {failed} failed attempts")
        }
        LivenessMode::Sequence => return,
    };
    drop_all_passed(&mut result.reasons);
    result.reasons.push(reason("liveness_retries", message));
    result.decision = result.decision.max(Decision::Refer);
    result.verified = result.decision == Decision::Approve;
}

/// Fold what was read from the document into a decision: an expired document rejects; no
/// document text, an invalid MRZ, a visual zone that disagrees with the MRZ, an invalid ID
/// number or an under-age holder refer the case to a supervisor.
#[must_use]
pub fn apply_document(
    decision: Decision,
    reasons: &mut Vec<Reason>,
    reading: Option<&crate::document::reader::DocumentReading>,
) -> Decision {
    apply_document_with(&DecisionPolicy::default(), decision, reasons, reading)
}

/// The flag an administrator may turn into a warning (`decision.syntheticDocumentWarns`).
pub const SYNTHETIC_DOCUMENT: &str = "document_synthetic";

/// [`apply_document`] under `policy`: with `syntheticDocumentWarns` on, a `document_synthetic`
/// flag is reported as the reason `document_synthetic_warning` and does not refer the case;
/// every other flag (screen recapture, print copy, barcode mismatch…) still refers it.
#[must_use]
pub fn apply_document_with(
    policy: &DecisionPolicy,
    decision: Decision,
    reasons: &mut Vec<Reason>,
    reading: Option<&crate::document::reader::DocumentReading>,
) -> Decision {
    let Some(r) = reading else {
        return decision;
    };
    let mut worst = decision;
    let before = reasons.len();
    if !r.found {
        reasons.push(reason(
            r.reason_code.as_deref().unwrap_or("no_document"),
            format!(
                "document: {}",
                r.reason.as_deref().unwrap_or("no document text was found")
            ),
        ));
        worst = worst.max(Decision::Refer);
    }
    let mut warnings = Vec::new();
    for flag in &r.assembled.flags {
        if flag.code == SYNTHETIC_DOCUMENT && policy.synthetic_document_warns {
            warnings.push(reason(
                "document_synthetic_warning",
                format!(
                    "document (warning only, decision.syntheticDocumentWarns is on): {}",
                    flag.message
                ),
            ));
            continue;
        }
        reasons.push(reason(flag.code, format!("document: {}", flag.message)));
        worst = worst.max(if flag.code == "expired" {
            Decision::Reject
        } else {
            Decision::Refer
        });
    }
    if reasons.len() > before {
        drop_all_passed(reasons);
    }
    reasons.extend(warnings);
    worst
}

/// Compare the ID number the customer claimed with the number read from the document (its key
/// number, else the document or personal number, whichever agrees best). The comparison is kept
/// in `document.idNumberMatch`; a mismatch refers the case, naming the differing positions.
pub fn check_claimed_id(
    result: &mut crate::result::VerificationResult,
    id_type: Option<&str>,
    claimed: Option<&str>,
) {
    use crate::document::idnumber::{IdType, compare_numbers};
    let Some(claimed) = claimed.map(str::trim).filter(|c| !c.is_empty()) else {
        return;
    };
    let Some(reading) = result.document.reading.as_ref().filter(|r| r.found) else {
        return;
    };
    let fields = &reading.assembled.fields;
    let key = reading.assembled.id_number.as_ref();
    let kind = id_type
        .and_then(IdType::from_name)
        .or_else(|| key.map(|k| k.id_type))
        .unwrap_or(IdType::Passport);
    // The field that holds a number of this type: a passport number is the document number
    // (never the MRZ's personal number); a national number is the key number, else the
    // personal number, else the document number. A match in any of them counts; a mismatch
    // is reported against the type's own field.
    let key_number = key.map(|k| k.normalized.as_str());
    let document_number = fields.document_number.as_ref().map(|f| f.value.as_str());
    let personal_number = fields.personal_number.as_ref().map(|f| f.value.as_str());
    let candidates: Vec<&str> = if kind == IdType::Passport {
        vec![document_number]
    } else {
        vec![key_number, personal_number, document_number]
    }
    .into_iter()
    .flatten()
    .collect();
    let reports: Vec<_> = candidates
        .iter()
        .map(|read| compare_numbers(kind, claimed, read, false))
        .collect();
    let Some(report) = reports
        .iter()
        .find(|r| !r.mismatch)
        .or_else(|| reports.first())
        .cloned()
    else {
        return;
    };
    if report.mismatch {
        let read = report.read.clone();
        drop_all_passed(&mut result.reasons);
        result.reasons.push(reason(
            "id_number_mismatch",
            format!(
                "the ID number entered ({}) differs from the one read from the document ({read}) at {} position(s)",
                report.entered,
                report.differences.len()
            ),
        ));
        result.decision = result.decision.max(Decision::Refer);
        result.verified = result.decision == Decision::Approve;
    }
    result.document.id_number_match = Some(report);
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

    fn passive() -> crate::liveness::passive::PassiveConfig {
        crate::liveness::passive::PassiveConfig::default()
    }

    #[test]
    fn a_single_selfie_below_the_passive_threshold_is_referred_not_approved() {
        let cfg = passive();
        let spoof = crate::result::LivenessBlock::single_image(Some(12.0), &cfg);
        assert!(!spoof.is_live);
        let mut reasons = vec![reason("all_checks_passed", "every check passed")];
        assert_eq!(
            apply_liveness(Decision::Approve, &mut reasons, &spoof),
            Decision::Refer
        );
        assert_eq!(reasons.len(), 1);
        assert_eq!(reasons[0].code, "passive_spoof_suspected");
        // A reject stays a reject.
        let mut reasons = Vec::new();
        assert_eq!(
            apply_liveness(Decision::Reject, &mut reasons, &spoof),
            Decision::Reject
        );
        // Live, or no face to score (the selfie's own reason covers it): unchanged.
        let live = crate::result::LivenessBlock::single_image(Some(97.0), &cfg);
        assert!(live.is_live && live.reasons.is_empty());
        let mut reasons = Vec::new();
        assert_eq!(
            apply_liveness(Decision::Approve, &mut reasons, &live),
            Decision::Approve
        );
        let unscored = crate::result::LivenessBlock::single_image(None, &cfg);
        assert_eq!(unscored.reasons[0].code, "passive_not_scored");
        let mut reasons = Vec::new();
        assert_eq!(
            apply_liveness(Decision::Refer, &mut reasons, &unscored),
            Decision::Refer
        );
        assert!(reasons.is_empty());
    }

    #[test]
    fn a_failed_challenge_rejects_with_its_reasons() {
        let cfg = passive();
        let mut block = crate::result::LivenessBlock::single_image(Some(99.0), &cfg);
        block.mode = crate::result::LivenessMode::Sequence;
        block.is_live = false;
        block.reasons = vec![reason("challenge_person_changed", "another person")];
        let mut reasons = vec![reason("all_checks_passed", "every check passed")];
        assert_eq!(
            apply_liveness(Decision::Approve, &mut reasons, &block),
            Decision::Reject
        );
        assert_eq!(reasons.len(), 1);
        assert_eq!(reasons[0].code, "challenge_person_changed");
        assert!(reasons[0].message.starts_with("liveness: "));
    }
}
