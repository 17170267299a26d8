//! ICAO 9303 layouts: where each field and check digit sits in TD1, TD2, TD3, MRV-A and MRV-B,
//! and the 7-3-1 check-digit arithmetic.

use serde::{Deserialize, Serialize};

/// An MRZ layout defined by ICAO Doc 9303.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MrzFormat {
    /// ID-1 size card: 3 lines of 30 characters (Part 5).
    #[serde(rename = "TD1")]
    Td1,
    /// ID-2 size card or travel document: 2 lines of 36 characters (Part 6).
    #[serde(rename = "TD2")]
    Td2,
    /// Passport book: 2 lines of 44 characters (Part 4).
    #[serde(rename = "TD3")]
    Td3,
    /// Full-size visa: 2 lines of 44 characters starting with `V` (Part 7).
    #[serde(rename = "MRV-A")]
    MrvA,
    /// Small visa: 2 lines of 36 characters starting with `V` (Part 7).
    #[serde(rename = "MRV-B")]
    MrvB,
}

impl MrzFormat {
    /// All formats, in the order the detector tries them.
    pub const ALL: [MrzFormat; 5] = [Self::Td1, Self::Td3, Self::MrvA, Self::Td2, Self::MrvB];

    /// Characters per line.
    pub fn line_len(self) -> usize {
        match self {
            Self::Td1 => 30,
            Self::Td2 | Self::MrvB => 36,
            Self::Td3 | Self::MrvA => 44,
        }
    }

    /// Number of lines.
    pub fn line_count(self) -> usize {
        if self == Self::Td1 { 3 } else { 2 }
    }

    /// `true` for the two visa formats.
    pub fn is_visa(self) -> bool {
        matches!(self, Self::MrvA | Self::MrvB)
    }

    /// The name used in JSON and reports (`TD1`, `TD2`, `TD3`, `MRV-A`, `MRV-B`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Td1 => "TD1",
            Self::Td2 => "TD2",
            Self::Td3 => "TD3",
            Self::MrvA => "MRV-A",
            Self::MrvB => "MRV-B",
        }
    }
}

/// The value of one MRZ character in the check-digit sum (`<` counts 0), or `None` for a
/// character outside the MRZ alphabet.
pub fn char_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        b'<' => Some(0),
        _ => None,
    }
}

/// The ICAO 9303 check digit (weights 7, 3, 1 repeating, sum mod 10) of `data`, or `None` when
/// `data` holds a character outside `0-9 A-Z <`.
pub fn check_digit(data: &str) -> Option<char> {
    check_digit_bytes(data.bytes())
}

/// [`check_digit`] over any byte sequence.
pub fn check_digit_bytes<I: IntoIterator<Item = u8>>(data: I) -> Option<char> {
    const WEIGHTS: [u32; 3] = [7, 3, 1];
    let mut sum = 0u32;
    for (i, c) in data.into_iter().enumerate() {
        sum += char_value(c)? * WEIGHTS[i % 3];
    }
    char::from_digit(sum % 10, 10)
}

/// What may stand in a position, used by the field rules and the repair search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Letters and fillers only (document code, country codes, names).
    Alpha,
    /// Digits and fillers only (dates).
    Numeric,
    /// Letters, digits and fillers (document number, optional data).
    AlphaNum,
    /// A check digit: a digit, or a filler where the covered field is all fillers.
    Check,
    /// The sex cell: `M`, `F`, `X` or `<`.
    Sex,
}

/// The fields the layouts name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldId {
    DocumentCode,
    IssuingState,
    DocumentNumber,
    DocumentNumberCheck,
    OptionalData1,
    OptionalData2,
    BirthDate,
    BirthDateCheck,
    Sex,
    ExpiryDate,
    ExpiryDateCheck,
    Nationality,
    Names,
    PersonalNumber,
    PersonalNumberCheck,
    Composite,
}

/// One field's place: line index, start index and length (all 0-based).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    pub id: FieldId,
    pub line: usize,
    pub start: usize,
    pub len: usize,
    pub kind: Kind,
}

const fn sp(id: FieldId, line: usize, start: usize, len: usize, kind: Kind) -> Span {
    Span {
        id,
        line,
        start,
        len,
        kind,
    }
}

use FieldId as F;
use Kind as K;

const TD1: &[Span] = &[
    sp(F::DocumentCode, 0, 0, 2, K::Alpha),
    sp(F::IssuingState, 0, 2, 3, K::Alpha),
    sp(F::DocumentNumber, 0, 5, 9, K::AlphaNum),
    sp(F::DocumentNumberCheck, 0, 14, 1, K::Check),
    sp(F::OptionalData1, 0, 15, 15, K::AlphaNum),
    sp(F::BirthDate, 1, 0, 6, K::Numeric),
    sp(F::BirthDateCheck, 1, 6, 1, K::Check),
    sp(F::Sex, 1, 7, 1, K::Sex),
    sp(F::ExpiryDate, 1, 8, 6, K::Numeric),
    sp(F::ExpiryDateCheck, 1, 14, 1, K::Check),
    sp(F::Nationality, 1, 15, 3, K::Alpha),
    sp(F::OptionalData2, 1, 18, 11, K::AlphaNum),
    sp(F::Composite, 1, 29, 1, K::Check),
    sp(F::Names, 2, 0, 30, K::Alpha),
];

