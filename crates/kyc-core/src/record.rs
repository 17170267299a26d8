//! One path from a finished verification to the audit store, shared by the CLI and the GUI:
//! the 1:N duplicate check folded into the decision, then a durable, chained record.

use std::io::Cursor;
use std::time::{SystemTime, UNIX_EPOCH};

use image::RgbImage;

use crate::audit::{
    self, AuditConfig, AuditError, AuditStore, CustomerType, FieldCorrection, ImageKind,
    IndexedFields, NewVerification,
};
use crate::config::Config;
use crate::pipeline::Verification;
use crate::result::VerificationResult;
use crate::verdict::{Decision, Reason, ReasonCode};

/// Who ran the verification and what the customer claimed.
#[derive(Debug, Clone)]
pub struct RecordContext<'a> {
    /// Operator username (or `system:cli`).
    pub operator: &'a str,
    /// Individual or business.
    pub customer_type: CustomerType,
    /// Claimed ID type, e.g. `ghana_card`.
    pub claimed_id_type: Option<&'a str>,
    /// Claimed ID number.
    pub claimed_id_number: Option<&'a str>,
    /// When the session started, ms since the epoch.
    pub started_ms: i64,
    /// The document file as captured (kept encrypted), if it came from a file.
    pub document_bytes: Option<&'a [u8]>,
    /// The selfie file as captured (kept encrypted), if it came from a file.
    pub selfie_bytes: Option<&'a [u8]>,
    /// The document's back side as captured (kept encrypted), if it came from a file; without
    /// it a back side the verification read is stored as JPEG.
    pub document_back_bytes: Option<&'a [u8]>,
}

/// Milliseconds since the epoch, now.
#[must_use]
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Open the audit store at `db` (or the default location), with the 1:N duplicate threshold of
/// `[duplicates]` (by default the strictest match level's cosine: one search compares against
/// every enrolled template, so a per-pair false-match rate of 1e-6 keeps false duplicate flags
/// rare even at 100k customers).
///
/// # Errors
/// When the database or its key cannot be opened.
pub fn open_store(config: &Config, db: Option<&std::path::Path>) -> Result<AuditStore, AuditError> {
    AuditStore::open(store_config(config, db))
}

/// The store settings [`open_store`] uses, for callers that adjust them before opening (the
/// GUI's worker opens the store on its own thread).
#[must_use]
pub fn store_config(config: &Config, db: Option<&std::path::Path>) -> AuditConfig {
    let mut cfg = match db {
        Some(path) => AuditConfig::at(path),
        None => AuditConfig::default(),
    };
    cfg.duplicate_threshold = config.duplicates.cosine;
    cfg
}

/// The operator's own decision on a verification (the GUI's approve / reject / refer), which
/// may differ from the pipeline's suggestion; the suggestion stays in the stored result.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorDecision {
    /// What the operator decided.
    pub decision: Decision,
    /// Why, in the operator's words.
    pub reason: String,
    /// Document fields the operator corrected before deciding: each is kept in the record's
    /// corrections (field, value read, corrected value, operator, time); the result JSON keeps
    /// what was read, and the searchable name and number columns take the corrected values.
    pub corrections: Vec<FieldEdit>,
}

/// One document field as read and as corrected by the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldEdit {
    /// Field name as in the result JSON (`lastName`, `documentNumber`, …).
    pub field: String,
    /// The value read.
    pub before: String,
    /// The corrected value.
    pub after: String,
}

/// `img` encoded as PNG (`None` only if encoding fails).
#[must_use]
pub fn png(img: &RgbImage) -> Option<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).ok()?;
    Some(out.into_inner())
}

/// JPEG quality of the evidence images a record keeps (document pages, portrait, selfie).
/// Measured in `docs/evidence-storage.md`: at 90 the face template of the stored selfie stays
/// within 0.005 cosine of the original's and a passport page reads the same MRZ, at a fifth to
/// a tenth of the PNG's size.
pub const EVIDENCE_JPEG_QUALITY: u8 = 90;

/// Longest side, in pixels, of an evidence image a record keeps; larger images are scaled
/// down (an ID-1 card across 1600 px is about 475 dpi, a passport page about 320 dpi).
pub const EVIDENCE_MAX_SIDE: u32 = 1600;

/// A captured JPEG is kept byte for byte (the original, no second compression) when its
/// longest side is within [`EVIDENCE_MAX_SIDE`] and it is at most this large.
pub const EVIDENCE_MAX_KEPT_JPEG: usize = 1536 * 1024;

