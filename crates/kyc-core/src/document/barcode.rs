//! Two-dimensional barcodes on ID backs and slips: PDF417 and QR codes decoded from the luma
//! pixels (the `rxing` port of ZXing), their payload parsed where its format is public, and the
//! parsed values cross-checked against the machine-readable zone and the printed (visual) zone.
//!
//! Public formats:
//! - **AAMVA DL/ID** (North American driver's licences and ID cards, and the licences of other
//!   issuers that follow the AAMVA card design standard's PDF417 annex): a header
//!   `@ LF RS CR` + `ANSI ` (or `AAMVA`) + issuer number (6 digits) + AAMVA version (2) +
//!   jurisdiction version (2, from version 02) + number of subfiles (2), then subfile
//!   designators, then subfiles (`DL`/`ID` + elements `XXXvalue` ended by LF, a subfile ended by
//!   CR). Dates are `MMDDCCYY` in the USA and `CCYYMMDD` in Canada and in version 01.
//!
//! The in-scope African issuers (Ghana Card, Nigeria NIN slip and cards, Kenya IDs, Uganda,
//! ECOWAS cards) publish no barcode payload format: their codes are decoded and reported (format
//! and payload kind) but not parsed, and nothing is cross-checked from them.
//!
//! A barcode disagreeing with the MRZ or the printed zone is the trace of an altered card (a new
//! printed zone over another holder's card, or a forged barcode), so every disagreement is a
//! `barcode_mismatch_<field>` flag, which refers the case.

use image::RgbImage;
use rxing::{BarcodeFormat, DecodeHints, RXingResult};
use serde::Serialize;
use std::collections::HashSet;

use super::fields::{Flag, VisualFields, mrz_key};
use super::mrz::{IsoDate, MrzReading};

/// Larger frames are box-downscaled to at most this many pixels before decoding (a card's
/// PDF417 keeps ≥ 2 px per module at this size on a 12 MP photo of a card filling a third of
/// the frame).
pub const MAX_DECODE_PIXELS: u64 = 4_000_000;

/// Characters of an unparsed payload kept in the reading.
const MAX_TEXT: usize = 256;

/// One decoded barcode.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BarcodeReading {
    /// `front` or `back`.
    pub side: &'static str,
    /// `pdf417` or `qr_code`.
    pub format: &'static str,
    /// `aamva` (parsed) or `unknown` (no public format recognised).
    pub payload: &'static str,
    /// Characters in the payload.
    pub length: usize,
    /// The parsed AAMVA data, when the payload is AAMVA.
    pub aamva: Option<AamvaData>,
    /// The payload's first characters, when it was not parsed.
    pub text: Option<String>,
}

/// The AAMVA elements the kiosk uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AamvaData {
    /// Issuer identification number (6 digits: the jurisdiction).
    pub issuer_id: String,
    /// AAMVA standard version (01–10…).
    pub version: u32,
    /// `DL` (driver's licence) or `ID` (identification card).
    pub subfile_type: String,
    /// DAQ: licence or ID number.
    pub document_number: Option<String>,
    /// DCS (or DAB / first part of DAA): family name.
    pub last_name: Option<String>,
    /// DAC (DCT in version 02, or second part of DAA): first name.
    pub first_name: Option<String>,
    /// DAD: middle names.
    pub middle_names: Option<String>,
    /// DBB, ISO.
    pub date_of_birth: Option<String>,
    /// DBA, ISO.
    pub expiration_date: Option<String>,
    /// DBD, ISO.
    pub issue_date: Option<String>,
    /// DBC: `M`, `F` or `X`.
    pub gender: Option<String>,
    /// DCG: `USA` or `CAN`.
    pub country: Option<String>,
    /// DAJ: the jurisdiction (state or province) code.
    pub jurisdiction: Option<String>,
}

