//! Synthetic identity documents with exact ground truth: TD3 passport pages, TD1 cards and the
//! MRZ-less African layouts (Ghana Card, Nigeria NIN slip, Nigeria voter card, Kenya ID),
//! rendered with OCR-B (the MRZ font, Debian `fonts-ocr-b`) and DejaVu Sans, with a portrait, and
//! degradations (perspective, blur, noise, JPEG, glare, low light, quarter turns).
//!
//! Shared by `tests/document_read.rs` and `examples/synth_documents.rs`.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::needless_range_loop,
    clippy::too_many_arguments
)]

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use image::{Rgb, RgbImage};
use kyc_core::document::mrz::MrzFormat;
use kyc_core::document::mrz::generate::{MrzSpec, generate};
use serde_json::{Map, Value, json};

pub const OCRB: &str = "/usr/share/fonts/opentype/ocr-b/OCRB.otf";
pub const SANS: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
pub const SANS_BOLD: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";

/// The fonts; panics naming the Debian package when one is missing.
pub struct Fonts {
    pub ocrb: FontVec,
    pub sans: FontVec,
    pub bold: FontVec,
}

fn font(path: &str, package: &str) -> FontVec {
    let bytes = std::fs::read(path).unwrap_or_else(|_| {
        panic!("{path} is missing: install Debian `{package}` (packaging/setup.sh does)")
    });
    FontVec::try_from_vec(bytes).unwrap()
}

impl Fonts {
    pub fn load() -> Self {
        Self {
            ocrb: font(OCRB, "fonts-ocr-b"),
            sans: font(SANS, "fonts-dejavu-core"),
            bold: font(SANS_BOLD, "fonts-dejavu-core"),
        }
    }
}

/// Draw `text` with its top-left at (x, y), `px` high; returns the advance width.
pub fn draw(
    img: &mut RgbImage,
    f: &FontVec,
    px: f32,
    x: f32,
    y: f32,
    text: &str,
    color: [u8; 3],
) -> f32 {
    let scale = PxScale::from(px);
    let sf = f.as_scaled(scale);
    let mut caret = x;
    let baseline = y + sf.ascent();
    let mut prev = None;
    for ch in text.chars() {
        let id = f.glyph_id(ch);
        if let Some(p) = prev {
            caret += sf.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, ab_glyph::point(caret, baseline));
        caret += sf.h_advance(id);
        prev = Some(id);
        if let Some(outline) = f.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, cov| {
                let px_ = bounds.min.x as i32 + gx as i32;
                let py_ = bounds.min.y as i32 + gy as i32;
                if px_ < 0 || py_ < 0 || px_ >= img.width() as i32 || py_ >= img.height() as i32 {
                    return;
                }
                let p = img.get_pixel_mut(px_ as u32, py_ as u32);
                for c in 0..3 {
                    let bg = f32::from(p.0[c]);
                    p.0[c] = (bg + (f32::from(color[c]) - bg) * cov.min(1.0)).round() as u8;
                }
            });
        }
    }
    caret - x
}

/// Width of `text` at `px` (to fit MRZ lines).
pub fn text_width(f: &FontVec, px: f32, text: &str) -> f32 {
    let sf = f.as_scaled(PxScale::from(px));
    text.chars().map(|c| sf.h_advance(f.glyph_id(c))).sum()
}

/// A person and a document's numbers.
#[derive(Debug, Clone)]
pub struct Person {
    pub surname: String,
    pub given: String,
    pub birth: (i32, u32, u32),
    pub expiry: (i32, u32, u32),
    pub sex: char,
    pub nationality: String,
    pub nationality_text: String,
    pub issuer: String,
    pub number: String,
    pub personal: String,
}

pub fn iso(d: (i32, u32, u32)) -> String {
    format!("{:04}-{:02}-{:02}", d.0, d.1, d.2)
}

fn yymmdd(d: (i32, u32, u32)) -> String {
    format!("{:02}{:02}{:02}", d.0 % 100, d.1, d.2)
}

fn dmy(d: (i32, u32, u32)) -> String {
    format!("{:02}/{:02}/{:04}", d.2, d.1, d.0)
}

fn dmon(d: (i32, u32, u32)) -> String {
    const EN: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    format!("{:02} {} {:04}", d.2, EN[(d.1 - 1) as usize], d.0)
}

/// A set of people with accented names, in each country's number formats.
pub fn people() -> Vec<Person> {
    let p = |surname: &str,
             given: &str,
             birth,
             expiry,
             sex,
             nat: &str,
             nat_text: &str,
             number: &str,
             personal: &str| Person {
        surname: surname.into(),
        given: given.into(),
        birth,
        expiry,
        sex,
        nationality: nat.into(),
        nationality_text: nat_text.into(),
        issuer: nat.into(),
        number: number.into(),
        personal: personal.into(),
    };
    vec![
        p(
            "KOUASSI",
            "Adjoa Élodie",
            (1988, 3, 14),
            (2031, 3, 13),
            'F',
            "CIV",
            "IVOIRIENNE",
            "CI0482913",
            "ABJ77120",
        ),
        p(
            "NDIAYE",
            "Mamadou Chérif",
            (1979, 11, 2),
            (2029, 6, 30),
            'M',
            "SEN",
            "SÉNÉGALAISE",
            "A02958811",
            "1179198800",
        ),
        p(
            "MENSAH",
            "Kwame Kofi",
            (1995, 7, 21),
            (2030, 1, 9),
            'M',
            "GHA",
            "GHANAIAN",
            "G3381902",
            "GHA715902337",
        ),
        p(
            "OKONKWO",
            "Chiamaka Zoë",
            (2001, 12, 5),
            (2033, 12, 4),
            'F',
            "NGA",
            "NIGERIAN",
            "B50917734",
            "77120394562",
        ),
        p(
            "BÉKÉ",
            "Hélène Aïcha",
            (1968, 5, 30),
            (2027, 8, 17),
            'F',
            "CMR",
            "CAMEROUNAISE",
            "AA1029384",
            "CMR2207",
        ),
        p(
            "OTIENO",
            "Brian Ouma",
            (1990, 9, 9),
            (2028, 2, 28),
            'M',
            "KEN",
            "KENYAN",
            "AK0093217",
            "27736501",
        ),
    ]
}

/// A rendered document and its expected reading.
pub struct SynthDoc {
    pub image: RgbImage,
    /// Expected field values by JSON name (`lastName`, …), plus `mrzValid` when it has an MRZ.
    pub truth: Map<String, Value>,
    pub mrz: Vec<String>,
}

fn background(w: u32, h: u32, tint: [u8; 3]) -> RgbImage {
    // A soft guilloche-like pattern keeps the page from being flat white.
    RgbImage::from_fn(w, h, |x, y| {
        let wave = (((x as f32 / 23.0).sin() + (y as f32 / 31.0).cos()) * 6.0) as i32;
        Rgb(tint.map(|c| (i32::from(c) + wave).clamp(0, 255) as u8))
    })
}

fn paste_portrait(img: &mut RgbImage, portrait: &RgbImage, x: u32, y: u32, w: u32, h: u32) {
    let scaled = image::imageops::resize(portrait, w, h, image::imageops::FilterType::Triangle);
    image::imageops::replace(img, &scaled, i64::from(x), i64::from(y));
}

