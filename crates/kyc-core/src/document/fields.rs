//! From OCR lines to document fields: MRZ lines picked out of the text, label-driven visual-zone
//! extraction (English and French labels), layouts of the in-scope African cards, the
//! MRZ/visual cross-check and the expired / under-age flags. Pure functions, no models.

use serde::Serialize;

use super::idnumber::{self, IdCheck, IdType};
use super::layouts::{self, DocumentType, KeyField};
use super::mrz::{CandidateLine, DateRole, IsoDate, MrzReading, resolve_yymmdd};

/// An OCR line placed in the upright document frame (`u` to the right, `v` down, in pixels).
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedLine {
    /// Text as read.
    pub text: String,
    /// Mean character confidence 0–1.
    pub confidence: f32,
    /// Per-character confidences.
    pub char_confidences: Vec<f32>,
    /// Left edge along the reading direction.
    pub left: f32,
    /// Right edge.
    pub right: f32,
    /// Centre across the reading direction.
    pub v: f32,
    /// Line height.
    pub height: f32,
    /// Slope of the line's own direction in the document frame (dv/du): a curved page or a
    /// perspective view tilts lines against the dominant direction.
    pub slope: f32,
}

/// Where a field value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FieldSource {
    /// The machine-readable zone.
    Mrz,
    /// The printed (visual) zone.
    Visual,
}

/// One extracted field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldValue {
    /// The value (dates as ISO 8601 `YYYY-MM-DD`, gender `M`/`F`/`X`).
    pub value: String,
    /// 0–100.
    pub confidence: f32,
    /// Where it was read.
    pub source: FieldSource,
}

/// The fields of the reference services' document OCR, each when found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentFields {
    /// The reference services' vocabulary: `passport`, `national_id`, `drivers_license`,
    /// `voter_card`, `residence_permit`, `visa` or `unknown` (see [`layouts::DocumentType`]; the
    /// card's own layout is the reading's `layout`).
    pub document_type: Option<FieldValue>,
    /// Given names then surname.
    pub full_name: Option<FieldValue>,
    /// Given names.
    pub first_name: Option<FieldValue>,
    /// Surname.
    pub last_name: Option<FieldValue>,
    /// ISO date of birth.
    pub date_of_birth: Option<FieldValue>,
    /// ISO date of expiry.
    pub expiration_date: Option<FieldValue>,
    /// `M`, `F` or `X`.
    pub gender: Option<FieldValue>,
    /// Nationality (ICAO code from the MRZ, or as printed).
    pub nationality: Option<FieldValue>,
    /// Document number.
    pub document_number: Option<FieldValue>,
    /// Personal number (TD3 personal number, TD1 optional data, NIN, Ghana PIN…).
    pub personal_number: Option<FieldValue>,
    /// Issuing country or organisation.
    pub issuing_country: Option<FieldValue>,
    /// Address as printed.
    pub address: Option<FieldValue>,
}

impl DocumentFields {
    /// Every present field with its JSON name.
    #[must_use]
    pub fn present(&self) -> Vec<(&'static str, &FieldValue)> {
        [
            ("documentType", &self.document_type),
            ("fullName", &self.full_name),
            ("firstName", &self.first_name),
            ("lastName", &self.last_name),
            ("dateOfBirth", &self.date_of_birth),
            ("expirationDate", &self.expiration_date),
            ("gender", &self.gender),
            ("nationality", &self.nationality),
            ("documentNumber", &self.document_number),
            ("personalNumber", &self.personal_number),
            ("issuingCountry", &self.issuing_country),
            ("address", &self.address),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect()
    }
}

/// A visual-zone value compared with the MRZ.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CrossCheck {
    /// Field name.
    pub field: &'static str,
    /// Value in the MRZ.
    pub mrz: String,
    /// Value in the visual zone.
    pub visual: String,
    /// They agree (after transliteration to the MRZ alphabet).
    pub agree: bool,
}

/// Something the agent must look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flag {
    /// Stable code: `expired`, `under_age`, `mrz_invalid`, `mrz_visual_mismatch`,
    /// `mrz_name_uncertain`, `mrz_unknown_code`, `mrz_specimen_code`, `id_number_invalid`.
    pub code: &'static str,
    /// In words.
    pub message: String,
}

/// Visual-zone values found by label or layout (raw strings, dates already ISO).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VisualFields {
    /// Field name → (value, confidence 0–1).
    pub values: Vec<(&'static str, String, f32)>,
    /// Layout recognised from the card's title text.
    pub layout: Option<&'static str>,
}

impl VisualFields {
    /// The value of `field`.
    #[must_use]
    pub fn get(&self, field: &str) -> Option<(&str, f32)> {
        self.values
            .iter()
            .find(|(f, _, _)| *f == field)
            .map(|(_, v, c)| (v.as_str(), *c))
    }

    /// Add the values of `other` that `self` lacks (and its layout when `self` has none);
    /// returns the fields added.
    pub fn fill_from(&mut self, other: &VisualFields) -> Vec<&'static str> {
        let mut added = Vec::new();
        for (field, value, conf) in &other.values {
            if self.get(field).is_none() && !value.trim().is_empty() {
                self.values.push((*field, value.clone(), *conf));
                added.push(*field);
            }
        }
        if self.layout.is_none() {
            self.layout = other.layout;
        }
        added
    }

    fn set(&mut self, field: &'static str, value: String, conf: f32) {
        if value.trim().is_empty() || self.get(field).is_some() {
            return;
        }
        self.values.push((field, value.trim().to_string(), conf));
    }
}

/// Lower-case, accents stripped, `’` as `'`: for label matching.
#[must_use]
pub fn fold(s: &str) -> String {
    super::letters::strip_accents(&s.to_lowercase())
        .chars()
        .map(|c| match c {
            '’' | '`' | '´' => '\'',
            _ => c,
        })
        .collect()
}

/// Transliterate to the MRZ alphabet for comparisons: upper-case, accents stripped, only A-Z0-9.
#[must_use]
pub fn mrz_key(s: &str) -> String {
    fold(s)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .flat_map(|c| c.to_uppercase())
        .collect()
}

/// Glyphs the recogniser reads for the MRZ filler `<` (Greek capital lambda, logical and,
/// circumflex, CJK angle brackets) mapped back to `<`; everything else unchanged.
#[must_use]
pub fn filler_lookalikes(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'Λ' | '∧' | '^' | '\u{2329}' | '\u{3008}' | 'く' | '＜' | '‹' => '<',
            // Some issuers print national letters in the zone (ESPAÑOLA); ICAO writes the base letter.
            'Ñ' => 'N',
            'Ç' => 'C',
            'À' | 'Á' | 'Â' | 'Ä' => 'A',
            'È' | 'É' | 'Ê' | 'Ë' => 'E',
            'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
            'Ò' | 'Ó' | 'Ô' | 'Ö' => 'O',
            'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
            _ => c,
        })
        .collect()
}

