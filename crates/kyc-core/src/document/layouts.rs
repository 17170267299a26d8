//! The document vocabulary and the in-scope card layouts.
//!
//! [`DocumentType`] is the `documentType` the reference services return (`passport`,
//! `national_id`, `drivers_license`, `voter_card`, `residence_permit`, `visa`, `unknown`), taken
//! from the layout when one is recognised and otherwise from the MRZ document code.
//!
//! [`LAYOUTS`] lists the cards of Ghana, Nigeria, Kenya, Uganda, Côte d'Ivoire, Senegal and
//! Cameroon the reader knows: how each is recognised from its printed titles (or, for a back side
//! read alone, from its MRZ), its issuing country, which number is its key number, what type that
//! number is checked as, and how the number is found by its shape when no label gives it.
//! Pure functions, no models.

use serde::Serialize;

use super::fields::{self, PlacedLine};
use super::idnumber::{self, IdType};
use super::mrz::{MrzFormat, MrzReading};

/// The normalised document type of the result JSON (`documentType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    /// A passport book (MRZ code `P…`).
    Passport,
    /// A national identity card or slip (MRZ codes `I…`, `A…`, `C…` other than residence
    /// permits; the national ID layouts).
    NationalId,
    /// A driving licence (MRZ code `D…`; the licence layouts).
    DriversLicense,
    /// A voter's card.
    VoterCard,
    /// A residence permit (MRZ codes `IR`, `AR`, `CR`, `RP`).
    ResidencePermit,
    /// A visa (MRV-A/MRV-B, code `V…`).
    Visa,
    /// Not recognised.
    Unknown,
}

impl DocumentType {
    /// The JSON name (`national_id`, …).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Passport => "passport",
            Self::NationalId => "national_id",
            Self::DriversLicense => "drivers_license",
            Self::VoterCard => "voter_card",
            Self::ResidencePermit => "residence_permit",
            Self::Visa => "visa",
            Self::Unknown => "unknown",
        }
    }

    /// The type an MRZ's format and document code name (ICAO 9303 part 4–7 codes; `D` is the
    /// ISO 18013 driving licence's).
    #[must_use]
    pub fn from_mrz(format: MrzFormat, code: &str) -> Self {
        let code = code.trim_end_matches('<');
        let mut chars = code.chars();
        let (first, second) = (chars.next(), chars.next());
        if matches!(format, MrzFormat::MrvA | MrzFormat::MrvB) || first == Some('V') {
            return Self::Visa;
        }
        match (first, second) {
            (Some('P'), _) => Self::Passport,
            (Some('I' | 'A' | 'C'), Some('R')) | (Some('R'), Some('P')) => Self::ResidencePermit,
            (Some('I' | 'A' | 'C'), _) => Self::NationalId,
            (Some('D'), _) => Self::DriversLicense,
            _ => Self::Unknown,
        }
    }
}

/// Which document field a layout's key number is printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyField {
    /// `documentNumber`.
    Document,
    /// `personalNumber`.
    Personal,
}

impl KeyField {
    /// The JSON field name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Document => "documentNumber",
            Self::Personal => "personalNumber",
        }
    }
}

/// A number's printed shape, to find it on a line when no label gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `GHA` and 10 digits (the Ghana Card PIN), printed `GHA-#########-#`.
    GhanaPin,
    /// A run of exactly this many digits (spaces inside the number allowed).
    Digits(usize),
    /// A run of 7 or 8 digits standing alone.
    KenyaId,
    /// One word of exactly this many letters and digits, holding both.
    Alnum(usize),
    /// One to three letters then 6 to 10 digits, as one word (a dash inside allowed).
    LettersDigits,
    /// `C`, `M` or `F`, then 12 letters and digits (Uganda's NIN).
    UgandaNin,
}

