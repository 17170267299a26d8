//! Locating the document's edges, perspective rectification and the MRZ-only fast path, on
//! synthetic documents whose true corners are known, through the real PP-OCRv6 models.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::reading;
use crate::synth;

use image::RgbImage;
use kyc_core::document::mrz::IsoDate;
use kyc_core::document::{DocumentReader, ReaderOptions};
use reading::*;
use synth::*;

fn reader(options: ReaderOptions) -> DocumentReader {
    DocumentReader::load(ReaderOptions {
        today: Some(IsoDate::new(2026, 11, 29).unwrap()),
        portrait: false,
        ..options
    })
    .expect("models: run `python3 packaging/fetch.py models`")
}

/// Largest corner distance in % of the true page's longer side.
fn corner_error(got: &[[f32; 2]; 4], want: &[[f64; 2]; 4]) -> f64 {
    let d = |a: [f64; 2], b: [f64; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    let long = (0..4)
        .map(|i| d(want[i], want[(i + 1) % 4]))
        .fold(0.0, f64::max);
    (0..4)
        .map(|i| d([f64::from(got[i][0]), f64::from(got[i][1])], want[i]))
        .fold(0.0, f64::max)
        / long
        * 100.0
}

#[test]
fn located_corners_of_perspective_photos_are_within_three_percent_of_the_truth() {
    let fonts = Fonts::load();
    let mut r = reader(ReaderOptions::default());
    let people = people();
    let docs = [
        ("passport", passport(&fonts, &people[0], &face(0))),
        ("idcard", id_card(&fonts, &people[2], &face(1))),
        ("kenya", kenya_id(&fonts, &people[3], &face(2))),
        ("ghana", ghana_card(&fonts, &people[1], &face(3))),
    ];
    for (i, (kind, doc)) in docs.iter().enumerate() {
        let (tilt, roll) = (10.0 + 4.0 * i as f64, -7.0 + 5.0 * i as f64);
        let (img, truth) = photo_with_corners(&doc.image, tilt, roll, 0.5);
        let img = jpeg(&noise(&blur(&img, 0.8), 5.0, i as u64), 30);
        let reading = read(&mut r, img);
        let quad = reading
            .document_quad
            .as_ref()
            .unwrap_or_else(|| panic!("{kind}: no quad; lines {}", lines_text(&reading)));
        let err = corner_error(&quad.corners, &truth);
        assert!(
            err < 3.0,
            "{kind}: corners {:?} vs {truth:?} ({err:.1} %)",
            quad.corners
        );
        assert_eq!(reading.region_source, "edges");
        // Fill comes from the quadrilateral: the page covers about half the frame.
        assert!(
            (reading.quality.fill_percent - 50.0).abs() < 5.0,
            "{kind}: {:?}",
            reading.quality
        );
    }
}

#[test]
fn a_rectified_20_degree_card_photo_reads_its_fields_exactly() {
    let fonts = Fonts::load();
    let mut r = reader(ReaderOptions::default());
    // (Person 4's "Aïcha" is out: the tiny recogniser never outputs "ï", rectified or not.)
    let doc = id_card(&fonts, &people()[2], &face(1));
    let (img, truth) = photo_with_corners(&doc.image, 20.0, 6.0, 0.55);
    let img = jpeg(&noise(&blur(&img, 0.8), 5.0, 11), 30);
    let reading = read(&mut r, img);
    assert!(reading.rectified, "{:?}", reading.document_quad);
    let quad = reading.document_quad.as_ref().unwrap();
    assert!(corner_error(&quad.corners, &truth) < 3.0, "{quad:?}");
    let wrong = wrong_fields(&reading, &doc.truth);
    assert!(
        wrong.is_empty(),
        "{wrong:?}\nlines: {}",
        lines_text(&reading)
    );
    assert_eq!(reading.mrz.as_ref().unwrap().corrected, doc.mrz);
}

#[test]
fn a_quarter_turned_photo_is_located_and_its_corners_reported_upright() {
    let fonts = Fonts::load();
    let mut r = reader(ReaderOptions::default());
    let doc = passport(&fonts, &people()[1], &face(2));
    let (img, truth) = photo_with_corners(&doc.image, 12.0, 4.0, 0.5);
    // Turn the frame a quarter clockwise: (x, y) → (h − 1 − y, x).
    let h = f64::from(img.height());
    let turned = quarter(&img, 1);
    let truth = truth.map(|[x, y]| [h - y, x]);
    let reading = read(&mut r, turned);
    let m = reading.mrz.as_ref().expect("MRZ");
    assert!(m.valid, "{:?}", m.checks);
    assert_eq!(m.corrected, doc.mrz);
    assert_eq!(
        reading.quality.rotation_degrees, 90,
        "{:?}",
        reading.quality
    );
    let quad = reading.document_quad.as_ref().expect("quad");
    let err = corner_error(&quad.corners, &truth);
    assert!(err < 3.0, "{:?} vs {truth:?} ({err:.1} %)", quad.corners);
}

#[test]
fn images_without_a_document_edge_report_no_quad() {
    let fonts = Fonts::load();
    let mut r = reader(ReaderOptions::default());
    // Nothing at all.
    let blank = read(
        &mut r,
        RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128])),
    );
    assert!(!blank.found);
    assert!(blank.document_quad.is_none());
    assert!(!blank.rectified);
    // A flat scan: the page is the whole frame, it has no edge against a background; the
    // region comes from the text as before, and the reading is unchanged.
    let doc = passport(&fonts, &people()[0], &face(0));
    let scan = read(&mut r, doc.image.clone());
    assert!(scan.document_quad.is_none(), "{:?}", scan.document_quad);
    assert_eq!(scan.region_source, "text");
    assert!(!scan.rectified);
    assert!(scan.mrz.as_ref().is_some_and(|m| m.valid));
}

#[test]
fn mrz_only_reads_a_valid_mrz_and_skips_the_rest() {
    let fonts = Fonts::load();
    let mut r = reader(ReaderOptions {
        mrz_only: true,
        ..ReaderOptions::default()
    });
    let people = people();
    for (i, p) in people.iter().take(3).enumerate() {
        let doc = passport(&fonts, p, &face(i));
        let photo_img = jpeg(
            &noise(&blur(&photo(&doc.image, 14.0, 5.0, 0.55), 0.8), 5.0, 3),
            30,
        );
        for (what, img) in [
            ("scan", doc.image.clone()),
            ("photo", photo_img),
            ("turned", quarter(&doc.image, 2)),
        ] {
            let reading = read(&mut r, img);
            assert!(reading.mrz_only, "{i} {what}: fell back to the whole read");
            let m = reading.mrz.as_ref().expect("MRZ");
            assert!(m.valid, "{i} {what}: {:?}", m.checks);
            assert_eq!(m.corrected, doc.mrz, "{i} {what}");
            // Only the MRZ band was recognised, not the visual zone.
            assert!(
                reading.lines.len() <= 6,
                "{i} {what}: {}",
                lines_text(&reading)
            );
            assert_eq!(
                reading
                    .assembled
                    .fields
                    .document_number
                    .as_ref()
                    .unwrap()
                    .value,
                p.number
            );
        }
    }
}