/// The text of a line is MRZ-like: mostly `A-Z 0-9 <`, long enough, with fillers.
#[must_use]
pub fn is_mrz_like(text: &str) -> bool {
    let text = filler_lookalikes(text);
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let n = t.chars().count();
    if n < 10 {
        return false;
    }
    let good = t
        .chars()
        .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '<' | '«' | '‹'))
        .count();
    let fillers = t.chars().filter(|c| matches!(c, '<' | '«' | '‹')).count();
    good * 10 >= n * 9 && (fillers >= 1 || (n >= 28 && good == n))
}

/// A short run of the MRZ alphabet holding a filler (`<<<<`, `JANE<`).
fn is_mrz_piece(text: &str) -> bool {
    let t: String = filler_lookalikes(text)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    t.chars().count() >= 2
        && t.contains('<')
        && t.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<')
}

/// MRZ candidate rows, top to bottom: MRZ-like lines, pieces on one row joined left to right.
#[must_use]
pub fn mrz_candidates(lines: &[PlacedLine]) -> Vec<CandidateLine> {
    // Seeds are clearly MRZ-like lines; short pieces of the MRZ alphabet with a filler (a line
    // the detector broke at a long filler run) join the row they lie on.
    let mut seeds: Vec<&PlacedLine> = lines.iter().filter(|l| is_mrz_like(&l.text)).collect();
    seeds.sort_by(|a, b| a.v.total_cmp(&b.v));
    let pieces: Vec<&PlacedLine> = lines
        .iter()
        .filter(|l| !is_mrz_like(&l.text) && is_mrz_piece(&l.text))
        .collect();
    let on_row = |row: &[&PlacedLine], l: &PlacedLine| {
        let seed = row[0];
        let (su, lu) = (0.5 * (seed.left + seed.right), 0.5 * (l.left + l.right));
        let predicted = seed.v + seed.slope * (lu - su);
        (predicted - l.v).abs() < 0.5 * seed.height.min(l.height)
    };
    let mut rows: Vec<Vec<&PlacedLine>> = Vec::new();
    for l in seeds {
        match rows.iter_mut().find(|row| on_row(row, l)) {
            Some(row) => row.push(l),
            None => rows.push(vec![l]),
        }
    }
    for l in pieces {
        if let Some(row) = rows.iter_mut().find(|row| on_row(row, l)) {
            row.push(l);
        }
    }
    rows.sort_by(|a, b| a[0].v.total_cmp(&b[0].v));
    // Character pitch from the longest seed (OCR-B is monospaced), and where the zone's text
    // ends, to restore fillers the detector left out between or after pieces.
    let chars = |l: &PlacedLine| {
        filler_lookalikes(&l.text)
            .chars()
            .filter(|c| !c.is_whitespace())
            .count()
    };
    let centre = |l: &PlacedLine| 0.5 * (l.left + l.right);
    let pitch = rows
        .iter()
        .map(|r| r[0])
        .max_by_key(|l| chars(l))
        .map_or(0.0, |l| {
            (l.right - l.left - l.height) / chars(l).max(1) as f32
        });
    let text_end = |l: &PlacedLine| centre(l) + 0.5 * pitch * chars(l) as f32;
    let zone_end = rows
        .iter()
        .flat_map(|r| r.iter().map(|l| text_end(l)))
        .fold(f32::MIN, f32::max);
    rows.into_iter()
        .map(|mut row| {
            row.sort_by(|a, b| a.left.total_cmp(&b.left));
            let mut text = String::new();
            let mut conf = Vec::new();
            let mut end: Option<f32> = None;
            for l in &row {
                let mut skip = 0usize;
                if let Some(prev_end) = end.filter(|_| pitch > 0.0) {
                    let start = centre(l) - 0.5 * pitch * chars(l) as f32;
                    let gap = ((start - prev_end) / pitch).round() as i64;
                    if gap > 0 {
                        text.extend(std::iter::repeat_n('<', gap as usize));
                        conf.extend(std::iter::repeat_n(0.5f32, gap as usize));
                    } else {
                        skip = (-gap) as usize;
                    }
                }
                let mut seen = 0usize;
                for (c, p) in filler_lookalikes(&l.text).chars().zip(
                    l.char_confidences
                        .iter()
                        .copied()
                        .chain(std::iter::repeat(l.confidence)),
                ) {
                    if !c.is_whitespace() {
                        seen += 1;
                        if seen > skip {
                            text.push(c);
                            conf.push(p);
                        }
                    }
                }
                end = Some(text_end(l));
            }
            if row.len() > 1
                && pitch > 0.0
                && let Some(e) = end
            {
                // A broken row lost its trailing fillers too: pad to where the zone ends.
                let missing = ((zone_end - e) / pitch).round().max(0.0) as usize;
                text.extend(std::iter::repeat_n('<', missing));
                conf.extend(std::iter::repeat_n(0.5f32, missing));
            }
            CandidateLine::with_confidences(text, conf)
        })
        .collect()
}

/// Labels per field; each is matched at the start of a folded line (bilingual pairs such as
/// "Surname / Nom" are matched alternative by alternative).
const LABELS: &[(&str, &[&str])] = &[
    (
        "lastName",
        &[
            "surname",
            "last name",
            "family name",
            "nom de famille",
            "nom",
        ],
    ),
    (
        "firstName",
        &[
            "given names",
            "given name",
            "first names",
            "first name",
            "other names",
            "forenames",
            "prenoms",
            "prenom",
        ],
    ),
    (
        "fullName",
        &["full names", "full name", "names", "name", "nom et prenoms"],
    ),
    (
        "dateOfBirth",
        &[
            "date of birth",
            "date de naissance",
            "birth date",
            "born",
            "ne le",
            "ne(e) le",
            "dob",
        ],
    ),
    ("gender", &["sex", "sexe", "gender"]),
    ("nationality", &["nationality", "nationalite"]),
    (
        "documentNumber",
        &[
            "document number",
            "document no",
            "passport number",
            "passport no",
            "card number",
            "card no",
            "id number",
            "id no",
            "no du document",
            "n° du document",
            "n° du passeport",
            "no du passeport",
            "numero du passeport",
            "n° de passeport",
            "no de passeport",
            "numero du document",
            "numero de la carte",
            "n° de la carte",
            "no de la carte",
            "serial number",
            "licence number",
            "licence no",
            "license number",
            "license no",
            "voter id number",
            "voter id no",
        ],
    ),
    (
        "personalNumber",
        &[
            "personal id number",
            "numero d'identification",
            "numero d'identite",
            "numero personnel",
            "n° personnel",
            "personal number",
            "national identification number",
            "nin",
            "nni",
            "vin",
            "personal id no",
        ],
    ),
    (
        "expirationDate",
        &[
            "date of expiry",
            "date of expiration",
            "expiry date",
            "expiration date",
            "date d'expiration",
            "date d'expiry",
            "valid until",
            "expires",
            "expiry",
        ],
    ),
    (
        "address",
        &["residential address", "address", "adresse", "domicile"],
    ),
];

