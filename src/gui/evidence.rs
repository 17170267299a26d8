//! The whole evidence of a case, as the supervisor reviews it: document front and back, every
//! field with its source and any correction or mismatch, the MRZ lines and each check digit,
//! `documentType` and layout, the face match with its level's meaning, each liveness step and
//! every whole-challenge check, the capture source, earlier attempts for the same claim,
//! duplicate candidates side by side with their images and score, recapture flags and consent.
//!
//! [`CaseView`] is a plain struct built from a stored record ([`CaseView::from_record`]: the
//! record's result JSON, corrections and duplicate findings, plus decoded images and the
//! summaries of the linked records), so any review front end — the kiosk's queue or a central
//! one — builds the same struct and draws it with [`case_evidence`]. Drawing takes no state:
//! textures are cached in egui's memory under the case's key.

use std::sync::Arc;

use eframe::egui::{self, Color32, RichText, TextureHandle, Vec2};
use kyc_core::audit::{self, FieldCorrection, RecordDetail, RecordSummary};
use kyc_core::face::matching::MatchPolicy;
use serde_json::Value;

use super::evidence_text::{EvidenceText, check_words, text};
use super::strings::Lang;

/// Green for a pass.
const OK: Color32 = Color32::from_rgb(40, 150, 70);
/// Red for a failure.
const BAD: Color32 = Color32::from_rgb(205, 50, 50);
/// Amber for something to look at.
const LOOK: Color32 = Color32::from_rgb(200, 130, 0);

/// An image of the case, shared cheaply between frames and views.
pub type CaseImage = Arc<egui::ColorImage>;

/// The images a case shows (each `None` when not stored, purged or erased).
#[derive(Clone, Default)]
pub struct CaseImages {
    /// The document's front.
    pub front: Option<CaseImage>,
    /// The document's back.
    pub back: Option<CaseImage>,
    /// The holder's portrait cropped from the document.
    pub portrait: Option<CaseImage>,
    /// The selfie.
    pub selfie: Option<CaseImage>,
}

/// Where a field's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldSource {
    /// The machine-readable zone.
    Mrz,
    /// The printed (visual) zone.
    Printed,
    /// A PDF417 or QR barcode.
    Barcode,
    /// Typed in at the kiosk (the claimed number).
    Entered,
}

/// One field of the case.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRow {
    /// The field's JSON name (`documentNumber`, `fullName`, …).
    pub name: String,
    /// The value in force (corrected when an agent corrected it).
    pub value: String,
    /// Where the value was read.
    pub source: FieldSource,
    /// 0–100, when read.
    pub confidence: Option<f32>,
    /// The agent's correction, when there was one.
    pub correction: Option<FieldCorrection>,
    /// A disagreement to look at (the printed zone against the MRZ, the number entered against
    /// the number read), in words.
    pub mismatch: Option<String>,
}

/// One MRZ check digit.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckDigit {
    /// Which one (`documentNumber`, `birthDate`, `expiryDate`, `personalNumber`, `composite`).
    pub name: String,
    /// The digit computed from the characters it covers.
    pub expected: Option<String>,
    /// The digit printed.
    pub found: String,
    /// They agree.
    pub ok: bool,
}

/// The machine-readable zone as read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MrzEvidence {
    /// `TD1`, `TD2`, `TD3`, `MRV-A`, `MRV-B`.
    pub format: String,
    /// The lines after repair.
    pub lines: Vec<String>,
    /// Every check digit.
    pub checks: Vec<CheckDigit>,
    /// Every check digit passes.
    pub valid: bool,
    /// Characters the reader repaired.
    pub repairs: usize,
}

/// The face match.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaceEvidence {
    /// Both faces were embedded and compared.
    pub computed: bool,
    /// Why not, when not.
    pub reason: Option<String>,
    /// Cosine similarity.
    pub cosine: f32,
    /// Confidence 0–100.
    pub confidence: f32,
    /// Level reached (0: below level 1).
    pub level: u8,
    /// Level required.
    pub minimum: u8,
    /// The false-match rate the level reached stands for (`None` below level 1).
    pub level_fmr: Option<f64>,
    /// Whether the pair reached the required level.
    pub is_match: bool,
}

/// One challenge step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRow {
    /// The step (`turnLeft`, `smile`, …).
    pub step: String,
    /// `passed`, `failed`, `notReached`, `inProgress`.
    pub status: String,
    /// Largest measure seen (degrees, ratio or score, by step).
    pub peak: Option<f32>,
}

/// One whole-challenge check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    /// Its name (`passive`, `movementOrder`, `temporal`, `frameRate`, `planarMotion`,
    /// `outlineMotion`, `staticBackground`).
    pub check: String,
    /// Passed.
    pub passed: bool,
    /// The value measured.
    pub value: Option<f32>,
    /// The limit it was held to.
    pub limit: Option<f32>,
    /// What was measured, in words.
    pub detail: String,
}

/// The liveness evidence.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LivenessEvidence {
    /// The selfie came from a live challenge (else a still image, never approved).
    pub live_capture: bool,
    /// Judged live.
    pub is_live: bool,
    /// Passive score (median over the frames), and its threshold.
    pub passive: Option<(f32, f32)>,
    /// The challenge's steps.
    pub steps: Vec<StepRow>,
    /// The checks over the whole challenge.
    pub checks: Vec<CheckRow>,
    /// Why not live.
    pub reasons: Vec<String>,
    /// Challenges failed before this result in the same session.
    pub failed_before: u32,
    /// The selfie is the document's own picture.
    pub same_picture: bool,
}

