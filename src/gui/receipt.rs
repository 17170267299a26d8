//! The customer's receipt: after the decision, a one-page PDF in the data folder
//! (`<data>/receipts/<reference>.pdf`) with the case reference, the date, the kiosk and branch,
//! the decision, and how to see, correct or ask for the erasure of one's data. A customer who
//! refuses consent to biometric processing gets one too: the verification stopped, no biometric
//! processing took place, what the record keeps and how to ask for its erasure.
//!
//! The PDF is written by hand (PDF 1.4, text only, the standard Helvetica fonts in
//! WinAnsiEncoding, so French accents print without embedding a font): a catalog, one page, two
//! fonts, one content stream and a cross-reference table with exact byte offsets.
//! [`text_of`] reads such a file back (header, every cross-reference offset, the text shown),
//! which is how the tests check what a customer gets.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::strings::Lang;

/// What a receipt says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptInfo {
    /// The case reference: `<kiosk>-<record id>`.
    pub reference: String,
    /// When the case was decided, ms since the epoch.
    pub decided_ms: i64,
    /// The kiosk's name or ID.
    pub kiosk: String,
    /// The branch (`None`: not set).
    pub branch: Option<String>,
    /// How the case ended.
    pub outcome: Outcome,
    /// The receipt's language.
    pub lang: Lang,
}

/// How the case a receipt is for ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Decided (approved, rejected or referred): the decision, in the receipt's language.
    Decided(String),
    /// The customer refused consent to biometric processing: the verification stopped before
    /// any picture of their face was taken (recorded as abandoned, consent refused).
    ConsentRefused,
}

/// The case reference of record `id` on `kiosk`.
#[must_use]
pub fn reference(kiosk: &str, id: i64) -> String {
    let clean: String = kiosk
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{clean}-{id:06}")
}

/// `YYYY-MM-DD HH:MM UTC` for `ms` since the epoch.
#[must_use]
pub fn utc_text(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let day = kyc_core::health::date_of_secs(secs);
    let in_day = secs.rem_euclid(86_400);
    format!("{day} {:02}:{:02} UTC", in_day / 3600, (in_day % 3600) / 60)
}

/// The receipt's lines (the first is its title).
#[must_use]
pub fn lines(info: &ReceiptInfo) -> Vec<String> {
    let branch = info.branch.as_deref().unwrap_or("—");
    let date = utc_text(info.decided_ms);
    let mut out: Vec<String> = match info.lang {
        Lang::En => vec![
            "Identity verification receipt".into(),
            format!("Case reference: {}", info.reference),
            format!("Date: {date}"),
            format!("Kiosk: {} — Branch: {branch}", info.kiosk),
        ],
        Lang::Fr => vec![
            "Reçu de vérification d'identité".into(),
            format!("Référence du dossier : {}", info.reference),
            format!("Date : {date}"),
            format!("Kiosque : {} — Agence : {branch}", info.kiosk),
        ],
    };
    out.extend(body(info));
    out
}

