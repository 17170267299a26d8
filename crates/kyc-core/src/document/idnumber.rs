//! Per-country ID-number checks: normalise what an agent typed or the OCR read, check the
//! number's format and its check digit where one is public, compare the number the agent
//! entered with the number read from the document, and a hook for an online registry lookup.
//!
//! Offline we cannot ask a registry whether a number exists; these checks only say whether a
//! number *could* be valid. What is known about each number (and what is not public) is written
//! next to its rule in [`IdType::rule`].

use crate::document::mrz::check_digit;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The kinds of ID number the kiosk knows, each tied to its issuing country except `Passport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum IdType {
    /// Ghana Card personal ID number (NIA), `GHA-#########-#`.
    GhanaCardPin,
    /// Ghana SSNIT number: a letter and 12 digits.
    GhanaSsnit,
    /// Ghana TIN (GRA): the Ghana Card PIN since 2021, or a legacy 11-character TIN.
    GhanaTin,
    /// Ghana voter ID (Electoral Commission): 10 digits.
    GhanaVoterId,
    /// Ghana driver's licence (DVLA).
    GhanaDriverLicence,
    /// Nigeria National Identification Number (NIMC): 11 digits.
    NigeriaNin,
    /// Nigeria Bank Verification Number (CBN/NIBSS): 11 digits.
    NigeriaBvn,
    /// Nigeria virtual NIN (tokenised NIN for one verifier): 16 letters and digits.
    NigeriaVnin,
    /// Nigeria voter identification number (INEC PVC): 19 letters and digits.
    NigeriaVin,
    /// Nigeria tax identification number (FIRS/JTB).
    NigeriaTin,
    /// Nigeria driver's licence (FRSC).
    NigeriaDriverLicence,
    /// Kenya national ID card number: 7–8 digits.
    KenyaNationalId,
    /// Kenya Revenue Authority PIN: `A` or `P`, 9 digits, a letter.
    KenyaKraPin,
    /// Uganda National Identification Number (NIRA): 14 characters starting `CM`/`CF`.
    UgandaNin,
    /// Côte d'Ivoire numéro national d'identification (ONECI): 11 digits.
    CoteDivoireNni,
    /// Senegal national identification number (ECOWAS card): 13 digits, the first 1 or 2.
    SenegalNin,
    /// Cameroon national identity card (CNI) number: 9 digits.
    CameroonCni,
    /// A passport number under ICAO 9303 MRZ rules (any country).
    Passport,
}

impl IdType {
    /// Every type, for listings and tests.
    pub const ALL: [IdType; 18] = [
        Self::GhanaCardPin,
        Self::GhanaSsnit,
        Self::GhanaTin,
        Self::GhanaVoterId,
        Self::GhanaDriverLicence,
        Self::NigeriaNin,
        Self::NigeriaBvn,
        Self::NigeriaVnin,
        Self::NigeriaVin,
        Self::NigeriaTin,
        Self::NigeriaDriverLicence,
        Self::KenyaNationalId,
        Self::KenyaKraPin,
        Self::UgandaNin,
        Self::CoteDivoireNni,
        Self::SenegalNin,
        Self::CameroonCni,
        Self::Passport,
    ];