/// An earlier record of the same claim.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRow {
    /// Record id.
    pub id: i64,
    /// When it was written (ms since the epoch), when it could be read.
    pub created_ms: Option<i64>,
    /// Its outcome now (`approve`, `refer`, `reject`, `abandoned`), when it could be read.
    pub decision: Option<audit::Decision>,
    /// Its reasons, or why it could not be read.
    pub detail: String,
}

/// A record the duplicate search found.
#[derive(Clone)]
pub struct DuplicateCandidate {
    /// Record id.
    pub id: i64,
    /// How it resembles this case (`same_face_other_id`, `same_id_other_face`, `similar_face`).
    pub kind: &'static str,
    /// Cosine of the two faces, when the search measured one.
    pub score: Option<f32>,
    /// Its selfie (or portrait).
    pub image: Option<CaseImage>,
    /// Its indexed columns, when readable.
    pub summary: Option<RecordSummary>,
}

/// Everything a reviewer sees of one case; plain data, built by [`CaseView::from_record`].
#[derive(Clone, Default)]
pub struct CaseView {
    /// A key unique to the case (texture cache and widget ids), e.g. `record-12`.
    pub key: String,
    /// Record id, when recorded.
    pub id: Option<i64>,
    /// The indexed columns, when recorded.
    pub summary: Option<RecordSummary>,
    /// The decision the checks suggested.
    pub suggested: String,
    /// Reasons (as recorded, the operator's first).
    pub reasons: Vec<String>,
    /// The images.
    pub images: CaseImages,
    /// `documentType` as read.
    pub document_type: Option<String>,
    /// The card layout recognised.
    pub layout: Option<String>,
    /// Why no document was read, when none was.
    pub not_read: Option<String>,
    /// Every field.
    pub fields: Vec<FieldRow>,
    /// The MRZ.
    pub mrz: Option<MrzEvidence>,
    /// Flags for the reviewer (document, recapture / synthetic, ID-number checks), `code: text`.
    pub flags: Vec<(String, String)>,
    /// Barcodes, one line each.
    pub barcodes: Vec<String>,
    /// Face match.
    pub face: FaceEvidence,
    /// Liveness.
    pub liveness: Option<LivenessEvidence>,
    /// Earlier attempts for the same claim, oldest first.
    pub attempts: Vec<AttemptRow>,
    /// Duplicate candidates.
    pub duplicates: Vec<DuplicateCandidate>,
    /// Consent: given, when, language.
    pub consent: Option<(bool, i64, String)>,
    /// Supervisor actions, one line each.
    pub actions: Vec<String>,
}

fn f32_of(v: &Value) -> Option<f32> {
    v.as_f64().map(|x| x as f32)
}