/// `img` as a record keeps it: scaled down to [`EVIDENCE_MAX_SIDE`] if larger, encoded as JPEG
/// at [`EVIDENCE_JPEG_QUALITY`] (`None` only if encoding fails).
#[must_use]
pub fn evidence_jpeg(img: &RgbImage) -> Option<Vec<u8>> {
    let (w, h) = img.dimensions();
    let longer = w.max(h);
    let scaled;
    let img = if longer > EVIDENCE_MAX_SIDE {
        let k = f64::from(EVIDENCE_MAX_SIDE) / f64::from(longer);
        let side = |v: u32| ((f64::from(v) * k).round() as u32).clamp(1, EVIDENCE_MAX_SIDE);
        scaled =
            image::imageops::resize(img, side(w), side(h), image::imageops::FilterType::Triangle);
        &scaled
    } else {
        img
    };
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, EVIDENCE_JPEG_QUALITY)
        .encode_image(img)
        .ok()?;
    Some(out)
}

/// Whether `bytes` start like a JPEG file.
#[must_use]
pub fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\xFF\xD8\xFF")
}

/// A captured file as a record keeps it: a JPEG within [`EVIDENCE_MAX_SIDE`] and
/// [`EVIDENCE_MAX_KEPT_JPEG`] as it is; anything else (PNG, other formats, larger pages)
/// decoded with the default limits and stored through [`evidence_jpeg`]. Bytes that do not
/// decode are kept as they are (the verification decoded them already, so this is not
/// expected).
#[must_use]
pub fn evidence_bytes(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    if is_jpeg(bytes) && bytes.len() <= EVIDENCE_MAX_KEPT_JPEG {
        let dims = image::ImageReader::with_format(Cursor::new(bytes), image::ImageFormat::Jpeg)
            .into_dimensions()
            .ok();
        if dims.is_some_and(|(w, h)| w.max(h) <= EVIDENCE_MAX_SIDE) {
            return Cow::Borrowed(bytes);
        }
    }
    let limits = crate::imaging::ImageLimits::default();
    match crate::imaging::decode_bytes(bytes, std::path::Path::new("evidence"), &limits)
        .ok()
        .and_then(|d| evidence_jpeg(&d.rgb))
    {
        Some(jpeg) => Cow::Owned(jpeg),
        None => Cow::Borrowed(bytes),
    }
}

/// Fold the store's duplicate findings into the result: a flagged case is referred for review.
fn apply_duplicates(result: &mut VerificationResult, dup: &audit::DuplicateReport) {
    if !dup.same_face_different_id.is_empty() {
        result.reasons.push(Reason {
            code: ReasonCode::DuplicateFace,
            message: format!(
                "this face is already enrolled under another ID number (records {:?})",
                dup.same_face_different_id
            ),
        });
    }
    if !dup.same_id_different_face.is_empty() {
        result.reasons.push(Reason {
            code: ReasonCode::IdNumberOtherFace,
            message: format!(
                "this ID number is already enrolled with a different face (records {:?})",
                dup.same_id_different_face
            ),
        });
    }
    if dup.flagged() {
        result.decision = result.decision.max(Decision::Refer);
        result.verified = result.decision == Decision::Approve;
        crate::decision::drop_all_passed(&mut result.reasons);
    }
}

/// A field read from the document, for the store's search columns.
fn read_field(
    result: &VerificationResult,
    pick: impl Fn(
        &crate::document::fields::DocumentFields,
    ) -> &Option<crate::document::fields::FieldValue>,
) -> Option<String> {
    let reading = result.document.reading.as_ref()?;
    pick(&reading.assembled.fields)
        .as_ref()
        .map(|f| f.value.clone())
}

/// Check for duplicates, then write the verification durably; returns the updated result with
/// its `record` receipt.
///
/// # Errors
/// When the store refuses the write (disk full, corrupt database, wrong key…); nothing is
/// half-written.
pub fn record(
    store: &mut AuditStore,
    config: &Config,
    verification: &Verification,
    ctx: &RecordContext<'_>,
) -> Result<VerificationResult, AuditError> {
    record_decided(store, config, verification, ctx, None, None)
}

