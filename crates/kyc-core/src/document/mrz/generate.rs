//! Writes MRZ lines with correct check digits from field values: for tests, synthetic
//! documents and fixtures.

use super::layout::{MrzFormat, check_digit};
use serde::{Deserialize, Serialize};

/// The fields of an MRZ to write. Text is upper-cased; spaces and hyphens become fillers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MrzSpec {
    /// Document code, 1–2 characters (`P`, `I`, `ID`, `AC`, `V`, …).
    pub document_code: String,
    /// Issuing state, 1–3 characters.
    pub issuing_state: String,
    /// Document number; TD1 and TD2 accept more than 9 characters (long-number form).
    pub document_number: String,
    /// TD1 line-1 optional data, TD2/MRV optional data, or TD3 personal number.
    pub optional_data1: String,
    /// TD1 line-2 optional data (ignored by other formats).
    pub optional_data2: String,
    /// Birth date `YYMMDD`.
    pub birth_date: String,
    /// `M`, `F`, `X` or `<`.
    pub sex: char,
    /// Expiry date `YYMMDD`.
    pub expiry_date: String,
    /// Nationality, 1–3 characters.
    pub nationality: String,
    /// Primary identifier (surname).
    pub primary_identifier: String,
    /// Secondary identifier (given names).
    pub secondary_identifier: String,
}

/// Why a spec cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenerateError {
    /// A field is longer than its place in the layout.
    #[error("field {field} ({value:?}) does not fit in {max} characters")]
    TooLong {
        /// The field's name.
        field: &'static str,
        /// The value given.
        value: String,
        /// Its room.
        max: usize,
    },
    /// A character outside `A-Z 0-9 <` (after upper-casing and mapping spaces) was given.
    #[error("field {0} holds a character outside the MRZ alphabet")]
    BadCharacter(&'static str),
}

/// Upper-case, map common Latin accents to their base letter, spaces/hyphens/apostrophes to `<`.
pub fn mrz_text(s: &str) -> String {
    s.chars()
        .flat_map(|c| c.to_uppercase())
        .filter_map(|c| match c {
            'A'..='Z' | '0'..='9' | '<' => Some(c),
            ' ' | '-' | '\'' | ',' | '.' => Some('<'),
            'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => Some('A'),
            'Ç' => Some('C'),
            'È' | 'É' | 'Ê' | 'Ë' => Some('E'),
            'Ì' | 'Í' | 'Î' | 'Ï' => Some('I'),
            'Ñ' => Some('N'),
            'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => Some('O'),
            'Ù' | 'Ú' | 'Û' | 'Ü' => Some('U'),
            'Ý' | 'Ÿ' => Some('Y'),
            _ => None,
        })
        .collect()
}

fn pad(field: &'static str, value: &str, len: usize) -> Result<String, GenerateError> {
    let v = mrz_text(value);
    if v.len() > len {
        return Err(GenerateError::TooLong {
            field,
            value: value.to_string(),
            max: len,
        });
    }
    Ok(format!("{v:<<len$}"))
}

fn cd(field: &'static str, s: &str) -> Result<char, GenerateError> {
    check_digit(s).ok_or(GenerateError::BadCharacter(field))
}

fn names(spec: &MrzSpec, len: usize) -> String {
    let p = mrz_text(&spec.primary_identifier);
    let s = mrz_text(&spec.secondary_identifier);
    let mut n = if s.is_empty() { p } else { format!("{p}<<{s}") };
    n.truncate(len);
    format!("{n:<<len$}")
}

/// Document number field (9), its check digit, and what overflows into the optional data.
fn number_parts(spec: &MrzSpec, allow_long: bool) -> Result<(String, char, String), GenerateError> {
    let num = mrz_text(&spec.document_number);
    if num.len() > 9 && allow_long {
        let check = cd("documentNumber", &num)?;
        // Part 5 §4.2.4 / Part 6 note j: the rest of the number, its check digit, a filler.
        Ok((num[..9].to_string(), '<', format!("{}{check}<", &num[9..])))
    } else {
        let field = pad("documentNumber", &num, 9)?;
        let check = cd("documentNumber", &field)?;
        Ok((field, check, String::new()))
    }
}

/// Write the lines of `spec` in `format`, with every check digit computed.
pub fn generate(format: MrzFormat, spec: &MrzSpec) -> Result<Vec<String>, GenerateError> {
    let code = pad("documentCode", &spec.document_code, 2)?;
    let state = pad("issuingState", &spec.issuing_state, 3)?;
    let nat = pad("nationality", &spec.nationality, 3)?;
    let birth = pad("birthDate", &spec.birth_date, 6)?;
    let expiry = pad("expiryDate", &spec.expiry_date, 6)?;
    let sex = spec.sex.to_ascii_uppercase();
    let birth_cd = cd("birthDate", &birth)?;
    let expiry_cd = cd("expiryDate", &expiry)?;
    match format {
        MrzFormat::Td1 => {
            let (num, num_cd, overflow) = number_parts(spec, true)?;
            let opt1 = pad(
                "optionalData1",
                &format!("{overflow}{}", mrz_text(&spec.optional_data1)),
                15,
            )?;
            let opt2 = pad("optionalData2", &spec.optional_data2, 11)?;
            let upper = format!("{num}{num_cd}{opt1}");
            let middle = format!("{birth}{birth_cd}{expiry}{expiry_cd}{opt2}");
            let composite = cd("composite", &format!("{upper}{middle}"))?;
            Ok(vec![
                format!("{code}{state}{upper}"),
                format!("{birth}{birth_cd}{sex}{expiry}{expiry_cd}{nat}{opt2}{composite}"),
                names(spec, 30),
            ])
        }
        MrzFormat::Td2 | MrzFormat::Td3 | MrzFormat::MrvA | MrzFormat::MrvB => {
            let len = format.line_len();
            let (num, num_cd, overflow) = number_parts(spec, format == MrzFormat::Td2)?;
            let opt_len = match format {
                MrzFormat::Td2 => 7,
                MrzFormat::Td3 => 14,
                MrzFormat::MrvA => 16,
                _ => 8,
            };
            let opt = pad(
                "optionalData1",
                &format!("{overflow}{}", mrz_text(&spec.optional_data1)),
                opt_len,
            )?;
            let line1 = format!("{code}{state}{}", names(spec, len - 5));
            let mut line2 =
                format!("{num}{num_cd}{nat}{birth}{birth_cd}{sex}{expiry}{expiry_cd}{opt}");
            if format == MrzFormat::Td3 {
                let pcd = if opt.bytes().all(|c| c == b'<') {
                    '<'
                } else {
                    cd("personalNumber", &opt)?
                };
                line2.push(pcd);
            }
            if matches!(format, MrzFormat::Td2 | MrzFormat::Td3) {
                let comp_src = format!("{}{}{}", &line2[0..10], &line2[13..20], &line2[21..]);
                line2.push(cd("composite", &comp_src)?);
            }
            Ok(vec![line1, line2])
        }
    }
}