/// A label spelling as the recogniser tends to see it, for fuzzy comparison: `l`, `1`, `|`,
/// `!` and `j` as `i`; `0` as `o`; `rn` as `m`, `ri` as `n`, `vv` as `w`, `cl` as `d`.
fn ocr_canon(s: &str) -> Vec<char> {
    let mut out: Vec<char> = Vec::with_capacity(s.len());
    for c in s.chars() {
        let c = match c {
            'l' | '1' | '|' | '!' | 'j' => 'i',
            '0' => 'o',
            '5' => 's',
            _ => c,
        };
        let merged = match (out.last(), c) {
            (Some('r'), 'n') => Some('m'),
            (Some('r'), 'i') => Some('n'),
            (Some('v'), 'v') => Some('w'),
            (Some('c'), 'i') => Some('d'),
            _ => None,
        };
        match merged {
            Some(m) => {
                out.pop();
                out.push(m);
            }
            None => out.push(c),
        }
    }
    out
}

/// How a label may be matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    /// Exactly (or with "rn" read as "m").
    Exact,
    /// Exactly through OCR confusions ("5EX"), in a label of 3+ letters.
    Canon,
    /// Through OCR confusions, with one edit in a label of 6+ letters or two in one of 14+.
    Fuzzy,
    /// The second half of a bilingual pair: the whole rest of the line is the label, through
    /// OCR confusions, with one edit in a label of 3+ letters or two in one of 6+.
    Tail,
}

/// `text` without the label `alt` at its start (whole words only).
fn strip_label(text: &str, alt: &str, how: Match) -> Option<String> {
    let whole_word = |r: &str| !r.chars().next().is_some_and(char::is_alphanumeric);
    if how == Match::Exact {
        let merged = alt.replace("rn", "m");
        return [alt, merged.as_str()]
            .into_iter()
            .find_map(|a| text.strip_prefix(a).filter(|r| whole_word(r)))
            .map(str::to_string);
    }
    let chars: Vec<char> = text.chars().collect();
    let target = ocr_canon(alt);
    let n = alt.chars().count();
    let allowed = match how {
        Match::Canon if n >= 3 => 0,
        Match::Fuzzy if n >= 14 => 2,
        Match::Fuzzy if n >= 6 => 1,
        Match::Tail if n >= 6 => 2,
        Match::Tail if n >= 3 => 1,
        _ => return None,
    };
    if how == Match::Tail {
        let whole = text.trim_end_matches(['.', ':', ' ']);
        return (edit_distance(&ocr_canon(whole), &target) <= allowed).then(String::new);
    }
    (n.saturating_sub(2)..=n + 2)
        .filter(|len| *len > 0 && *len <= chars.len())
        .map(|len| {
            let prefix: String = chars[..len].iter().collect();
            (len, edit_distance(&ocr_canon(&prefix), &target))
        })
        .filter(|(len, d)| *d <= allowed && whole_word(&chars[*len..].iter().collect::<String>()))
        .min_by_key(|(_, d)| *d)
        .map(|(len, _)| chars[len..].iter().collect())
}

/// Two MRZ-alphabet spellings one or two OCR slips apart (at most a quarter of the letters).
fn near_miss(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let d = edit_distance(&a, &b);
    d > 0 && d <= 2 && 4 * d <= a.len().max(b.len())
}

/// Levenshtein distance.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn match_label(text: &str) -> Option<(&'static str, String)> {
    let folded = fold(text);
    let mut rest = folded
        .trim()
        .trim_start_matches(['/', ':', '-', ' '])
        .to_string();
    let mut found: Option<&'static str> = None;
    // Whether the last separator was a slash: the second half of a bilingual pair follows.
    let mut slash = false;
    // Strip label alternatives (of any field, for bilingual pairs) and separators repeatedly.
    loop {
        // (text, after a slash). After a first label, a slash may have been read as 7, 1, i or
        // l ("Sumame 7 Nom").
        let mut tries = vec![(rest.clone(), slash)];
        if found.is_some() {
            let mut it = rest.chars();
            if it.next().is_some_and(|c| "71il".contains(c)) {
                let after: String = it.collect();
                if after.starts_with(' ') {
                    tries.push((after.trim_start().to_string(), true));
                }
            }
        }
        // Exact spellings first, then OCR slips in a long label ("Glven riames"), then (as the
        // second half of a pair) a short label that is all that is left ("Narn" for "Nom").
        let hit = [Match::Exact, Match::Canon, Match::Fuzzy, Match::Tail]
            .iter()
            .find_map(|how| {
                tries
                    .iter()
                    .filter(|(_, after_slash)| *how != Match::Tail || *after_slash)
                    .find_map(|(t, _)| {
                        LABELS.iter().find_map(|(field, alts)| {
                            alts.iter()
                                .find_map(|alt| strip_label(t, alt, *how))
                                .map(|r| (*field, r))
                        })
                    })
            });
        let Some((field, r)) = hit else {
            break;
        };
        if found.is_none() {
            found = Some(field);
        }
        let trimmed = r.trim_start_matches(['/', ':', '-', ' ', '.', '|']);
        slash = r[..r.len() - trimmed.len()].contains(['/', '|']);
        rest = trimmed.to_string();
        if rest.is_empty() {
            break;
        }
    }
    if found.is_none() {
        // "Se/Sexe": an English half too garbled to match, and a French half that is a label
        // and the whole rest of the line.
        let (_, second) = folded.split_once('/')?;
        return match match_label(second) {
            Some((field, rest)) if rest.is_empty() && !second.contains('/') => {
                Some((field, String::new()))
            }
            _ => None,
        };
    }
    let field = found?;
    // The value keeps its original case: take the same number of trailing chars.
    let keep = rest.chars().count();
    let orig: String = text
        .trim()
        .chars()
        .rev()
        .take(keep)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Some((field, orig.trim().to_string()))
}

const MONTHS: &[(&str, u32)] = &[
    ("jan", 1),
    ("janv", 1),
    ("feb", 2),
    ("fev", 2),
    ("fevr", 2),
    ("mar", 3),
    ("mars", 3),
    ("apr", 4),
    ("avr", 4),
    ("may", 5),
    ("mai", 5),
    ("jun", 6),
    ("juin", 6),
    ("jul", 7),
    ("juil", 7),
    ("aug", 8),
    ("august", 8),
    ("january", 1),
    ("janvier", 1),
    ("february", 2),
    ("fevrier", 2),
    ("march", 3),
    ("april", 4),
    ("avril", 4),
    ("june", 6),
    ("july", 7),
    ("juillet", 7),
    ("september", 9),
    ("septembre", 9),
    ("october", 10),
    ("octobre", 10),
    ("november", 11),
    ("novembre", 11),
    ("december", 12),
    ("decembre", 12),
    ("aou", 8),
    ("aout", 8),
    ("sep", 9),
    ("sept", 9),
    ("oct", 10),
    ("nov", 11),
    ("dec", 12),
];