/// Line 2 shared by TD2, TD3, MRV-A and MRV-B up to the optional data.
const fn line2_head() -> [Span; 8] {
    [
        sp(F::DocumentNumber, 1, 0, 9, K::AlphaNum),
        sp(F::DocumentNumberCheck, 1, 9, 1, K::Check),
        sp(F::Nationality, 1, 10, 3, K::Alpha),
        sp(F::BirthDate, 1, 13, 6, K::Numeric),
        sp(F::BirthDateCheck, 1, 19, 1, K::Check),
        sp(F::Sex, 1, 20, 1, K::Sex),
        sp(F::ExpiryDate, 1, 21, 6, K::Numeric),
        sp(F::ExpiryDateCheck, 1, 27, 1, K::Check),
    ]
}

const HEAD: [Span; 8] = line2_head();

const TD2: &[Span] = &[
    sp(F::DocumentCode, 0, 0, 2, K::Alpha),
    sp(F::IssuingState, 0, 2, 3, K::Alpha),
    sp(F::Names, 0, 5, 31, K::Alpha),
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    HEAD[4],
    HEAD[5],
    HEAD[6],
    HEAD[7],
    sp(F::OptionalData1, 1, 28, 7, K::AlphaNum),
    sp(F::Composite, 1, 35, 1, K::Check),
];

const TD3: &[Span] = &[
    sp(F::DocumentCode, 0, 0, 2, K::Alpha),
    sp(F::IssuingState, 0, 2, 3, K::Alpha),
    sp(F::Names, 0, 5, 39, K::Alpha),
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    HEAD[4],
    HEAD[5],
    HEAD[6],
    HEAD[7],
    sp(F::PersonalNumber, 1, 28, 14, K::AlphaNum),
    sp(F::PersonalNumberCheck, 1, 42, 1, K::Check),
    sp(F::Composite, 1, 43, 1, K::Check),
];

const MRVA: &[Span] = &[
    sp(F::DocumentCode, 0, 0, 2, K::Alpha),
    sp(F::IssuingState, 0, 2, 3, K::Alpha),
    sp(F::Names, 0, 5, 39, K::Alpha),
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    HEAD[4],
    HEAD[5],
    HEAD[6],
    HEAD[7],
    sp(F::OptionalData1, 1, 28, 16, K::AlphaNum),
];

const MRVB: &[Span] = &[
    sp(F::DocumentCode, 0, 0, 2, K::Alpha),
    sp(F::IssuingState, 0, 2, 3, K::Alpha),
    sp(F::Names, 0, 5, 31, K::Alpha),
    HEAD[0],
    HEAD[1],
    HEAD[2],
    HEAD[3],
    HEAD[4],
    HEAD[5],
    HEAD[6],
    HEAD[7],
    sp(F::OptionalData1, 1, 28, 8, K::AlphaNum),
];

/// The field layout of `format`.
pub(crate) fn spans(format: MrzFormat) -> &'static [Span] {
    match format {
        MrzFormat::Td1 => TD1,
        MrzFormat::Td2 => TD2,
        MrzFormat::Td3 => TD3,
        MrzFormat::MrvA => MRVA,
        MrzFormat::MrvB => MRVB,
    }
}

/// The span of `id` in `format`, if the format has it.
pub(crate) fn span_of(format: MrzFormat, id: FieldId) -> Option<Span> {
    spans(format).iter().copied().find(|s| s.id == id)
}

/// The kind of character expected at (`line`, `idx`).
pub(crate) fn kind_at(format: MrzFormat, line: usize, idx: usize) -> Option<Kind> {
    spans(format)
        .iter()
        .find(|s| s.line == line && idx >= s.start && idx < s.start + s.len)
        .map(|s| s.kind)
}

/// The named check digits of an MRZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CheckName {
    /// Over the document number (including a long number's overflow).
    DocumentNumber,
    /// Over the date of birth.
    BirthDate,
    /// Over the date of expiry.
    ExpiryDate,
    /// Over TD3's personal number.
    PersonalNumber,
    /// The composite check digit over the number, dates and optional data.
    Composite,
    /// The document code's grammar (first character by layout, second a letter, digit or
    /// filler).
    DocumentCode,
    /// The issuing state or organisation on the ICAO code list.
    IssuingState,
    /// The nationality on the ICAO code list.
    Nationality,
}

impl CheckName {
    /// The camelCase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DocumentNumber => "documentNumber",
            Self::BirthDate => "birthDate",
            Self::ExpiryDate => "expiryDate",
            Self::PersonalNumber => "personalNumber",
            Self::Composite => "composite",
            Self::DocumentCode => "documentCode",
            Self::IssuingState => "issuingState",
            Self::Nationality => "nationality",
        }
    }

    /// `true` for the check digits, `false` for the code checks.
    pub fn is_check_digit(self) -> bool {
        !matches!(
            self,
            Self::DocumentCode | Self::IssuingState | Self::Nationality
        )
    }
}