/// Centre crop to the portrait aspect ratio (3:4).
pub fn portrait_crop(face: &RgbImage) -> RgbImage {
    let (w, h) = (face.width(), face.height());
    let (cw, ch) = if w * 4 > h * 3 {
        (h * 3 / 4, h)
    } else {
        (w, w * 4 / 3)
    };
    image::imageops::crop_imm(face, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
}

fn label_value(
    img: &mut RgbImage,
    fonts: &Fonts,
    x: f32,
    y: f32,
    label: &str,
    value: &str,
    lpx: f32,
    vpx: f32,
) {
    draw(img, &fonts.sans, lpx, x, y, label, [70, 70, 110]);
    draw(
        img,
        &fonts.bold,
        vpx,
        x,
        y + lpx * 1.35,
        value,
        [15, 15, 15],
    );
}

fn mrz_spec(p: &Person, code: &str) -> MrzSpec {
    MrzSpec {
        document_code: code.into(),
        issuing_state: p.issuer.clone(),
        document_number: p.number.clone(),
        optional_data1: p.personal.clone(),
        optional_data2: String::new(),
        birth_date: yymmdd(p.birth),
        sex: p.sex,
        expiry_date: yymmdd(p.expiry),
        nationality: p.nationality.clone(),
        primary_identifier: p.surname.clone(),
        secondary_identifier: p.given.clone(),
    }
}

fn draw_mrz(
    img: &mut RgbImage,
    fonts: &Fonts,
    lines: &[String],
    x: f32,
    y: f32,
    width: f32,
    gap: f32,
) {
    let n = lines[0].len();
    // OCR-B has a fixed advance: size the font so the line spans `width`.
    let px = width / (text_width(&fonts.ocrb, 100.0, &"<".repeat(n)) / 100.0);
    for (i, l) in lines.iter().enumerate() {
        draw(
            img,
            &fonts.ocrb,
            px,
            x,
            y + i as f32 * (px + gap),
            l,
            [10, 10, 10],
        );
    }
}

/// [`draw_mrz`] character by character on OCR-B's fixed pitch, the fillers as `chevrons`.
#[allow(clippy::too_many_arguments)]
fn draw_mrz_chevrons(
    img: &mut RgbImage,
    fonts: &Fonts,
    lines: &[String],
    x: f32,
    y: f32,
    width: f32,
    gap: f32,
    chevrons: Chevrons,
) {
    let n = lines[0].len();
    let px = width / (text_width(&fonts.ocrb, 100.0, &"<".repeat(n)) / 100.0);
    let pitch = width / n as f32;
    let small = px * chevrons.scale;
    for (i, l) in lines.iter().enumerate() {
        let top = y + i as f32 * (px + gap);
        for (k, ch) in l.chars().enumerate() {
            let left = x + k as f32 * pitch;
            if ch == '<' {
                let dx = (pitch - text_width(&fonts.ocrb, small, "<")) / 2.0;
                let g = chevrons.grey;
                draw(
                    img,
                    &fonts.ocrb,
                    small,
                    left + dx,
                    top + (px - small) * 0.6,
                    "<",
                    [g, g, g],
                );
            } else {
                draw(
                    img,
                    &fonts.ocrb,
                    px,
                    left,
                    top,
                    &ch.to_string(),
                    [10, 10, 10],
                );
            }
        }
    }
}

/// The personal number a TD1 card's reading shows: the issuer's printed form when the issuer's
/// card layout is known (a Ghana Card PIN with its dashes), else as held in the MRZ.
pub fn card_personal(p: &Person) -> String {
    let c = &p.personal;
    if p.issuer == "GHA" && c.len() == 13 && c.starts_with("GHA") {
        format!("GHA-{}-{}", &c[3..12], &c[12..])
    } else {
        c.clone()
    }
}

fn common_truth(p: &Person, doc_type: &str) -> Map<String, Value> {
    let mut t = Map::new();
    t.insert("documentType".into(), json!(doc_type));
    t.insert("lastName".into(), json!(p.surname));
    t.insert("firstName".into(), json!(p.given));
    t.insert(
        "fullName".into(),
        json!(format!("{} {}", p.given, p.surname)),
    );
    t.insert("dateOfBirth".into(), json!(iso(p.birth)));
    t.insert("gender".into(), json!(p.sex.to_string()));
    t
}

/// A TD3 passport data page (1250×880, 10 px/mm) with its two-line MRZ.
pub fn passport(fonts: &Fonts, p: &Person, portrait: &RgbImage) -> SynthDoc {
    let lines = generate(MrzFormat::Td3, &mrz_spec(p, "P")).unwrap();
    passport_with_mrz(fonts, p, portrait, lines)
}

/// How a passport prints its MRZ fillers: real passports print `<` thinner, smaller and lighter
/// than the letters (laser or inkjet personalisation), which the OCR reads as `A` or `K`.
#[derive(Debug, Clone, Copy)]
pub struct Chevrons {
    /// Glyph size relative to the letters.
    pub scale: f32,
    /// Grey level of the chevron ink (letters are 10).
    pub grey: u8,
}

/// [`passport`] with its MRZ fillers printed as `chevrons`.
pub fn passport_with_chevrons(
    fonts: &Fonts,
    p: &Person,
    portrait: &RgbImage,
    chevrons: Chevrons,
) -> SynthDoc {
    let lines = generate(MrzFormat::Td3, &mrz_spec(p, "P")).unwrap();
    passport_page(fonts, p, portrait, lines, Some(chevrons))
}

/// [`passport`] with the MRZ lines given (to print a misprint or a look-alike on purpose).
pub fn passport_with_mrz(
    fonts: &Fonts,
    p: &Person,
    portrait: &RgbImage,
    lines: Vec<String>,
) -> SynthDoc {
    passport_page(fonts, p, portrait, lines, None)
}

fn passport_page(
    fonts: &Fonts,
    p: &Person,
    portrait: &RgbImage,
    lines: Vec<String>,
    chevrons: Option<Chevrons>,
) -> SynthDoc {
    let mut img = background(1250, 880, [236, 232, 220]);
    draw(
        &mut img,
        &fonts.bold,
        34.0,
        40.0,
        30.0,
        "PASSPORT / PASSEPORT",
        [40, 40, 90],
    );
    paste_portrait(&mut img, &portrait_crop(portrait), 40, 120, 330, 440);
    let (x, x2) = (420.0, 820.0);
    label_value(
        &mut img,
        fonts,
        x,
        110.0,
        "Surname / Nom",
        &p.surname,
        22.0,
        32.0,
    );
    label_value(
        &mut img,
        fonts,
        x,
        200.0,
        "Given names / Prénoms",
        &p.given,
        22.0,
        32.0,
    );
    label_value(
        &mut img,
        fonts,
        x,
        290.0,
        "Nationality / Nationalité",
        &p.nationality_text,
        22.0,
        32.0,
    );
    label_value(
        &mut img,
        fonts,
        x,
        380.0,
        "Date of birth / Date de naissance",
        &dmon(p.birth),
        22.0,
        32.0,
    );
    label_value(
        &mut img,
        fonts,
        x2,
        380.0,
        "Sex / Sexe",
        &p.sex.to_string(),
        22.0,
        32.0,
    );
    label_value(
        &mut img,
        fonts,
        x,
        470.0,
        "Passport No / N° du passeport",
        &p.number,
        22.0,
        32.0,
    );
    label_value(
        &mut img,
        fonts,
        x,
        560.0,
        "Date of expiry / Date d'expiration",
        &dmon(p.expiry),
        22.0,
        32.0,
    );
    match chevrons {
        Some(c) => draw_mrz_chevrons(&mut img, fonts, &lines, 45.0, 700.0, 1160.0, 22.0, c),
        None => draw_mrz(&mut img, fonts, &lines, 45.0, 700.0, 1160.0, 22.0),
    }
    let mut t = common_truth(p, "passport");
    t.insert("nationality".into(), json!(p.nationality));
    t.insert("issuingCountry".into(), json!(p.issuer));
    t.insert("documentNumber".into(), json!(p.number));
    t.insert("personalNumber".into(), json!(p.personal));
    t.insert("expirationDate".into(), json!(iso(p.expiry)));
    t.insert("mrzValid".into(), json!(true));
    SynthDoc {
        image: img,
        truth: t,
        mrz: lines,
    }
}

/// A TD1 identity card (1070×675) with visual zone and three-line MRZ on one side.
pub fn id_card(fonts: &Fonts, p: &Person, portrait: &RgbImage) -> SynthDoc {
    let mut img = background(1070, 675, [226, 236, 230]);
    draw(
        &mut img,
        &fonts.bold,
        28.0,
        30.0,
        18.0,
        "IDENTITY CARD / CARTE D'IDENTITÉ",
        [30, 70, 50],
    );
    paste_portrait(&mut img, &portrait_crop(portrait), 30, 70, 240, 320);
    let x = 300.0;
    label_value(
        &mut img,
        fonts,
        x,
        66.0,
        "Surname / Nom",
        &p.surname,
        18.0,
        27.0,
    );
    label_value(
        &mut img,
        fonts,
        x,
        136.0,
        "Given names / Prénoms",
        &p.given,
        18.0,
        27.0,
    );
    label_value(
        &mut img,
        fonts,
        x,
        206.0,
        "Date of birth / Date de naissance",
        &dmy(p.birth),
        18.0,
        27.0,
    );
    label_value(
        &mut img,
        fonts,
        760.0,
        206.0,
        "Sex / Sexe",
        &p.sex.to_string(),
        18.0,
        27.0,
    );
    label_value(
        &mut img,
        fonts,
        x,
        276.0,
        "Document No / N° du document",
        &p.number,
        18.0,
        27.0,
    );
    label_value(
        &mut img,
        fonts,
        700.0,
        276.0,
        "Date of expiry / Date d'expiration",
        &dmy(p.expiry),
        18.0,
        27.0,
    );
    let lines = generate(MrzFormat::Td1, &mrz_spec(p, "I")).unwrap();
    draw_mrz(&mut img, fonts, &lines, 40.0, 430.0, 990.0, 16.0);
    let mut t = common_truth(p, "national_id");
    t.insert("nationality".into(), json!(p.nationality));
    t.insert("issuingCountry".into(), json!(p.issuer));
    t.insert("documentNumber".into(), json!(p.number));
    t.insert("personalNumber".into(), json!(card_personal(p)));
    t.insert("expirationDate".into(), json!(iso(p.expiry)));
    t.insert("mrzValid".into(), json!(true));
    SynthDoc {
        image: img,
        truth: t,
        mrz: lines,
    }
}

/// A two-sided TD1 identity card of one person: the front carries the portrait and the
/// printed fields (no MRZ), the back the three-line MRZ under an address and issuing place
/// (no portrait). The truth is the merged reading's (`mrzValid` true, `address` from the back).
pub fn id_card_two_sided(fonts: &Fonts, p: &Person, portrait: &RgbImage) -> (SynthDoc, SynthDoc) {
    id_card_two_sided_as(fonts, p, p, portrait)
}

/// [`id_card_two_sided`] with the front printed for `front` and the back's MRZ for `back` (to
/// print a front that disagrees with the back on purpose).
pub fn id_card_two_sided_as(
    fonts: &Fonts,
    front_person: &Person,
    p: &Person,
    portrait: &RgbImage,
) -> (SynthDoc, SynthDoc) {
    let f = front_person;
    let mut front = background(1070, 675, [226, 236, 230]);
    draw(
        &mut front,
        &fonts.bold,
        28.0,
        30.0,
        18.0,
        "IDENTITY CARD / CARTE D'IDENTITÉ",
        [30, 70, 50],
    );
    paste_portrait(&mut front, &portrait_crop(portrait), 30, 80, 300, 400);
    let x = 370.0;
    let rows: [(f32, f32, &str, String); 6] = [
        (x, 90.0, "Surname / Nom", f.surname.clone()),
        (x, 170.0, "Given names / Prénoms", f.given.clone()),
        (x, 250.0, "Date of birth / Date de naissance", dmy(f.birth)),
        (820.0, 250.0, "Sex / Sexe", f.sex.to_string()),
        (x, 330.0, "Document No / N° du document", f.number.clone()),
        (
            x,
            410.0,
            "Date of expiry / Date d'expiration",
            dmy(f.expiry),
        ),
    ];
    for (lx, ly, label, value) in &rows {
        label_value(&mut front, fonts, *lx, *ly, label, value, 19.0, 28.0);
    }
    let mut t = common_truth(f, "national_id");
    t.insert("documentNumber".into(), json!(f.number));
    t.insert("expirationDate".into(), json!(iso(f.expiry)));
    let front_doc = SynthDoc {
        image: front,
        truth: t,
        mrz: Vec::new(),
    };

    let mut back = background(1070, 675, [226, 236, 230]);
    label_value(
        &mut back,
        fonts,
        40.0,
        40.0,
        "Address / Adresse",
        "12 RUE DES FLAMBOYANTS ABIDJAN",
        19.0,
        28.0,
    );
    draw(
        &mut back,
        &fonts.sans,
        19.0,
        40.0,
        150.0,
        "Signature of the holder / Signature du titulaire",
        [70, 70, 110],
    );
    let lines = generate(MrzFormat::Td1, &mrz_spec(p, "I")).unwrap();
    draw_mrz(&mut back, fonts, &lines, 40.0, 430.0, 990.0, 16.0);
    let mut t = common_truth(p, "national_id");
    t.insert("nationality".into(), json!(p.nationality));
    t.insert("issuingCountry".into(), json!(p.issuer));
    t.insert("documentNumber".into(), json!(p.number));
    t.insert("personalNumber".into(), json!(card_personal(p)));
    t.insert("expirationDate".into(), json!(iso(p.expiry)));
    t.insert("address".into(), json!("12 RUE DES FLAMBOYANTS ABIDJAN"));
    t.insert("mrzValid".into(), json!(true));
    let back_doc = SynthDoc {
        image: back,
        truth: t,
        mrz: lines,
    };
    (front_doc, back_doc)
}

fn card_truth(p: &Person, doc_type: &str) -> Map<String, Value> {
    let mut t = common_truth(p, doc_type);
    t.insert("mrzValid".into(), json!(false));
    t.remove("mrzValid");
    t
}

/// Ghana Card front (no MRZ on this side): PIN `GHA-#########-#`.
pub fn ghana_card(fonts: &Fonts, p: &Person, portrait: &RgbImage) -> SynthDoc {
    let mut img = background(1070, 675, [240, 236, 214]);
    draw(
        &mut img,
        &fonts.bold,
        30.0,
        300.0,
        20.0,
        "ECOWAS IDENTITY CARD",
        [20, 90, 40],
    );
    draw(
        &mut img,
        &fonts.sans,
        20.0,
        300.0,
        60.0,
        "REPUBLIC OF GHANA",
        [20, 90, 40],
    );
    paste_portrait(&mut img, &portrait_crop(portrait), 30, 100, 240, 320);
    let x = 300.0;
    label_value(
        &mut img,
        fonts,
        x,
        110.0,
        "Surname/Nom",
        &p.surname,
        18.0,
        27.0,
    );
    label_value(
        &mut img,
        fonts,
        x,
        180.0,
        "Given names/Prénoms",
        &p.given,
        18.0,
        27.0,
    );
    label_value(
        &mut img,
        fonts,
        x,
        250.0,
        "Nationality/Nationalité",
        &p.nationality_text,
        18.0,
        27.0,
    );
    label_value(
        &mut img,
        fonts,
        700.0,
        250.0,
        "Sex/Sexe",
        &p.sex.to_string(),
        18.0,
        27.0,
    );
    label_value(
        &mut img,
        fonts,
        x,
        320.0,
        "Date of Birth/Date de Naissance",
        &dmy(p.birth),
        18.0,
        27.0,
    );
    label_value(
        &mut img,
        fonts,
        700.0,
        320.0,
        "Date of Expiry/Date d'expiration",
        &dmy(p.expiry),
        18.0,
        27.0,
    );
    let nine = digits(p, 9);
    let pin = format!("GHA-{nine}-{}", ghana_check(&nine));
    label_value(
        &mut img,
        fonts,
        x,
        420.0,
        "Personal ID Number/Numéro d'identification",
        &pin,
        18.0,
        30.0,
    );
    let mut t = card_truth(p, "national_id");
    t.insert("issuingCountry".into(), json!("GHA"));
    t.insert("personalNumber".into(), json!(pin));
    t.insert("expirationDate".into(), json!(iso(p.expiry)));
    SynthDoc {
        image: img,
        truth: t,
        mrz: vec![],
    }
}

/// The Ghana Card PIN check digit as `idnumber` validates it (found by trying each digit).
pub fn ghana_check(nine: &str) -> char {
    use kyc_core::document::idnumber::{IdType, validate};
    for d in '0'..='9' {
        if validate("GH", IdType::GhanaCardPin, &format!("GHA-{nine}-{d}")).is_valid() {
            return d;
        }
    }
    '0'
}

/// Nigeria NIN slip (NIMC).
pub fn nin_slip(fonts: &Fonts, p: &Person, portrait: &RgbImage) -> SynthDoc {
    let mut img = background(1070, 675, [246, 246, 246]);
    draw(
        &mut img,
        &fonts.bold,
        26.0,
        30.0,
        20.0,
        "FEDERAL REPUBLIC OF NIGERIA",
        [0, 100, 0],
    );
    draw(
        &mut img,
        &fonts.sans,
        20.0,
        30.0,
        58.0,
        "National Identity Management Commission",
        [0, 100, 0],
    );
    paste_portrait(&mut img, &portrait_crop(portrait), 800, 110, 230, 306);
    let x = 40.0;
    label_value(&mut img, fonts, x, 110.0, "Surname", &p.surname, 18.0, 27.0);
    label_value(
        &mut img,
        fonts,
        x,
        180.0,
        "First Name",
        &p.given,
        18.0,
        27.0,
    );
    label_value(
        &mut img,
        fonts,
        x,
        250.0,
        "Date of Birth",
        &dmon(p.birth),
        18.0,
        27.0,
    );
    label_value(
        &mut img,
        fonts,
        420.0,
        250.0,
        "Gender",
        if p.sex == 'F' { "F" } else { "M" },
        18.0,
        27.0,
    );
    let nin = digits(p, 11);
    label_value(
        &mut img,
        fonts,
        x,
        320.0,
        "NIN",
        &spaced_nin(&nin),
        18.0,
        30.0,
    );
    label_value(
        &mut img,
        fonts,
        x,
        400.0,
        "Address",
        "12 Adeola Odeku Street, Victoria Island",
        18.0,
        24.0,
    );
    let mut t = card_truth(p, "national_id");
    t.insert("issuingCountry".into(), json!("NGA"));
    t.insert("personalNumber".into(), json!(nin));
    t.insert(
        "address".into(),
        json!("12 Adeola Odeku Street, Victoria Island"),
    );
    SynthDoc {
        image: img,
        truth: t,
        mrz: vec![],
    }
}

/// `n` digits derived from the person's name (deterministic, first digit not 0).
pub fn digits(p: &Person, n: usize) -> String {
    let mut h: u64 = 1469598103934665603;
    let mut out = String::new();
    for round in 0..n {
        for b in p
            .surname
            .bytes()
            .chain(p.given.bytes())
            .chain([round as u8])
        {
            h = (h ^ u64::from(b)).wrapping_mul(1099511628211);
        }
        let d = (h >> 33) % 10;
        out.push(char::from(
            b'0' + if round == 0 { 1 + d % 9 } else { d } as u8,
        ));
    }
    out
}

fn spaced_nin(n: &str) -> String {
    format!("{} {} {}", &n[..4], &n[4..7], &n[7..])
}

/// Nigeria permanent voter card (INEC), VIN of 19 characters.
pub fn voter_card(fonts: &Fonts, p: &Person, portrait: &RgbImage, vin: &str) -> SynthDoc {
    let mut img = background(1070, 675, [232, 240, 246]);
    draw(
        &mut img,
        &fonts.bold,
        24.0,
        30.0,
        20.0,
        "INDEPENDENT NATIONAL ELECTORAL COMMISSION",
        [0, 80, 0],
    );
    draw(
        &mut img,
        &fonts.sans,
        20.0,
        30.0,
        56.0,
        "VOTER'S CARD",
        [0, 80, 0],
    );
    paste_portrait(&mut img, &portrait_crop(portrait), 30, 100, 230, 306);
    let x = 300.0;
    label_value(&mut img, fonts, x, 100.0, "VIN", vin, 18.0, 28.0);
    label_value(&mut img, fonts, x, 170.0, "Surname", &p.surname, 18.0, 27.0);
    label_value(
        &mut img,
        fonts,
        x,
        240.0,
        "Given names",
        &p.given,
        18.0,
        27.0,
    );
    label_value(
        &mut img,
        fonts,
        x,
        310.0,
        "Date of Birth",
        &dmy(p.birth),
        18.0,
        27.0,
    );
    label_value(
        &mut img,
        fonts,
        700.0,
        310.0,
        "Gender",
        &p.sex.to_string(),
        18.0,
        27.0,
    );
    let mut t = card_truth(p, "voter_card");
    t.insert("issuingCountry".into(), json!("NGA"));
    t.insert("personalNumber".into(), json!(vin));
    SynthDoc {
        image: img,
        truth: t,
        mrz: vec![],
    }
}

/// Kenya national ID front.
pub fn kenya_id(fonts: &Fonts, p: &Person, portrait: &RgbImage) -> SynthDoc {
    let mut img = background(1070, 675, [238, 230, 236]);
    draw(
        &mut img,
        &fonts.bold,
        26.0,
        300.0,
        20.0,
        "JAMHURI YA KENYA",
        [120, 20, 20],
    );
    draw(
        &mut img,
        &fonts.sans,
        20.0,
        300.0,
        58.0,
        "REPUBLIC OF KENYA",
        [120, 20, 20],
    );
    paste_portrait(&mut img, &portrait_crop(portrait), 30, 100, 240, 320);
    let x = 300.0;
    let id = digits(p, 8);
    label_value(&mut img, fonts, x, 110.0, "ID NUMBER", &id, 18.0, 28.0);
    let full = format!("{} {}", p.given.to_uppercase(), p.surname);
    label_value(&mut img, fonts, x, 180.0, "FULL NAMES", &full, 18.0, 27.0);
    label_value(
        &mut img,
        fonts,
        x,
        250.0,
        "DATE OF BIRTH",
        &dmy(p.birth),
        18.0,
        27.0,
    );
    label_value(
        &mut img,
        fonts,
        700.0,
        250.0,
        "SEX",
        if p.sex == 'F' { "FEMALE" } else { "MALE" },
        18.0,
        27.0,
    );
    let mut t = Map::new();
    t.insert("documentType".into(), json!("national_id"));
    t.insert("issuingCountry".into(), json!("KEN"));
    t.insert("fullName".into(), json!(full));
    t.insert("documentNumber".into(), json!(id));
    t.insert("dateOfBirth".into(), json!(iso(p.birth)));
    t.insert("gender".into(), json!(p.sex.to_string()));
    SynthDoc {
        image: img,
        truth: t,
        mrz: vec![],
    }
}

// ---------------------------------------------------------------- degradations

/// Small deterministic generator (xorshift).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Roughly normal (sum of uniforms).
    pub fn gauss(&mut self) -> f32 {
        (0..4).map(|_| self.next_f32()).sum::<f32>() * 1.732 - 3.464
    }
}

