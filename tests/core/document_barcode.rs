//! Barcodes on ID backs: AAMVA PDF417 payloads generated with rxing, rendered onto synthetic
//! card backs, photographed (perspective, blur, noise, JPEG), turned, decoded, parsed and
//! cross-checked against the MRZ and the printed zone; a tampered payload is flagged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::reading;
use crate::recapture_sim::*;
use crate::synth::{self, *};

use image::RgbImage;
use kyc_core::decision::apply_document;
use kyc_core::document::barcode::{self, BarcodeReading};
use kyc_core::document::mrz::IsoDate;
use kyc_core::document::{DocumentReader, ReaderOptions};
use kyc_core::result::Decision;

fn reader() -> DocumentReader {
    DocumentReader::load(ReaderOptions {
        today: Some(IsoDate::new(2026, 11, 29).unwrap()),
        portrait: false,
        ..ReaderOptions::default()
    })
    .expect("models: run `python3 packaging/fetch.py models`")
}

fn mmddccyy(d: (i32, u32, u32)) -> String {
    format!("{:02}{:02}{:04}", d.1, d.2, d.0)
}

/// A licence back: a light card with a line of text and the PDF417 of `payload`.
fn licence_back(payload: &str) -> RgbImage {
    let fonts = Fonts::load();
    let mut card = RgbImage::from_fn(1070, 675, |x, y| {
        image::Rgb([228 - (x / 90) as u8, 232 - (y / 80) as u8, 236])
    });
    synth::draw(
        &mut card,
        &fonts.sans,
        22.0,
        60.0,
        40.0,
        "DRIVER LICENSE - RESTRICTIONS: NONE",
        [40, 40, 60],
    );
    let code = code_image(payload, true);
    paste_code(&mut card, &code, 60, 150, 950, 480);
    card
}

fn decoded_aamva(codes: &[BarcodeReading]) -> &barcode::AamvaData {
    let code = codes
        .iter()
        .find(|c| c.format == "pdf417")
        .unwrap_or_else(|| panic!("no PDF417 decoded: {codes:?}"));
    assert_eq!(code.payload, "aamva", "{code:?}");
    code.aamva.as_ref().unwrap()
}

#[test]
fn an_aamva_licence_back_is_decoded_and_parsed_through_photo_blur_jpeg_and_turns() {
    let payload = aamva_payload(
        "D08954796",
        "NDIAYE",
        "AMINATA",
        "03141991",
        "07012031",
        'F',
    );
    let back = licence_back(&payload);
    let shots: Vec<(&str, RgbImage)> = vec![
        ("flat", back.clone()),
        ("photo", camera_photo(&back, 8.0, 4.0, 0.7, 1)),
        (
            "photo, upside down",
            synth::quarter(&camera_photo(&back, 5.0, -3.0, 0.7, 2), 2),
        ),
        (
            "photo, quarter turn",
            synth::quarter(&camera_photo(&back, 6.0, 2.0, 0.7, 3), 1),
        ),
        (
            "blurred JPEG 60",
            synth::jpeg(
                &synth::blur(&camera_photo(&back, 4.0, 1.0, 0.75, 4), 1.0),
                60,
            ),
        ),
    ];
    for (what, img) in shots {
        let codes = barcode::decode(&img, "back");
        assert_eq!(codes.len(), 1, "{what}: {codes:?}");
        assert_eq!(codes[0].side, "back");
        let a = decoded_aamva(&codes);
        assert_eq!(a.issuer_id, "636000", "{what}");
        assert_eq!(a.version, 10, "{what}");
        assert_eq!(a.subfile_type, "DL", "{what}");
        assert_eq!(a.document_number.as_deref(), Some("D08954796"), "{what}");
        assert_eq!(a.last_name.as_deref(), Some("NDIAYE"), "{what}");
        assert_eq!(a.first_name.as_deref(), Some("AMINATA"), "{what}");
        assert_eq!(a.middle_names, None, "{what}: NONE is no name");
        assert_eq!(a.date_of_birth.as_deref(), Some("1991-03-14"), "{what}");
        assert_eq!(a.expiration_date.as_deref(), Some("2031-07-01"), "{what}");
        assert_eq!(a.gender.as_deref(), Some("F"), "{what}");
    }
}