    /// ISO 3166-1 alpha-2 code of the issuing country (`None` for passports of any country).
    pub fn country(self) -> Option<&'static str> {
        match self {
            Self::GhanaCardPin
            | Self::GhanaSsnit
            | Self::GhanaTin
            | Self::GhanaVoterId
            | Self::GhanaDriverLicence => Some("GH"),
            Self::NigeriaNin
            | Self::NigeriaBvn
            | Self::NigeriaVnin
            | Self::NigeriaVin
            | Self::NigeriaTin
            | Self::NigeriaDriverLicence => Some("NG"),
            Self::KenyaNationalId | Self::KenyaKraPin => Some("KE"),
            Self::UgandaNin => Some("UG"),
            Self::CoteDivoireNni => Some("CI"),
            Self::SenegalNin => Some("SN"),
            Self::CameroonCni => Some("CM"),
            Self::Passport => None,
        }
    }

    /// The camelCase name used in JSON (`ghanaCardPin`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::GhanaCardPin => "ghanaCardPin",
            Self::GhanaSsnit => "ghanaSsnit",
            Self::GhanaTin => "ghanaTin",
            Self::GhanaVoterId => "ghanaVoterId",
            Self::GhanaDriverLicence => "ghanaDriverLicence",
            Self::NigeriaNin => "nigeriaNin",
            Self::NigeriaBvn => "nigeriaBvn",
            Self::NigeriaVnin => "nigeriaVnin",
            Self::NigeriaVin => "nigeriaVin",
            Self::NigeriaTin => "nigeriaTin",
            Self::NigeriaDriverLicence => "nigeriaDriverLicence",
            Self::KenyaNationalId => "kenyaNationalId",
            Self::KenyaKraPin => "kenyaKraPin",
            Self::UgandaNin => "ugandaNin",
            Self::CoteDivoireNni => "coteDivoireNni",
            Self::SenegalNin => "senegalNin",
            Self::CameroonCni => "cameroonCni",
            Self::Passport => "passport",
        }
    }

    /// Look a type up by its JSON name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The name as typed on a command line: `ghana_card_pin` for `ghanaCardPin`.
    pub fn snake_name(self) -> String {
        let mut out = String::new();
        for c in self.name().chars() {
            if c.is_ascii_uppercase() {
                out.push('_');
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }

    /// A one-line statement of the format rule and of what is known about a check digit.
    pub fn rule(self) -> &'static str {
        match self {
            Self::GhanaCardPin => {
                "GHA-#########-#: 'GHA', 9 digits, 1 final digit. The final digit is a check digit, \
                 but NIA has not published its algorithm: format only"
            }
            Self::GhanaSsnit => {
                "one letter and 12 digits; no public check-digit algorithm: format only"
            }
            Self::GhanaTin => {
                "the Ghana Card PIN (GRA's TIN for individuals since 2021) or a GRA TIN of 11 \
                 characters: P00 (individual), C00 (company), G00 (government), Q00 (foreign \
                 mission) or V00 (other entity) and 8 letters or digits; no public check digit: \
                 format only"
            }
            Self::GhanaVoterId => {
                "10 digits (Electoral Commission card); no public check digit: format only"
            }
            Self::GhanaDriverLicence => {
                "DVLA licence number: 1-3 letters then 6-10 digits, optionally a dash and 2 digits; \
                 layout varies by issue year, no public check digit: format only"
            }
            Self::NigeriaNin => "11 digits (NIMC); no public check-digit algorithm: format only",
            Self::NigeriaBvn => {
                "11 digits (issued BVNs begin with 22); no public check digit: format only"
            }
            Self::NigeriaVnin => {
                "16 letters and digits (token valid for one verifier): format only"
            }
            Self::NigeriaVin => "19 letters and digits (INEC PVC): format only",
            Self::NigeriaTin => {
                "JTB TIN of 10 digits, or FIRS TIN of 8 digits, '-', 4 digits: format only"
            }
            Self::NigeriaDriverLicence => {
                "FRSC licence: 3 letters, 5 digits, 2 letters, 2 digits (12 characters) as printed on \
                 current licences; not an officially published rule: format only"
            }
            Self::KenyaNationalId => "7 or 8 digits; no check digit: format only",
            Self::KenyaKraPin => {
                "A (individual) or P (non-individual), 9 digits, a letter; the final letter is \
                 believed to be a check character but its algorithm is not public: format only"
            }
            Self::UgandaNin => {
                "14 letters and digits: 'C' (citizen), 'M' or 'F' (sex), then 12 letters and digits; \
                 no public check character: format only"
            }
            Self::CoteDivoireNni => {
                "NNI (numéro national d'identification, ONECI): 11 digits; no public check digit: \
                 format only"
            }
            Self::SenegalNin => {
                "NIN of the ECOWAS card: 13 digits, the first 1 or 2 (believed to give the sex; \
                 not an officially published rule); no public check digit: format only"
            }
            Self::CameroonCni => {
                "CNI card number: 9 digits as printed on current cards; not an officially \
                 published rule, no public check digit: format only"
            }
            Self::Passport => {
                "ICAO 9303 document number: 1-9 characters A-Z 0-9 (MRZ field of 9, filler <); \
                 10 characters are read as number + MRZ check digit (7-3-1), which is then verified"
            }
        }
    }
}

/// An ID number as claimed or read, with its type and issuing country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdNumber {
    /// ISO 3166-1 alpha-2 code of the issuing country.
    pub country: String,
    /// The kind of number.
    pub id_type: IdType,
    /// The number as given (normalised by [`validate`]).
    pub number: String,
}