fn solve8(mut a: [[f64; 9]; 8]) -> Option<[f64; 8]> {
    for col in 0..8 {
        let piv = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, piv);
        for r in 0..8 {
            if r != col {
                let f = a[r][col] / a[col][col];
                for c in col..9 {
                    a[r][c] -= f * a[col][c];
                }
            }
        }
    }
    let mut x = [0.0; 8];
    for i in 0..8 {
        x[i] = a[i][8] / a[i][i];
    }
    Some(x)
}

/// Homography mapping `from[i]` to `to[i]`.
pub fn homography(from: [[f64; 2]; 4], to: [[f64; 2]; 4]) -> [f64; 9] {
    let mut a = [[0.0; 9]; 8];
    for i in 0..4 {
        let ([x, y], [u, v]) = (from[i], to[i]);
        a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    let h = solve8(a).unwrap();
    [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0]
}

/// Place the document on a `cw`×`ch` background as the quadrilateral `quad` (TL, TR, BR, BL).
pub fn place_on(doc: &RgbImage, cw: u32, ch: u32, quad: [[f64; 2]; 4], bg: [u8; 3]) -> RgbImage {
    let (w, h) = (f64::from(doc.width()), f64::from(doc.height()));
    // Inverse map: canvas → document.
    let hm = homography(quad, [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]]);
    RgbImage::from_fn(cw, ch, |x, y| {
        let (xf, yf) = (f64::from(x) + 0.5, f64::from(y) + 0.5);
        let d = hm[6] * xf + hm[7] * yf + hm[8];
        let u = (hm[0] * xf + hm[1] * yf + hm[2]) / d;
        let v = (hm[3] * xf + hm[4] * yf + hm[5]) / d;
        if u < 0.0 || v < 0.0 || u >= w || v >= h {
            let n = ((x * 7 + y * 13) % 11) as u8;
            return Rgb(bg.map(|c| c.saturating_add(n)));
        }
        let p = [0, 1, 2].map(|c| {
            kyc_core::imaging::sample_bilinear(doc, (u - 0.5) as f32, (v - 0.5) as f32, c)
                .round()
                .clamp(0.0, 255.0) as u8
        });
        Rgb(p)
    })
}