fn str_of(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// The order fields are shown in (others follow in their JSON order).
const FIELD_ORDER: [&str; 12] = [
    "documentType",
    "documentNumber",
    "fullName",
    "lastName",
    "firstName",
    "dateOfBirth",
    "gender",
    "nationality",
    "issuingCountry",
    "expirationDate",
    "personalNumber",
    "address",
];

/// The barcode elements shown as fields, with the field they stand beside.
const BARCODE_FIELDS: [(&str, &str); 6] = [
    ("documentNumber", "documentNumber"),
    ("lastName", "lastName"),
    ("firstName", "firstName"),
    ("dateOfBirth", "dateOfBirth"),
    ("expirationDate", "expirationDate"),
    ("gender", "gender"),
];

/// The fields of a reading JSON, corrections and cross-checks applied.
fn fields_of(reading: &Value, corrections: &[FieldCorrection]) -> Vec<FieldRow> {
    let mut rows = Vec::new();
    let Some(map) = reading["fields"].as_object() else {
        return rows;
    };
    let mut names: Vec<&String> = map.keys().collect();
    names.sort_by_key(|n| {
        FIELD_ORDER
            .iter()
            .position(|o| o == n)
            .unwrap_or(FIELD_ORDER.len())
    });
    for name in names {
        let f = &map[name.as_str()];
        let Some(read) = f["value"].as_str() else {
            continue;
        };
        let correction = corrections.iter().rev().find(|c| &c.field == name).cloned();
        let mismatch = reading["crossChecks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["field"].as_str() == Some(name) && c["agree"] == Value::Bool(false))
            .map(|c| {
                format!(
                    "MRZ {} / {}",
                    c["mrz"].as_str().unwrap_or(""),
                    c["visual"].as_str().unwrap_or("")
                )
            });
        rows.push(FieldRow {
            name: name.clone(),
            value: correction
                .as_ref()
                .map_or_else(|| read.to_string(), |c| c.after.clone()),
            source: if f["source"].as_str() == Some("mrz") {
                FieldSource::Mrz
            } else {
                FieldSource::Printed
            },
            confidence: f32_of(&f["confidence"]),
            correction,
            mismatch,
        });
    }
    for code in reading["barcodes"].as_array().into_iter().flatten() {
        let aamva = &code["aamva"];
        if !aamva.is_object() {
            continue;
        }
        for (element, field) in BARCODE_FIELDS {
            if let Some(v) = aamva[element].as_str() {
                rows.push(FieldRow {
                    name: field.to_string(),
                    value: v.to_string(),
                    source: FieldSource::Barcode,
                    confidence: None,
                    correction: None,
                    mismatch: None,
                });
            }
        }
    }
    rows
}

fn mrz_of(m: &Value) -> Option<MrzEvidence> {
    if !m.is_object() {
        return None;
    }
    let lines = m["corrected"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(str_of)
        .collect();
    let checks = m["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| CheckDigit {
            name: c["name"].as_str().unwrap_or("?").to_string(),
            expected: str_of(&c["expected"]),
            found: c["found"].as_str().unwrap_or("?").to_string(),
            ok: c["ok"].as_bool().unwrap_or(false),
        })
        .collect();
    Some(MrzEvidence {
        format: m["format"].as_str().unwrap_or("?").to_string(),
        lines,
        checks,
        valid: m["valid"].as_bool().unwrap_or(false),
        repairs: m["repairs"].as_array().map_or(0, Vec::len),
    })
}

fn flags_of(reading: &Value, result: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for f in reading["flags"].as_array().into_iter().flatten() {
        out.push((
            f["code"].as_str().unwrap_or("flag").to_string(),
            f["message"].as_str().unwrap_or("").to_string(),
        ));
    }
    for code in reading["recapture"]["flags"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(code) = code.as_str()
            && !out.iter().any(|(c, _)| c == code)
        {
            out.push((code.to_string(), String::new()));
        }
    }
    let back = &reading["back"];
    if back.is_object() && back["quality"]["acceptable"] == Value::Bool(false) {
        let why: Vec<String> = back["quality"]["reasons"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(str_of)
            .collect();
        out.push(("back_side_quality".into(), why.join(", ")));
    }
    if result["document"]["idNumberMatch"]["mismatch"] == Value::Bool(true) {
        let m = &result["document"]["idNumberMatch"];
        out.push((
            "id_number_mismatch".into(),
            format!(
                "{} / {}",
                m["entered"].as_str().unwrap_or(""),
                m["read"].as_str().unwrap_or("")
            ),
        ));
    }
    out
}

fn barcodes_of(reading: &Value) -> Vec<String> {
    reading["barcodes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            format!(
                "{} {} ({}, {} characters)",
                b["side"].as_str().unwrap_or("?"),
                b["format"].as_str().unwrap_or("?"),
                b["payload"].as_str().unwrap_or("?"),
                b["length"].as_u64().unwrap_or(0)
            )
        })
        .collect()
}

fn face_of(fm: &Value, policy: &MatchPolicy) -> FaceEvidence {
    let level = fm["matchLevel"].as_u64().unwrap_or(0).min(255) as u8;
    FaceEvidence {
        computed: fm["computed"].as_bool().unwrap_or(false),
        reason: str_of(&fm["reason"]),
        cosine: f32_of(&fm["cosine"]).unwrap_or(0.0),
        confidence: f32_of(&fm["confidence"]).unwrap_or(0.0),
        level,
        minimum: fm["minimumMatchLevel"]
            .as_u64()
            .unwrap_or(u64::from(policy.minimum_level))
            .min(255) as u8,
        level_fmr: policy
            .levels
            .iter()
            .find(|l| l.level == level)
            .map(|l| l.false_match_rate),
        is_match: fm["isMatch"].as_bool().unwrap_or(false),
    }
}

impl LivenessEvidence {
    /// From a result's `liveness` JSON block (`None` when there is none).
    #[must_use]
    pub fn from_json(l: &Value) -> Option<Self> {
        if !l.is_object() {
            return None;
        }
        let passive = &l["passive"];
        let steps = l["active"]["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| StepRow {
                step: s["step"].as_str().unwrap_or("?").to_string(),
                status: s["status"].as_str().unwrap_or("?").to_string(),
                peak: f32_of(&s["peak"]),
            })
            .collect();
        let checks = l["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| CheckRow {
                check: c["check"].as_str().unwrap_or("?").to_string(),
                passed: c["passed"].as_bool().unwrap_or(false),
                value: f32_of(&c["value"]),
                limit: f32_of(&c["limit"]),
                detail: c["detail"].as_str().unwrap_or("").to_string(),
            })
            .collect();
        Some(LivenessEvidence {
            live_capture: l["captureSource"].as_str() == Some("challenge"),
            is_live: l["isLive"].as_bool().unwrap_or(false),
            passive: f32_of(&passive["score"])
                .map(|s| (s, f32_of(&passive["threshold"]).unwrap_or(0.0))),
            steps,
            checks,
            reasons: l["reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| str_of(&r["message"]))
                .collect(),
            failed_before: l["failedAttempts"]
                .as_u64()
                .unwrap_or(0)
                .min(u64::from(u32::MAX)) as u32,
            same_picture: l["documentLikeness"]["samePicture"] == Value::Bool(true),
        })
    }

    /// From a verification result's liveness block (the result screen).
    #[must_use]
    pub fn from_block(b: &kyc_core::result::LivenessBlock) -> Self {
        LivenessEvidence {
            live_capture: b.capture_source == kyc_core::liveness::CaptureSource::Challenge,
            is_live: b.is_live,
            passive: b.passive.score.map(|s| (s, b.passive.threshold)),
            steps: b
                .active
                .as_ref()
                .map_or_else(Vec::new, |a| step_rows(&a.steps)),
            checks: check_rows(&b.checks),
            reasons: b.reasons.iter().map(|r| r.message.clone()).collect(),
            failed_before: b.failed_attempts,
            same_picture: b.document_likeness.is_some_and(|d| d.same_picture),
        }
    }

    /// From a finished challenge (the selfie screen, before anything is recorded).
    #[must_use]
    pub fn from_challenge(r: &kyc_core::liveness::LivenessResult) -> Self {
        LivenessEvidence {
            live_capture: true,
            is_live: r.is_live,
            passive: r.passive.score.map(|s| (s, r.passive.threshold)),
            steps: step_rows(&r.active.steps),
            checks: check_rows(&r.checks),
            reasons: r.reasons.iter().map(|r| r.message.clone()).collect(),
            failed_before: 0,
            same_picture: false,
        }
    }
}

