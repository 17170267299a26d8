//! The three-character codes an MRZ may hold for its issuing state or organisation and for the
//! holder's nationality (ICAO Doc 9303 Part 3, "Codes for nationality, place of birth or
//! location of issuing State/authority").
//!
//! No check digit covers these fields, so an OCR confusion there (`GBR` read as `G8R`, `D<<`
//! read as `0<<`, `CIV` read as `C1V`) passes every check. The list below is the witness: a code
//! that is not on it is repaired only when exactly one usual OCR confusion turns it into a
//! listed code, and is otherwise reported as unknown.
//!
//! Sources of the list (written for this project from the published facts, not copied):
//! - ISO 3166-1 alpha-3: the 249 officially assigned codes, as published in the ISO 3166
//!   maintenance agency's list (checked against a public data set of that list). Doc 9303 uses
//!   them as they stand, with one exception: Germany writes `D` (padded `D<<`), not `DEU`, so
//!   `DEU` is left out: a German document printing `DEU` is not one Germany issues.
//! - Doc 9303 Part 3's own codes, checked against public MRZ libraries' code tables that list
//!   them with their meanings: the British nationality categories (`GBD`, `GBN`, `GBO`, `GBP`,
//!   `GBS`), the European Union (`EUE`), the United Nations and its agencies (`UNO`, `UNA`) and
//!   the UN mission in Kosovo (`UNK`), Kosovo's own code (`RKS`), the African Development Bank
//!   (`XBA`), Afreximbank (`XIM`), CARICOM (`XCC`), COMESA (`XCO`), ECOWAS (`XEC`), INTERPOL
//!   (`XPO`), the Sovereign Military Order of Malta (`XOM`), and the nationality-only codes
//!   for a stateless person (`XXA`), refugees (`XXB`, `XXC`) and an unspecified nationality
//!   (`XXX`).
//! - `UTO` (Utopia) is the fictitious state of Doc 9303's own worked examples and of specimen
//!   documents: it is listed as [`CodeClass::Specimen`] so that specimens read as printed, and
//!   the reader flags it (no real document carries it).
//!
//! Codes Doc 9303 is reported to hold but that no source at hand confirmed (further `X..`
//! organisation codes) are not listed: such a code reads as unknown, which is the safe side.

/// What a listed code stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeClass {
    /// A state or territory (ISO 3166-1 alpha-3, or `D` for Germany, or `RKS`).
    State,
    /// A British nationality category (`GBD`, `GBN`, `GBO`, `GBP`, `GBS`).
    BritishCategory,
    /// An organisation that issues travel documents (`EUE`, `UNO`, `XPO`, …).
    Organisation,
    /// A nationality that is not a state's: stateless, refugee, unspecified (`XX.`): never an
    /// issuer.
    NationalityOnly,
    /// The fictitious state of Doc 9303's examples and of specimen documents (`UTO`).
    Specimen,
}

/// Which field a code stands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRole {
    /// Issuing state or organisation (line 1).
    Issuer,
    /// The holder's nationality.
    Nationality,
}

/// ISO 3166-1 alpha-3, every officially assigned code except `DEU` (see the module notes).
const ISO_ALPHA3: &str = "\
ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE \
BDI BEL BEN BES BFA BGD BGR BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA \
CAF CAN CCK CHE CHL CHN CIV CMR COD COG COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE \
DJI DMA DNK DOM DZA \
ECU EGY ERI ESH ESP EST ETH \
FIN FJI FLK FRA FRO FSM \
GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB GNQ GRC GRD GRL GTM GUF GUM GUY \
HKG HMD HND HRV HTI HUN \
IDN IMN IND IOT IRL IRN IRQ ISL ISR ITA \
JAM JEY JOR JPN \
KAZ KEN KGZ KHM KIR KNA KOR KWT \
LAO LBN LBR LBY LCA LIE LKA LSO LTU LUX LVA \
MAC MAF MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS MWI \
MYS MYT \
NAM NCL NER NFK NGA NIC NIU NLD NOR NPL NRU NZL \
OMN \
PAK PAN PCN PER PHL PLW PNG POL PRI PRK PRT PRY PSE PYF \
QAT \
REU ROU RUS RWA \
SAU SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP SUR SVK SVN SWE SWZ SXM \
SYC SYR \
TCA TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA \
UGA UKR UMI URY USA UZB \
VAT VCT VEN VGB VIR VNM VUT \
WLF WSM \
YEM \
ZAF ZMB ZWE";