/// A phone-photo view: the document tilted out of plane by about `tilt_deg` (one side nearer),
/// rotated in plane by `roll_deg`, filling about `fill` of a 1280×800 frame.
pub fn photo(doc: &RgbImage, tilt_deg: f64, roll_deg: f64, fill: f64) -> RgbImage {
    photo_with_corners(doc, tilt_deg, roll_deg, fill).0
}

/// [`photo`] and where the document's corners landed (TL, TR, BR, BL of the upright page, in
/// frame pixels).
pub fn photo_with_corners(
    doc: &RgbImage,
    tilt_deg: f64,
    roll_deg: f64,
    fill: f64,
) -> (RgbImage, [[f64; 2]; 4]) {
    let (cw, ch) = (1280.0, 800.0);
    let aspect = f64::from(doc.width()) / f64::from(doc.height());
    let dh = (cw * ch * fill / aspect).sqrt();
    let dw = dh * aspect;
    let t = tilt_deg.to_radians().sin() * 0.5; // far edge shrinks
    let half = [
        [-dw / 2.0 * (1.0 - t), -dh / 2.0 * (1.0 - 0.3 * t)],
        [dw / 2.0 * (1.0 - t), -dh / 2.0 * (1.0 - 0.3 * t)],
        [dw / 2.0 * (1.0 + t), dh / 2.0],
        [-dw / 2.0 * (1.0 + t), dh / 2.0],
    ];
    let (s, c) = roll_deg.to_radians().sin_cos();
    let quad = half.map(|[x, y]| [cw / 2.0 + x * c - y * s, ch / 2.0 + x * s + y * c]);
    (
        place_on(doc, cw as u32, ch as u32, quad, [70, 62, 55]),
        quad,
    )
}

