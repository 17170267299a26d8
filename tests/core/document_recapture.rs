//! Physical document, not a copy: camera-like photos of synthetic documents raise no recapture
//! flag; the same documents shown on a screen, printed as halftone copies, or given as the
//! generated image itself are flagged and referred; the administrator's switch turns only the
//! generated-image flag into a warning.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::reading;
use crate::recapture_sim::*;
use crate::synth::*;

use image::RgbImage;
use kyc_core::Config;
use kyc_core::decision::{apply_document, apply_document_with};
use kyc_core::document::mrz::IsoDate;
use kyc_core::document::recapture::{self, RecaptureReport};
use kyc_core::document::{DocumentReader, ReaderOptions};
use kyc_core::result::Decision;
use kyc_core::settings::SettingsFile;

fn documents() -> Vec<RgbImage> {
    let fonts = Fonts::load();
    let people = people();
    vec![
        passport(&fonts, &people[0], &reading::face(0)).image,
        id_card(&fonts, &people[1], &reading::face(1)).image,
        ghana_card(&fonts, &people[2], &reading::face(2)).image,
        nin_slip(&fonts, &people[3], &reading::face(3)).image,
    ]
}

fn analyse(img: &RgbImage) -> RecaptureReport {
    recapture::analyze(img, None)
}

#[test]
fn camera_photos_of_documents_raise_no_recapture_flag() {
    for (i, doc) in documents().iter().enumerate() {
        for (k, (tilt, roll, fill)) in [(8.0, 3.0, 0.55), (3.0, -6.0, 0.8)].into_iter().enumerate()
        {
            let img = camera_photo(doc, tilt, roll, fill, (i * 10 + k) as u64);
            let r = analyse(&img);
            assert!(r.flags.is_empty(), "document {i} shot {k}: {r:?}");
            assert!(r.flat_share < recapture::FLAT_SHARE_NO_EDGES, "{r:?}");
        }
    }
}

#[test]
fn a_document_on_a_screen_is_a_screen_recapture() {
    for (i, doc) in documents().iter().enumerate() {
        for (pitch, angle) in [(3.0, 0.0), (4.2, 2.0), (2.4, -1.5)] {
            let img = screen_photo(doc, pitch, angle, i as u64);
            let r = analyse(&img);
            assert!(
                r.flags.contains(&"document_screen_recapture"),
                "document {i}, pitch {pitch}, angle {angle}: {r:?}"
            );
            assert!(!r.flags.contains(&"document_print_copy"), "{r:?}");
        }
    }
}

#[test]
fn a_halftone_print_is_a_print_copy() {
    for (i, doc) in documents().iter().enumerate() {
        for period in [5.0, 7.0] {
            let img = print_photo(doc, period, false, i as u64);
            let r = analyse(&img);
            assert!(
                r.flags.contains(&"document_print_copy")
                    || r.flags.contains(&"document_screen_recapture"),
                "document {i}, period {period}: {r:?}"
            );
            assert!(r.luma_periodic_share >= recapture::PERIODIC_SHARE, "{r:?}");
        }
    }
}

#[test]
fn the_generated_image_itself_is_synthetic() {
    for (i, doc) in documents().iter().enumerate() {
        let r = analyse(doc);
        assert!(
            r.flags.contains(&"document_synthetic"),
            "document {i}: {r:?}"
        );
        assert!(r.flat_share >= recapture::FLAT_SHARE_NO_EDGES, "{r:?}");
        // Saved as JPEG it is still a generated image.
        let r = analyse(&jpeg(doc, 90));
        assert!(
            r.flags.contains(&"document_synthetic"),
            "document {i} as JPEG: {r:?}"
        );
    }
}

fn reader() -> DocumentReader {
    DocumentReader::load(ReaderOptions {
        today: Some(IsoDate::new(2026, 11, 29).unwrap()),
        portrait: false,
        ..ReaderOptions::default()
    })
    .expect("models: run `python3 packaging/fetch.py models`")
}

#[test]
fn a_read_generated_page_refers_unless_the_administrator_made_it_a_warning() {
    let fonts = Fonts::load();
    let doc = passport(&fonts, &people()[0], &reading::face(0));
    let mut r = reader();
    let reading = reading::read(&mut r, doc.image.clone());
    let codes: Vec<&str> = reading.assembled.flags.iter().map(|f| f.code).collect();
    assert_eq!(
        codes,
        vec!["document_synthetic"],
        "{:?}",
        reading.assembled.flags
    );
    assert!(
        reading
            .recapture
            .as_ref()
            .is_some_and(|r| !r.card_edges_visible)
    );
    let json = serde_json::to_value(&reading).unwrap();
    assert_eq!(json["recapture"]["flags"][0], "document_synthetic");

    // Referred by default.
    let mut reasons = Vec::new();
    assert_eq!(
        apply_document(Decision::Approve, &mut reasons, Some(&reading)),
        Decision::Refer
    );
    assert_eq!(reasons[0].code, "document_synthetic");

    // The administrator's switch, laid over the configuration by the settings file.
    let file = SettingsFile::from_toml("[decision]\nsyntheticDocumentWarns = true\n").unwrap();
    let config = file.overlay(&Config::default()).unwrap();
    assert!(config.decision.synthetic_document_warns);
    assert_eq!(
        file.changed_keys(&SettingsFile::default()),
        vec!["decision.syntheticDocumentWarns"]
    );
    let mut reasons = Vec::new();
    assert_eq!(
        apply_document_with(
            &config.decision,
            Decision::Approve,
            &mut reasons,
            Some(&reading)
        ),
        Decision::Approve
    );
    assert_eq!(reasons.len(), 1);
    assert_eq!(reasons[0].code, "document_synthetic_warning");

    // The switch covers the generated-image flag only: a screen recapture still refers.
    let screen = reading::read(&mut r, screen_photo(&doc.image, 3.0, 1.0, 3));
    let codes: Vec<&str> = screen.assembled.flags.iter().map(|f| f.code).collect();
    assert!(codes.contains(&"document_screen_recapture"), "{codes:?}");
    let mut reasons = Vec::new();
    assert_eq!(
        apply_document_with(
            &config.decision,
            Decision::Approve,
            &mut reasons,
            Some(&screen)
        ),
        Decision::Refer
    );

    // A camera-like photo of the page raises no recapture flag.
    let photo = reading::read(&mut r, camera_photo(&doc.image, 6.0, 2.0, 0.65, 4));
    let recapture_flags: Vec<&str> = photo
        .assembled
        .flags
        .iter()
        .map(|f| f.code)
        .filter(|c| c.starts_with("document_"))
        .collect();
    assert!(recapture_flags.is_empty(), "{:?}", photo.recapture);
    assert!(
        photo
            .recapture
            .as_ref()
            .is_some_and(|r| r.card_edges_visible)
    );
}