/// Parse a printed date: `DD/MM/YYYY`, `DD.MM.YYYY`, `DD-MM-YYYY`, `DD MM YYYY`, `YYYY-MM-DD`,
/// `DD MON YYYY` (English or French month, also `AUG/AOUT`); a two-digit year is resolved as
/// the MRZ does for `role` on `today`. Returns ISO `YYYY-MM-DD`.
#[must_use]
pub fn parse_date(text: &str, role: DateRole, today: IsoDate) -> Option<String> {
    // Split at separators and between letters and digits ("MAY1968" → "may", "1968").
    let mut f = String::new();
    let mut prev: Option<char> = None;
    for c in fold(text).chars() {
        if let Some(p) = prev
            && p.is_alphanumeric()
            && c.is_alphanumeric()
            && p.is_ascii_digit() != c.is_ascii_digit()
        {
            f.push(' ');
        }
        f.push(c);
        prev = Some(c);
    }
    let tokens: Vec<&str> = f
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    for w in 0..tokens.len() {
        let t = &tokens[w..];
        let num = |s: &str| s.parse::<u32>().ok();
        let ymd = |y: u32, m: u32, d: u32| {
            IsoDate::new(y as i32, m, d).map(|_| format!("{y:04}-{m:02}-{d:02}"))
        };
        let short = |d: u32, m: u32, yy: &str| {
            let raw = format!("{yy}{m:02}{d:02}");
            resolve_yymmdd(&raw, role, today)
                .map(|x| format!("{:04}-{:02}-{:02}", x.year, x.month, x.day))
        };
        if t.len() >= 3 {
            if t[0].len() == 4
                && let (Some(y), Some(m), Some(d)) = (num(t[0]), num(t[1]), num(t[2]))
                && let Some(r) = ymd(y, m, d)
            {
                return Some(r);
            }
            if t[2].len() == 4
                && let (Some(d), Some(y)) = (num(t[0]), num(t[2]))
            {
                let m = num(t[1]).or_else(|| month(t[1]));
                if let Some(r) = m.and_then(|m| ymd(y, m, d)) {
                    return Some(r);
                }
            }
            if t[2].len() == 2
                && t[1].len() >= 3
                && let (Some(d), Some(m), Some(_)) = (num(t[0]), month(t[1]), num(t[2]))
                && let Some(r) = short(d, m, t[2])
            {
                return Some(r);
            }
        }
        if t.len() >= 4
            && t[3].len() == 4
            && let (Some(d), Some(m), Some(y)) = (num(t[0]), month(t[1]), num(t[3]))
            && month(t[2]).is_some()
            && let Some(r) = ymd(y, m, d)
        {
            return Some(r);
        }
        if t.len() >= 4
            && t[3].len() == 2
            && let (Some(d), Some(m), Some(_)) = (num(t[0]), month(t[1]), num(t[3]))
            && month(t[2]).is_some()
            && let Some(r) = short(d, m, t[3])
        {
            return Some(r);
        }
    }
    None
}

fn month(token: &str) -> Option<u32> {
    MONTHS.iter().find(|(m, _)| *m == token).map(|(_, v)| *v)
}

/// `M`, `F` or `X` from a printed sex.
#[must_use]
pub fn parse_gender(text: &str) -> Option<String> {
    let f = fold(text);
    let first = f
        .split(|c: char| !c.is_alphanumeric())
        .find(|t| !t.is_empty())?;
    match first {
        "m" | "male" | "masculin" | "h" | "homme" => Some("M".into()),
        "f" | "female" | "feminin" | "femme" => Some("F".into()),
        "x" => Some("X".into()),
        _ => None,
    }
}

fn is_label_line(text: &str) -> bool {
    match_label(text).is_some_and(|(_, rest)| rest.is_empty())
}

/// The line below `label` that holds its value: starts near the label's left edge (or overlaps
/// it), within about two line heights, and is not itself a label.
fn value_below<'a>(
    lines: &'a [PlacedLine],
    label: &PlacedLine,
    skip: usize,
) -> Option<&'a PlacedLine> {
    let h = label.height.max(1.0);
    let mut below: Vec<&PlacedLine> = lines
        .iter()
        .filter(|l| {
            let dv = l.v - label.v;
            dv > 0.4 * h
                && dv < 2.6 * h * (1 + skip) as f32
                && (l.left - label.left).abs() < 3.0 * h
                && l.left < label.right
        })
        .collect();
    below.sort_by(|a, b| a.v.total_cmp(&b.v));
    let first = *below.first()?;
    if is_label_line(&first.text) {
        return None;
    }
    if skip == 0 {
        return Some(first);
    }
    below
        .into_iter()
        .skip(skip)
        .find(|l| !is_label_line(&l.text) && l.v - first.v < 1.8 * h * skip as f32)
}

/// Label-driven extraction of the visual zone, plus the layouts of the in-scope African cards.
#[must_use]
pub fn extract_visual(lines: &[PlacedLine], today: IsoDate) -> VisualFields {
    let mut out = VisualFields {
        layout: layouts::detect(lines).map(|l| l.id),
        ..VisualFields::default()
    };
    let id_number_is_personal = out
        .layout
        .and_then(layouts::by_id)
        .is_some_and(|l| l.id_number_is_personal);
    let mut sorted: Vec<&PlacedLine> = lines.iter().collect();
    sorted.sort_by(|a, b| a.v.total_cmp(&b.v).then(a.left.total_cmp(&b.left)));
    for line in sorted {
        if is_mrz_like(&line.text) {
            continue;
        }
        let Some((field, rest)) = match_label(&line.text) else {
            continue;
        };
        // On cards whose MRZ document number is the card's serial, the printed "ID number" is
        // the holder's personal number.
        let field = if id_number_is_personal
            && field == "documentNumber"
            && fold(&line.text).trim_start().starts_with("id n")
        {
            "personalNumber"
        } else {
            field
        };
        // An inline remainder that cannot be this field's value (an unknown second label, as
        // in "Date of Expiry/Date dexpiration") gives way to the line below.
        let inline_ok = !rest.is_empty()
            && match field {
                "dateOfBirth" => parse_date(&rest, DateRole::Birth, today).is_some(),
                "expirationDate" => parse_date(
                    &rest,
                    DateRole::Expiry {
                        max_years_ahead: 20,
                    },
                    today,
                )
                .is_some(),
                "gender" => parse_gender(&rest).is_some(),
                _ => true,
            };
        let (value, conf) = if inline_ok {
            (rest, line.confidence)
        } else {
            match value_below(lines, line, 0) {
                Some(v) => (v.text.clone(), v.confidence),
                None => continue,
            }
        };
        let value = if field == "address" {
            // Addresses often run over a second line.
            match value_below(lines, line, 1) {
                Some(next) if rest_is_empty(line) => format!("{value}, {}", next.text),
                _ => value,
            }
        } else {
            value
        };
        match field {
            "dateOfBirth" | "expirationDate" => {
                let role = if field == "dateOfBirth" {
                    DateRole::Birth
                } else {
                    DateRole::Expiry {
                        max_years_ahead: 20,
                    }
                };
                if let Some(d) = parse_date(&value, role, today) {
                    out.set(field, d, conf);
                }
            }
            "gender" => {
                if let Some(g) = parse_gender(&value) {
                    out.set(field, g, conf);
                }
            }
            "documentNumber" | "personalNumber" => {
                // Numbers printed in groups ("9955 900 7370") are one number.
                let compact: String = value.split_whitespace().collect();
                if compact
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
                {
                    out.set(field, compact, conf);
                } else {
                    out.set(field, value, conf);
                }
            }
            "lastName" | "firstName" | "fullName" => out.set(field, tidy_name(&value), conf),
            _ => out.set(field, value, conf),
        }
    }
    layout_numbers(lines, &mut out);
    out
}