/// As [`record`], with the customer's claimed country (a searchable column) and the operator's
/// decision: it becomes the record's decision (an approval of a case the checks did not approve,
/// or of a duplicate-flagged one, still goes to review) and its reason leads the stored reasons;
/// the result JSON keeps the suggested decision.
///
/// # Errors
/// As [`record`].
pub fn record_decided(
    store: &mut AuditStore,
    config: &Config,
    verification: &Verification,
    ctx: &RecordContext<'_>,
    country: Option<&str>,
    operator_decision: Option<&OperatorDecision>,
) -> Result<VerificationResult, AuditError> {
    let mut result = verification.result.clone();
    let id_number = ctx.claimed_id_number;
    if let Some(template) = verification
        .selfie_template
        .as_deref()
        .filter(|_| config.duplicates.search)
    {
        let dup = store.check_duplicates(template, id_number)?;
        apply_duplicates(&mut result, &dup);
    }
    let result_json =
        serde_json::to_value(&result).map_err(|e| AuditError::InvalidInput(e.to_string()))?;
    let models = serde_json::json!({
        "models": result.models,
        "matching": config.matching,
        "weights": config.weights,
        "decision": config.decision,
        "face": config.face,
        "duplicates": config.duplicates,
        "configHash": crate::config_guard::config_hash(config),
    });
    // Evidence is kept as JPEG (see `evidence_jpeg`); a captured JPEG within bounds as it is.
    let portrait_jpeg = verification.portrait.as_ref().and_then(evidence_jpeg);
    let document_jpeg = match ctx.document_bytes {
        Some(b) => Some(evidence_bytes(b)),
        None => evidence_jpeg(&verification.document_image).map(std::borrow::Cow::Owned),
    };
    let back_jpeg = match (&verification.document_back_image, ctx.document_back_bytes) {
        (_, Some(b)) => Some(evidence_bytes(b)),
        (Some(img), None) => evidence_jpeg(img).map(std::borrow::Cow::Owned),
        (None, None) => None,
    };
    let selfie_jpeg = ctx.selfie_bytes.map(evidence_bytes);
    let mut images: Vec<(ImageKind, &[u8])> = Vec::new();
    if let Some(bytes) = document_jpeg.as_deref() {
        images.push((ImageKind::DocumentFront, bytes));
    }
    if let Some(bytes) = back_jpeg.as_deref() {
        images.push((ImageKind::DocumentBack, bytes));
    }
    if let Some(bytes) = portrait_jpeg.as_deref() {
        images.push((ImageKind::Portrait, bytes));
    }
    if let Some(bytes) = selfie_jpeg.as_deref() {
        images.push((ImageKind::Selfie, bytes));
    }
    let mut reasons: Vec<String> = result.reasons.iter().map(|r| r.message.clone()).collect();
    let mut decision = result.decision;
    if let Some(d) = operator_decision {
        reasons.insert(
            0,
            format!(
                "operator decided {} (suggested {}): {}",
                d.decision,
                result.decision,
                d.reason.trim()
            ),
        );
        decision = if d.decision == Decision::Approve && result.decision != Decision::Approve {
            // The checks did not approve (failed check, mismatch or duplicate flag): an
            // operator's approval still needs a supervisor, so the case goes to the queue.
            Decision::Refer
        } else {
            d.decision
        };
    }
    let finished_ms = now_ms();
    let corrections: Vec<FieldCorrection> = operator_decision
        .map(|d| {
            d.corrections
                .iter()
                .map(|c| FieldCorrection {
                    field: c.field.clone(),
                    before: c.before.clone(),
                    after: c.after.clone(),
                    corrected_by: ctx.operator.to_string(),
                    corrected_ms: finished_ms,
                })
                .collect()
        })
        .unwrap_or_default();
    let corrected = |field: &str| {
        corrections
            .iter()
            .rev()
            .find(|c| c.field == field)
            .map(|c| c.after.clone())
    };
    let receipt = store.record_verification(&NewVerification {
        operator: ctx.operator,
        customer_type: ctx.customer_type,
        claimed_id_type: ctx.claimed_id_type,
        claimed_id_number: ctx.claimed_id_number,
        started_ms: ctx.started_ms,
        finished_ms,
        indexed: IndexedFields {
            decision,
            decision_reason: reasons.join("; "),
            // The number the customer claimed (what duplicate checks key on), else the one read.
            document_number: ctx
                .claimed_id_number
                .map(str::to_string)
                .or_else(|| corrected("documentNumber"))
                .or_else(|| read_field(&result, |f| &f.document_number)),
            full_name: corrected("fullName").or_else(|| read_field(&result, |f| &f.full_name)),
            // The country the agent chose for the case, else the issuing country read.
            country: country
                .map(str::to_string)
                .or_else(|| corrected("issuingCountry"))
                .or_else(|| read_field(&result, |f| &f.issuing_country)),
            overall_confidence: Some(f64::from(result.overall_confidence)),
        },
        result: &result_json,
        models: &models,
        images: &images,
        template: verification.selfie_template.as_deref(),
        corrections: &corrections,
    })?;
    result.record = Some(receipt);
    Ok(result)
}
