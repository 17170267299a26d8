//! Machine-readable zone (ICAO Doc 9303) reading: format detection, normalisation, parsing,
//! check-digit verification and check-digit-guided repair of OCR confusions.
//!
//! The OCR layer hands over its candidate lines (top to bottom, optionally with per-character
//! confidences) and gets back an [`MrzReading`]:
//!
//! ```
//! use kyc_core::document::mrz::{parse_mrz_lines, IsoDate, MrzFormat};
//! let today = IsoDate::new(2026, 11, 22).unwrap();
//! let r = parse_mrz_lines(
//!     &[
//!         "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
//!         "L898902C36UTO74O8122F12O4159ZE184226B<<<<<1O",
//!     ],
//!     today,
//! )
//! .unwrap();
//! assert_eq!(r.format, MrzFormat::Td3);
//! assert!(r.valid);
//! assert_eq!(r.fields.birth_date.value.as_deref(), Some("1974-08-12"));
//! assert_eq!(r.repairs.len(), 3); // the three letter Os in digit fields
//! ```

pub mod codes;
mod date;
mod engine;
pub mod generate;
mod layout;
pub mod names;

pub use date::{DateRole, IsoDate, days_in_month, resolve_yymmdd};
pub use layout::{CheckName, MrzFormat, char_value, check_digit, check_digit_bytes};

use serde::{Deserialize, Serialize};

/// One line of OCR output offered to the MRZ reader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidateLine {
    /// The text as the OCR read it (any case, spaces and `«` allowed).
    pub text: String,
    /// Optional confidence 0–1 for each character of `text` (by `char`, same count).
    pub confidences: Option<Vec<f32>>,
}

impl CandidateLine {
    /// A line without per-character confidences.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            confidences: None,
        }
    }

    /// A line with one confidence (0–1) per character of `text`.
    pub fn with_confidences(text: impl Into<String>, confidences: Vec<f32>) -> Self {
        Self {
            text: text.into(),
            confidences: Some(confidences),
        }
    }
}

impl From<&str> for CandidateLine {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

/// Settings of the MRZ reader.
#[derive(Debug, Clone, PartialEq)]
pub struct MrzOptions {
    /// The date that resolves two-digit years (births are never later than this).
    pub today: IsoDate,
    /// An expiry date may lie at most this many years after `today` (else previous century).
    pub max_expiry_years_ahead: i32,
    /// A character whose OCR confidence is below this is "uncertain": only uncertain characters
    /// may be swapped digit-for-digit (e.g. 3↔8) and they are preferred for any repair.
    pub low_confidence: f32,
    /// Allow digit-for-digit swaps even without per-character confidences (off: a misprinted
    /// check digit could otherwise be "repaired" into a false pass).
    pub digit_swaps_without_confidence: bool,
    /// Try repairs that change two characters of one field when no single change is unique.
    pub allow_double_substitutions: bool,
    /// An issuing-state or nationality character the recogniser read with at least this
    /// confidence is not changed to make the code a listed one (a confidently read unknown code
    /// is reported, not repaired).
    pub code_repair_max_confidence: f32,
}

impl MrzOptions {
    /// Defaults with the given "today".
    pub fn new(today: IsoDate) -> Self {
        Self {
            today,
            max_expiry_years_ahead: 20,
            low_confidence: 0.6,
            digit_swaps_without_confidence: false,
            allow_double_substitutions: true,
            code_repair_max_confidence: 0.9,
        }
    }
}

/// One text field of the MRZ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MrzField {
    /// Cleaned value: fillers trimmed (or turned into spaces in names).
    pub value: String,
    /// The characters of the field as they stand in the corrected lines.
    pub raw: String,
    /// Result of the field's own check digit; `None` when the field has none.
    pub valid: Option<bool>,
    /// Lowest OCR confidence (0–1) among the field's characters, when confidences were given.
    pub confidence: Option<f32>,
}