/// Decode every PDF417 and QR code in an image. No barcode is an empty list, never an error.
#[must_use]
pub fn decode(rgb: &RgbImage, side: &'static str) -> Vec<BarcodeReading> {
    let (luma, w, h) = luma_for_decoding(rgb);
    if w == 0 || h == 0 {
        return Vec::new();
    }
    let mut hints = DecodeHints {
        PossibleFormats: Some(HashSet::from([
            BarcodeFormat::PDF_417,
            BarcodeFormat::QR_CODE,
        ])),
        TryHarder: Some(true),
        ..DecodeHints::default()
    };
    let found = rxing::helpers::detect_multiple_in_luma_with_hints(luma, w, h, &mut hints)
        .unwrap_or_default();
    let mut seen = HashSet::new();
    found
        .into_iter()
        .filter(|r| seen.insert(r.getText().to_string()))
        .filter_map(|r| reading_of(&r, side))
        .collect()
}

/// A decoded result as a reading (`None` for formats the kiosk does not ask for).
fn reading_of(r: &RXingResult, side: &'static str) -> Option<BarcodeReading> {
    let format = match r.getBarcodeFormat() {
        BarcodeFormat::PDF_417 => "pdf417",
        BarcodeFormat::QR_CODE => "qr_code",
        _ => return None,
    };
    let text = r.getText();
    let aamva = parse_aamva(text);
    Some(BarcodeReading {
        side,
        format,
        payload: if aamva.is_some() { "aamva" } else { "unknown" },
        length: text.chars().count(),
        text: aamva
            .is_none()
            .then(|| text.chars().take(MAX_TEXT).collect()),
        aamva,
    })
}

/// Luma bytes of the image, box-downscaled by a whole factor to at most [`MAX_DECODE_PIXELS`].
fn luma_for_decoding(rgb: &RgbImage) -> (Vec<u8>, u32, u32) {
    let (w, h) = rgb.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    let mut k = 1u32;
    while pixels / u64::from(k * k) > MAX_DECODE_PIXELS {
        k += 1;
    }
    let (ow, oh) = (w / k, h / k);
    let mut out = Vec::with_capacity(ow as usize * oh as usize);
    let n = (k * k) as f32;
    for oy in 0..oh {
        for ox in 0..ow {
            let mut sum = 0.0;
            for dy in 0..k {
                for dx in 0..k {
                    sum += crate::imaging::luma(rgb.get_pixel(ox * k + dx, oy * k + dy).0);
                }
            }
            out.push((sum / n).round().clamp(0.0, 255.0) as u8);
        }
    }
    (out, ow, oh)
}