/// What follows the receipt's header: the outcome, what was processed and kept, the
/// customer's rights.
fn body(info: &ReceiptInfo) -> Vec<String> {
    match (info.lang, &info.outcome) {
        (Lang::En, Outcome::Decided(decision)) => vec![
            format!("Decision: {decision}"),
            String::new(),
            "With your consent, this kiosk processed images of your identity document and of \
             your face, and a face template, to verify your identity. They are kept in the \
             kiosk's audit record, encrypted, for as long as the law on customer \
             identification requires."
                .into(),
            String::new(),
            "Your rights: to see your data, to have it corrected, or to ask for its erasure \
             once the legal retention period allows it, quote the case reference above at \
             any branch, in person or in writing to the bank's data-protection officer. You \
             may also complain to your country's data-protection authority."
                .into(),
            String::new(),
            "Keep this receipt: the case reference is the only way to find your record.".into(),
        ],
        (Lang::En, Outcome::ConsentRefused) => vec![
            "Outcome: verification stopped — you did not consent to biometric processing".into(),
            String::new(),
            REFUSED_EN.into(),
            String::new(),
            "The kiosk keeps a record that this verification was stopped at your request, with \
             the details you gave and the image of your identity document taken before you \
             were asked, encrypted, for as long as the law on customer identification \
             requires."
                .into(),
            String::new(),
            "Your rights: to see this record, to have it corrected, or to ask for its erasure, \
             quote the case reference above at any branch, in person or in writing to the \
             bank's data-protection officer. You may also complain to your country's \
             data-protection authority."
                .into(),
            String::new(),
            "Keep this receipt: the case reference is the only way to find your record.".into(),
        ],
        (Lang::Fr, Outcome::Decided(decision)) => vec![
            format!("Décision : {decision}"),
            String::new(),
            "Avec votre consentement, ce kiosque a traité des images de votre pièce \
             d'identité et de votre visage, ainsi qu'un gabarit facial, pour vérifier votre \
             identité. Elles sont conservées, chiffrées, dans le registre d'audit du kiosque \
             aussi longtemps que la loi sur l'identification des clients l'exige."
                .into(),
            String::new(),
            "Vos droits : pour consulter vos données, les faire rectifier ou en demander \
             l'effacement lorsque la durée légale de conservation le permet, indiquez la \
             référence ci-dessus dans n'importe quelle agence, sur place ou par écrit au \
             délégué à la protection des données de la banque. Vous pouvez aussi saisir \
             l'autorité de protection des données de votre pays."
                .into(),
            String::new(),
            "Conservez ce reçu : la référence du dossier est le seul moyen de retrouver votre \
             dossier."
                .into(),
        ],
        (Lang::Fr, Outcome::ConsentRefused) => vec![
            "Résultat : vérification arrêtée — vous n'avez pas consenti au traitement \
             biométrique"
                .into(),
            String::new(),
            REFUSED_FR.into(),
            String::new(),
            "Le kiosque conserve, chiffrée, la trace de cette vérification arrêtée à votre \
             demande, avec les informations que vous avez données et l'image de votre pièce \
             d'identité prise avant la question, aussi longtemps que la loi sur \
             l'identification des clients l'exige."
                .into(),
            String::new(),
            "Vos droits : pour consulter cette trace, la faire rectifier ou en demander \
             l'effacement, indiquez la référence ci-dessus dans n'importe quelle agence, sur \
             place ou par écrit au délégué à la protection des données de la banque. Vous \
             pouvez aussi saisir l'autorité de protection des données de votre pays."
                .into(),
            String::new(),
            "Conservez ce reçu : la référence du dossier est le seul moyen de retrouver votre \
             dossier."
                .into(),
        ],
    }
}

/// The statement a refusing customer's receipt makes about biometric processing (English).
pub const REFUSED_EN: &str = "No biometric processing took place: no selfie or video of your \
     face was recorded, and no face template was computed from your face or from your \
     document's portrait, nor compared.";
/// The same statement in French.
pub const REFUSED_FR: &str = "Aucun traitement biométrique n'a eu lieu : aucun selfie ni \
     aucune vidéo de votre visage n'a été enregistré, et aucun gabarit facial n'a été calculé \
     à partir de votre visage ou du portrait de votre pièce, ni comparé.";

/// Page size (A4, points), margins and type sizes.
const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 56.0;
const TITLE_PT: f32 = 18.0;
const BODY_PT: f32 = 11.0;
const LEADING: f32 = 16.0;
/// Characters per body line (Helvetica 11 pt averages ≈5.5 pt a character over 483 pt).
const WRAP_CHARS: usize = 84;

/// Break `text` into lines of at most `width` characters at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push(line);
    out
}

/// A character in WinAnsiEncoding (`?` when it has none).
fn win_ansi(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        '\u{a0}'..='\u{ff}' => c as u32 as u8,
        '€' => 0x80,
        '‚' => 0x82,
        '…' => 0x85,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        'Œ' => 0x8c,
        'œ' => 0x9c,
        _ => b'?',
    }
}

/// The inverse of [`win_ansi`] for the bytes it writes.
fn from_win_ansi(b: u8) -> char {
    match b {
        0x80 => '€',
        0x82 => '‚',
        0x85 => '…',
        0x91 => '‘',
        0x92 => '’',
        0x93 => '“',
        0x94 => '”',
        0x95 => '•',
        0x96 => '–',
        0x97 => '—',
        0x8c => 'Œ',
        0x9c => 'œ',
        other => char::from(other),
    }
}