/// The result of checking one ID number offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdCheck {
    /// ISO 3166-1 alpha-2 code of the issuing country.
    pub country: String,
    /// The kind of number.
    pub id_type: IdType,
    /// The number in its canonical printed form (upper case, separators as the issuer prints).
    pub normalized: String,
    /// Whether the number has the issuer's format.
    pub format_valid: bool,
    /// The check-digit result, or `None` where the number has none or its algorithm is not public.
    pub check_digit_valid: Option<bool>,
    /// Why the number is invalid, or what was and was not checked.
    pub reason: String,
}

impl IdCheck {
    /// Valid as far as offline checks can tell: format right and no failing check digit.
    pub fn is_valid(&self) -> bool {
        self.format_valid && self.check_digit_valid != Some(false)
    }
}

/// Upper-case and drop spaces, dashes, dots, slashes and underscores.
pub fn compact(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '.' | '/' | '_' | '–' | '—'))
        .flat_map(char::to_uppercase)
        .collect()
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn all_alnum(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// `true` when `s` matches a pattern of `L` (letter), `D` (digit), `A` (letter or digit).
fn shape(s: &str, pattern: &str) -> bool {
    s.len() == pattern.len()
        && s.bytes().zip(pattern.bytes()).all(|(c, p)| match p {
            b'L' => c.is_ascii_uppercase(),
            b'D' => c.is_ascii_digit(),
            b'A' => c.is_ascii_uppercase() || c.is_ascii_digit(),
            _ => c == p,
        })
}

/// Canonical printed form of a compacted number.
fn canonical(id_type: IdType, c: &str) -> String {
    match id_type {
        IdType::GhanaCardPin if shape(c, "GHADDDDDDDDDD") => {
            format!("GHA-{}-{}", &c[3..12], &c[12..])
        }
        IdType::GhanaTin if shape(c, "GHADDDDDDDDDD") => format!("GHA-{}-{}", &c[3..12], &c[12..]),
        IdType::NigeriaTin if shape(c, "DDDDDDDDDDDD") => format!("{}-{}", &c[..8], &c[8..]),
        _ => c.to_string(),
    }
}

const NO_CHECK: &str = "format only: no public check-digit algorithm";

/// Check `input` as a number of `id_type`. `country` is the issuing country claimed (ISO alpha-2,
/// or alpha-3 for passports as in the MRZ); a country that does not issue `id_type` fails.
pub fn validate(country: &str, id_type: IdType, input: &str) -> IdCheck {
    let country = country.trim().to_ascii_uppercase();
    let c = compact(input);
    let normalized = canonical(id_type, &c);
    let mut out = IdCheck {
        country: country.clone(),
        id_type,
        normalized,
        format_valid: false,
        check_digit_valid: None,
        reason: String::new(),
    };
    if let Some(issuer) = id_type.country()
        && issuer != country
    {
        out.reason = format!(
            "{} numbers are issued by {issuer}, not {country}",
            id_type.name()
        );
        return out;
    }
    if c.is_empty() {
        out.reason = "empty number".into();
        return out;
    }
    if !c.chars().all(|ch| ch.is_ascii_alphanumeric()) {
        out.reason = "holds characters other than letters and digits".into();
        return out;
    }
    let (ok, why): (bool, String) = match id_type {
        IdType::GhanaCardPin => (
            shape(&c, "GHADDDDDDDDDD"),
            "expected GHA-#########-# (GHA, 9 digits, 1 check digit)".into(),
        ),
        IdType::GhanaSsnit => (
            shape(&c, "LDDDDDDDDDDDD"),
            "expected a letter and 12 digits".into(),
        ),
        IdType::GhanaTin => (
            shape(&c, "GHADDDDDDDDDD")
                || (shape(&c, "L00AAAAAAAA")
                    && matches!(c.as_bytes()[0], b'P' | b'C' | b'G' | b'Q' | b'V')),
            "expected a Ghana Card PIN, or P00/C00/G00/Q00/V00 and 8 letters or digits".into(),
        ),
        IdType::GhanaVoterId => (c.len() == 10 && all_digits(&c), "expected 10 digits".into()),
        IdType::GhanaDriverLicence => {
            let letters = c.bytes().take_while(u8::is_ascii_uppercase).count();
            let rest = &c[letters..];
            (
                (1..=3).contains(&letters) && all_digits(rest) && (6..=12).contains(&rest.len()),
                "expected 1-3 letters then 6-12 digits".into(),
            )
        }
        IdType::NigeriaNin => (c.len() == 11 && all_digits(&c), "expected 11 digits".into()),
        IdType::NigeriaBvn => (c.len() == 11 && all_digits(&c), "expected 11 digits".into()),
        IdType::NigeriaVnin => (
            c.len() == 16 && all_alnum(&c),
            "expected 16 letters and digits".into(),
        ),
        IdType::NigeriaVin => (
            c.len() == 19 && all_alnum(&c),
            "expected 19 letters and digits".into(),
        ),
        IdType::NigeriaTin => (
            all_digits(&c) && (c.len() == 10 || c.len() == 12),
            "expected 10 digits (JTB) or ########-#### (FIRS)".into(),
        ),
        IdType::NigeriaDriverLicence => (
            shape(&c, "LLLDDDDDLLDD"),
            "expected 3 letters, 5 digits, 2 letters, 2 digits".into(),
        ),
        IdType::KenyaNationalId => (
            all_digits(&c) && (7..=8).contains(&c.len()),
            "expected 7 or 8 digits".into(),
        ),
        IdType::KenyaKraPin => (
            shape(&c, "LDDDDDDDDDL") && matches!(c.as_bytes()[0], b'A' | b'P'),
            "expected A or P, 9 digits, a letter".into(),
        ),
        IdType::UgandaNin => (
            shape(&c, "CLAAAAAAAAAAAA") && matches!(c.as_bytes()[1], b'M' | b'F'),
            "expected 14 characters starting CM or CF".into(),
        ),
        IdType::CoteDivoireNni => (c.len() == 11 && all_digits(&c), "expected 11 digits".into()),
        IdType::SenegalNin => (
            c.len() == 13 && all_digits(&c) && matches!(c.as_bytes()[0], b'1' | b'2'),
            "expected 13 digits, the first 1 or 2".into(),
        ),
        IdType::CameroonCni => (c.len() == 9 && all_digits(&c), "expected 9 digits".into()),
        IdType::Passport => return passport(out, &c),
    };
    out.format_valid = ok;
    out.reason = if ok { NO_CHECK.into() } else { why };
    out
}

fn passport(mut out: IdCheck, c: &str) -> IdCheck {
    out.normalized = c.to_string();
    if !all_alnum(c) || c.len() > 10 {
        out.reason = "expected 1-9 letters and digits (or 9 + the MRZ check digit)".into();
        return out;
    }
    if c.len() == 10 {
        // Number field (9) followed by its MRZ check digit.
        let (num, cd) = c.split_at(9);
        out.normalized = num.to_string();
        if !all_digits(cd) {
            out.reason = "10 characters, but the last is not an MRZ check digit".into();
            return out;
        }
        out.format_valid = true;
        let ok = check_digit(num).is_some_and(|d| cd.starts_with(d));
        out.check_digit_valid = Some(ok);
        out.reason = if ok {
            "9 characters and a matching MRZ check digit".into()
        } else {
            format!("MRZ check digit {cd} does not match {num}")
        };
        return out;
    }
    out.format_valid = true;
    out.reason = "format only: give the MRZ check digit as a 10th character to verify it".into();
    out
}

/// [`validate`] with the issuing country implied by the type (passports: unknown country "").
pub fn validate_id(id_type: IdType, input: &str) -> IdCheck {
    validate(id_type.country().unwrap_or(""), id_type, input)
}

/// Verify a passport number against the check digit printed beside it in the MRZ.
pub fn validate_passport_with_check(country: &str, number: &str, check: char) -> IdCheck {
    let n = compact(number);
    let padded = format!("{n:<<9}");
    let mut out = validate(country, IdType::Passport, &n);
    if out.format_valid && n.len() <= 9 {
        let ok = check_digit(&padded) == Some(check);
        out.check_digit_valid = Some(ok);
        out.reason = if ok {
            "MRZ check digit matches".into()
        } else {
            format!("MRZ check digit {check} does not match")
        };
    }
    out
}

// ------------------------------------------------------------------ mismatch

/// How the number the agent entered compares with the number read from the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MismatchKind {
    /// Identical after normalisation (case, spaces, dashes).
    Same,
    /// Differ only in OCR look-alikes (O/0, I/1, B/8, S/5, Z/2, G/6, …) at the same positions.
    ConfusableOnly,
    /// Different numbers.
    Different,
    /// One of the two is empty.
    Missing,
}