/// Parse an AAMVA DL/ID payload; `None` when the text is not one.
#[must_use]
pub fn parse_aamva(text: &str) -> Option<AamvaData> {
    // The header starts with `@`, then LF, RS, CR (some issuers drop or alter the separators),
    // then the file type.
    let start = text.find("ANSI ").or_else(|| text.find("AAMVA"))?;
    if !text[..start].trim_start().starts_with('@') {
        return None;
    }
    let head = &text[start + 5..];
    let digits = |from: usize, n: usize| -> Option<u32> {
        let s = head.get(from..from + n)?;
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let issuer_id = head.get(0..6)?;
    if !issuer_id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let version = digits(6, 2)?;
    let mut data = AamvaData {
        issuer_id: issuer_id.to_string(),
        version,
        ..AamvaData::default()
    };
    // The first subfile holding DL or ID elements: its type followed by a `D` element id.
    let body_at = [
        "DLDAQ", "IDDAQ", "DLDCA", "IDDCA", "DLDAA", "IDDAA", "DLDCS", "IDDCS",
    ]
    .iter()
    .filter_map(|m| head.find(m))
    .min()?;
    data.subfile_type = head[body_at..body_at + 2].to_string();
    let body = &head[body_at + 2..];
    let body = body.split('\r').next().unwrap_or(body);
    let mut elements: Vec<(&str, &str)> = Vec::new();
    for line in body.split('\n') {
        let line = line.trim_end();
        if line.len() >= 3 && line.is_char_boundary(3) {
            let (id, value) = line.split_at(3);
            if id.bytes().all(|b| b.is_ascii_uppercase()) {
                elements.push((id, value.trim()));
            }
        }
    }
    let get = |id: &str| {
        elements
            .iter()
            .find(|(k, _)| *k == id)
            .map(|(_, v)| v.to_string())
            .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("NONE") && v != "unavl")
    };
    data.document_number = get("DAQ");
    data.country = get("DCG");
    data.jurisdiction = get("DAJ");
    data.last_name = get("DCS").or_else(|| get("DAB"));
    data.first_name = get("DAC").or_else(|| get("DCT"));
    data.middle_names = get("DAD");
    if let Some(full) = get("DAA") {
        // Version 01: `FAMILY,FIRST,MIDDLE` (or `$` between the parts).
        let parts: Vec<&str> = full
            .split([',', '$'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if data.last_name.is_none() {
            data.last_name = parts.first().map(|s| (*s).to_string());
        }
        if data.first_name.is_none() {
            data.first_name = parts.get(1).map(|s| (*s).to_string());
        }
        if data.middle_names.is_none() && parts.len() > 2 {
            data.middle_names = Some(parts[2..].join(" "));
        }
    }
    if let (Some(first), None) = (data.first_name.clone(), &data.middle_names) {
        // Version 02 keeps every given name in DCT, separated by commas or spaces.
        let mut parts = first.split([',', ' ']).filter(|p| !p.is_empty());
        if let Some(f) = parts.next() {
            let rest: Vec<&str> = parts.collect();
            if !rest.is_empty() {
                data.first_name = Some(f.to_string());
                data.middle_names = Some(rest.join(" "));
            }
        }
    }
    let canadian = data.country.as_deref() == Some("CAN");
    let date = |id: &str| get(id).and_then(|v| parse_date(&v, canadian || version <= 1));
    data.date_of_birth = date("DBB");
    data.expiration_date = date("DBA");
    data.issue_date = date("DBD");
    data.gender = get("DBC").and_then(|g| match g.as_str() {
        "1" | "M" => Some("M".to_string()),
        "2" | "F" => Some("F".to_string()),
        "9" | "X" => Some("X".to_string()),
        _ => None,
    });
    Some(data)
}

/// An AAMVA date as ISO: `MMDDCCYY` (USA) or `CCYYMMDD` (Canada, version 01), the other order
/// tried when the expected one names no real day.
fn parse_date(v: &str, year_first: bool) -> Option<String> {
    let v: String = v.chars().filter(char::is_ascii_digit).collect();
    if v.len() != 8 {
        return None;
    }
    let num = |a: usize, b: usize| v.get(a..b).and_then(|s| s.parse::<u32>().ok());
    let ymd = || IsoDate::new(i32::try_from(num(0, 4)?).ok()?, num(4, 6)?, num(6, 8)?);
    let mdy = || IsoDate::new(i32::try_from(num(4, 8)?).ok()?, num(0, 2)?, num(2, 4)?);
    let d = if year_first {
        ymd().or_else(mdy)
    } else {
        mdy().or_else(ymd)
    }?;
    Some(d.to_string())
}

/// Compare every parsed barcode with the MRZ and the printed zone; one flag per disagreeing
/// field (`barcode_mismatch_document_number`, `_last_name`, `_first_name`, `_date_of_birth`,
/// `_expiration_date`, `_gender`).
#[must_use]
pub fn cross_check(
    codes: &[BarcodeReading],
    mrz: Option<&MrzReading>,
    visual: &VisualFields,
) -> Vec<Flag> {
    let mut flags: Vec<Flag> = Vec::new();
    for code in codes {
        let Some(a) = &code.aamva else {
            continue;
        };
        let given = match (&a.first_name, &a.middle_names) {
            (Some(f), Some(m)) => Some(format!("{f} {m}")),
            (Some(f), None) => Some(f.clone()),
            _ => None,
        };
        let checks: [(&'static str, &'static str, Option<&String>, Kind); 6] = [
            (
                "barcode_mismatch_document_number",
                "documentNumber",
                a.document_number.as_ref(),
                Kind::Number,
            ),
            (
                "barcode_mismatch_last_name",
                "lastName",
                a.last_name.as_ref(),
                Kind::Name,
            ),
            (
                "barcode_mismatch_first_name",
                "firstName",
                given.as_ref(),
                Kind::GivenNames,
            ),
            (
                "barcode_mismatch_date_of_birth",
                "dateOfBirth",
                a.date_of_birth.as_ref(),
                Kind::Exact,
            ),
            (
                "barcode_mismatch_expiration_date",
                "expirationDate",
                a.expiration_date.as_ref(),
                Kind::Exact,
            ),
            (
                "barcode_mismatch_gender",
                "gender",
                a.gender.as_ref(),
                Kind::Exact,
            ),
        ];
        for (code_name, field, coded, kind) in checks {
            let Some(coded) = coded else {
                continue;
            };
            if flags.iter().any(|f| f.code == code_name) {
                continue;
            }
            let mut against = Vec::new();
            if let Some(m) = mrz.and_then(|m| mrz_value(m, field)) {
                against.push(("MRZ", m, true));
            }
            if let Some((v, conf)) = visual.get(field) {
                // A confident printed value is compared exactly; a doubtful one allows one
                // character of OCR error.
                against.push(("printed zone", v.to_string(), conf >= 0.9));
            }
            for (zone, value, strict) in against {
                if !agrees(kind, coded, &value, strict) {
                    flags.push(Flag {
                        code: code_name,
                        message: format!(
                            "the {} barcode's {field} ({coded}) differs from the {zone}'s ({value})",
                            code.format
                        ),
                    });
                    break;
                }
            }
        }
    }
    flags
}

/// How two values of a field are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Letters and digits only, upper case.
    Number,
    /// A family name (the MRZ may truncate it).
    Name,
    /// Given names (the MRZ may truncate them; the barcode may lack the middle names).
    GivenNames,
    /// Exactly equal (ISO dates, `M`/`F`/`X`).
    Exact,
}

fn mrz_value(m: &MrzReading, field: &str) -> Option<String> {
    let f = &m.fields;
    let v = match field {
        "documentNumber" => Some(f.document_number.value.clone()),
        "lastName" => Some(f.primary_identifier.value.clone()),
        "firstName" => Some(f.secondary_identifier.value.clone()),
        "dateOfBirth" => f.birth_date.value.clone(),
        "expirationDate" => f.expiry_date.value.clone(),
        "gender" => Some(f.sex.value.clone()),
        _ => None,
    }?;
    let v = v.trim().to_string();
    // `<` (unknown sex) or an empty field says nothing.
    (!v.is_empty() && v != "<").then_some(v)
}

fn agrees(kind: Kind, coded: &str, other: &str, strict: bool) -> bool {
    let slack = usize::from(!strict);
    match kind {
        Kind::Exact => coded.trim().eq_ignore_ascii_case(other.trim()),
        Kind::Number => edit_distance(&mrz_key(coded), &mrz_key(other)) <= slack,
        Kind::Name | Kind::GivenNames => {
            let (a, b) = (mrz_key(coded), mrz_key(other));
            if a.is_empty() || b.is_empty() {
                return a == b;
            }
            if edit_distance(&a, &b) <= slack {
                return true;
            }
            // The MRZ truncates long names; the other zone may hold only the first given name.
            let (short, long) = if a.len() <= b.len() {
                (&a, &b)
            } else {
                (&b, &a)
            };
            let truncated = short.len() >= 3 && long.starts_with(short.as_str());
            let first_given = kind == Kind::GivenNames && {
                let first = |s: &str| mrz_key(s.split_whitespace().next().unwrap_or(""));
                first(coded) == first(other) && !first(coded).is_empty()
            };
            truncated || first_given
        }
    }
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const V10: &str = "@\n\x1e\rANSI 636000100102DL00410278ZV03190008DLDAQT64235789\nDCSSAMPLE\nDDEN\nDACMICHAEL\nDDFN\nDADJOHN\nDDGN\nDCUJR\nDBD06062019\nDBB06061986\nDBA12102024\nDBC1\nDAJVA\nDCGUSA\nDDB06062018\r";

    #[test]
    fn a_version_10_licence_is_parsed_with_us_dates() {
        let a = parse_aamva(V10).unwrap();
        assert_eq!(a.issuer_id, "636000");
        assert_eq!(a.version, 10);
        assert_eq!(a.subfile_type, "DL");
        assert_eq!(a.document_number.as_deref(), Some("T64235789"));
        assert_eq!(a.last_name.as_deref(), Some("SAMPLE"));
        assert_eq!(a.first_name.as_deref(), Some("MICHAEL"));
        assert_eq!(a.middle_names.as_deref(), Some("JOHN"));
        assert_eq!(a.date_of_birth.as_deref(), Some("1986-06-06"));
        assert_eq!(a.expiration_date.as_deref(), Some("2024-12-10"));
        assert_eq!(a.issue_date.as_deref(), Some("2019-06-06"));
        assert_eq!(a.gender.as_deref(), Some("M"));
        assert_eq!(a.country.as_deref(), Some("USA"));
    }

    #[test]
    fn a_version_01_licence_has_the_full_name_and_year_first_dates() {
        let text = "@\n\x1e\rANSI 6360050101DL00300201DLDAQ102245737\nDAASAMPLE,DRIVER,CREDENTIAL\nDBA20190928\nDBB19780928\nDBC2\r";
        let a = parse_aamva(text).unwrap();
        assert_eq!(a.version, 1);
        assert_eq!(a.last_name.as_deref(), Some("SAMPLE"));
        assert_eq!(a.first_name.as_deref(), Some("DRIVER"));
        assert_eq!(a.middle_names.as_deref(), Some("CREDENTIAL"));
        assert_eq!(a.date_of_birth.as_deref(), Some("1978-09-28"));
        assert_eq!(a.expiration_date.as_deref(), Some("2019-09-28"));
        assert_eq!(a.gender.as_deref(), Some("F"));
    }

    #[test]
    fn a_canadian_licence_has_year_first_dates() {
        let text = "@\n\x1e\rANSI 636012080002DL00410200ZO02410028DLDAQS1234-56789-01234\nDCSSPECIMEN\nDACANNE\nDBB19900131\nDBA20300131\nDCGCAN\r";
        let a = parse_aamva(text).unwrap();
        assert_eq!(a.date_of_birth.as_deref(), Some("1990-01-31"));
        assert_eq!(a.expiration_date.as_deref(), Some("2030-01-31"));
    }

    #[test]
    fn text_that_is_not_aamva_is_not_parsed() {
        assert!(parse_aamva("https://example.invalid/verify?id=123").is_none());
        assert!(
            parse_aamva("ANSI 636000100102DLDAQX").is_none(),
            "no @ header"
        );
        assert!(parse_aamva("@\n\x1e\rANSI 63AB00100102DLDAQX\n").is_none());
        assert!(parse_aamva("@\n\x1e\rANSI 636000100102ZVZVA01\r").is_none());
        assert!(parse_aamva("@ANSI 6").is_none());
    }

    #[test]
    fn names_agree_across_truncation_and_missing_middle_names() {
        assert!(agrees(Kind::Name, "NDIAYE", "NDIAYE", true));
        assert!(!agrees(Kind::Name, "NDIAYE", "NDIAYF", true));
        assert!(agrees(Kind::Name, "NDIAYE", "NDIAYF", false));
        assert!(agrees(
            Kind::Name,
            "VANDERWESTHUIZENBOTHA",
            "VANDERWESTHUIZ",
            true
        ));
        assert!(agrees(Kind::GivenNames, "AMINATA FATOU", "AMINATA", true));
        assert!(!agrees(Kind::GivenNames, "MARIE", "AMINATA", true));
        assert!(!agrees(Kind::Number, "D1234567", "D1234568", true));
        assert!(agrees(Kind::Number, "D1234567", "D1234568", false));
        assert!(!agrees(Kind::Number, "D1234567", "D1234599", false));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn a_printed_zone_that_disagrees_is_flagged_per_field() {
        let code = BarcodeReading {
            side: "back",
            format: "pdf417",
            payload: "aamva",
            length: V10.len(),
            aamva: parse_aamva(V10),
            text: None,
        };
        let mut visual = VisualFields::default();
        visual
            .values
            .push(("documentNumber", "T64235789".into(), 0.99));
        visual.values.push(("lastName", "SAMPLE".into(), 0.99));
        visual
            .values
            .push(("dateOfBirth", "1986-06-07".into(), 0.99));
        let flags = cross_check(std::slice::from_ref(&code), None, &visual);
        let codes: Vec<&str> = flags.iter().map(|f| f.code).collect();
        assert_eq!(codes, vec!["barcode_mismatch_date_of_birth"]);
        assert!(
            flags[0].message.contains("1986-06-06"),
            "{}",
            flags[0].message
        );
    }
}