/// `text` as a PDF literal string: WinAnsi bytes, with `(`, `)` and `\` escaped.
fn pdf_string(text: &str) -> Vec<u8> {
    let mut out = vec![b'('];
    for c in text.chars() {
        let b = win_ansi(c);
        if matches!(b, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b')');
    out
}

/// A one-page PDF 1.4 showing `lines` (the first as a bold title, the rest wrapped).
#[must_use]
pub fn pdf(lines: &[String]) -> Vec<u8> {
    let mut content: Vec<u8> = Vec::new();
    let mut y = PAGE_H - MARGIN - TITLE_PT;
    for (i, line) in lines.iter().enumerate() {
        let (font, size, parts) = if i == 0 {
            ("F2", TITLE_PT, vec![line.clone()])
        } else if line.is_empty() {
            y -= LEADING / 2.0;
            continue;
        } else {
            ("F1", BODY_PT, wrap(line, WRAP_CHARS))
        };
        for part in parts {
            content
                .extend_from_slice(format!("BT /{font} {size} Tf {MARGIN} {y:.1} Td ").as_bytes());
            content.extend(pdf_string(&part));
            content.extend_from_slice(b" Tj ET\n");
            y -= if i == 0 { LEADING * 2.0 } else { LEADING };
        }
    }
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] \
             /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>"
        )
        .into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_vec(),
        {
            let mut o = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
            o.extend_from_slice(&content);
            o.extend_from_slice(b"\nendstream");
            o
        },
    ];
    // A binary comment line after the header marks the file as binary for transfer tools.
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for off in offsets {
        // Each entry is exactly 20 bytes: 10 digits, space, 5 digits, space, n, space, newline.
        let _ = writeln!(table, "{off:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(table.as_bytes());
    out
}

/// Write the receipt for `info` into `<data_dir>/receipts/<reference>.pdf` (a temporary file
/// renamed into place, so a half-written receipt is never left under the final name).
///
/// # Errors
/// The folder cannot be created or the file written (the message names the path).
pub fn write(data_dir: &Path, info: &ReceiptInfo) -> Result<PathBuf, String> {
    let dir = data_dir.join("receipts");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("{}.pdf", info.reference));
    let tmp = dir.join(format!(".{}.pdf.tmp", info.reference));
    std::fs::write(&tmp, pdf(&lines(info))).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Read back the text of a PDF written by [`pdf`], one entry per text line shown, after
/// checking its header, that every cross-reference entry points at its object, and that
/// `startxref` points at the table.
///
/// # Errors
/// What does not hold.
pub fn text_of(bytes: &[u8]) -> Result<Vec<String>, String> {
    if !bytes.starts_with(b"%PDF-1.") {
        return Err("not a PDF: no %PDF header".into());
    }
    let find = |needle: &[u8], from: usize| -> Option<usize> {
        bytes
            .get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    };
    let tail_at = bytes
        .windows(9)
        .rposition(|w| w == b"startxref")
        .ok_or("no startxref")?;
    let tail = std::str::from_utf8(&bytes[tail_at..]).map_err(|_| "the trailer is not text")?;
    let xref: usize = tail
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .ok_or("startxref has no offset")?;
    if bytes.get(xref..xref + 4) != Some(b"xref") {
        return Err(format!("startxref {xref} does not point at the xref table"));
    }
    let table = std::str::from_utf8(&bytes[xref..tail_at]).map_err(|_| "xref is not text")?;
    let mut rows = table.lines().skip(1);
    let count: usize = rows
        .next()
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .ok_or("xref has no object count")?;
    for (n, row) in rows.take(count).enumerate().skip(1) {
        let off: usize = row
            .get(..10)
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| format!("xref entry {n} is malformed"))?;
        let head = format!("{n} 0 obj");
        if bytes.get(off..off + head.len()) != Some(head.as_bytes()) {
            return Err(format!(
                "xref entry {n} ({off}) does not point at object {n}"
            ));
        }
    }
    let start = find(b"stream\n", 0).ok_or("no content stream")? + 7;
    let end = find(b"\nendstream", start).ok_or("the content stream is not closed")?;
    let stream = &bytes[start..end];
    let mut out = Vec::new();
    let mut i = 0;
    while i < stream.len() {
        if stream[i] != b'(' {
            i += 1;
            continue;
        }
        let mut text = String::new();
        i += 1;
        loop {
            let Some(&b) = stream.get(i) else {
                return Err("a text string is not closed".into());
            };
            i += 1;
            match b {
                b')' => break,
                b'\\' => {
                    let Some(&e) = stream.get(i) else {
                        return Err("a text string ends in an escape".into());
                    };
                    i += 1;
                    text.push(from_win_ansi(e));
                }
                other => text.push(from_win_ansi(other)),
            }
        }
        let rest = stream.get(i..).unwrap_or_default();
        let op = rest
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(0);
        if !rest[op..].starts_with(b"Tj") {
            return Err("a text string is not shown with Tj".into());
        }
        out.push(text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(lang: Lang) -> ReceiptInfo {
        ReceiptInfo {
            reference: reference("accra 01", 42),
            decided_ms: 1_796_300_000_000,
            kiosk: "accra 01".into(),
            branch: Some("Accra Central (Makola)".into()),
            outcome: Outcome::Decided(match lang {
                Lang::En => "Approve".into(),
                Lang::Fr => "Approuvé".into(),
            }),
            lang,
        }
    }

    #[test]
    fn the_written_receipt_reads_back_with_its_facts() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), &info(Lang::En)).unwrap();
        assert_eq!(
            path,
            dir.path().join("receipts").join("accra_01-000042.pdf")
        );
        let text = text_of(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(text[0], "Identity verification receipt");
        assert_eq!(text[1], "Case reference: accra_01-000042");
        assert_eq!(text[2], format!("Date: {}", utc_text(1_796_300_000_000)));
        // Parentheses in the branch are escaped in the file and come back as written.
        assert_eq!(text[3], "Kiosk: accra 01 — Branch: Accra Central (Makola)");
        assert_eq!(text[4], "Decision: Approve");
        let all = text.join(" ");
        assert!(all.contains("ask for its erasure"), "{all}");
        assert!(text.iter().all(|l| l.chars().count() <= WRAP_CHARS));
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("receipts"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn french_accents_survive_the_encoding() {
        let bytes = pdf(&lines(&info(Lang::Fr)));
        let text = text_of(&bytes).unwrap();
        assert_eq!(text[0], "Reçu de vérification d'identité");
        assert_eq!(text[4], "Décision : Approuvé");
        assert!(text.join(" ").contains("effacement"));
    }

    #[test]
    fn a_refused_consent_gets_its_own_receipt() {
        for (lang, statement, erasure) in [
            (Lang::En, REFUSED_EN, "ask for its erasure"),
            (Lang::Fr, REFUSED_FR, "en demander l'effacement"),
        ] {
            let refused = ReceiptInfo {
                outcome: Outcome::ConsentRefused,
                ..info(lang)
            };
            let dir = tempfile::tempdir().unwrap();
            let path = write(dir.path(), &refused).unwrap();
            let text = text_of(&std::fs::read(&path).unwrap()).unwrap();
            assert!(text[1].ends_with("accra_01-000042"), "{}", text[1]);
            let all = text.join(" ");
            let statement: String = statement.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(all.contains(&statement), "{all}");
            assert!(all.contains(erasure), "{all}");
            // Nothing on it says a face was processed or a decision taken.
            assert!(
                !all.contains("Decision") && !all.contains("Décision"),
                "{all}"
            );
            assert!(!all.contains("With your consent") && !all.contains("Avec votre consentement"));
        }
    }

    #[test]
    fn a_damaged_file_is_refused() {
        let good = pdf(&lines(&info(Lang::En)));
        assert!(text_of(b"hello").is_err());
        // One byte inserted before the objects shifts every offset.
        let mut shifted = good.clone();
        shifted.insert(20, b' ');
        let e = text_of(&shifted).unwrap_err();
        assert!(e.contains("does not point"), "{e}");
        let cut = &good[..good.len() / 2];
        assert!(text_of(cut).is_err());
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(utc_text(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_text(86_400_000 + 3_723_000), "1970-01-02 01:02 UTC");
    }
}
