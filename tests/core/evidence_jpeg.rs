//! The evidence images a record keeps: JPEG at `record::EVIDENCE_JPEG_QUALITY`, larger pages
//! scaled to `record::EVIDENCE_MAX_SIDE`. The stored selfie must still give its template, the
//! stored passport page the same MRZ, and records kept as PNG before stay readable and
//! verifying.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use image::RgbImage;
use kyc_core::Config;
use kyc_core::audit::{AuditConfig, AuditStore, ImageKind};
use kyc_core::document::{DocumentReader, ReaderOptions};
use kyc_core::imaging::{ImageLimits, decode_bytes};
use kyc_core::pipeline::Input;
use kyc_core::record::{self, EVIDENCE_JPEG_QUALITY, EVIDENCE_MAX_SIDE, RecordContext};
use kyc_core::service::Capture;

use crate::common;

fn jpeg_at(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .unwrap();
    out
}

fn decode(bytes: &[u8]) -> RgbImage {
    decode_bytes(bytes, Path::new("stored"), &ImageLimits::default())
        .unwrap()
        .rgb
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

/// The template of the largest face in `img`.
fn template_of(pipeline: &mut kyc_core::Pipeline, img: &RgbImage) -> Vec<f32> {
    let engine = pipeline.face_engine().unwrap();
    let faces = engine.detect_all(img).unwrap();
    let face = faces
        .iter()
        .max_by(|a, b| (a.width * a.height).total_cmp(&(b.width * b.height)))
        .expect("a face");
    engine.embed_face(img, face).unwrap().expect("a template")
}

fn mrz_lines(reader: &mut DocumentReader, img: RgbImage) -> (Vec<String>, bool) {
    let reading = crate::reading::read(reader, img);
    let mrz = reading.mrz.expect("an MRZ");
    (mrz.corrected, mrz.valid)
}

#[test]
fn evidence_quality_keeps_the_face_template_and_the_mrz() {
    let mut pipeline = common::pipeline();
    let selfie = common::load("obama2.jpg").rgb;
    let original = template_of(&mut pipeline, &selfie);
    let (page, _) = crate::passport::passport_of("obama.jpg", 0);
    let mut reader = DocumentReader::load(ReaderOptions {
        portrait: false,
        ..ReaderOptions::default()
    })
    .unwrap();
    let (mrz, valid) = mrz_lines(&mut reader, page.clone());
    assert!(valid, "the original page's MRZ is valid");
    let png_selfie = record::png(&selfie).unwrap().len();
    let png_page = record::png(&page).unwrap().len();
    println!(
        "selfie {}x{} PNG {} KiB; passport page {}x{} PNG {} KiB",
        selfie.width(),
        selfie.height(),
        png_selfie / 1024,
        page.width(),
        page.height(),
        png_page / 1024
    );
    for q in [70u8, 80, 85, 90, 95] {
        let s = jpeg_at(&selfie, q);
        let p = jpeg_at(&page, q);
        let cos = cosine(&original, &template_of(&mut pipeline, &decode(&s)));
        let (m, v) = mrz_lines(&mut reader, decode(&p));
        println!(
            "quality {q}: selfie {} KiB, template cosine to the original {cos:.4}; page {} KiB, MRZ same {} valid {v}",
            s.len() / 1024,
            p.len() / 1024,
            m == mrz
        );
        if q == EVIDENCE_JPEG_QUALITY {
            assert!(cos >= 0.995, "cosine {cos} at quality {q}");
            assert_eq!(m, mrz, "the stored page reads the same MRZ");
            assert!(v);
            assert!(s.len() * 3 < png_selfie, "{} vs PNG {png_selfie}", s.len());
        }
    }
    // What the kiosk keeps is that encoding: a camera frame's pixels, a PNG file.
    let kept = Capture::pixels("selfie", selfie.clone())
        .kept_bytes()
        .unwrap();
    assert!(record::is_jpeg(&kept));
    assert_eq!(kept.as_slice(), jpeg_at(&selfie, EVIDENCE_JPEG_QUALITY));
    let png_file = record::png(&page).unwrap();
    let kept_page = record::evidence_bytes(&png_file);
    assert!(record::is_jpeg(&kept_page));
    assert_eq!(decode(&kept_page).dimensions(), page.dimensions());
    // A captured JPEG within bounds is kept byte for byte.
    let file = std::fs::read(common::data("obama2.jpg")).unwrap();
    assert_eq!(record::evidence_bytes(&file).as_ref(), file.as_slice());
}

#[test]
fn a_larger_page_is_scaled_to_the_evidence_side() {
    let big = image::imageops::resize(
        &common::load("obama3.jpg").rgb,
        3000,
        2000,
        image::imageops::FilterType::Triangle,
    );
    let kept = record::evidence_jpeg(&big).unwrap();
    let stored = decode(&kept);
    assert_eq!(stored.width(), EVIDENCE_MAX_SIDE);
    assert_eq!(stored.height(), 1067);
    // A JPEG file larger than the bound is scaled too (not kept as it is).
    let file = jpeg_at(&big, 80);
    let kept = record::evidence_bytes(&file);
    assert_ne!(kept.as_ref(), file.as_slice());
    assert_eq!(decode(&kept).width(), EVIDENCE_MAX_SIDE);
}

#[test]
fn a_recorded_verification_keeps_jpeg_evidence_that_matches_its_template_beside_old_png_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut audit = AuditConfig::at(dir.path().join("kiosk.sqlite3"));
    audit.load_index_at_open = false;
    let mut store = AuditStore::open(audit.clone()).unwrap();
    // A record as kiosks stored them before: PNG images.
    let selfie = common::load("obama2.jpg");
    let old_png = record::png(&selfie.rgb).unwrap();
    let old_images = [(ImageKind::Selfie, old_png.as_slice())];
    let result = serde_json::json!({ "verified": true });
    let models = serde_json::json!({});
    let now = kyc_core::audit::now_ms();
    store
        .record_verification(&kyc_core::audit::NewVerification {
            operator: "agent1",
            customer_type: kyc_core::audit::CustomerType::Individual,
            claimed_id_type: None,
            claimed_id_number: None,
            started_ms: now - 1000,
            finished_ms: now,
            indexed: kyc_core::audit::IndexedFields {
                decision: kyc_core::verdict::Decision::Refer,
                decision_reason: "older record".into(),
                document_number: None,
                full_name: None,
                country: None,
                overall_confidence: None,
            },
            result: &result,
            models: &models,
            images: &old_images,
            template: None,
            corrections: &[],
        })
        .unwrap();
    // A real verification recorded now, the selfie given as a PNG file.
    let mut pipeline = common::pipeline();
    let config = Config::default();
    let v = pipeline
        .verify_detailed(
            Input::File(&common::data("obama.jpg")),
            Input::Image(selfie.clone(), "selfie.png".into()),
        )
        .unwrap();
    let ctx = RecordContext {
        operator: "agent1",
        customer_type: kyc_core::audit::CustomerType::Individual,
        claimed_id_type: None,
        claimed_id_number: None,
        started_ms: now - 30_000,
        document_bytes: None,
        selfie_bytes: Some(&old_png),
        document_back_bytes: None,
    };
    let mut config_no_dup = config.clone();
    config_no_dup.duplicates.search = false;
    let res = record::record(&mut store, &config_no_dup, &v, &ctx).unwrap();
    let id = res.record.as_ref().unwrap().id;
    assert_eq!(id, 2);
    let rec = store.outbox_record(id).unwrap();
    let kinds: Vec<_> = rec.images.iter().map(|(k, _)| *k).collect();
    assert!(kinds.contains(&ImageKind::DocumentFront), "{kinds:?}");
    assert!(kinds.contains(&ImageKind::Portrait), "{kinds:?}");
    for (kind, bytes) in &rec.images {
        assert!(record::is_jpeg(bytes), "{kind:?} is stored as JPEG");
        let img = decode(bytes);
        assert!(img.width().max(img.height()) <= EVIDENCE_MAX_SIDE);
    }
    let (_, stored_selfie) = rec
        .images
        .iter()
        .find(|(k, _)| *k == ImageKind::Selfie)
        .unwrap();
    assert!(stored_selfie.len() * 3 < old_png.len());
    let template: Vec<f32> = rec
        .template
        .as_ref()
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let from_stored = template_of(&mut pipeline, &decode(stored_selfie));
    let cos = cosine(&template, &from_stored);
    assert!(cos >= 0.995, "stored selfie vs its template: cosine {cos}");
    // The older PNG record still reads, and the chain over both verifies.
    let old = store.outbox_record(1).unwrap();
    assert_eq!(old.images[0].1.as_slice(), old_png.as_slice());
    assert_eq!(
        decode(&old.images[0].1).dimensions(),
        selfie.rgb.dimensions()
    );
    let report = store.verify().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.records, 2);
    // Sanity: a PNG is not mistaken for JPEG.
    assert!(!record::is_jpeg(&old_png));
}