fn step_rows(steps: &[kyc_core::liveness::challenge::StepOutcome]) -> Vec<StepRow> {
    use kyc_core::liveness::challenge::StepStatus;
    steps
        .iter()
        .map(|s| StepRow {
            step: s.step.name().to_string(),
            status: match s.status {
                StepStatus::Passed => "passed",
                StepStatus::Failed => "failed",
                StepStatus::InProgress => "inProgress",
                StepStatus::NotReached => "notReached",
            }
            .to_string(),
            peak: s.peak,
        })
        .collect()
}

fn check_rows(checks: &[kyc_core::liveness::checks::Check]) -> Vec<CheckRow> {
    checks
        .iter()
        .map(|c| CheckRow {
            check: c.check.clone(),
            passed: c.passed,
            value: c.value,
            limit: c.limit,
            detail: c.detail.clone(),
        })
        .collect()
}

impl CaseView {
    /// The case from a stored record: its result JSON (fields, MRZ, face match, liveness,
    /// consent, earlier attempts), corrections, duplicate findings and supervisor actions,
    /// with `images` decoded from the store, `attempts` the summaries of the earlier attempts
    /// the result links (ids missing from it are shown as not readable), and `candidates` the
    /// duplicate candidates with their images.
    #[must_use]
    pub fn from_record(
        detail: &RecordDetail,
        images: CaseImages,
        attempts: &[RecordSummary],
        candidates: Vec<DuplicateCandidate>,
    ) -> Self {
        let r = &detail.result;
        let policy = serde_json::from_value::<MatchPolicy>(detail.models["matching"].clone())
            .unwrap_or_default();
        let reading = &r["document"]["reading"];
        let mut fields = fields_of(reading, &detail.corrections);
        // Corrections of fields the reading did not have (typed in by the agent).
        for c in &detail.corrections {
            if !fields.iter().any(|f| f.name == c.field) {
                fields.push(FieldRow {
                    name: c.field.clone(),
                    value: c.after.clone(),
                    source: FieldSource::Entered,
                    confidence: None,
                    correction: Some(c.clone()),
                    mismatch: None,
                });
            }
        }
        if let Some(n) = &detail.summary.claimed_id_number {
            let m = &r["document"]["idNumberMatch"];
            fields.push(FieldRow {
                name: "claimedIdNumber".into(),
                value: n.clone(),
                source: FieldSource::Entered,
                confidence: None,
                correction: None,
                mismatch: (m["mismatch"] == Value::Bool(true))
                    .then(|| m["read"].as_str().unwrap_or("").to_string()),
            });
        }
        let attempt_rows = r["previousAttempts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
            .map(|id| match attempts.iter().find(|a| a.id == id) {
                Some(a) => AttemptRow {
                    id,
                    created_ms: Some(a.created_ms),
                    decision: Some(a.current_decision),
                    detail: a.decision_reason.clone(),
                },
                None => AttemptRow {
                    id,
                    created_ms: None,
                    decision: None,
                    detail: "not readable".into(),
                },
            })
            .collect();
        let consent = &r["consent"];
        CaseView {
            key: format!("record-{}", detail.summary.id),
            id: Some(detail.summary.id),
            summary: Some(detail.summary.clone()),
            suggested: r["decision"].as_str().unwrap_or("?").to_string(),
            reasons: detail
                .summary
                .decision_reason
                .split("; ")
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect(),
            images,
            document_type: str_of(&reading["fields"]["documentType"]["value"]),
            layout: str_of(&reading["layout"]),
            not_read: (reading["found"] == Value::Bool(false)).then(|| {
                reading["reason"]
                    .as_str()
                    .unwrap_or("no document text")
                    .to_string()
            }),
            fields,
            mrz: mrz_of(&reading["mrz"]),
            flags: flags_of(reading, r),
            barcodes: barcodes_of(reading),
            face: face_of(&r["faceMatch"], &policy),
            liveness: LivenessEvidence::from_json(&r["liveness"]),
            attempts: attempt_rows,
            duplicates: candidates,
            consent: consent.is_object().then(|| {
                (
                    consent["given"].as_bool().unwrap_or(false),
                    consent["atMs"].as_i64().unwrap_or(0),
                    consent["lang"].as_str().unwrap_or("").to_string(),
                )
            }),
            actions: detail
                .supervisor_actions
                .iter()
                .map(|a| {
                    format!(
                        "{} — {} {}{}: {}",
                        utc(a.acted_ms),
                        a.supervisor,
                        a.action,
                        a.decision.map_or_else(String::new, |d| format!(": {d}")),
                        a.note
                    )
                })
                .collect(),
        }
    }

    /// The ids of the duplicate candidates a record's findings name, each with how it resembles
    /// the case and the cosine the search measured, for the loader to fetch.
    #[must_use]
    pub fn candidate_ids(dups: &audit::DuplicateReport) -> Vec<(i64, &'static str, Option<f32>)> {
        let score = |id: i64| {
            dups.matches
                .iter()
                .find(|m| m.verification_id == id)
                .map(|m| m.score)
        };
        let mut out: Vec<(i64, &'static str, Option<f32>)> = Vec::new();
        for &id in &dups.same_face_different_id {
            out.push((id, "same_face_other_id", score(id)));
        }
        for &id in &dups.same_id_different_face {
            if !out.iter().any(|(x, _, _)| *x == id) {
                out.push((id, "same_id_other_face", score(id)));
            }
        }
        for m in &dups.matches {
            if !out.iter().any(|(x, _, _)| *x == m.verification_id) {
                out.push((m.verification_id, "similar_face", Some(m.score)));
            }
        }
        out
    }
}

/// Most earlier attempts and duplicate candidates loaded with a case.
pub const MAX_LINKED: usize = 8;

/// Load a stored record's whole case from the store as `by` sees it: the record, its images
/// (decoded with `limits`, downscaled for the screen), the summaries of the earlier attempts
/// it links and the duplicate candidates with their selfies. A linked record `by` may not read
/// is shown as not readable, an image that does not decode as absent.
///
/// # Errors
/// The record itself cannot be read.
pub fn load_case(
    store: &audit::AuditStore,
    by: &audit::UserSession,
    id: i64,
    limits: &kyc_core::imaging::ImageLimits,
) -> Result<(RecordDetail, CaseView), audit::AuditError> {
    let detail = store.get_record(by, id)?;
    let image = |rid: i64, kinds: &[audit::ImageKind], stored: &[audit::ImageKind]| {
        kinds
            .iter()
            .filter(|k| stored.contains(k))
            .find_map(|&kind| {
                let bytes = store.load_image(by, rid, kind).ok()?;
                let decoded = kyc_core::imaging::decode_bytes(
                    &bytes,
                    std::path::Path::new(kind.as_str()),
                    limits,
                )
                .ok()?;
                Some(Arc::new(super::capture::preview_of(&decoded.rgb)))
            })
    };
    use audit::ImageKind as K;
    let images = CaseImages {
        front: image(id, &[K::DocumentFront], &detail.images),
        back: image(id, &[K::DocumentBack], &detail.images),
        portrait: image(id, &[K::Portrait], &detail.images),
        selfie: image(id, &[K::Selfie], &detail.images),
    };
    let attempts: Vec<RecordSummary> = detail.result["previousAttempts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_i64)
        .take(MAX_LINKED)
        .filter_map(|a| store.get_record(by, a).ok().map(|d| d.summary))
        .collect();
    let candidates = CaseView::candidate_ids(&detail.duplicates)
        .into_iter()
        .take(MAX_LINKED)
        .map(|(cid, kind, score)| {
            let other = store.get_record(by, cid).ok();
            let image = other
                .as_ref()
                .and_then(|o| image(cid, &[K::Selfie, K::Portrait], &o.images));
            DuplicateCandidate {
                id: cid,
                kind,
                score,
                image,
                summary: other.map(|o| o.summary),
            }
        })
        .collect();
    let case = CaseView::from_record(&detail, images, &attempts, candidates);
    Ok((detail, case))
}

/// `YYYY-MM-DD HH:MM UTC`.
fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let in_day = secs.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02} UTC",
        kyc_core::health::date_of_secs(secs),
        in_day / 3600,
        (in_day % 3600) / 60
    )
}