/// One card layout the reader knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Stable id (`ghana_card`, …): the result's `layout`.
    pub id: &'static str,
    /// Issuing country, ICAO alpha-3 (as the MRZ writes it).
    pub country: &'static str,
    /// The `documentType` of the layout.
    pub document_type: DocumentType,
    /// Recognised when every phrase of `all` is in the folded text (lines joined)…
    all: &'static [&'static str],
    /// …and, when not empty, at least one of `any`.
    any: &'static [&'static str],
    /// The MRZ the card carries (on its back): the document code's first letter and the
    /// issuing state. A back side read alone is recognised by it.
    pub mrz: Option<(char, &'static str)>,
    /// The key number's type and the field it lives in.
    pub key: Option<(IdType, KeyField)>,
    /// Printed shape of the key number.
    pub shape: Option<Shape>,
    /// A label "ID number" on this card names the personal number (the MRZ's document number is
    /// the card's serial).
    pub id_number_is_personal: bool,
}

const fn layout(id: &'static str, country: &'static str, document_type: DocumentType) -> Layout {
    Layout {
        id,
        country,
        document_type,
        all: &[],
        any: &[],
        mrz: None,
        key: None,
        shape: None,
        id_number_is_personal: false,
    }
}

/// The in-scope layouts, most specific first (the first whose phrases are found wins).
pub const LAYOUTS: &[Layout] = &[
    Layout {
        all: &["ghana"],
        any: &["electoral commission", "voter"],
        key: Some((IdType::GhanaVoterId, KeyField::Document)),
        shape: Some(Shape::Digits(10)),
        ..layout("ghana_voter_card", "GHA", DocumentType::VoterCard)
    },
    Layout {
        all: &["ghana"],
        any: &[
            "licensing authority",
            "driving licen",
            "driver's licen",
            "drivers licen",
        ],
        key: Some((IdType::GhanaDriverLicence, KeyField::Document)),
        shape: Some(Shape::LettersDigits),
        ..layout("ghana_drivers_licence", "GHA", DocumentType::DriversLicense)
    },
    Layout {
        all: &[],
        any: &[
            "national identification authority",
            "republic of ghana",
            "ghana card",
        ],
        mrz: Some(('I', "GHA")),
        key: Some((IdType::GhanaCardPin, KeyField::Personal)),
        shape: Some(Shape::GhanaPin),
        ..layout("ghana_card", "GHA", DocumentType::NationalId)
    },
    Layout {
        all: &[],
        any: &[
            "independent national electoral commission",
            "voter's card",
            "voters card",
        ],
        key: Some((IdType::NigeriaVin, KeyField::Personal)),
        shape: Some(Shape::Alnum(19)),
        ..layout("nigeria_voter_card", "NGA", DocumentType::VoterCard)
    },
    Layout {
        all: &["nigeria"],
        any: &[
            "road safety",
            "driver's licen",
            "drivers licen",
            "driving licen",
        ],
        key: Some((IdType::NigeriaDriverLicence, KeyField::Document)),
        shape: Some(Shape::Alnum(12)),
        ..layout(
            "nigeria_drivers_licence",
            "NGA",
            DocumentType::DriversLicense,
        )
    },
    Layout {
        all: &["nigeria"],
        any: &[
            "national identity card",
            "national id card",
            "general multi-purpose card",
        ],
        mrz: Some(('I', "NGA")),
        key: Some((IdType::NigeriaNin, KeyField::Personal)),
        shape: Some(Shape::Digits(11)),
        ..layout("nigeria_national_id", "NGA", DocumentType::NationalId)
    },
    Layout {
        all: &[],
        any: &["identity management", "management commission", "nin slip"],
        key: Some((IdType::NigeriaNin, KeyField::Personal)),
        shape: Some(Shape::Digits(11)),
        ..layout("nigeria_nin_slip", "NGA", DocumentType::NationalId)
    },
    Layout {
        all: &["kenya"],
        any: &["national identity card", "kitambulisho", "maisha"],
        mrz: Some(('I', "KEN")),
        key: Some((IdType::KenyaNationalId, KeyField::Personal)),
        shape: Some(Shape::KenyaId),
        id_number_is_personal: true,
        ..layout("kenya_maisha", "KEN", DocumentType::NationalId)
    },
    Layout {
        all: &[],
        any: &["jamhuri ya kenya", "republic of kenya"],
        key: Some((IdType::KenyaNationalId, KeyField::Document)),
        shape: Some(Shape::KenyaId),
        ..layout("kenya_national_id", "KEN", DocumentType::NationalId)
    },
    Layout {
        all: &["uganda"],
        any: &[],
        mrz: Some(('I', "UGA")),
        key: Some((IdType::UgandaNin, KeyField::Personal)),
        shape: Some(Shape::UgandaNin),
        ..layout("uganda_national_id", "UGA", DocumentType::NationalId)
    },
    Layout {
        all: &["ivoire"],
        any: &[],
        mrz: Some(('I', "CIV")),
        key: Some((IdType::CoteDivoireNni, KeyField::Personal)),
        shape: Some(Shape::Digits(11)),
        ..layout("civ_national_id", "CIV", DocumentType::NationalId)
    },
    Layout {
        all: &["senegal"],
        any: &[],
        mrz: Some(('I', "SEN")),
        key: Some((IdType::SenegalNin, KeyField::Personal)),
        shape: Some(Shape::Digits(13)),
        ..layout("senegal_ecowas_id", "SEN", DocumentType::NationalId)
    },
    Layout {
        all: &[],
        any: &["cameroun", "cameroon"],
        key: Some((IdType::CameroonCni, KeyField::Document)),
        shape: Some(Shape::Digits(9)),
        ..layout("cameroon_cni", "CMR", DocumentType::NationalId)
    },
];