pub fn blur(img: &RgbImage, sigma: f32) -> RgbImage {
    image::imageops::blur(img, sigma)
}

pub fn noise(img: &RgbImage, sigma: f32, seed: u64) -> RgbImage {
    let mut rng = Rng::new(seed);
    let mut out = img.clone();
    for p in out.pixels_mut() {
        let n = rng.gauss() * sigma;
        for c in 0..3 {
            p.0[c] = (f32::from(p.0[c]) + n).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

pub fn jpeg(img: &RgbImage, quality: u8) -> RgbImage {
    let mut buf = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality);
    enc.encode_image(img).unwrap();
    image::load_from_memory(&buf).unwrap().to_rgb8()
}

/// A bright elliptical glare spot centred at (fx, fy) (fractions of the size).
pub fn glare(img: &RgbImage, fx: f32, fy: f32, radius: f32) -> RgbImage {
    let mut out = img.clone();
    let (cx, cy) = (fx * img.width() as f32, fy * img.height() as f32);
    let r = radius * img.width() as f32;
    for (x, y, p) in out.enumerate_pixels_mut() {
        let d = ((x as f32 - cx).powi(2) / 2.0 + (y as f32 - cy).powi(2)).sqrt() / r;
        // Blown out in the middle, fading to the edge.
        let a = ((1.0 - d) * 2.0).clamp(0.0, 1.0);
        for c in 0..3 {
            p.0[c] = (f32::from(p.0[c]) + (255.0 - f32::from(p.0[c])) * a).round() as u8;
        }
    }
    out
}

pub fn low_light(img: &RgbImage, factor: f32) -> RgbImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        for c in 0..3 {
            p.0[c] = (f32::from(p.0[c]) * factor).round() as u8;
        }
    }
    out
}

/// Rotate by quarter turns clockwise.
pub fn quarter(img: &RgbImage, turns: u32) -> RgbImage {
    match turns % 4 {
        1 => image::imageops::rotate90(img),
        2 => image::imageops::rotate180(img),
        3 => image::imageops::rotate270(img),
        _ => img.clone(),
    }
}

// ------------------------------------------------------- the in-scope card layouts

/// One card of the in-scope layouts: its layout id, the image of each side read (front, and the
/// back when the card's MRZ is on it) and the truth of the reading (merged over both sides).
pub struct LayoutCard {
    pub layout: &'static str,
    pub front: RgbImage,
    pub back: Option<RgbImage>,
    pub truth: Map<String, Value>,
}

/// Every layout generator, by layout id.
pub const LAYOUT_IDS: [&str; 13] = [
    "ghana_card",
    "ghana_voter_card",
    "ghana_drivers_licence",
    "nigeria_nin_slip",
    "nigeria_national_id",
    "nigeria_voter_card",
    "nigeria_drivers_licence",
    "kenya_national_id",
    "kenya_maisha",
    "uganda_national_id",
    "civ_national_id",
    "senegal_ecowas_id",
    "cameroon_cni",
];