/// The texture of `img`, uploaded once per case and kind and kept in egui's memory.
fn texture(ui: &egui::Ui, key: &str, img: &CaseImage) -> TextureHandle {
    let id = egui::Id::unique(("case-texture", key));
    if let Some(t) = ui.ctx().data(|d| d.get_temp::<TextureHandle>(id)) {
        return t;
    }
    let t = ui
        .ctx()
        .load_texture(key, (**img).clone(), egui::TextureOptions::LINEAR);
    ui.ctx().data_mut(|d| d.insert_temp(id, t.clone()));
    t
}

/// An image scaled to fit `max`, with its caption above.
fn captioned(
    ui: &mut egui::Ui,
    t: &EvidenceText,
    key: &str,
    caption: &str,
    img: Option<&CaseImage>,
    max: Vec2,
) {
    ui.vertical(|ui| {
        ui.label(RichText::new(caption).strong());
        match img {
            Some(img) => {
                let tex = texture(ui, key, img);
                let size = tex.size_vec2();
                let scale = (max.x / size.x).min(max.y / size.y).min(1.0);
                ui.image((tex.id(), size * scale));
            }
            None => {
                ui.label(RichText::new(t.no_image).italics());
            }
        }
    });
}

fn pass_fail(ui: &mut egui::Ui, t: &EvidenceText, ok: bool) {
    if ok {
        ui.label(RichText::new(t.pass).color(OK));
    } else {
        ui.label(RichText::new(t.fail).strong().color(BAD));
    }
}

fn heading(ui: &mut egui::Ui, text: &str) {
    ui.add_space(6.0);
    ui.label(RichText::new(text).size(18.0).strong());
}

fn source_word(t: &EvidenceText, s: FieldSource) -> &'static str {
    match s {
        FieldSource::Mrz => t.src_mrz,
        FieldSource::Printed => t.src_printed,
        FieldSource::Barcode => t.src_barcode,
        FieldSource::Entered => t.src_entered,
    }
}

fn decision_color(d: &str) -> Color32 {
    match d {
        "approve" => OK,
        "reject" => BAD,
        _ => LOOK,
    }
}

/// A false-match rate as "1 in N".
fn one_in(fmr: f64) -> String {
    if fmr <= 0.0 {
        return "–".into();
    }
    let n = (1.0 / fmr).round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The case's whole evidence, in one vertical list that scrolls inside the space it is given
/// (the caller keeps its action buttons outside it, so they stay visible).
pub fn case_evidence(ui: &mut egui::Ui, lang: Lang, case: &CaseView) {
    let t = text(lang);
    egui::ScrollArea::vertical()
        .id_salt(("case_evidence", &case.key))
        .auto_shrink([false, false])
        .max_height(ui.available_height())
        .show(ui, |ui| {
            ui.set_max_width(ui.available_width());
            summary_section(ui, t, case);
            images_section(ui, t, case);
            reasons_section(ui, t, case);
            document_section(ui, t, case);
            face_section(ui, t, &case.face);
            if let Some(l) = &case.liveness {
                liveness_section(ui, lang, l, true);
            }
            attempts_section(ui, t, case);
            duplicates_section(ui, t, case);
            consent_section(ui, t, case);
        });
}

fn summary_section(ui: &mut egui::Ui, t: &EvidenceText, case: &CaseView) {
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(format!("{}:", t.suggested)).strong());
        ui.label(
            RichText::new(&case.suggested)
                .strong()
                .color(decision_color(&case.suggested)),
        );
        if let Some(s) = &case.summary {
            ui.label(RichText::new(format!("   {}:", t.current)).strong());
            ui.label(
                RichText::new(format!("{} ({})", s.current_decision, s.review_status))
                    .strong()
                    .color(decision_color(s.current_decision.as_str())),
            );
        }
    });
    if let Some(s) = &case.summary {
        ui.label(format!(
            "{}: {} · {}: {} · {}",
            t.operator,
            s.operator,
            t.kiosk,
            s.kiosk_id,
            utc(s.created_ms)
        ));
        ui.label(format!(
            "{}: {} {} · {}",
            t.claimed,
            s.claimed_id_type.as_deref().unwrap_or("–"),
            s.claimed_id_number.as_deref().unwrap_or("–"),
            s.country.as_deref().unwrap_or("–")
        ));
    }
}