/// The layout with this id.
#[must_use]
pub fn by_id(id: &str) -> Option<&'static Layout> {
    LAYOUTS.iter().find(|l| l.id == id)
}

/// The layout the printed text names: the first of [`LAYOUTS`] whose phrases are all found.
#[must_use]
pub fn detect(lines: &[PlacedLine]) -> Option<&'static Layout> {
    let all = lines
        .iter()
        .map(|l| fields::fold(&l.text))
        .collect::<Vec<_>>()
        .join(" | ");
    LAYOUTS.iter().find(|l| {
        (!l.all.is_empty() || !l.any.is_empty())
            && l.all.iter().all(|p| all.contains(p))
            && (l.any.is_empty() || l.any.iter().any(|p| all.contains(p)))
    })
}

/// The layout an MRZ names when no printed title did (a card's back read on its own): a TD1
/// zone whose document code and issuing state are a known card's.
#[must_use]
pub fn from_mrz(m: &MrzReading) -> Option<&'static Layout> {
    if m.format != MrzFormat::Td1 {
        return None;
    }
    let code = m.fields.document_code.value.chars().next()?;
    let state = m.fields.issuing_state.value.as_str();
    let fields = &m.fields;
    LAYOUTS
        .iter()
        .find(|l| l.mrz.is_some_and(|(c, s)| c == code && s == state))
        // The zone must hold the layout's key number in its format: another card of the same
        // issuer (an older series) is not taken for this one.
        .filter(|l| match l.key {
            Some((t, KeyField::Personal)) => {
                let v = fields
                    .personal_number
                    .as_ref()
                    .or(fields.optional_data1.as_ref())
                    .map_or("", |f| f.value.as_str());
                idnumber::validate(t.country().unwrap_or(""), t, v).is_valid()
            }
            Some((t, KeyField::Document)) => {
                idnumber::validate(t.country().unwrap_or(""), t, &fields.document_number.value)
                    .is_valid()
            }
            None => true,
        })
}

