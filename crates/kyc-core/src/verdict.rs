//! The decision and its reasons: one `Decision` for the pipeline's suggestion, the operator's
//! choice and the audit store's columns, and the reason a check gives. A leaf module: it depends
//! on nothing else in the crate, so every other module may use it.

use serde::{Deserialize, Serialize};

/// A verification's outcome, ordered by severity (approve < refer < reject < abandoned), so that
/// combining checks is `max`. Serialised in lower case (`"approve"`, …), in results and in the
/// store alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Every check passed with enough confidence; the customer is accepted.
    Approve,
    /// A person must look: something failed or is uncertain (the supervisor queue).
    Refer,
    /// The checks say this is not the document holder; the customer is refused.
    Reject,
    /// The verification ended without a decision (log-out, idle timeout, next customer, or a
    /// crash found at the next start). Never a pipeline suggestion.
    Abandoned,
}

/// A reason behind a decision: a stable code and words for the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    /// Stable code (`face_mismatch`, `expired`, …), the same string in every JSON.
    pub code: ReasonCode,
    /// Words for the agent.
    pub message: String,
}

impl Reason {
    /// A reason with `code` and `message`.
    #[must_use]
    pub fn new(code: impl Into<ReasonCode>, message: impl Into<String>) -> Self {
        Reason {
            code: code.into(),
            message: message.into(),
        }
    }
}

macro_rules! reason_codes {
    ($($(#[$doc:meta])* $v:ident => $s:literal,)*) => {
        /// A reason's stable code. The codes the decision, record and service give are named;
        /// codes other modules give (document flags, liveness checks) are kept as `Other` with
        /// their text, so every code serialises to the same JSON string as before.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ReasonCode {
            $($(#[$doc])* $v,)*
            /// A code named by another module (a document flag, a liveness check, …).
            Other(String),
        }

        impl ReasonCode {
            /// The code as it appears in JSON.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$v => $s,)*
                    Self::Other(s) => s.as_str(),
                }
            }

            /// The code for a JSON string (a named variant when there is one).
            #[must_use]
            pub fn parse(s: &str) -> Self {
                match s {
                    $($s => Self::$v,)*
                    other => Self::Other(other.to_string()),
                }
            }
        }
    };
}

reason_codes! {
    /// Every check passed.
    AllChecksPassed => "all_checks_passed",
    /// The selfie is clearly another person.
    FaceMismatch => "face_mismatch",
    /// The face match is below the threshold.
    FaceMatchBelowThreshold => "face_match_below_threshold",
    /// No portrait on the document.
    NoPortrait => "no_portrait",
    /// No face in the selfie.
    NoFace => "no_face",
    /// A face is blurry.
    BlurryFace => "blurry_face",
    /// A face is too dark or too bright.
    BadLighting => "bad_lighting",
    /// Everything passed but the overall confidence is too low.
    LowOverallConfidence => "low_overall_confidence",
    /// No document text was found.
    NoDocument => "no_document",
    /// Liveness challenges failed before this result.
    LivenessRetries => "liveness_retries",
    /// The claimed ID number differs from the one read.
    IdNumberMismatch => "id_number_mismatch",
    /// The face is enrolled under another ID number.
    DuplicateFace => "duplicate_face",
    /// The ID number is enrolled with another face.
    IdNumberOtherFace => "id_number_other_face",
    /// The single selfie has no face to score for anti-spoofing.
    PassiveNotScored => "passive_not_scored",
    /// The passive anti-spoofing score is below the threshold.
    PassiveSpoofSuspected => "passive_spoof_suspected",
    /// The verification ended without a decision.
    Abandoned => "abandoned",
}

impl std::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for ReasonCode {
    fn from(s: &str) -> Self {
        Self::parse(s)
    }
}

impl From<String> for ReasonCode {
    fn from(s: String) -> Self {
        Self::parse(&s)
    }
}

impl PartialEq<str> for ReasonCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ReasonCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for ReasonCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ReasonCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::parse(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_decisions_keep_their_json_strings() {
        let r = Reason::new(ReasonCode::FaceMismatch, "m");
        let json = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(json["code"], "face_mismatch");
        let other: Reason = serde_json::from_value(serde_json::json!({
            "code": "expired", "message": "x"
        }))
        .unwrap_or_else(|_| Reason::new("bad", ""));
        assert_eq!(other.code, ReasonCode::Other("expired".into()));
        assert_eq!(other.code, "expired");
        let back: Reason = serde_json::from_value(json).unwrap_or_else(|_| Reason::new("bad", ""));
        assert_eq!(back.code, ReasonCode::FaceMismatch);
        for (d, s) in [
            (Decision::Approve, "approve"),
            (Decision::Refer, "refer"),
            (Decision::Reject, "reject"),
            (Decision::Abandoned, "abandoned"),
        ] {
            assert_eq!(serde_json::to_value(d).unwrap_or_default(), s);
        }
        assert!(Decision::Approve < Decision::Refer && Decision::Refer < Decision::Reject);
    }
}