fn reasons_section(ui: &mut egui::Ui, t: &EvidenceText, case: &CaseView) {
    heading(ui, t.reasons);
    for r in &case.reasons {
        ui.label(format!("• {r}"));
    }
    if !case.actions.is_empty() {
        heading(ui, t.actions);
        for a in &case.actions {
            ui.label(format!("• {a}"));
        }
    }
}

fn images_section(ui: &mut egui::Ui, t: &EvidenceText, case: &CaseView) {
    heading(ui, t.images);
    let w = ((ui.available_width() - 24.0) / 4.0).clamp(110.0, 260.0);
    ui.horizontal_wrapped(|ui| {
        let i = &case.images;
        for (kind, caption, img) in [
            ("front", t.front, i.front.as_ref()),
            ("back", t.back, i.back.as_ref()),
            ("portrait", t.portrait, i.portrait.as_ref()),
            ("selfie", t.selfie, i.selfie.as_ref()),
        ] {
            if kind == "back" && img.is_none() {
                continue;
            }
            captioned(
                ui,
                t,
                &format!("{}-{kind}", case.key),
                caption,
                img,
                Vec2::new(w, w * 0.75),
            );
        }
    });
}

fn document_section(ui: &mut egui::Ui, t: &EvidenceText, case: &CaseView) {
    heading(ui, t.document);
    ui.label(format!(
        "{}: {} · {}: {}",
        t.document_type,
        case.document_type.as_deref().unwrap_or("–"),
        t.layout,
        case.layout.as_deref().unwrap_or("–")
    ));
    if let Some(why) = &case.not_read {
        ui.label(RichText::new(format!("{}: {why}", t.not_read)).color(LOOK));
    }
    if !case.fields.is_empty() {
        egui::Grid::new(("case_fields", &case.key))
            .striped(true)
            .num_columns(5)
            .show(ui, |ui| {
                for h in [t.field, t.value, t.source, t.confidence, t.remark] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for f in &case.fields {
                    ui.label(&f.name);
                    ui.label(RichText::new(&f.value).strong());
                    ui.label(source_word(t, f.source));
                    ui.label(
                        f.confidence
                            .map_or_else(|| "–".into(), |c| format!("{c:.0}")),
                    );
                    let mut remarks = Vec::new();
                    if let Some(c) = &f.correction {
                        remarks.push(format!(
                            "{} {} ({} {:?})",
                            t.corrected_by, c.corrected_by, t.was_read, c.before
                        ));
                    }
                    if let Some(m) = &f.mismatch {
                        let what = if f.source == FieldSource::Entered {
                            t.mismatch_claimed
                        } else {
                            t.mismatch_printed
                        };
                        remarks.push(format!("{what}: {m}"));
                    }
                    if remarks.is_empty() {
                        ui.label("");
                    } else {
                        ui.label(RichText::new(remarks.join("; ")).color(LOOK));
                    }
                    ui.end_row();
                }
            });
    }
    if let Some(m) = &case.mrz {
        heading(ui, &format!("{} ({})", t.mrz, m.format));
        for line in &m.lines {
            ui.label(RichText::new(line).monospace());
        }
        if m.valid {
            ui.label(RichText::new(t.mrz_valid).color(OK));
        } else {
            ui.label(RichText::new(t.mrz_invalid).strong().color(BAD));
        }
        egui::Grid::new(("case_mrz_checks", &case.key))
            .striped(true)
            .show(ui, |ui| {
                for c in &m.checks {
                    ui.label(&c.name);
                    ui.label(format!(
                        "{} {} · {} {}",
                        t.expected,
                        c.expected.as_deref().unwrap_or("?"),
                        t.found,
                        c.found
                    ));
                    pass_fail(ui, t, c.ok);
                    ui.end_row();
                }
            });
        if m.repairs > 0 {
            ui.label(format!("{} {}", m.repairs, t.repairs));
        }
    }
    heading(ui, t.flags);
    if case.flags.is_empty() {
        ui.label(t.no_flags);
    }
    for (code, message) in &case.flags {
        let line = if message.is_empty() {
            format!("• {code}")
        } else {
            format!("• {code}: {message}")
        };
        ui.label(RichText::new(line).color(LOOK));
    }
    if !case.barcodes.is_empty() {
        heading(ui, t.barcodes);
        for b in &case.barcodes {
            ui.label(format!("• {b}"));
        }
    }
}