/// Mend two OCR slips in a printed name. Letters whose capital differs from the small letter
/// only in size (`c o s u v w x z`) take the case the name's other words start with
/// ("chiamaka Zoë" → "Chiamaka Zoë"); two words run together as one ("KwameKofi") are parted
/// where a small letter meets a capital, when both halves have three letters or more
/// ("McDonald", "LeBlanc" stay whole).
#[must_use]
pub fn tidy_name(name: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for w in name.split_whitespace() {
        let chars: Vec<char> = w.chars().collect();
        let cut = (3..chars.len().saturating_sub(2)).find(|&i| {
            chars[i].is_uppercase()
                && chars[i - 1].is_lowercase()
                && chars[..i].iter().all(|c| c.is_alphabetic())
                && chars[i..].iter().all(|c| c.is_alphabetic())
                && chars[i + 1..].iter().all(|c| c.is_lowercase())
        });
        match cut {
            Some(i) => {
                words.push(chars[..i].iter().collect());
                words.push(chars[i..].iter().collect());
            }
            None => words.push(w.to_string()),
        }
    }
    let starts_upper = |w: &String| w.chars().next().is_some_and(char::is_uppercase);
    let others_upper =
        words.len() > 1 && words.iter().filter(|w| starts_upper(w)).count() + 1 >= words.len();
    let words: Vec<String> = words
        .iter()
        .map(|w| {
            let mut it = w.chars();
            match it.next() {
                Some(c) if others_upper && "cosuvwxz".contains(c) => {
                    c.to_uppercase().chain(it).collect()
                }
                _ => w.clone(),
            }
        })
        .collect();
    words.join(" ")
}

fn rest_is_empty(line: &PlacedLine) -> bool {
    match_label(&line.text).is_some_and(|(_, r)| r.is_empty())
}

/// Numbers that identify the card in the visual zone, found by their shape per layout (a label
/// may have been misread or may not be printed at all).
fn layout_numbers(lines: &[PlacedLine], out: &mut VisualFields) {
    let Some(layout) = out.layout.and_then(layouts::by_id) else {
        return;
    };
    let Some((_, field)) = layout.key else {
        return;
    };
    for l in lines {
        if is_mrz_like(&l.text) {
            continue;
        }
        if let Some(n) = layouts::find_number(layout, &l.text) {
            out.set(field.name(), n, l.confidence);
        }
    }
}

fn value(v: impl Into<String>, confidence: f32, source: FieldSource) -> Option<FieldValue> {
    let v = v.into();
    (!v.trim().is_empty()).then(|| FieldValue {
        value: v.trim().to_string(),
        confidence: (confidence * 10.0).round() / 10.0,
        source,
    })
}

/// Confidence 0–100 of an MRZ field: a passing check digit makes it near-certain; without a
/// check the OCR's lowest character confidence counts; a failing check halves it.
fn mrz_conf(valid: Option<bool>, ocr: Option<f32>, zone_valid: bool) -> f32 {
    let ocr = ocr.unwrap_or(0.9) * 100.0;
    match valid {
        Some(true) => ocr.max(97.0),
        Some(false) => ocr * 0.5,
        None if zone_valid => ocr.max(90.0),
        None => ocr * 0.8,
    }
}

/// Everything assembled: fields with sources and confidences, cross-checks, flags, ID check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Assembled {
    /// The fields.
    pub fields: DocumentFields,
    /// Overall confidence 0–100.
    pub confidence: f32,
    /// Visual zone against MRZ.
    pub cross_checks: Vec<CrossCheck>,
    /// Flags for the agent.
    pub flags: Vec<Flag>,
    /// Offline check of the document's key number.
    pub id_number: Option<IdCheck>,
    /// The layout the fields were assembled for (the printed titles' layout, or the MRZ's for a
    /// card's back read alone; none for a passport or visa): the reading's `layout`.
    #[serde(skip)]
    pub layout: Option<&'static str>,
}

/// The layout a reading is of, and its `documentType`: the MRZ decides for passports, visas,
/// residence permits and licences (a passport's printed "Republic of Ghana" names no card); for
/// an identity-card MRZ or none, the printed layout (or the layout the MRZ names) decides.
#[must_use]
pub fn document_type(
    mrz: Option<&MrzReading>,
    visual: &VisualFields,
) -> (Option<&'static layouts::Layout>, DocumentType) {
    let from_mrz = mrz.map(|m| DocumentType::from_mrz(m.format, &m.fields.document_code.value));
    if from_mrz.is_some_and(|t| !matches!(t, DocumentType::NationalId | DocumentType::Unknown)) {
        return (None, from_mrz.unwrap_or(DocumentType::Unknown));
    }
    let printed = visual.layout.and_then(layouts::by_id);
    let zoned = mrz.and_then(layouts::from_mrz);
    // A card zone of a known layout overrules a printed layout that has no zone (the old Kenya
    // ID's titles read on a Maisha card whose own title was missed).
    let layout = match (printed, zoned) {
        (Some(p), Some(z)) if p.mrz.is_none() && p.country == z.country => Some(z),
        (Some(p), _) => Some(p),
        (None, z) => z,
    };
    let kind = layout
        .map(|l| l.document_type)
        .or(from_mrz)
        .unwrap_or(DocumentType::Unknown);
    (layout, kind)
}