/// A generated card of `layout` for person `p` (its numbers derived from the name).
pub fn layout_card(fonts: &Fonts, layout: &str, p: &Person, portrait: &RgbImage) -> LayoutCard {
    let one = |doc: SynthDoc| LayoutCard {
        layout: LAYOUT_IDS.iter().find(|l| **l == layout).copied().unwrap(),
        front: doc.image,
        back: None,
        truth: doc.truth,
    };
    let two = |(front, back): (SynthDoc, SynthDoc)| LayoutCard {
        layout: LAYOUT_IDS.iter().find(|l| **l == layout).copied().unwrap(),
        front: front.image,
        back: Some(back.image),
        truth: back.truth,
    };
    match layout {
        "ghana_card" => two(ghana_card_two_sided(fonts, p, portrait)),
        "ghana_voter_card" => one(ghana_voter_card(fonts, p, portrait)),
        "ghana_drivers_licence" => one(ghana_drivers_licence(fonts, p, portrait)),
        "nigeria_nin_slip" => one(nin_slip(fonts, p, portrait)),
        "nigeria_national_id" => two(nigeria_national_id(fonts, p, portrait)),
        "nigeria_voter_card" => {
            let vin = format!("90F5B{}", digits(p, 14));
            one(voter_card(fonts, p, portrait, &vin))
        }
        "nigeria_drivers_licence" => one(nigeria_drivers_licence(fonts, p, portrait)),
        "kenya_national_id" => one(kenya_id(fonts, p, portrait)),
        "kenya_maisha" => two(kenya_maisha(fonts, p, portrait)),
        "uganda_national_id" => two(uganda_national_id(fonts, p, portrait)),
        "civ_national_id" => two(civ_national_id(fonts, p, portrait)),
        "senegal_ecowas_id" => two(senegal_ecowas_id(fonts, p, portrait)),
        "cameroon_cni" => one(cameroon_cni(fonts, p, portrait)),
        other => panic!("no generator for layout {other}"),
    }
}

/// `p` as a citizen of `country` (ICAO alpha-3), nationality printed as `nationality_text`.
fn citizen(p: &Person, country: &str, nationality_text: &str) -> Person {
    Person {
        nationality: country.into(),
        nationality_text: nationality_text.into(),
        issuer: country.into(),
        ..p.clone()
    }
}

/// A title line of a card: text, px, x, y, bold, colour.
type Title<'a> = (&'a str, f32, f32, f32, bool, [u8; 3]);