/// Where a check digit sits and which positions it covers, for the lines as they are now.
#[derive(Debug, Clone)]
pub(crate) struct CheckSpec {
    pub name: CheckName,
    /// (line, index) of the check digit.
    pub digit: (usize, usize),
    /// (line, index) of every covered character, in check-sum order.
    pub covers: Vec<(usize, usize)>,
}

fn range(line: usize, start: usize, end: usize) -> impl Iterator<Item = (usize, usize)> {
    (start..end).map(move |i| (line, i))
}

/// Where a long document number (Part 5 §4.2.4 / Part 6 note j) ends: returns the index of its
/// check digit inside the optional-data area, when the number overflows.
///
/// The overflow is signalled by a filler in the primary check-digit position; the extra
/// characters follow in the optional data, ended by their check digit and then a filler.
pub(crate) fn long_number_check_index(format: MrzFormat, lines: &[Vec<u8>]) -> Option<usize> {
    let (line, check_idx, opt_start, opt_end) = match format {
        MrzFormat::Td1 => (0, 14, 15, 30),
        MrzFormat::Td2 => (1, 9, 28, 35),
        _ => return None,
    };
    let l = lines.get(line)?;
    if l.len() < opt_end || l[check_idx] != b'<' || l[opt_start] == b'<' {
        return None;
    }
    let end = (opt_start..opt_end)
        .find(|&i| l[i] == b'<')
        .unwrap_or(opt_end);
    Some(end - 1)
}

/// The check digits of `format` for the lines as they stand (the long document-number form
/// moves the number's check digit).
pub(crate) fn check_specs(format: MrzFormat, lines: &[Vec<u8>]) -> Vec<CheckSpec> {
    let mut out = Vec::new();
    let long = long_number_check_index(format, lines);
    let number_line = if format == MrzFormat::Td1 { 0 } else { 1 };
    let number_start = if format == MrzFormat::Td1 { 5 } else { 0 };
    let (number_check_line, opt_start) = match format {
        MrzFormat::Td1 => (0, 15),
        _ => (1, 28),
    };
    let number = match long {
        Some(ci) => CheckSpec {
            name: CheckName::DocumentNumber,
            digit: (number_check_line, ci),
            covers: range(number_line, number_start, number_start + 9)
                .chain(range(number_check_line, opt_start, ci))
                .collect(),
        },
        None => CheckSpec {
            name: CheckName::DocumentNumber,
            digit: (number_line, number_start + 9),
            covers: range(number_line, number_start, number_start + 9).collect(),
        },
    };
    out.push(number);
    let (dl, db) = if format == MrzFormat::Td1 {
        (1, 0)
    } else {
        (1, 13)
    };
    let de = if format == MrzFormat::Td1 { 8 } else { 21 };
    out.push(CheckSpec {
        name: CheckName::BirthDate,
        digit: (dl, db + 6),
        covers: range(dl, db, db + 6).collect(),
    });
    out.push(CheckSpec {
        name: CheckName::ExpiryDate,
        digit: (dl, de + 6),
        covers: range(dl, de, de + 6).collect(),
    });
    match format {
        MrzFormat::Td1 => out.push(CheckSpec {
            name: CheckName::Composite,
            digit: (1, 29),
            covers: range(0, 5, 30)
                .chain(range(1, 0, 7))
                .chain(range(1, 8, 15))
                .chain(range(1, 18, 29))
                .collect(),
        }),
        MrzFormat::Td2 => out.push(CheckSpec {
            name: CheckName::Composite,
            digit: (1, 35),
            covers: range(1, 0, 10)
                .chain(range(1, 13, 20))
                .chain(range(1, 21, 35))
                .collect(),
        }),
        MrzFormat::Td3 => {
            out.push(CheckSpec {
                name: CheckName::PersonalNumber,
                digit: (1, 42),
                covers: range(1, 28, 42).collect(),
            });
            out.push(CheckSpec {
                name: CheckName::Composite,
                digit: (1, 43),
                covers: range(1, 0, 10)
                    .chain(range(1, 13, 20))
                    .chain(range(1, 21, 43))
                    .collect(),
            });
        }
        MrzFormat::MrvA | MrzFormat::MrvB => {}
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_of_icao_examples() {
        assert_eq!(check_digit("L898902C3"), Some('6'));
        assert_eq!(check_digit("740812"), Some('2'));
        assert_eq!(check_digit("120415"), Some('9'));
        assert_eq!(check_digit("ZE184226B<<<<<"), Some('1'));
        assert_eq!(check_digit("<<<<<<"), Some('0'));
        assert_eq!(check_digit("ab"), None);
    }

    #[test]
    fn layouts_tile_every_line_exactly() {
        for f in MrzFormat::ALL {
            for line in 0..f.line_count() {
                let mut covered = vec![0u8; f.line_len()];
                for s in spans(f).iter().filter(|s| s.line == line) {
                    for c in &mut covered[s.start..s.start + s.len] {
                        *c += 1;
                    }
                }
                assert!(
                    covered.iter().all(|&c| c == 1),
                    "{f:?} line {line}: {covered:?}"
                );
            }
        }
    }
}