/// Merge MRZ and visual values into the document fields, cross-check and flag.
#[must_use]
pub fn assemble(
    mrz: Option<&MrzReading>,
    visual: &VisualFields,
    today: IsoDate,
    min_age: i32,
) -> Assembled {
    let mut f = DocumentFields::default();
    let mut cross = Vec::new();
    let mut flags = Vec::new();
    let vis = |k: &str| visual.get(k).map(|(v, c)| (v.to_string(), c * 100.0));
    let vset = |k: &str| value_of(visual, k);
    let (layout, kind) = document_type(mrz, visual);

    if let Some(m) = mrz {
        let zv = m.valid;
        let fl = &m.fields;
        f.document_type = value(kind.name(), if zv { 99.0 } else { 80.0 }, FieldSource::Mrz);
        let surname = &fl.primary_identifier;
        let given = &fl.secondary_identifier;
        f.last_name = value(
            surname.value.clone(),
            mrz_conf(None, surname.confidence, zv),
            FieldSource::Mrz,
        );
        f.first_name = value(
            given.value.clone(),
            mrz_conf(None, given.confidence, zv),
            FieldSource::Mrz,
        );
        f.date_of_birth = fl.birth_date.value.clone().and_then(|d| {
            value(
                d,
                mrz_conf(fl.birth_date.valid, fl.birth_date.confidence, zv),
                FieldSource::Mrz,
            )
        });
        f.expiration_date = fl.expiry_date.value.clone().and_then(|d| {
            value(
                d,
                mrz_conf(fl.expiry_date.valid, fl.expiry_date.confidence, zv),
                FieldSource::Mrz,
            )
        });
        f.gender = value(
            fl.sex.value.clone(),
            mrz_conf(None, fl.sex.confidence, zv),
            FieldSource::Mrz,
        );
        f.nationality = value(
            fl.nationality.value.clone(),
            mrz_conf(None, fl.nationality.confidence, zv),
            FieldSource::Mrz,
        );
        f.issuing_country = value(
            fl.issuing_state.value.clone(),
            mrz_conf(None, fl.issuing_state.confidence, zv),
            FieldSource::Mrz,
        );
        f.document_number = value(
            fl.document_number.value.clone(),
            mrz_conf(fl.document_number.valid, fl.document_number.confidence, zv),
            FieldSource::Mrz,
        );
        let personal = fl
            .personal_number
            .as_ref()
            .or(fl.optional_data1.as_ref())
            .filter(|p| !p.value.is_empty());
        if let Some(p) = personal {
            f.personal_number = value(
                p.value.clone(),
                mrz_conf(p.valid, p.confidence, zv),
                FieldSource::Mrz,
            );
        }
        // No check digit covers the name: one the grammar could not settle is shown as
        // unconfirmed, with the name's own confidence.
        if m.name_uncertain {
            for slot in [&mut f.last_name, &mut f.first_name] {
                if let Some(v) = slot.as_mut() {
                    v.confidence = v.confidence.min(m.name_confidence * 100.0);
                }
            }
            flags.push(Flag {
                code: "mrz_name_uncertain",
                message: format!(
                    "the MRZ name {:?} may hold fillers read as letters (name confidence {:.2}); \
                     check it against the document",
                    m.full_name(),
                    m.name_confidence
                ),
            });
        }
        // Cross-check the visual zone against the MRZ; accented visual names win when they agree.
        let mut compare = |name: &'static str,
                           mrz_value: Option<&FieldValue>,
                           key: fn(&str) -> String|
         -> Option<bool> {
            let (vv, vc) = vis(name)?;
            let mv = mrz_value?;
            let (a, b) = (key(&mv.value), key(&vv));
            let agree = a == b || (name.ends_with("Name") && !a.is_empty() && b.starts_with(&a));
            cross.push(CrossCheck {
                field: name,
                mrz: mv.value.clone(),
                visual: vv,
                agree,
            });
            let _ = vc;
            Some(agree)
        };
        let last_ok = compare("lastName", f.last_name.as_ref(), mrz_key);
        let first_ok = compare("firstName", f.first_name.as_ref(), mrz_key);
        compare("dateOfBirth", f.date_of_birth.as_ref(), str::to_string);
        compare("expirationDate", f.expiration_date.as_ref(), str::to_string);
        compare("documentNumber", f.document_number.as_ref(), mrz_key);
        // A card's personal number printed on the front and held in the back's MRZ: a front
        // and a back of two different cards disagree here.
        compare("personalNumber", f.personal_number.as_ref(), mrz_key);
        compare("gender", f.gender.as_ref(), str::to_string);
        if last_ok == Some(true)
            && let Some(v) = vset("lastName")
        {
            f.last_name = value(
                v.0,
                f.last_name.as_ref().map_or(v.1, |m| m.confidence),
                FieldSource::Visual,
            );
        }
        if first_ok == Some(true)
            && let Some(v) = vset("firstName")
        {
            f.first_name = value(
                v.0,
                f.first_name.as_ref().map_or(v.1, |m| m.confidence),
                FieldSource::Visual,
            );
        }
        // A name that differs from the MRZ by an OCR slip or two ("OKONKO" for "OKONKWO"): the
        // zone's name field has no check digit, and the printed name, read confidently, is the
        // better witness. The disagreement is still flagged below.
        for (name, ok, slot) in [
            ("lastName", last_ok, &mut f.last_name),
            ("firstName", first_ok, &mut f.first_name),
        ] {
            if ok == Some(false)
                && let (Some(v), Some(m)) = (vset(name), slot.as_ref())
                && v.1 >= 95.0
                && near_miss(&mrz_key(&m.value), &mrz_key(&v.0))
            {
                *slot = value(v.0, v.1.min(m.confidence).min(80.0), FieldSource::Visual);
            }
        }
        // An MRZ whose check digits fail is not trusted over a readable printed zone: a date
        // whose own check digit passed stays, any other field takes the printed value when
        // there is one.
        if !zv {
            let checked = |v: Option<bool>| v == Some(true);
            for (name, own_check, slot) in [
                ("lastName", false, &mut f.last_name),
                ("firstName", false, &mut f.first_name),
                (
                    "dateOfBirth",
                    checked(fl.birth_date.valid),
                    &mut f.date_of_birth,
                ),
                (
                    "expirationDate",
                    checked(fl.expiry_date.valid),
                    &mut f.expiration_date,
                ),
                // A number's single check digit passes by chance one time in ten.
                ("documentNumber", false, &mut f.document_number),
                ("gender", false, &mut f.gender),
            ] {
                if !own_check
                    && let Some((v, c)) = vset(name)
                    && slot
                        .as_ref()
                        .is_none_or(|m| m.source != FieldSource::Visual)
                {
                    *slot = value(v, c.min(85.0), FieldSource::Visual);
                }
            }
        }
        for c in cross.iter().filter(|c| !c.agree) {
            flags.push(Flag {
                code: "mrz_visual_mismatch",
                message: format!(
                    "{}: the MRZ says {:?}, the printed zone says {:?}",
                    c.field, c.mrz, c.visual
                ),
            });
        }
        let digits: Vec<&str> = m
            .failed_checks
            .iter()
            .filter(|c| c.is_check_digit())
            .map(|c| c.as_str())
            .collect();
        if !digits.is_empty() {
            flags.push(Flag {
                code: "mrz_invalid",
                message: format!("MRZ check digit(s) failing: {}", digits.join(", ")),
            });
        }
        // Codes no check digit covers: one not on the ICAO list (after at most one repaired
        // misread) is reported, and so is the specimen state no real document carries.
        for c in m.checks.iter().filter(|c| !c.name.is_check_digit()) {
            let detail = c.detail.as_deref().unwrap_or("");
            if !c.ok {
                flags.push(Flag {
                    code: "mrz_unknown_code",
                    message: format!("{}: {detail} {:?}", c.name.as_str(), c.found),
                });
            } else if detail == "specimen code" {
                flags.push(Flag {
                    code: "mrz_specimen_code",
                    message: format!(
                        "{}: {:?} is the ICAO specimen state, printed only on specimen documents",
                        c.name.as_str(),
                        c.found
                    ),
                });
            }
        }
    } else {
        f.document_type = value(
            kind.name(),
            if layout.is_some() { 90.0 } else { 30.0 },
            FieldSource::Visual,
        );
        if let Some(l) = layout {
            f.issuing_country = value(l.country, 90.0, FieldSource::Visual);
        }
        for (name, slot) in [
            ("lastName", &mut f.last_name),
            ("firstName", &mut f.first_name),
            ("dateOfBirth", &mut f.date_of_birth),
            ("expirationDate", &mut f.expiration_date),
            ("gender", &mut f.gender),
            ("nationality", &mut f.nationality),
            ("documentNumber", &mut f.document_number),
            ("personalNumber", &mut f.personal_number),
        ] {
            if let Some((v, c)) = vset(name) {
                *slot = value(v, c, FieldSource::Visual);
            }
        }
    }
    if let Some((v, c)) = vset("address") {
        f.address = value(v, c, FieldSource::Visual);
    }
    if f.personal_number.is_none()
        && let Some((v, c)) = vset("personalNumber")
    {
        f.personal_number = value(v, c, FieldSource::Visual);
    }
    // Full name: printed when given, else given names + surname.
    f.full_name = match (vset("fullName"), &f.first_name, &f.last_name) {
        (Some((v, c)), _, _) if mrz.is_none() => value(v, c, FieldSource::Visual),
        (_, Some(a), Some(b)) => value(
            format!("{} {}", a.value, b.value),
            a.confidence.min(b.confidence),
            a.source,
        ),
        (_, None, Some(b)) => Some(b.clone()),
        (_, Some(a), None) => Some(a.clone()),
        (Some((v, c)), _, _) => value(v, c, FieldSource::Visual),
        _ => None,
    };
    if f.last_name.is_none()
        && f.first_name.is_none()
        && let Some(full) = &f.full_name
    {
        // "GIVEN NAMES SURNAME" without separate labels: the last word is the surname.
        let words: Vec<&str> = full.value.split_whitespace().collect();
        if words.len() >= 2 {
            f.last_name = value(words[words.len() - 1], full.confidence, full.source);
            f.first_name = value(
                words[..words.len() - 1].join(" "),
                full.confidence,
                full.source,
            );
        }
    }

    // Key number check: a passport's document number (against its MRZ rules), a known card's
    // key number (against its issuer's format), shown in the issuer's printed form.
    let id_number = if let Some((t, field)) = layout.and_then(|l| l.key) {
        let slot = match field {
            KeyField::Document => &mut f.document_number,
            KeyField::Personal => &mut f.personal_number,
        };
        slot.as_mut().map(|number| {
            let check = idnumber::validate(t.country().unwrap_or(""), t, &number.value);
            if check.is_valid() {
                number.value.clone_from(&check.normalized);
            }
            check
        })
    } else if let Some(m) = mrz.filter(|_| kind == DocumentType::Passport) {
        let country = m.fields.issuing_state.value.clone();
        (!m.fields.document_number.value.is_empty()).then(|| {
            idnumber::validate(&country, IdType::Passport, &m.fields.document_number.value)
        })
    } else {
        None
    };
    if let Some(check) = id_number.as_ref().filter(|c| !c.is_valid()) {
        flags.push(Flag {
            code: "id_number_invalid",
            message: format!("{}: {}", check.normalized, check.reason),
        });
    }

    // Expired / under age.
    if let Some(exp) = f
        .expiration_date
        .as_ref()
        .and_then(|e| IsoDate::parse_iso(&e.value))
        && exp < today
    {
        flags.push(Flag {
            code: "expired",
            message: format!(
                "the document expired on {}",
                f.expiration_date.as_ref().map_or("", |e| e.value.as_str())
            ),
        });
    }
    if let Some(birth) = f
        .date_of_birth
        .as_ref()
        .and_then(|e| IsoDate::parse_iso(&e.value))
    {
        let age = birth.years_until(&today);
        if age < min_age {
            flags.push(Flag {
                code: "under_age",
                message: format!("the holder is {age}, under {min_age}"),
            });
        }
    }

    // Overall confidence: mean of the core fields' confidences, missing core fields count as 0;
    // an invalid MRZ caps it at 50.
    let core = [
        &f.last_name,
        &f.first_name,
        &f.date_of_birth,
        &f.document_number,
        &f.expiration_date,
    ];
    let mut confidence = core
        .iter()
        .map(|v| v.as_ref().map_or(0.0, |v| v.confidence))
        .sum::<f32>()
        / core.len() as f32;
    if mrz.is_some_and(|m| !m.valid) {
        confidence = confidence.min(50.0);
    }
    Assembled {
        fields: f,
        confidence: (confidence * 10.0).round() / 10.0,
        cross_checks: cross,
        flags,
        id_number,
        layout: layout.map(|l| l.id),
    }
}

