//! Exact MRZ names: fillers read as letters (thin, light chevrons on real passports) are put
//! back by the ICAO 9303 name grammar and the printed name; a name that stays uncertain is
//! flagged with its confidence rather than shown as sure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kyc_core::Config;
use kyc_core::document::fields::{self, VisualFields};
use kyc_core::document::mrz::generate::{MrzSpec, generate};
use kyc_core::document::mrz::{
    CandidateLine, IsoDate, MrzFormat, MrzOptions, RepairReason, parse_mrz,
};
use kyc_core::document::{DocumentReader, ReaderOptions};

use crate::reading::{face, lines_text, read};
use crate::synth::{self, Chevrons, Fonts};

fn today() -> IsoDate {
    IsoDate::new(2026, 11, 29).unwrap()
}

/// The printed MRZ of a Czech specimen passport (SPECIMEN, VZOR).
fn printed() -> Vec<String> {
    let spec = MrzSpec {
        document_code: "P".into(),
        issuing_state: "CZE".into(),
        document_number: "99003853".into(),
        optional_data1: String::new(),
        optional_data2: String::new(),
        birth_date: "570601".into(),
        sex: 'M',
        expiry_date: "310523".into(),
        nationality: "CZE".into(),
        primary_identifier: "SPECIMEN".into(),
        secondary_identifier: "VZOR".into(),
    };
    generate(MrzFormat::Td3, &spec).unwrap()
}

/// Line 1 as the OCR read it: some fillers after the name read as `A`.
fn misread_line1() -> String {
    let good = &printed()[0];
    let mut b = good.clone().into_bytes();
    // P<CZESPECIMEN<<VZOR<A<<<<<<<A<<AA<<…
    for i in [20, 28, 31, 32] {
        assert_eq!(b[i], b'<');
        b[i] = b'A';
    }
    String::from_utf8(b).unwrap()
}

fn parse(lines: &[CandidateLine]) -> kyc_core::document::mrz::MrzReading {
    parse_mrz(lines, &MrzOptions::new(today())).unwrap()
}