fn face_section(ui: &mut egui::Ui, t: &EvidenceText, f: &FaceEvidence) {
    heading(ui, t.face_match);
    if !f.computed {
        ui.label(
            RichText::new(format!(
                "{}: {}",
                t.not_computed,
                f.reason.as_deref().unwrap_or("")
            ))
            .color(LOOK),
        );
        return;
    }
    let meaning = match f.level_fmr {
        Some(fmr) => format!("{} {}", t.level_meaning, one_in(fmr)),
        None => t.below_level_one.to_string(),
    };
    let line = format!(
        "{} {} ({} {}) — {meaning} · {} {:.3} · {:.0}/100",
        t.level, f.level, t.minimum, f.minimum, t.cosine, f.cosine, f.confidence
    );
    ui.label(
        RichText::new(line)
            .strong()
            .color(if f.is_match { OK } else { BAD }),
    );
}

/// The liveness evidence: capture source, verdict, passive score, each step and each
/// whole-challenge check with what was measured (`agent`: with the measured values and the
/// detail; else the customer's short words only).
pub fn liveness_section(ui: &mut egui::Ui, lang: Lang, l: &LivenessEvidence, agent: bool) {
    let t = text(lang);
    if agent {
        heading(ui, t.liveness);
        ui.label(format!(
            "{}: {}",
            t.capture_source,
            if l.live_capture {
                t.live_challenge
            } else {
                t.still_image
            }
        ));
        let verdict = if l.is_live { t.live } else { t.not_live };
        let passive = l.passive.map_or_else(String::new, |(s, th)| {
            format!(" · {} {s:.1} ({} {th:.1})", t.passive, t.limit)
        });
        ui.label(
            RichText::new(format!("{verdict}{passive}"))
                .strong()
                .color(if l.is_live { OK } else { BAD }),
        );
        if l.failed_before > 0 {
            ui.label(RichText::new(format!("{} {}", l.failed_before, t.failed_before)).color(LOOK));
        }
        if l.same_picture {
            ui.label(RichText::new(t.same_picture).strong().color(BAD));
        }
        for r in &l.reasons {
            ui.label(RichText::new(format!("• {r}")).color(BAD));
        }
        if l.steps.is_empty() {
            ui.label(t.no_challenge);
        } else {
            ui.label(RichText::new(t.steps).strong());
            for s in &l.steps {
                let (word, color) = match s.status.as_str() {
                    "passed" => (t.step_passed, OK),
                    "failed" => (t.step_failed, BAD),
                    "inProgress" => (t.step_in_progress, LOOK),
                    _ => (t.step_not_reached, LOOK),
                };
                let peak = s
                    .peak
                    .map_or_else(String::new, |p| format!(" (peak {p:.2})"));
                ui.label(RichText::new(format!("• {}: {word}{peak}", s.step)).color(color));
            }
        }
    }
    if !l.checks.is_empty() {
        if agent {
            ui.label(RichText::new(t.checks).strong());
        }
        for c in &l.checks {
            let (name, yes, no) = check_words(lang, &c.check);
            if agent {
                let measured = match (c.value, c.limit) {
                    (Some(v), Some(lim)) => format!(" — {v:.3} ({} {lim:.3})", t.limit),
                    (Some(v), None) => format!(" — {v:.3}"),
                    _ => String::new(),
                };
                ui.horizontal_wrapped(|ui| {
                    pass_fail(ui, t, c.passed);
                    ui.label(RichText::new(format!("{name} [{}]{measured}", c.check)).strong());
                });
                ui.label(RichText::new(format!("   {}", if c.passed { yes } else { no })).small());
                if !c.detail.is_empty() {
                    ui.label(RichText::new(format!("   {}", c.detail)).small().weak());
                }
            } else {
                // Words, not symbols: the kiosk's fonts have no check marks.
                let (mark, words, color) = if c.passed {
                    (t.pass, yes, OK)
                } else {
                    (t.fail, no, BAD)
                };
                ui.label(
                    RichText::new(format!("{mark}: {words}"))
                        .size(18.0)
                        .color(color),
                );
            }
        }
    }
}

/// The selfie screen after a challenge: each whole-challenge check in the customer's short
/// words, passed or failed.
pub fn challenge_checks(ui: &mut egui::Ui, lang: Lang, r: &kyc_core::liveness::LivenessResult) {
    if r.checks.is_empty() {
        return;
    }
    ui.label(RichText::new(text(lang).your_checks).strong());
    liveness_section(ui, lang, &LivenessEvidence::from_challenge(r), false);
}

/// The result screen, for the agent: the liveness evidence with each step and each check's
/// measured value, limit and detail.
pub fn result_liveness(ui: &mut egui::Ui, lang: Lang, r: &kyc_core::result::VerificationResult) {
    if let Some(b) = &r.liveness {
        liveness_section(ui, lang, &LivenessEvidence::from_block(b), true);
    }
}

fn attempts_section(ui: &mut egui::Ui, t: &EvidenceText, case: &CaseView) {
    heading(ui, t.attempts);
    if case.attempts.is_empty() {
        ui.label(t.no_attempts);
        return;
    }
    egui::Grid::new(("case_attempts", &case.key))
        .striped(true)
        .show(ui, |ui| {
            for a in &case.attempts {
                ui.label(RichText::new(format!("#{}", a.id)).strong());
                ui.label(a.created_ms.map_or_else(|| "–".into(), utc));
                match a.decision {
                    Some(d) => ui.label(
                        RichText::new(d.as_str())
                            .strong()
                            .color(decision_color(d.as_str())),
                    ),
                    None => ui.label("–"),
                };
                ui.label(&a.detail);
                ui.end_row();
            }
        });
}