/// One differing position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CharDifference {
    /// 0-based index in the normalised numbers.
    pub position: usize,
    /// The character the agent entered (`None` past its end).
    pub entered: Option<char>,
    /// The character read from the document (`None` past its end).
    pub read: Option<char>,
}

/// The structured mismatch flag between an entered and a read number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MismatchReport {
    /// The kind of number compared.
    pub id_type: IdType,
    /// The entered number, normalised.
    pub entered: String,
    /// The read number, normalised.
    pub read: String,
    /// `true` when the agent must look again: different numbers, a missing one, or look-alike
    /// differences when look-alikes are not tolerated.
    pub mismatch: bool,
    /// What kind of difference.
    pub kind: MismatchKind,
    /// Every differing position.
    pub differences: Vec<CharDifference>,
    /// Whether look-alike differences were tolerated in this comparison.
    pub confusions_tolerated: bool,
}

/// The class of look-alike characters `c` belongs to (same class = an OCR could swap them).
fn confusion_class(c: char) -> char {
    match c {
        '0' | 'O' | 'Q' | 'D' => '0',
        '1' | 'I' | 'L' | 'J' => '1',
        '2' | 'Z' => '2',
        '5' | 'S' => '5',
        '6' | 'G' => '6',
        '8' | 'B' => '8',
        '7' | 'T' => '7',
        '4' | 'A' => '4',
        other => other,
    }
}