#[test]
fn a_page_without_a_barcode_decodes_nothing_and_a_qr_code_is_reported_unparsed() {
    let fonts = Fonts::load();
    let p = &people()[1];
    let doc = passport(&fonts, p, &reading::face(1));
    assert!(barcode::decode(&doc.image, "front").is_empty());

    let mut slip = nin_slip(&fonts, p, &reading::face(1)).image;
    let qr = code_image("NIMC|12345678901|SAMPLE", false);
    let side = 150;
    let x = slip.width() - side - 20;
    paste_code(&mut slip, &qr, x, 20, side, side);
    let codes = barcode::decode(&camera_photo(&slip, 5.0, 2.0, 0.7, 5), "front");
    assert_eq!(codes.len(), 1, "{codes:?}");
    assert_eq!(codes[0].format, "qr_code");
    assert_eq!(codes[0].payload, "unknown");
    assert!(codes[0].aamva.is_none());
    assert_eq!(codes[0].text.as_deref(), Some("NIMC|12345678901|SAMPLE"));
    // An unparsed payload is never cross-checked.
    let flags = barcode::cross_check(&codes, None, &Default::default());
    assert!(flags.is_empty(), "{flags:?}");
}

/// A TD1 card whose back carries the MRZ and a PDF417 made from `barcode_person`.
fn card_with_code(p: &Person, barcode_person: &Person, number: &str) -> (RgbImage, RgbImage) {
    let fonts = Fonts::load();
    let (front, back) = id_card_two_sided(&fonts, p, &reading::face(0));
    let mut back = back.image;
    let payload = aamva_payload(
        number,
        &barcode_person.surname,
        barcode_person.given.split(' ').next().unwrap(),
        &mmddccyy(barcode_person.birth),
        &mmddccyy(barcode_person.expiry),
        barcode_person.sex,
    );
    let code = code_image(&payload, true);
    paste_code(&mut back, &code, 40, 195, 990, 225);
    (
        camera_finish(&front.image, 0.5, 2.5, 92, 7),
        camera_finish(&back, 0.5, 2.5, 92, 8),
    )
}

fn codes_of(r: &kyc_core::document::DocumentReading) -> Vec<&'static str> {
    r.assembled.flags.iter().map(|f| f.code).collect()
}

#[test]
fn a_barcode_agreeing_with_the_mrz_raises_no_flag_and_a_tampered_one_refers() {
    let mut r = reader();
    let p = &people()[0];

    // Honest card: the barcode holds the MRZ's number, names and dates.
    let (front, back) = card_with_code(p, p, &p.number);
    let honest = r.read_sides(&front, Some(&back)).unwrap().0;
    assert!(
        honest.mrz.as_ref().is_some_and(|m| m.valid),
        "{}",
        reading::lines_text(&honest)
    );
    assert_eq!(honest.barcodes.len(), 1, "{:?}", honest.barcodes);
    assert_eq!(honest.barcodes[0].side, "back");
    let flags = codes_of(&honest);
    assert!(
        !flags.iter().any(|f| f.starts_with("barcode_mismatch")),
        "{:?}",
        honest.assembled.flags
    );

    // Tampered: the barcode's number is another card's (one digit changed).
    let mut other = p.number.clone();
    let last = other.pop().unwrap();
    other.push(if last == '7' { '3' } else { '7' });
    let (front, back) = card_with_code(p, p, &other);
    let tampered = r.read_sides(&front, Some(&back)).unwrap().0;
    let flags = codes_of(&tampered);
    assert!(
        flags.contains(&"barcode_mismatch_document_number"),
        "{flags:?}"
    );
    let msg = &tampered
        .assembled
        .flags
        .iter()
        .find(|f| f.code == "barcode_mismatch_document_number")
        .unwrap()
        .message;
    assert!(msg.contains(&other) && msg.contains("MRZ"), "{msg}");
    let mut reasons = Vec::new();
    let d = apply_document(Decision::Approve, &mut reasons, Some(&tampered));
    assert_eq!(d, Decision::Refer);
    assert!(
        reasons
            .iter()
            .any(|r| r.code == "barcode_mismatch_document_number")
    );

    // Another holder's barcode: names and birth date disagree too.
    let q = &people()[2];
    let (front, back) = card_with_code(p, q, &p.number);
    let swapped = r.read_sides(&front, Some(&back)).unwrap().0;
    let flags = codes_of(&swapped);
    for f in [
        "barcode_mismatch_last_name",
        "barcode_mismatch_date_of_birth",
    ] {
        assert!(flags.contains(&f), "{f} missing: {flags:?}");
    }
    assert!(
        !flags.contains(&"barcode_mismatch_document_number"),
        "{flags:?}"
    );
}

#[test]
fn serialised_readings_carry_the_barcodes() {
    let payload = aamva_payload("X1234567", "MENSAH", "KOFI", "12251985", "12252030", 'M');
    let codes = barcode::decode(&licence_back(&payload), "back");
    let json = serde_json::to_value(&codes).unwrap();
    assert_eq!(json[0]["format"], "pdf417");
    assert_eq!(json[0]["payload"], "aamva");
    assert_eq!(json[0]["aamva"]["documentNumber"], "X1234567");
    assert_eq!(json[0]["aamva"]["dateOfBirth"], "1985-12-25");
    assert!(json[0]["text"].is_null());
}