fn value_of(visual: &VisualFields, k: &str) -> Option<(String, f32)> {
    visual.get(k).map(|(v, c)| (v.to_string(), c * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::mrz::parse_mrz_lines;

    fn line(text: &str, left: f32, v: f32) -> PlacedLine {
        PlacedLine {
            text: text.into(),
            confidence: 0.95,
            char_confidences: vec![0.95; text.chars().count()],
            left,
            // Boxes reach about half a line height past the glyphs on each side.
            right: left + 12.0 * text.chars().count() as f32 + 20.0,
            v,
            height: 20.0,
            slope: 0.0,
        }
    }

    #[test]
    fn dates_in_printed_forms() {
        let today = IsoDate::new(2026, 11, 29).unwrap();
        let parse_date = |t: &str| parse_date(t, DateRole::Birth, today);
        assert_eq!(parse_date("12/08/1974").as_deref(), Some("1974-08-12"));
        assert_eq!(parse_date("12.08.1974").as_deref(), Some("1974-08-12"));
        assert_eq!(parse_date("1974-08-12").as_deref(), Some("1974-08-12"));
        assert_eq!(parse_date("12 AUG 1974").as_deref(), Some("1974-08-12"));
        assert_eq!(parse_date("30 MAY1968").as_deref(), Some("1968-05-30"));
        assert_eq!(
            parse_date("12 AOÛT/AUG 1974").as_deref(),
            Some("1974-08-12")
        );
        assert_eq!(parse_date("03 FÉV 2031").as_deref(), Some("2031-02-03"));
        assert_eq!(parse_date("31/02/1990"), None);
        assert_eq!(parse_date("no date"), None);
        assert_eq!(
            parse_date("12 AUGUST/AOUT 74").as_deref(),
            Some("1974-08-12")
        );
        assert_eq!(
            super::parse_date(
                "15 APR/AVR 12",
                DateRole::Expiry {
                    max_years_ahead: 20
                },
                today
            )
            .as_deref(),
            Some("2012-04-15")
        );
    }

    #[test]
    fn labels_bilingual_and_inline() {
        assert_eq!(
            match_label("Surname / Nom"),
            Some(("lastName", String::new()))
        );
        assert_eq!(
            match_label("Prénoms/Given names: Amélie Zoé"),
            Some(("firstName", "Amélie Zoé".into()))
        );
        assert_eq!(match_label("Nomination"), None);
        // A title is not a label.
        assert_eq!(match_label("PASSPORT / PASSEPORT"), None);
        assert_eq!(
            match_label("Glven names/Prénoms"),
            Some(("firstName", String::new()))
        );
        assert_eq!(
            match_label("Sumarme/Nom"),
            Some(("lastName", String::new()))
        );
        // Misreadings seen on phone photos of the synthetic cards.
        for (line, field) in [
            ("Sumarme/Narn", "lastName"),
            ("Sumame 7 Nom", "lastName"),
            ("Glven riames/henoms", "firstName"),
            ("Given names/Prenorns", "firstName"),
            ("Se/Sexe", "gender"),
            ("Nationaity/Nationalite", "nationality"),
            ("5EX", "gender"),
        ] {
            assert_eq!(match_label(line), Some((field, String::new())), "{line}");
        }
        // A value after a label is kept, even a short one.
        assert_eq!(match_label("Nom: Nam"), Some(("lastName", "Nam".into())));
        assert_eq!(match_label("Sex / Sexe M"), Some(("gender", "M".into())));
        assert_eq!(
            match_label("Date d'expiration / Date of expiry"),
            Some(("expirationDate", String::new()))
        );
    }

    #[test]
    fn names_mended_for_case_and_run_together_words() {
        assert_eq!(tidy_name("chiamaka Zoë"), "Chiamaka Zoë");
        assert_eq!(tidy_name("KwameKofi"), "Kwame Kofi");
        assert_eq!(tidy_name("KwameKofi MENSAH"), "Kwame Kofi MENSAH");
        assert_eq!(tidy_name("McDonald LeBlanc"), "McDonald LeBlanc");
        assert_eq!(tidy_name("OKONKWO"), "OKONKWO");
        // Case follows the other words only when they agree; a name read in small letters
        // throughout stays as read, and so does a small letter whose capital looks different.
        assert_eq!(tidy_name("ama serwaa"), "ama serwaa");
        assert_eq!(tidy_name("adjoa Élodie"), "adjoa Élodie");
    }

    #[test]
    fn visual_fields_by_label_and_ghana_layout() {
        let lines = vec![
            line("ECOWAS IDENTITY CARD", 10.0, 10.0),
            line("REPUBLIC OF GHANA", 10.0, 35.0),
            line("Surname/Nom", 200.0, 60.0),
            line("ASANTEWAA", 200.0, 85.0),
            line("Given names/Prénoms", 200.0, 120.0),
            line("Ama Serwaa", 200.0, 145.0),
            line("Sex/Sexe", 200.0, 180.0),
            line("F", 200.0, 205.0),
            line("Date of Birth/Date de naissance", 400.0, 180.0),
            line("07/03/1991", 400.0, 205.0),
            line("GHA-123456789-0", 200.0, 260.0),
        ];
        let v = extract_visual(&lines, IsoDate::new(2026, 11, 29).unwrap());
        assert_eq!(v.layout, Some("ghana_card"));
        assert_eq!(v.get("lastName").map(|x| x.0), Some("ASANTEWAA"));
        assert_eq!(v.get("firstName").map(|x| x.0), Some("Ama Serwaa"));
        assert_eq!(v.get("gender").map(|x| x.0), Some("F"));
        assert_eq!(v.get("dateOfBirth").map(|x| x.0), Some("1991-03-07"));
        assert_eq!(
            v.get("personalNumber").map(|x| x.0),
            Some("GHA-123456789-0")
        );
    }

    #[test]
    fn mrz_fields_cross_checked_and_flagged() {
        let today = IsoDate::new(2026, 11, 29).unwrap();
        let m = parse_mrz_lines(
            &[
                "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
            ],
            today,
        )
        .unwrap();
        let mut visual = VisualFields::default();
        visual.set("lastName", "Eriksson".into(), 0.9);
        visual.set("dateOfBirth", "1974-08-13".into(), 0.9);
        let a = assemble(Some(&m), &visual, today, 18);
        let f = &a.fields;
        assert_eq!(f.document_type.as_ref().unwrap().value, "passport");
        assert_eq!(f.last_name.as_ref().unwrap().value, "Eriksson");
        assert_eq!(f.last_name.as_ref().unwrap().source, FieldSource::Visual);
        assert_eq!(f.first_name.as_ref().unwrap().value, "ANNA MARIA");
        assert_eq!(f.date_of_birth.as_ref().unwrap().value, "1974-08-12");
        assert_eq!(f.expiration_date.as_ref().unwrap().value, "2012-04-15");
        assert_eq!(f.document_number.as_ref().unwrap().value, "L898902C3");
        assert!(f.document_number.as_ref().unwrap().confidence >= 97.0);
        let codes: Vec<&str> = a.flags.iter().map(|f| f.code).collect();
        assert!(codes.contains(&"expired"));
        assert!(codes.contains(&"mrz_visual_mismatch"));
        assert!(!codes.contains(&"under_age"));
        let dob = a
            .cross_checks
            .iter()
            .find(|c| c.field == "dateOfBirth")
            .unwrap();
        assert!(!dob.agree);
    }

    #[test]
    fn a_card_zone_overrules_a_zoneless_printed_layout_of_its_country() {
        use crate::document::mrz::MrzFormat;
        use crate::document::mrz::generate::{MrzSpec, generate};
        let today = IsoDate::new(2026, 11, 29).unwrap();
        let lines = generate(
            MrzFormat::Td1,
            &MrzSpec {
                document_code: "ID".into(),
                issuing_state: "KEN".into(),
                document_number: "123456789".into(),
                optional_data1: "27736501".into(),
                optional_data2: String::new(),
                birth_date: "900909".into(),
                sex: 'M',
                expiry_date: "280228".into(),
                nationality: "KEN".into(),
                primary_identifier: "OTIENO".into(),
                secondary_identifier: "BRIAN".into(),
            },
        )
        .unwrap();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let m = parse_mrz_lines(&refs, today).unwrap();
        let old_card = VisualFields {
            layout: Some("kenya_national_id"),
            ..VisualFields::default()
        };
        let (layout, kind) = document_type(Some(&m), &old_card);
        assert_eq!(layout.map(|l| l.id), Some("kenya_maisha"));
        assert_eq!(kind, DocumentType::NationalId);
        let a = assemble(Some(&m), &old_card, today, 18);
        assert!(a.id_number.as_ref().is_some_and(IdCheck::is_valid), "{a:?}");
        // A zone of another country does not.
        let ghana = VisualFields {
            layout: Some("ghana_voter_card"),
            ..VisualFields::default()
        };
        assert_eq!(
            document_type(Some(&m), &ghana).0.map(|l| l.id),
            Some("ghana_voter_card")
        );
    }

    #[test]
    fn mrz_rows_are_joined_and_ordered() {
        let lines = vec![
            line("L898902C36UTO7408122F1204159", 10.0, 300.0),
            line("ZE184226B<<<<<10", 346.0, 302.0),
            line("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", 10.0, 270.0),
            line("PASSPORT", 10.0, 10.0),
        ];
        let c = mrz_candidates(&lines);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].text, "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<");
        assert_eq!(c[1].text, "L898902C36UTO7408122F1204159ZE184226B<<<<<10");
    }
}