/// A card face: background, titles, portrait box, labelled rows (x, y, label, value) with labels
/// at `lpx` and values at `vpx`.
fn card_face(
    fonts: &Fonts,
    tint: [u8; 3],
    titles: &[Title<'_>],
    portrait: Option<(&RgbImage, u32, u32, u32, u32)>,
    rows: &[(f32, f32, &str, String)],
    lpx: f32,
    vpx: f32,
) -> RgbImage {
    let mut img = background(1070, 675, tint);
    for (text, px, x, y, bold, colour) in titles {
        let f = if *bold { &fonts.bold } else { &fonts.sans };
        draw(&mut img, f, *px, *x, *y, text, *colour);
    }
    if let Some((face, x, y, w, h)) = portrait {
        paste_portrait(&mut img, &portrait_crop(face), x, y, w, h);
    }
    for (x, y, label, value) in rows {
        label_value(&mut img, fonts, *x, *y, label, value, lpx, vpx);
    }
    img
}

/// A card's back: optional labelled rows above a TD1 MRZ.
fn mrz_back(
    fonts: &Fonts,
    tint: [u8; 3],
    rows: &[(f32, f32, &str, String)],
    spec: &MrzSpec,
) -> (RgbImage, Vec<String>) {
    let mut img = card_face(fonts, tint, &[], None, rows, 19.0, 28.0);
    let lines = generate(MrzFormat::Td1, spec).unwrap();
    draw_mrz(&mut img, fonts, &lines, 40.0, 430.0, 990.0, 16.0);
    (img, lines)
}

fn dotted(d: (i32, u32, u32)) -> String {
    format!("{:02}.{:02}.{:04}", d.2, d.1, d.0)
}

/// The truth of a two-sided MRZ card: printed names and dates, the MRZ's codes and numbers.
fn mrz_card_truth(p: &Person, number: &str, personal: &str) -> Map<String, Value> {
    let mut t = common_truth(p, "national_id");
    t.insert("nationality".into(), json!(p.nationality));
    t.insert("issuingCountry".into(), json!(p.issuer));
    t.insert("documentNumber".into(), json!(number));
    t.insert("personalNumber".into(), json!(personal));
    t.insert("expirationDate".into(), json!(iso(p.expiry)));
    t.insert("mrzValid".into(), json!(true));
    t
}

fn td1_spec(p: &Person, code: &str, number: &str, personal: &str) -> MrzSpec {
    MrzSpec {
        document_number: number.into(),
        optional_data1: personal.into(),
        ..mrz_spec(p, code)
    }
}

const GREEN: [u8; 3] = [20, 90, 40];

/// The Ghana Card, both sides: the front as [`ghana_card`], the back with the TD1 MRZ (document
/// number, the PIN in the optional data) under the holder's digital address.
pub fn ghana_card_two_sided(
    fonts: &Fonts,
    p: &Person,
    portrait: &RgbImage,
) -> (SynthDoc, SynthDoc) {
    let p = citizen(p, "GHA", "GHANAIAN");
    let front = ghana_card(fonts, &p, portrait);
    let nine = digits(&p, 9);
    let pin = format!("GHA-{nine}-{}", ghana_check(&nine));
    let number = format!("AR{}", &digits(&p, 8)[1..]);
    let rows = [(40.0, 60.0, "Digital Address", "GA-183-8164".to_string())];
    let spec = td1_spec(&p, "I", &number, &pin.replace('-', ""));
    let (img, lines) = mrz_back(fonts, [240, 236, 214], &rows, &spec);
    let mut t = mrz_card_truth(&p, &number, &pin);
    t.insert("nationality".into(), json!("GHA"));
    let back = SynthDoc {
        image: img,
        truth: t,
        mrz: lines,
    };
    (front, back)
}

/// Ghana voter ID card (Electoral Commission): 10-digit voter ID number.
pub fn ghana_voter_card(fonts: &Fonts, p: &Person, portrait: &RgbImage) -> SynthDoc {
    let number = digits(&citizen(p, "GHA", "GHANAIAN"), 10);
    ghana_voter_card_with(fonts, p, portrait, &number)
}

/// [`ghana_voter_card`] printed with `number` (to print a wrong one on purpose).
pub fn ghana_voter_card_numbered(
    fonts: &Fonts,
    p: &Person,
    portrait: &RgbImage,
    number: &str,
) -> RgbImage {
    ghana_voter_card_with(fonts, p, portrait, number).image
}

fn ghana_voter_card_with(fonts: &Fonts, p: &Person, portrait: &RgbImage, number: &str) -> SynthDoc {
    let p = citizen(p, "GHA", "GHANAIAN");
    let number = number.to_string();
    let x = 300.0;
    let img = card_face(
        fonts,
        [236, 240, 232],
        &[
            (
                "ELECTORAL COMMISSION OF GHANA",
                28.0,
                300.0,
                20.0,
                true,
                GREEN,
            ),
            ("VOTER ID CARD", 20.0, 300.0, 60.0, false, GREEN),
        ],
        Some((portrait, 30, 100, 240, 320)),
        &[
            (x, 110.0, "Surname", p.surname.clone()),
            (x, 180.0, "Other Names", p.given.clone()),
            (x, 250.0, "Sex", p.sex.to_string()),
            (620.0, 250.0, "Date of Birth", dmy(p.birth)),
            (x, 320.0, "Voter ID Number", number.clone()),
            (620.0, 320.0, "Date of Registration", "01/07/2020".into()),
            (x, 400.0, "Polling Station", "C120105 ADABRAKA".into()),
        ],
        18.0,
        27.0,
    );
    let mut t = common_truth(&p, "voter_card");
    t.insert("documentNumber".into(), json!(number));
    t.insert("issuingCountry".into(), json!("GHA"));
    SynthDoc {
        image: img,
        truth: t,
        mrz: vec![],
    }
}

/// Ghana driving licence (DVLA): a letter and 7 digits.
pub fn ghana_drivers_licence(fonts: &Fonts, p: &Person, portrait: &RgbImage) -> SynthDoc {
    let p = citizen(p, "GHA", "GHANAIAN");
    let number = format!("B{}", digits(&p, 7));
    let x = 300.0;
    let img = card_face(
        fonts,
        [232, 236, 244],
        &[
            (
                "DRIVER AND VEHICLE LICENSING AUTHORITY",
                24.0,
                300.0,
                20.0,
                true,
                [20, 40, 110],
            ),
            (
                "GHANA DRIVING LICENCE",
                20.0,
                300.0,
                58.0,
                false,
                [20, 40, 110],
            ),
        ],
        Some((portrait, 30, 100, 240, 320)),
        &[
            (x, 110.0, "Licence No", number.clone()),
            (x, 180.0, "Surname", p.surname.clone()),
            (x, 250.0, "Other Names", p.given.clone()),
            (x, 320.0, "Date of Birth", dmy(p.birth)),
            (660.0, 320.0, "Nationality", p.nationality_text.clone()),
            (x, 390.0, "Date of Issue", "12/02/2021".into()),
            (660.0, 390.0, "Expiry Date", dmy(p.expiry)),
            (x, 460.0, "Class", "B".into()),
        ],
        18.0,
        27.0,
    );
    let mut t = common_truth(&p, "drivers_license");
    t.remove("gender");
    t.insert("documentNumber".into(), json!(number));
    t.insert("expirationDate".into(), json!(iso(p.expiry)));
    t.insert("issuingCountry".into(), json!("GHA"));
    SynthDoc {
        image: img,
        truth: t,
        mrz: vec![],
    }
}

/// Nigeria national e-ID card (NIMC): the front with the NIN, the back with the TD1 MRZ (the NIN
/// in the optional data).
pub fn nigeria_national_id(fonts: &Fonts, p: &Person, portrait: &RgbImage) -> (SynthDoc, SynthDoc) {
    let p = citizen(p, "NGA", "NIGERIAN");
    let nin = digits(&p, 11);
    let number = format!("A{}", digits(&p, 8));
    let x = 300.0;
    let img = card_face(
        fonts,
        [234, 244, 234],
        &[
            (
                "FEDERAL REPUBLIC OF NIGERIA",
                28.0,
                300.0,
                20.0,
                true,
                [0, 100, 0],
            ),
            (
                "NATIONAL IDENTITY CARD",
                20.0,
                300.0,
                60.0,
                false,
                [0, 100, 0],
            ),
        ],
        Some((portrait, 30, 100, 240, 320)),
        &[
            (x, 110.0, "Surname/Nom", p.surname.clone()),
            (x, 180.0, "Given Names/Prénoms", p.given.clone()),
            (x, 250.0, "Date of Birth", dmy(p.birth)),
            (660.0, 250.0, "Sex/Sexe", p.sex.to_string()),
            (x, 320.0, "NIN", spaced_nin(&nin)),
            (660.0, 320.0, "Expiry Date", dmy(p.expiry)),
        ],
        18.0,
        27.0,
    );
    let front = SynthDoc {
        image: img,
        truth: Map::new(),
        mrz: vec![],
    };
    let spec = td1_spec(&p, "I", &number, &nin);
    let (back_img, lines) = mrz_back(fonts, [234, 244, 234], &[], &spec);
    let back = SynthDoc {
        image: back_img,
        truth: mrz_card_truth(&p, &number, &nin),
        mrz: lines,
    };
    (front, back)
}

/// Nigeria national driver's licence (FRSC): 3 letters, 5 digits, 2 letters, 2 digits.
pub fn nigeria_drivers_licence(fonts: &Fonts, p: &Person, portrait: &RgbImage) -> SynthDoc {
    let p = citizen(p, "NGA", "NIGERIAN");
    let d = digits(&p, 7);
    let number = format!("KJA{}AA{}", &d[..5], &d[5..]);
    let x = 300.0;
    let img = card_face(
        fonts,
        [244, 240, 228],
        &[
            (
                "FEDERAL REPUBLIC OF NIGERIA",
                26.0,
                300.0,
                20.0,
                true,
                [0, 90, 40],
            ),
            (
                "NATIONAL DRIVER'S LICENCE",
                20.0,
                300.0,
                58.0,
                false,
                [0, 90, 40],
            ),
        ],
        Some((portrait, 30, 100, 240, 320)),
        &[
            (x, 110.0, "Licence No", number.clone()),
            (x, 180.0, "Surname", p.surname.clone()),
            (x, 250.0, "First Name", p.given.clone()),
            (x, 320.0, "Date of Birth", dmy(p.birth)),
            (660.0, 320.0, "Sex", p.sex.to_string()),
            (x, 390.0, "Expiry Date", dmy(p.expiry)),
            (660.0, 390.0, "Class", "B".into()),
            (x, 460.0, "Address", "15 Broad Street, Lagos".into()),
        ],
        18.0,
        27.0,
    );
    let mut t = common_truth(&p, "drivers_license");
    t.insert("documentNumber".into(), json!(number));
    t.insert("expirationDate".into(), json!(iso(p.expiry)));
    t.insert("address".into(), json!("15 Broad Street, Lagos"));
    t.insert("issuingCountry".into(), json!("NGA"));
    SynthDoc {
        image: img,
        truth: t,
        mrz: vec![],
    }
}

/// Kenya's Maisha card: the front with the ID number, the back with the TD1 MRZ (`ID`, the card
/// serial as document number, the ID number in the optional data).
pub fn kenya_maisha(fonts: &Fonts, p: &Person, portrait: &RgbImage) -> (SynthDoc, SynthDoc) {
    let p = citizen(p, "KEN", "KENYAN");
    let id = digits(&p, 8);
    let serial = digits(&p, 9);
    let x = 300.0;
    let red = [120, 20, 20];
    let img = card_face(
        fonts,
        [240, 234, 230],
        &[
            ("REPUBLIC OF KENYA", 28.0, 300.0, 20.0, true, red),
            ("NATIONAL IDENTITY CARD", 20.0, 300.0, 60.0, false, red),
        ],
        Some((portrait, 30, 100, 240, 320)),
        &[
            (x, 110.0, "SURNAME", p.surname.clone()),
            (x, 180.0, "GIVEN NAMES", p.given.clone()),
            (x, 250.0, "SEX", p.sex.to_string()),
            (620.0, 250.0, "NATIONALITY", "KEN".into()),
            (x, 320.0, "DATE OF BIRTH", dmy(p.birth)),
            (620.0, 320.0, "DATE OF EXPIRY", dmy(p.expiry)),
            (x, 390.0, "ID NUMBER", id.clone()),
        ],
        18.0,
        27.0,
    );
    let front = SynthDoc {
        image: img,
        truth: Map::new(),
        mrz: vec![],
    };
    let spec = td1_spec(&p, "ID", &serial, &id);
    let (back_img, lines) = mrz_back(fonts, [240, 234, 230], &[], &spec);
    let back = SynthDoc {
        image: back_img,
        truth: mrz_card_truth(&p, &serial, &id),
        mrz: lines,
    };
    (front, back)
}

/// Uganda national ID card (NIRA): NIN `C` + sex + 12 characters, a 9-digit card number; the back
/// with the TD1 MRZ (`ID`, the card number, the NIN in the optional data).
pub fn uganda_national_id(fonts: &Fonts, p: &Person, portrait: &RgbImage) -> (SynthDoc, SynthDoc) {
    let p = citizen(p, "UGA", "UGANDAN");
    let nin = format!(
        "C{}{:02}{}{}",
        p.sex,
        p.birth.0 % 100,
        digits(&p, 7),
        ["ABC", "KLM", "PRT", "XYZ"][p.surname.len() % 4]
    );
    let card = digits(&p, 9);
    let x = 300.0;
    let img = card_face(
        fonts,
        [244, 240, 226],
        &[
            (
                "THE REPUBLIC OF UGANDA",
                28.0,
                300.0,
                20.0,
                true,
                [30, 30, 30],
            ),
            ("NATIONAL ID CARD", 20.0, 300.0, 60.0, false, [150, 30, 30]),
        ],
        Some((portrait, 30, 100, 240, 320)),
        &[
            (x, 110.0, "SURNAME", p.surname.clone()),
            (x, 180.0, "GIVEN NAME", p.given.clone()),
            (x, 250.0, "NATIONALITY", "UGA".into()),
            (620.0, 250.0, "SEX", p.sex.to_string()),
            (x, 320.0, "DATE OF BIRTH", dotted(p.birth)),
            (620.0, 320.0, "DATE OF EXPIRY", dotted(p.expiry)),
            (x, 390.0, "NIN", nin.clone()),
            (620.0, 390.0, "CARD NO.", card.clone()),
        ],
        18.0,
        27.0,
    );
    let front = SynthDoc {
        image: img,
        truth: Map::new(),
        mrz: vec![],
    };
    let spec = td1_spec(&p, "ID", &card, &nin);
    let (back_img, lines) = mrz_back(fonts, [244, 240, 226], &[], &spec);
    let back = SynthDoc {
        image: back_img,
        truth: mrz_card_truth(&p, &card, &nin),
        mrz: lines,
    };
    (front, back)
}

/// Côte d'Ivoire's national identity card (ONECI, ECOWAS format): the NNI (11 digits) and the
/// card number `CI` + 7 digits on the front (French labels), the TD1 MRZ on the back.
pub fn civ_national_id(fonts: &Fonts, p: &Person, portrait: &RgbImage) -> (SynthDoc, SynthDoc) {
    let p = citizen(p, "CIV", "IVOIRIENNE");
    let nni = digits(&p, 11);
    let card = format!("CI{}", digits(&p, 7));
    let x = 300.0;
    let orange = [170, 80, 10];
    let img = card_face(
        fonts,
        [242, 236, 226],
        &[
            (
                "RÉPUBLIQUE DE CÔTE D'IVOIRE",
                28.0,
                300.0,
                20.0,
                true,
                orange,
            ),
            (
                "CARTE NATIONALE D'IDENTITÉ",
                20.0,
                300.0,
                60.0,
                false,
                [20, 110, 50],
            ),
        ],
        Some((portrait, 30, 100, 240, 320)),
        &[
            (x, 110.0, "Nom", p.surname.clone()),
            (x, 180.0, "Prénoms", p.given.clone()),
            (x, 250.0, "Date de naissance", dmy(p.birth)),
            (660.0, 250.0, "Sexe", p.sex.to_string()),
            (x, 320.0, "Nationalité", p.nationality_text.clone()),
            (660.0, 320.0, "Date d'expiration", dmy(p.expiry)),
            (x, 390.0, "NNI", nni.clone()),
            (660.0, 390.0, "N° de la carte", card.clone()),
        ],
        18.0,
        27.0,
    );
    let front = SynthDoc {
        image: img,
        truth: Map::new(),
        mrz: vec![],
    };
    let spec = td1_spec(&p, "ID", &card, &nni);
    let (back_img, lines) = mrz_back(fonts, [242, 236, 226], &[], &spec);
    let back = SynthDoc {
        image: back_img,
        truth: mrz_card_truth(&p, &card, &nni),
        mrz: lines,
    };
    (front, back)
}

/// Senegal's ECOWAS identity card: given names before the surname (as the 2016 decree lists
/// them), the NIN (13 digits, printed in groups) and a 9-digit card number on the front, the TD1
/// MRZ on the back.
pub fn senegal_ecowas_id(fonts: &Fonts, p: &Person, portrait: &RgbImage) -> (SynthDoc, SynthDoc) {
    let p = citizen(p, "SEN", "SÉNÉGALAISE");
    let nin = format!("{}{}", if p.sex == 'F' { '2' } else { '1' }, digits(&p, 12));
    let spaced = format!("{} {} {} {}", &nin[..1], &nin[1..4], &nin[4..8], &nin[8..]);
    let card = digits(&p, 9);
    let x = 300.0;
    let img = card_face(
        fonts,
        [232, 240, 232],
        &[
            (
                "RÉPUBLIQUE DU SÉNÉGAL",
                28.0,
                300.0,
                16.0,
                true,
                [10, 100, 40],
            ),
            (
                "CARTE D'IDENTITÉ CEDEAO",
                20.0,
                300.0,
                54.0,
                false,
                [10, 100, 40],
            ),
        ],
        Some((portrait, 30, 100, 240, 320)),
        &[
            (x, 110.0, "Prénoms", p.given.clone()),
            (x, 180.0, "Nom", p.surname.clone()),
            (x, 250.0, "Date de naissance", dmy(p.birth)),
            (660.0, 250.0, "Sexe", p.sex.to_string()),
            (x, 320.0, "Date d'expiration", dmy(p.expiry)),
            (660.0, 320.0, "N° de la carte", card.clone()),
            (x, 390.0, "NIN", spaced),
        ],
        18.0,
        27.0,
    );
    let front = SynthDoc {
        image: img,
        truth: Map::new(),
        mrz: vec![],
    };
    let spec = td1_spec(&p, "I", &card, &nin);
    let (back_img, lines) = mrz_back(fonts, [232, 240, 232], &[], &spec);
    let back = SynthDoc {
        image: back_img,
        truth: mrz_card_truth(&p, &card, &nin),
        mrz: lines,
    };
    (front, back)
}

/// Cameroon's national identity card (CNI, without an MRZ): bilingual French/English labels,
/// a 9-digit card number.
pub fn cameroon_cni(fonts: &Fonts, p: &Person, portrait: &RgbImage) -> SynthDoc {
    let p = citizen(p, "CMR", "CAMEROUNAISE");
    let number = digits(&p, 9);
    let x = 300.0;
    let img = card_face(
        fonts,
        [240, 238, 222],
        &[
            (
                "RÉPUBLIQUE DU CAMEROUN",
                24.0,
                300.0,
                14.0,
                true,
                [20, 100, 40],
            ),
            (
                "REPUBLIC OF CAMEROON",
                20.0,
                300.0,
                48.0,
                false,
                [160, 30, 30],
            ),
        ],
        Some((portrait, 30, 100, 240, 320)),
        &[
            (x, 100.0, "NOM / SURNAME", p.surname.clone()),
            (x, 170.0, "PRÉNOMS / GIVEN NAMES", p.given.clone()),
            (x, 240.0, "DATE DE NAISSANCE / DATE OF BIRTH", dmy(p.birth)),
            (780.0, 240.0, "SEXE / SEX", p.sex.to_string()),
            (x, 310.0, "N° DE LA CARTE / CARD No", number.clone()),
            (
                x,
                380.0,
                "DATE D'EXPIRATION / DATE OF EXPIRY",
                dmy(p.expiry),
            ),
        ],
        18.0,
        27.0,
    );
    let mut t = common_truth(&p, "national_id");
    t.insert("documentNumber".into(), json!(number));
    t.insert("expirationDate".into(), json!(iso(p.expiry)));
    t.insert("issuingCountry".into(), json!("CMR"));
    SynthDoc {
        image: img,
        truth: t,
        mrz: vec![],
    }
}