/// A date field of the MRZ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MrzDateField {
    /// ISO 8601 `YYYY-MM-DD`, or `None` when the field is unknown (fillers) or names no real day.
    pub value: Option<String>,
    /// The six `YYMMDD` characters as they stand in the corrected lines.
    pub raw: String,
    /// Result of the field's check digit.
    pub valid: Option<bool>,
    /// Lowest OCR confidence (0–1) among the field's characters, when confidences were given.
    pub confidence: Option<f32>,
}

/// Every field of an MRZ; fields a format lacks are `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MrzFields {
    /// Document code, fillers trimmed: `P`, `PD`, `I`, `ID`, `AC`, `V`, …
    pub document_code: MrzField,
    /// Issuing state or organisation (ICAO 3-letter code; `D` for Germany).
    pub issuing_state: MrzField,
    /// Document number; a long TD1/TD2 number includes its overflow from the optional data.
    pub document_number: MrzField,
    /// TD3 personal number (with its own check digit).
    pub personal_number: Option<MrzField>,
    /// First optional-data element (TD1 line 1, TD2, MRV); without a long number's overflow.
    pub optional_data1: Option<MrzField>,
    /// TD1's second optional-data element (line 2).
    pub optional_data2: Option<MrzField>,
    /// Date of birth.
    pub birth_date: MrzDateField,
    /// `M`, `F`, `X`, or empty for unspecified (`<`).
    pub sex: MrzField,
    /// Date of expiry.
    pub expiry_date: MrzDateField,
    /// Nationality (ICAO 3-letter code).
    pub nationality: MrzField,
    /// Primary identifier (surname), fillers as spaces.
    pub primary_identifier: MrzField,
    /// Secondary identifier (given names), fillers as spaces.
    pub secondary_identifier: MrzField,
}

/// The outcome of one check: a check digit, or a code checked against its list
/// (`documentCode`, `issuingState`, `nationality`; see [`codes`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    /// Which check.
    pub name: CheckName,
    /// A check digit: the digit computed from the covered characters (`None` if one is outside
    /// the alphabet). A code: the listed code the field holds in `corrected` (`None` when it
    /// holds none).
    pub expected: Option<String>,
    /// A check digit: the character printed in its position. A code: the field as read, before
    /// any code repair (fillers included, `D<<`).
    pub found: String,
    /// Whether the check passes (a filler check digit counts as 0 only where the covered field
    /// is empty; a code passes when it is on its list, after a repair if one was made).
    pub ok: bool,
    /// Why a code check failed (`unknown code`), or that it passed only after a repair
    /// (`repaired`) or on a specimen code (`specimen code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Why a character was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RepairReason {
    /// The field allows only digits or only letters, and the character has one look-alike there.
    FieldRule,
    /// A filler `<` read as `K` (runs of K in filler areas).
    Filler,
    /// A failing check digit passes after this unique substitution from the confusion sets.
    CheckDigit,
    /// A filler inserted to bring the line to its format's length.
    LengthPad,
    /// A character removed to bring the line to its format's length.
    LengthTrim,
    /// A letter where the name grammar (or the printed name) allows only a filler: a filler
    /// the OCR read as a letter.
    NameGrammar,
    /// An issuing-state or nationality code not on the ICAO list, one OCR confusion away from
    /// exactly one listed code (see [`codes`]).
    CodeList,
}

/// One change made to the OCR text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Repair {
    /// Line index (0-based) in `corrected`.
    pub line: usize,
    /// Character index (0-based): in the corrected line for substitutions and insertions, in the
    /// normalised line before trimming for removals.
    pub position: usize,
    /// The character before (`None` for an insertion).
    pub from: Option<char>,
    /// The character after (`None` for a removal).
    pub to: Option<char>,
    /// Why.
    pub reason: RepairReason,
}