fn duplicates_section(ui: &mut egui::Ui, t: &EvidenceText, case: &CaseView) {
    heading(ui, t.duplicates);
    if case.duplicates.is_empty() {
        ui.label(t.no_duplicates);
        return;
    }
    let w = ((ui.available_width() - 24.0) / 4.0).clamp(100.0, 200.0);
    for d in &case.duplicates {
        ui.horizontal(|ui| {
            captioned(
                ui,
                t,
                &format!("{}-selfie", case.key),
                t.this_case,
                case.images
                    .selfie
                    .as_ref()
                    .or(case.images.portrait.as_ref()),
                Vec2::splat(w),
            );
            captioned(
                ui,
                t,
                &format!("{}-dup-{}", case.key, d.id),
                &format!("#{}", d.id),
                d.image.as_ref(),
                Vec2::splat(w),
            );
            ui.vertical(|ui| {
                let kind = match d.kind {
                    "same_face_other_id" => t.same_face_other_id,
                    "same_id_other_face" => t.same_id_other_face,
                    _ => t.similar_face,
                };
                ui.label(RichText::new(kind).strong().color(LOOK));
                ui.label(format!(
                    "{} {}",
                    t.score,
                    d.score.map_or_else(|| "–".into(), |s| format!("{s:.3}"))
                ));
                if let Some(s) = &d.summary {
                    ui.label(format!(
                        "{} · {}",
                        s.full_name.as_deref().unwrap_or("–"),
                        s.claimed_id_number
                            .as_deref()
                            .or(s.document_number.as_deref())
                            .unwrap_or("–")
                    ));
                    ui.label(format!("{} · {}", s.current_decision, utc(s.created_ms)));
                }
            });
        });
    }
}

fn consent_section(ui: &mut egui::Ui, t: &EvidenceText, case: &CaseView) {
    heading(ui, t.consent);
    match &case.consent {
        Some((given, at, lang)) => {
            let word = if *given {
                t.consent_given
            } else {
                t.consent_refused
            };
            ui.label(format!("{word} · {} · {lang}", utc(*at)));
        }
        None => {
            ui.label(t.consent_none);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn false_match_rates_read_as_one_in_n() {
        assert_eq!(one_in(1e-4), "10,000");
        assert_eq!(one_in(1e-2), "100");
        assert_eq!(one_in(1e-6), "1,000,000");
    }

    #[test]
    fn failed_checks_and_steps_are_read_from_the_liveness_json() {
        let v = serde_json::json!({
            "mode": "sequence", "isLive": false, "captureSource": "challenge",
            "passive": {"score": 91.5, "threshold": 60.0, "frames": 12, "isLive": true},
            "active": {"passed": true, "state": {"state": "passed"},
                       "steps": [{"step": "smile", "status": "passed", "peak": 1.0}]},
            "checks": [
                {"check": "temporal", "passed": false, "value": 0.9, "limit": 0.2,
                 "detail": "18 of 19 pairs near-identical"},
                {"check": "frameRate", "passed": true, "value": 10.0, "limit": 4.0, "detail": ""}
            ],
            "reasons": [{"code": "liveness_check_failed", "message": "frames frozen"}],
            "failedAttempts": 1
        });
        let l = LivenessEvidence::from_json(&v).unwrap();
        assert!(l.live_capture && !l.is_live);
        assert_eq!(l.passive, Some((91.5, 60.0)));
        assert_eq!(l.steps[0].step, "smile");
        assert_eq!(l.checks.len(), 2);
        assert!(!l.checks[0].passed);
        assert_eq!(l.checks[0].limit, Some(0.2));
        assert_eq!(l.failed_before, 1);
        assert_eq!(l.reasons, vec!["frames frozen".to_string()]);
        assert!(LivenessEvidence::from_json(&Value::Null).is_none());
    }

    #[test]
    fn duplicate_candidates_keep_their_kind_and_score_once_each() {
        let dups = audit::DuplicateReport {
            matches: vec![
                audit::FaceMatch {
                    verification_id: 4,
                    score: 0.81,
                    same_id_number: false,
                },
                audit::FaceMatch {
                    verification_id: 9,
                    score: 0.6,
                    same_id_number: true,
                },
            ],
            same_face_different_id: vec![4],
            same_id_different_face: vec![7],
        };
        let c = CaseView::candidate_ids(&dups);
        assert_eq!(
            c,
            vec![
                (4, "same_face_other_id", Some(0.81)),
                (7, "same_id_other_face", None),
                (9, "similar_face", Some(0.6)),
            ]
        );
    }

    #[test]
    fn fields_show_their_source_correction_and_mrz_mismatch() {
        let reading = serde_json::json!({
            "fields": {
                "fullName": {"value": "JOHN DOE", "confidence": 80.0, "source": "visual"},
                "documentNumber": {"value": "L898902C3", "confidence": 99.0, "source": "mrz"}
            },
            "crossChecks": [{"field": "fullName", "mrz": "JOHN DOE", "visual": "JOHN D0E",
                             "agree": false}],
            "barcodes": [{"side": "back", "format": "pdf417", "payload": "aamva", "length": 300,
                          "aamva": {"documentNumber": "D123", "lastName": "DOE"}}]
        });
        let corrections = vec![FieldCorrection {
            field: "fullName".into(),
            before: "JOHN D0E".into(),
            after: "JOHN DOE".into(),
            corrected_by: "ama".into(),
            corrected_ms: 0,
        }];
        let rows = fields_of(&reading, &corrections);
        assert_eq!(rows[0].name, "documentNumber");
        assert_eq!(rows[0].source, FieldSource::Mrz);
        let name = rows.iter().find(|r| r.name == "fullName").unwrap();
        assert_eq!(name.source, FieldSource::Printed);
        assert_eq!(name.correction.as_ref().unwrap().corrected_by, "ama");
        assert!(name.mismatch.as_ref().unwrap().contains("JOHN D0E"));
        let barcode: Vec<&FieldRow> = rows
            .iter()
            .filter(|r| r.source == FieldSource::Barcode)
            .collect();
        assert_eq!(barcode.len(), 2);
        assert_eq!(barcode[0].value, "D123");
    }
}