/// The key number of `layout` found by its shape on one line, in its canonical printed form.
#[must_use]
pub fn find_number(layout: &Layout, text: &str) -> Option<String> {
    let shape = layout.shape?;
    let compact = idnumber::compact(text);
    let words: Vec<String> = text
        .split_whitespace()
        .map(idnumber::compact)
        .filter(|w| !w.is_empty())
        .collect();
    match shape {
        Shape::GhanaPin => {
            let pos = compact.find("GHA")?;
            let pin = compact.get(pos..pos + 13)?;
            pin[3..]
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| format!("GHA-{}-{}", &pin[3..12], &pin[12..]))
        }
        Shape::Digits(n) => digit_run(text, n),
        Shape::KenyaId => words
            .iter()
            .find(|w| (7..=8).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_digit()))
            .cloned(),
        Shape::Alnum(n) => words
            .iter()
            .chain(std::iter::once(&compact))
            .find(|w| {
                w.len() == n
                    && w.bytes().all(|b| b.is_ascii_alphanumeric())
                    && w.bytes().any(|b| b.is_ascii_digit())
                    && w.bytes().any(|b| b.is_ascii_uppercase())
            })
            .cloned(),
        Shape::LettersDigits => words
            .iter()
            .find(|w| {
                let letters = w.bytes().take_while(u8::is_ascii_uppercase).count();
                let rest = &w[letters..];
                (1..=3).contains(&letters)
                    && (6..=10).contains(&rest.len())
                    && rest.bytes().all(|b| b.is_ascii_digit())
            })
            .cloned(),
        Shape::UgandaNin => words.iter().chain(std::iter::once(&compact)).find_map(|w| {
            let pos = w.find("CM").or_else(|| w.find("CF"))?;
            let nin = w.get(pos..pos + 14)?;
            idnumber::validate("UG", IdType::UgandaNin, nin)
                .is_valid()
                .then(|| nin.to_string())
        }),
    }
}