/// A parsed, verified and possibly repaired MRZ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MrzReading {
    /// The candidate lines the zone was read from, exactly as the OCR gave them.
    pub raw: Vec<String>,
    /// The lines after normalisation and repair (fixed length, `0-9 A-Z <` only).
    pub corrected: Vec<String>,
    /// The detected layout.
    pub format: MrzFormat,
    /// Every field.
    pub fields: MrzFields,
    /// Every check digit the format prints, in order.
    pub checks: Vec<CheckResult>,
    /// `true` only when every check digit (and the composite) passes.
    pub valid: bool,
    /// The names of the failing checks (empty when `valid`).
    pub failed_checks: Vec<CheckName>,
    /// Every change made to the text, in the order made.
    pub repairs: Vec<Repair>,
    /// How sure the name is, 0–1: the recogniser's confidence in its letters, lowered when the
    /// name grammar had to guess which letters were misread fillers, raised when the printed
    /// name confirms it. No check digit covers the name.
    pub name_confidence: f32,
    /// The name stays uncertain (`name_confidence` under [`names::NAME_UNCERTAIN_BELOW`]):
    /// show it as unconfirmed.
    pub name_uncertain: bool,
    /// The name field as recognised, before the grammar repairs, with its confidences.
    #[serde(skip)]
    pub name_read: NameRead,
}

/// The name field as the OCR read it, kept to confirm it against the printed name.
///
/// A working copy, not part of the reading's value: it is not serialised (empty after a JSON
/// round trip), and any two compare equal (so that a reading equals itself after one).
#[derive(Debug, Clone, Default)]
pub struct NameRead {
    /// Line of the field in `corrected`.
    pub line: usize,
    /// Offset of the field in that line.
    pub start: usize,
    /// The field's characters as recognised (after the field rules, before the grammar).
    pub text: String,
    /// Their confidences, when known.
    pub confidences: Vec<Option<f32>>,
}

impl PartialEq for NameRead {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Why no MRZ could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MrzError {
    /// No candidate line looks like MRZ text.
    #[error("no MRZ-like line among {0} candidate lines")]
    NoMrzLines(usize),
    /// MRZ-like lines were found, but no ICAO layout fits their number and lengths.
    #[error(
        "MRZ-like lines of lengths {0:?} fit no ICAO 9303 layout (TD1, TD2, TD3, MRV-A, MRV-B)"
    )]
    NoLayoutFits(Vec<usize>),
}

/// Read an MRZ from OCR candidate lines (top to bottom). Lines that are not MRZ-like (visual zone
/// text) may be included; the best-scoring window of consecutive lines is chosen.
pub fn parse_mrz(
    candidates: &[CandidateLine],
    options: &MrzOptions,
) -> Result<MrzReading, MrzError> {
    engine::read(candidates, options)
}

/// [`parse_mrz`] for plain strings with default options.
pub fn parse_mrz_lines(lines: &[&str], today: IsoDate) -> Result<MrzReading, MrzError> {
    let c: Vec<CandidateLine> = lines.iter().map(|l| CandidateLine::new(*l)).collect();
    parse_mrz(&c, &MrzOptions::new(today))
}

/// [`parse_mrz`] for one block of text with one line per row, default options.
pub fn parse_mrz_text(text: &str, today: IsoDate) -> Result<MrzReading, MrzError> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    parse_mrz_lines(&lines, today)
}

/// Parse lines already known to be in `format` (no detection, still normalised and repaired).
pub fn parse_mrz_as(
    format: MrzFormat,
    candidates: &[CandidateLine],
    options: &MrzOptions,
) -> Result<MrzReading, MrzError> {
    engine::read_as(format, candidates, options)
}

/// The broad kind of document an MRZ belongs to, from its format and document code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DocumentKind {
    /// Passport book (TD3, code `P…`).
    Passport,
    /// Identity card or other official travel document (TD1/TD2, codes `I…`, `A…`, `C…`).
    IdCard,
    /// Visa (MRV-A/MRV-B, code `V…`).
    Visa,
    /// Anything else.
    Other,
}