/// Compare the number the agent entered with the number read from the document, after
/// normalisation. Look-alike differences (O/0 …) count as a match only when
/// `tolerate_confusions` is set (e.g. when the read number came from OCR without a check digit);
/// either way they are reported as [`MismatchKind::ConfusableOnly`].
pub fn compare_numbers(
    id_type: IdType,
    entered: &str,
    read: &str,
    tolerate_confusions: bool,
) -> MismatchReport {
    let e = canonical(id_type, &compact(entered));
    let r = canonical(id_type, &compact(read));
    let (ec, rc) = (compact(&e), compact(&r));
    let ev: Vec<char> = ec.chars().collect();
    let rv: Vec<char> = rc.chars().collect();
    let differences: Vec<CharDifference> = (0..ev.len().max(rv.len()))
        .filter_map(|i| {
            let (a, b) = (ev.get(i).copied(), rv.get(i).copied());
            (a != b).then_some(CharDifference {
                position: i,
                entered: a,
                read: b,
            })
        })
        .collect();
    let kind = if ev.is_empty() || rv.is_empty() {
        MismatchKind::Missing
    } else if differences.is_empty() {
        MismatchKind::Same
    } else if ev.len() == rv.len()
        && differences.iter().all(|d| match (d.entered, d.read) {
            (Some(a), Some(b)) => confusion_class(a) == confusion_class(b),
            _ => false,
        })
    {
        MismatchKind::ConfusableOnly
    } else {
        MismatchKind::Different
    };
    let mismatch = match kind {
        MismatchKind::Same => false,
        MismatchKind::ConfusableOnly => !tolerate_confusions,
        MismatchKind::Different | MismatchKind::Missing => true,
    };
    MismatchReport {
        id_type,
        entered: e,
        read: r,
        mismatch,
        kind,
        differences,
        confusions_tolerated: tolerate_confusions,
    }
}

// ------------------------------------------------------------------ registry hook

/// What a registry said about a number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum LookupOutcome {
    /// The registry knows the number; `record` holds what it returned (e.g. `fullName`,
    /// `dateOfBirth`, `gender`), field names as the cloud services use them.
    Found {
        /// The registry's record.
        record: BTreeMap<String, String>,
    },
    /// The registry does not know the number.
    NotFound,
    /// No registry can be reached from here (offline kiosk); only offline checks apply.
    NotAvailableOffline,
}

/// Why a lookup failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "error", content = "detail")]
pub enum LookupError {
    /// The number fails offline checks, so it was not sent.
    #[error("invalid number: {0}")]
    InvalidNumber(String),
    /// The registry does not serve this kind of number.
    #[error("registry does not serve {0}")]
    Unsupported(String),
    /// The network or the registry failed.
    #[error("registry unavailable: {0}")]
    Unavailable(String),
    /// The registry refused the kiosk's credentials.
    #[error("registry refused the request: {0}")]
    Unauthorized(String),
}