/// A run of exactly `n` digits; single spaces between groups of digits are part of the run
/// ("9955 900 7370"), other characters end it.
fn digit_run(text: &str, n: usize) -> Option<String> {
    let mut run = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        let joins = c == ' ' && !run.is_empty() && chars.peek().is_some_and(char::is_ascii_digit);
        if joins {
            continue;
        }
        if run.len() == n {
            return Some(run);
        }
        run.clear();
    }
    (run.len() == n).then_some(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::mrz::generate::{MrzSpec, generate};
    use crate::document::mrz::{IsoDate, parse_mrz_lines};

    fn line(text: &str) -> PlacedLine {
        PlacedLine {
            text: text.into(),
            confidence: 0.95,
            char_confidences: vec![0.95; text.chars().count()],
            left: 0.0,
            right: 100.0,
            v: 0.0,
            height: 20.0,
            slope: 0.0,
        }
    }

    fn detected(titles: &[&str]) -> Option<&'static str> {
        let lines: Vec<PlacedLine> = titles.iter().map(|t| line(t)).collect();
        detect(&lines).map(|l| l.id)
    }

    #[test]
    fn mrz_codes_map_to_the_vocabulary() {
        use DocumentType::*;
        for (format, code, want) in [
            (MrzFormat::Td3, "P", Passport),
            (MrzFormat::Td3, "PO", Passport),
            (MrzFormat::Td1, "I", NationalId),
            (MrzFormat::Td1, "ID", NationalId),
            (MrzFormat::Td2, "AC", NationalId),
            (MrzFormat::Td1, "IR", ResidencePermit),
            (MrzFormat::Td1, "AR", ResidencePermit),
            (MrzFormat::Td1, "RP", ResidencePermit),
            (MrzFormat::MrvA, "V", Visa),
            (MrzFormat::Td1, "D1", DriversLicense),
            (MrzFormat::Td1, "X", Unknown),
        ] {
            assert_eq!(DocumentType::from_mrz(format, code), want, "{code}");
        }
        assert_eq!(DocumentType::NationalId.name(), "national_id");
        assert_eq!(
            serde_json::to_value(DocumentType::DriversLicense).unwrap(),
            "drivers_license"
        );
    }

    #[test]
    fn titles_pick_the_layout_and_look_alikes_do_not_cross() {
        assert_eq!(
            detected(&["ECOWAS IDENTITY CARD", "REPUBLIC OF GHANA"]),
            Some("ghana_card")
        );
        // The ECOWAS title alone is shared by Senegal's card: the country decides.
        assert_eq!(
            detected(&["RÉPUBLIQUE DU SÉNÉGAL", "ECOWAS IDENTITY CARD"]),
            Some("senegal_ecowas_id")
        );
        assert_eq!(detected(&["ECOWAS IDENTITY CARD"]), None);
        assert_eq!(
            detected(&["ELECTORAL COMMISSION OF GHANA", "VOTER ID CARD"]),
            Some("ghana_voter_card")
        );
        assert_eq!(
            detected(&["INDEPENDENT NATIONAL ELECTORAL COMMISSION", "VOTER'S CARD"]),
            Some("nigeria_voter_card")
        );
        assert_eq!(
            detected(&["FEDERAL REPUBLIC OF NIGERIA", "NATIONAL DRIVER'S LICENCE"]),
            Some("nigeria_drivers_licence")
        );
        assert_eq!(
            detected(&["FEDERAL REPUBLIC OF NIGERIA", "NATIONAL IDENTITY CARD"]),
            Some("nigeria_national_id")
        );
        assert_eq!(
            detected(&["REPUBLIC OF KENYA", "NATIONAL IDENTITY CARD"]),
            Some("kenya_maisha")
        );
        assert_eq!(
            detected(&["JAMHURI YA KENYA", "REPUBLIC OF KENYA"]),
            Some("kenya_national_id")
        );
        assert_eq!(
            detected(&["RÉPUBLIQUE DE CÔTE D'IVOIRE", "CARTE NATIONALE D'IDENTITÉ"]),
            Some("civ_national_id")
        );
        assert_eq!(
            detected(&["RÉPUBLIQUE DU CAMEROUN", "REPUBLIC OF CAMEROON"]),
            Some("cameroon_cni")
        );
        assert_eq!(detected(&["PASSPORT / PASSEPORT"]), None);
    }

    #[test]
    fn a_back_read_alone_is_known_by_its_mrz() {
        let today = IsoDate::new(2026, 11, 29).unwrap();
        let spec = |state: &str, personal: &str| MrzSpec {
            document_code: "ID".into(),
            issuing_state: state.into(),
            document_number: "001234567".into(),
            optional_data1: personal.into(),
            optional_data2: String::new(),
            birth_date: "900101".into(),
            sex: 'M',
            expiry_date: "350101".into(),
            nationality: state.into(),
            primary_identifier: "OTIENO".into(),
            secondary_identifier: "BRIAN OUMA".into(),
        };
        let read = |state: &str, personal: &str| {
            let lines = generate(MrzFormat::Td1, &spec(state, personal)).unwrap();
            let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
            parse_mrz_lines(&refs, today).unwrap()
        };
        assert_eq!(
            from_mrz(&read("UGA", "CM90012345678A")).map(|l| l.id),
            Some("uganda_national_id")
        );
        assert_eq!(
            from_mrz(&read("KEN", "27736501")).map(|l| l.id),
            Some("kenya_maisha")
        );
        // A state without a known card names none; nor does a zone whose number is not the
        // layout's (another series of the issuer's cards).
        assert_eq!(from_mrz(&read("UTO", "27736501")), None);
        assert_eq!(from_mrz(&read("UGA", "ABJ77120")), None);
    }

    #[test]
    fn numbers_found_by_their_shape() {
        let l = |id| by_id(id).unwrap();
        assert_eq!(
            find_number(l("ghana_card"), "GHA-715902337-4").as_deref(),
            Some("GHA-715902337-4")
        );
        assert_eq!(
            find_number(l("ghana_voter_card"), "6012 345 678").as_deref(),
            Some("6012345678")
        );
        assert_eq!(find_number(l("ghana_voter_card"), "14/03/1988"), None);
        assert_eq!(
            find_number(l("nigeria_drivers_licence"), "Licence No FKJ48213AB07").as_deref(),
            Some("FKJ48213AB07")
        );
        assert_eq!(
            find_number(l("ghana_drivers_licence"), "B1234567").as_deref(),
            Some("B1234567")
        );
        assert_eq!(find_number(l("ghana_drivers_licence"), "MENSAH"), None);
        assert_eq!(
            find_number(l("uganda_national_id"), "NIN CM90012345678A").as_deref(),
            Some("CM90012345678A")
        );
        assert_eq!(
            find_number(l("kenya_national_id"), "27736501").as_deref(),
            Some("27736501")
        );
        assert_eq!(
            find_number(l("senegal_ecowas_id"), "1 751 1988 01234").as_deref(),
            Some("1751198801234")
        );
    }
}