impl MrzReading {
    /// The broad kind of document.
    pub fn document_kind(&self) -> DocumentKind {
        let code = self.fields.document_code.value.as_bytes().first().copied();
        match (self.format, code) {
            (MrzFormat::MrvA | MrzFormat::MrvB, _) | (_, Some(b'V')) => DocumentKind::Visa,
            (_, Some(b'P')) => DocumentKind::Passport,
            (_, Some(b'I' | b'A' | b'C')) => DocumentKind::IdCard,
            _ => DocumentKind::Other,
        }
    }

    /// The date of birth, when the field names a real day.
    pub fn birth_date(&self) -> Option<IsoDate> {
        self.fields
            .birth_date
            .value
            .as_deref()
            .and_then(IsoDate::parse_iso)
    }

    /// The date of expiry, when the field names a real day.
    pub fn expiry_date(&self) -> Option<IsoDate> {
        self.fields
            .expiry_date
            .value
            .as_deref()
            .and_then(IsoDate::parse_iso)
    }

    /// `Some(true)` when the document expired before `today`; `None` without an expiry date.
    pub fn is_expired(&self, today: IsoDate) -> Option<bool> {
        self.expiry_date().map(|e| e < today)
    }

    /// The holder's age in whole years on `today`; `None` without a birth date.
    pub fn age_on(&self, today: IsoDate) -> Option<i32> {
        self.birth_date().map(|b| b.years_until(&today))
    }

    /// Check the name against the printed zone's surname and given names (words in `A-Z`, as
    /// the MRZ writes them). When the printed name explains every difference from the name as
    /// recognised by fillers read as letters, the MRZ takes the printed form (repairs recorded)
    /// and the name is confirmed; a settled name equal to it is confirmed too. Returns whether
    /// the name was confirmed.
    pub fn confirm_name(&mut self, surname: &[String], given: &[String], low: f32) -> bool {
        let read = self.name_read.clone();
        if read.text.is_empty() || surname.is_empty() || given.is_empty() {
            return false;
        }
        let len = read.text.len();
        let target = names::field_from_words(surname, given, len);
        let Some(line) = self.corrected.get(read.line) else {
            return false;
        };
        let Some(current) = line.as_bytes().get(read.start..read.start + len) else {
            return false;
        };
        if current != target.as_slice() {
            if !names::explains(read.text.as_bytes(), &read.confidences, &target, low)
                || !names::explains(current, &read.confidences, &target, low)
            {
                return false;
            }
            let mut bytes = line.as_bytes().to_vec();
            for (k, (&c, &t)) in current.iter().zip(&target).enumerate() {
                if c != t {
                    self.repairs.push(Repair {
                        line: read.line,
                        position: read.start + k,
                        from: Some(char::from(c)),
                        to: Some(char::from(t)),
                        reason: RepairReason::NameGrammar,
                    });
                    bytes[read.start + k] = t;
                }
            }
            let field = String::from_utf8_lossy(&target).into_owned();
            let (p_raw, s_raw) = field
                .split_once("<<")
                .map_or((field.clone(), String::new()), |(p, s)| {
                    (p.to_string(), s.to_string())
                });
            let words = |s: &str| {
                s.split('<')
                    .filter(|w| !w.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            self.fields.primary_identifier.value = words(&p_raw);
            self.fields.primary_identifier.raw = p_raw;
            self.fields.secondary_identifier.value = words(&s_raw);
            self.fields.secondary_identifier.raw = s_raw;
            self.corrected[read.line] = String::from_utf8_lossy(&bytes).into_owned();
        }
        self.name_confidence = self.name_confidence.max(names::CONFIRMED);
        self.name_uncertain = false;
        true
    }

    /// Full name as printed on most documents: secondary identifier then primary identifier.
    pub fn full_name(&self) -> String {
        let given = self.fields.secondary_identifier.value.trim();
        let surname = self.fields.primary_identifier.value.trim();
        match (given.is_empty(), surname.is_empty()) {
            (true, _) => surname.to_string(),
            (_, true) => given.to_string(),
            _ => format!("{given} {surname}"),
        }
    }
}