/// Where an online registry check (NIA, NIMC, IPRS, NIRA, …) plugs in. Implementations block;
/// call them off the UI thread.
pub trait RegistryLookup {
    /// Look `id` up in the registry.
    fn lookup(&self, id: &IdNumber) -> Result<LookupOutcome, LookupError>;
}

/// The registry of an offline kiosk: always [`LookupOutcome::NotAvailableOffline`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OfflineRegistry;

impl RegistryLookup for OfflineRegistry {
    fn lookup(&self, _id: &IdNumber) -> Result<LookupOutcome, LookupError> {
        Ok(LookupOutcome::NotAvailableOffline)
    }
}

/// Validate offline first, then ask `registry` only about numbers that pass.
pub fn check_and_lookup(
    registry: &dyn RegistryLookup,
    id: &IdNumber,
) -> (IdCheck, Result<LookupOutcome, LookupError>) {
    let check = validate(&id.country, id.id_type, &id.number);
    if !check.is_valid() {
        let reason = check.reason.clone();
        return (check, Err(LookupError::InvalidNumber(reason)));
    }
    let normalised = IdNumber {
        number: check.normalized.clone(),
        ..id.clone()
    };
    let outcome = registry.lookup(&normalised);
    (check, outcome)
}

/// An ID type name that names no supported type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown ID type {given:?}; supported: {}",
    IdType::ALL.iter().map(|t| t.snake_name()).collect::<Vec<_>>().join(", ")
)]
pub struct UnknownIdType {
    /// What was given.
    pub given: String,
}

impl std::str::FromStr for IdType {
    type Err = UnknownIdType;

    /// Accepts the JSON name (`ghanaCardPin`), its snake-case form (`ghana_card_pin`, any case,
    /// `-` for `_`) and the document names people type: `ghana_card`, `nin`, `bvn`,
    /// `voter_card`/`pvc` (Nigeria), `kenya_id`, `uganda_id`, `kra_pin`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, '_' | '-' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        let alias = match key.as_str() {
            "ghanacard" | "ghanaid" | "ghananationalid" => Some(Self::GhanaCardPin),
            "ssnit" => Some(Self::GhanaSsnit),
            "nin" | "ninslip" | "nigeriaid" | "nigerianationalid" => Some(Self::NigeriaNin),
            "bvn" => Some(Self::NigeriaBvn),
            "vnin" => Some(Self::NigeriaVnin),
            "pvc" | "nigeriavotercard" => Some(Self::NigeriaVin),
            "ghanavotercard" => Some(Self::GhanaVoterId),
            "kenyaid" => Some(Self::KenyaNationalId),
            "krapin" => Some(Self::KenyaKraPin),
            "ugandaid" | "ugandanationalid" => Some(Self::UgandaNin),
            "nni" | "civid" | "ivorycoastid" | "cotedivoireid" => Some(Self::CoteDivoireNni),
            "senegalid" | "senegalnationalid" => Some(Self::SenegalNin),
            "cni" | "cameroonid" | "cameroonnationalid" => Some(Self::CameroonCni),
            _ => None,
        };
        alias
            .or_else(|| {
                Self::ALL
                    .into_iter()
                    .find(|t| t.name().to_ascii_lowercase() == key)
            })
            .ok_or_else(|| UnknownIdType {
                given: s.to_string(),
            })
    }
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn names_aliases_and_unknown_types() {
        assert_eq!("ghana_card".parse(), Ok(IdType::GhanaCardPin));
        assert_eq!("ghanaCardPin".parse(), Ok(IdType::GhanaCardPin));
        assert_eq!("GHANA-CARD-PIN".parse(), Ok(IdType::GhanaCardPin));
        assert_eq!("passport".parse(), Ok(IdType::Passport));
        assert_eq!("nin".parse(), Ok(IdType::NigeriaNin));
        for t in IdType::ALL {
            assert_eq!(t.snake_name().parse(), Ok(t));
        }
        let err = "nonsense".parse::<IdType>().unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("\"nonsense\"") && msg.contains("ghana_card_pin"),
            "{msg}"
        );
        assert!(msg.contains("passport"));
    }
}