#[test]
fn fillers_read_as_letters_after_the_name_are_put_back() {
    let printed = printed();
    let r = parse(&[
        CandidateLine::new(misread_line1()),
        CandidateLine::new(printed[1].clone()),
    ]);
    assert!(r.valid);
    assert_eq!(r.corrected, printed);
    assert_eq!(r.fields.primary_identifier.value, "SPECIMEN");
    assert_eq!(r.fields.secondary_identifier.value, "VZOR");
    let grammar: Vec<usize> = r
        .repairs
        .iter()
        .filter(|x| x.reason == RepairReason::NameGrammar)
        .map(|x| x.position)
        .collect();
    assert_eq!(grammar, vec![20, 28, 31, 32]);
    // The lone letter after VZOR was a guess on the evidence of the others: sure enough to
    // show, not as sure as a clean name.
    assert!(
        r.name_confidence > 0.6 && r.name_confidence < 0.9,
        "{}",
        r.name_confidence
    );
    assert!(!r.name_uncertain);
    let json = serde_json::to_value(&r).unwrap();
    for key in [
        "raw",
        "corrected",
        "format",
        "checks",
        "valid",
        "nameConfidence",
    ] {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
    assert_eq!(json["nameUncertain"], false);
}

#[test]
fn a_clean_name_keeps_full_confidence() {
    let printed = printed();
    let confs = |s: &str| vec![0.97f32; s.chars().count()];
    let r = parse(&[
        CandidateLine::with_confidences(printed[0].clone(), confs(&printed[0])),
        CandidateLine::with_confidences(printed[1].clone(), confs(&printed[1])),
    ]);
    assert_eq!(r.corrected, printed);
    assert!(r.name_confidence > 0.95, "{}", r.name_confidence);
    assert!(
        !r.repairs
            .iter()
            .any(|x| x.reason == RepairReason::NameGrammar)
    );
}

#[test]
fn an_uncertain_lone_letter_is_flagged_not_shown_as_sure() {
    let printed = printed();
    let mut l1 = printed[0].clone().into_bytes();
    l1[20] = b'A';
    let l1 = String::from_utf8(l1).unwrap();
    let mut c1 = vec![0.97f32; 44];
    c1[20] = 0.35;
    let r = parse(&[
        CandidateLine::with_confidences(l1, c1),
        CandidateLine::with_confidences(printed[1].clone(), vec![0.97; 44]),
    ]);
    assert!(r.valid);
    assert_eq!(r.corrected, printed, "the likelier reading is kept");
    assert!(r.name_uncertain);
    assert!(r.name_confidence < 0.6, "{}", r.name_confidence);
    let a = fields::assemble(Some(&r), &VisualFields::default(), today(), 18);
    let flag = a.flags.iter().find(|f| f.code == "mrz_name_uncertain");
    assert!(flag.is_some(), "{:?}", a.flags);
    let first = a.fields.first_name.as_ref().unwrap();
    assert!(first.confidence <= 60.0, "{}", first.confidence);
}

#[test]
fn the_printed_name_repairs_a_lost_separator() {
    // P<FRADUPUIS<<JEAN<<<… read as DUPUIS<AJEAN<<AAA<<<AA…: the separator's second filler
    // read as A leaves a grammatical but wrong name ("DUPUIS AJEAN"); the printed zone's
    // surname and given name explain it.
    let spec = MrzSpec {
        document_code: "P".into(),
        issuing_state: "FRA".into(),
        document_number: "12AB34567".into(),
        optional_data1: String::new(),
        optional_data2: String::new(),
        birth_date: "800101".into(),
        sex: 'F',
        expiry_date: "300101".into(),
        nationality: "FRA".into(),
        primary_identifier: "DUPUIS".into(),
        secondary_identifier: "JEAN".into(),
    };
    let printed = generate(MrzFormat::Td3, &spec).unwrap();
    let mut l1 = printed[0].clone().into_bytes();
    for i in [12, 19, 20, 21, 25, 26] {
        assert_eq!(l1[i], b'<', "{i}");
        l1[i] = b'A';
    }
    let mut r = parse(&[
        CandidateLine::new(String::from_utf8(l1).unwrap()),
        CandidateLine::new(printed[1].clone()),
    ]);
    assert!(r.valid);
    assert_eq!(r.fields.primary_identifier.value, "DUPUIS AJEAN");
    assert_eq!(r.fields.secondary_identifier.value, "");
    assert!(
        r.name_uncertain,
        "a lost separator cannot be told without the printed name"
    );
    // A printed name that does not explain the reading changes nothing.
    assert!(!r.confirm_name(&["DUPONT".into()], &["JEAN".into()], 0.6));
    assert_eq!(r.fields.primary_identifier.value, "DUPUIS AJEAN");
    assert!(r.confirm_name(&["DUPUIS".into()], &["JEAN".into()], 0.6));
    assert_eq!(r.corrected, printed);
    assert_eq!(r.fields.primary_identifier.value, "DUPUIS");
    assert_eq!(r.fields.secondary_identifier.value, "JEAN");
    assert!(r.name_confidence >= 0.97 && !r.name_uncertain);
}

#[test]
fn thin_light_chevrons_on_low_resolution_jpeg_photos_read_exactly() {
    let fonts = Fonts::load();
    let mut reader = DocumentReader::load(Config::default().reader_options(ReaderOptions {
        today: Some(today()),
        portrait: false,
        ..ReaderOptions::default()
    }))
    .expect("models: run `python3 packaging/fetch.py models`");
    let styles = [
        Chevrons {
            scale: 0.75,
            grey: 120,
        },
        Chevrons {
            scale: 0.6,
            grey: 150,
        },
    ];
    let mut exact = 0;
    let mut total = 0;
    let mut misses = Vec::new();
    for (i, p) in synth::people().iter().take(3).enumerate() {
        for (k, style) in styles.iter().enumerate() {
            let doc = synth::passport_with_chevrons(&fonts, p, &face(i), *style);
            // A phone photo: tilted, small in the frame (low resolution), JPEG-compressed.
            let photo = synth::photo(&doc.image, 4.0, 1.5, 0.8);
            let small = image::imageops::thumbnail(&photo, 1000, 750);
            let img = synth::jpeg(&synth::noise(&small, 3.0, (i * 7 + k) as u64), 70);
            let r = read(&mut reader, img);
            total += 1;
            let Some(m) = r.mrz.as_ref() else {
                misses.push(format!(
                    "{} style {k}: no MRZ; {}",
                    p.surname,
                    lines_text(&r)
                ));
                continue;
            };
            if m.corrected == doc.mrz && m.valid {
                exact += 1;
                assert!(!m.name_uncertain, "{}: {m:?}", p.surname);
            } else {
                // Never a wrong name shown as sure.
                assert!(
                    m.name_uncertain
                        || r.assembled.flags.iter().any(|f| f.code.starts_with("mrz_")),
                    "{} style {k}: {:?} for {:?}",
                    p.surname,
                    m.corrected,
                    doc.mrz
                );
                misses.push(format!("{} style {k}: {:?}", p.surname, m.corrected));
            }
        }
    }
    assert_eq!(exact, total, "exact {exact}/{total}: {misses:#?}");
}