/// Doc 9303's codes beyond ISO 3166-1, as printed in the MRZ (fillers included), with class.
const ICAO_CODES: &[(&str, CodeClass)] = &[
    ("D<<", CodeClass::State),
    ("RKS", CodeClass::State),
    ("GBD", CodeClass::BritishCategory),
    ("GBN", CodeClass::BritishCategory),
    ("GBO", CodeClass::BritishCategory),
    ("GBP", CodeClass::BritishCategory),
    ("GBS", CodeClass::BritishCategory),
    ("EUE", CodeClass::Organisation),
    ("UNO", CodeClass::Organisation),
    ("UNA", CodeClass::Organisation),
    ("UNK", CodeClass::Organisation),
    ("XBA", CodeClass::Organisation),
    ("XIM", CodeClass::Organisation),
    ("XCC", CodeClass::Organisation),
    ("XCO", CodeClass::Organisation),
    ("XEC", CodeClass::Organisation),
    ("XPO", CodeClass::Organisation),
    ("XOM", CodeClass::Organisation),
    ("XXA", CodeClass::NationalityOnly),
    ("XXB", CodeClass::NationalityOnly),
    ("XXC", CodeClass::NationalityOnly),
    ("XXX", CodeClass::NationalityOnly),
    ("UTO", CodeClass::Specimen),
];

/// The class of `field` (the three characters as printed, fillers included) when it is
/// listed, in any role.
#[must_use]
pub fn class_of(field: &[u8]) -> Option<CodeClass> {
    if field.len() != 3 {
        return None;
    }
    if let Some((_, c)) = ICAO_CODES.iter().find(|(code, _)| code.as_bytes() == field) {
        return Some(*c);
    }
    ISO_ALPHA3
        .split(' ')
        .any(|code| code.as_bytes() == field)
        .then_some(CodeClass::State)
}

/// Whether `field` (three characters, fillers included) may stand in `role`.
#[must_use]
pub fn is_listed(field: &[u8], role: CodeRole) -> bool {
    match class_of(field) {
        Some(CodeClass::NationalityOnly) => role == CodeRole::Nationality,
        Some(_) => true,
        None => false,
    }
}

/// Every listed code as printed in the MRZ (`D<<` with its fillers), ISO codes first.
pub fn all_codes() -> impl Iterator<Item = &'static str> {
    ISO_ALPHA3
        .split(' ')
        .chain(ICAO_CODES.iter().map(|(c, _)| *c))
}

/// The characters an OCR engine reads in place of `c` in a letters-only field, and that `c`
/// may therefore stand for: digit look-alikes of letters, letters of similar shape in OCR-B,
/// and the filler (read as `K`).
pub fn confusions(c: u8) -> &'static [u8] {
    match c {
        b'0' => b"ODQ",
        b'1' => b"IL",
        b'2' => b"Z",
        b'4' => b"A",
        b'5' => b"S",
        b'6' => b"G",
        b'7' => b"T",
        b'8' => b"B",
        b'O' => b"DQCU",
        b'Q' => b"OD",
        b'D' => b"OQ",
        b'C' => b"GO",
        b'G' => b"CO",
        b'E' => b"FB",
        b'F' => b"EP",
        b'B' => b"ER",
        b'M' => b"NH",
        b'N' => b"MH",
        b'H' => b"NM",
        b'U' => b"VO",
        b'V' => b"UY",
        b'Y' => b"V",
        b'P' => b"RF",
        b'R' => b"PB",
        b'I' => b"LJT",
        b'L' => b"I",
        b'J' => b"I",
        b'T' => b"I",
        b'K' => b"X<",
        b'X' => b"K",
        b'W' => b"V",
        b'<' => b"K",
        _ => b"",
    }
}

/// The listed codes one confusion away from `field`: (position changed, new character).
pub fn one_confusion_away(field: &[u8], role: CodeRole) -> Vec<(usize, u8)> {
    let mut out = Vec::new();
    for (i, &c) in field.iter().enumerate() {
        for &to in confusions(c) {
            let mut alt = field.to_vec();
            alt[i] = to;
            if is_listed(&alt, role) {
                out.push((i, to));
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_iso_list_is_complete_and_well_formed() {
        let iso: Vec<&str> = ISO_ALPHA3.split(' ').collect();
        // 249 officially assigned codes, less DEU.
        assert_eq!(iso.len(), 248);
        assert!(
            iso.iter()
                .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
        let mut sorted = iso.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, iso, "sorted and without duplicates");
        assert!(!iso.contains(&"DEU"));
        for (c, _) in ICAO_CODES {
            assert!(!iso.contains(c), "{c} listed twice");
        }
    }

    #[test]
    fn roles_and_fillers() {
        assert_eq!(class_of(b"D<<"), Some(CodeClass::State));
        assert_eq!(class_of(b"D"), None);
        assert_eq!(class_of(b"<<D"), None);
        assert_eq!(class_of(b"DEU"), None);
        assert!(is_listed(b"XXA", CodeRole::Nationality));
        assert!(!is_listed(b"XXA", CodeRole::Issuer));
        assert!(is_listed(b"UNO", CodeRole::Issuer));
        assert_eq!(class_of(b"UTO"), Some(CodeClass::Specimen));
        assert_eq!(class_of(b"ZZZ"), None);
    }

    #[test]
    fn confusions_find_the_listed_neighbour() {
        assert_eq!(
            one_confusion_away(b"G8R", CodeRole::Issuer),
            vec![(1, b'B')]
        );
        assert_eq!(
            one_confusion_away(b"0<<", CodeRole::Issuer),
            vec![(0, b'D')]
        );
        assert!(one_confusion_away(b"QQQ", CodeRole::Issuer).is_empty());
    }
}
