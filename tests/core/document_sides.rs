//! Two-sided documents: a synthetic TD1 card whose front carries the portrait and the printed
//! fields and whose back carries the MRZ, read and merged by `DocumentReader::read_sides`, by
//! `read-document --back` and `verify --document-back` (with the back image kept in the audit
//! record).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::reading;
use crate::synth;

use std::path::Path;
use std::process::Command;

use image::RgbImage;
use kyc_core::audit::{AuditConfig, AuditStore, ImageKind};
use kyc_core::document::mrz::IsoDate;
use kyc_core::document::{DocumentReader, DocumentReading, ReaderOptions};
use reading::*;
use serde_json::Value;
use synth::*;

fn reader(portrait: bool) -> DocumentReader {
    DocumentReader::load(ReaderOptions {
        today: Some(IsoDate::new(2026, 11, 29).unwrap()),
        portrait,
        ..ReaderOptions::default()
    })
    .expect("models: run `python3 packaging/fetch.py models`")
}

fn read_two(r: &mut DocumentReader, front: &RgbImage, back: &RgbImage) -> DocumentReading {
    r.read_sides(front, Some(back)).unwrap().0
}

fn flag_codes(r: &DocumentReading) -> Vec<&'static str> {
    r.assembled.flags.iter().map(|f| f.code).collect()
}

#[test]
fn front_and_back_merge_into_one_reading_with_the_back_mrz_and_the_front_portrait() {
    let fonts = Fonts::load();
    let mut r = reader(true);
    let p = &people()[0];
    let (front, back) = id_card_two_sided(&fonts, p, &face(0));

    // Each side alone lacks half of it: no MRZ on the front, no portrait on the back.
    let front_only = read(&mut r, front.image.clone());
    assert!(front_only.mrz.is_none(), "{}", lines_text(&front_only));
    assert!(front_only.back.is_none() && front_only.sides.is_none());

    let merged = read_two(&mut r, &front.image, &back.image);
    assert!(merged.found);
    let wrong = wrong_fields(&merged, &back.truth);
    assert!(
        wrong.is_empty(),
        "{wrong:?}\nfront: {}",
        lines_text(&merged)
    );
    let mrz = merged.mrz.as_ref().unwrap();
    assert!(mrz.valid, "{:?}", mrz.failed_checks);
    assert_eq!(mrz.corrected, back.mrz);
    let fields = &merged.assembled.fields;
    // The MRZ drives the checked fields; the printed (accented) names of the front are kept.
    assert_eq!(fields.document_number.as_ref().unwrap().value, "CI0482913");
    assert_eq!(fields.first_name.as_ref().unwrap().value, "Adjoa Élodie");
    assert_eq!(
        fields.address.as_ref().unwrap().value,
        "12 RUE DES FLAMBOYANTS ABIDJAN"
    );
    assert!(
        merged.assembled.cross_checks.iter().all(|c| c.agree),
        "{:?}",
        merged.assembled.cross_checks
    );
    // The sides are the generated images themselves (no sensor noise): their only flag.
    assert_eq!(
        flag_codes(&merged),
        ["document_synthetic"],
        "{:?}",
        merged.assembled.flags
    );
    assert!(merged.assembled.confidence > 90.0);
    // Portrait from the front.
    assert!(merged.portrait.as_ref().unwrap().usable);
    let sides = merged.sides.as_ref().unwrap();
    assert_eq!(sides.mrz, Some("back"));
    assert_eq!(sides.portrait, "front");
    assert_eq!(sides.visual_from_back, vec!["address"]);
    let b = merged.back.as_ref().unwrap();
    assert!(b.found && b.mrz_found && b.mrz_valid);
    assert!(b.quality.acceptable, "{:?}", b.quality);
    assert!(b.lines.iter().any(|l| l.text.starts_with("I<CIV")));
    // The front's lines stay the top-level lines; the back's stages are timed apart.
    assert!(!merged.lines.iter().any(|l| l.text.starts_with("I<CIV")));
    assert!(merged.timings_ms.0.contains_key("back.total"));

    // Without a back, read_sides is the one-sided reading.
    let (same, _) = r.read_sides(&front.image, None).unwrap();
    let strip = |r: &DocumentReading| {
        let mut v = serde_json::to_value(r).unwrap();
        v.as_object_mut().unwrap().remove("timingsMs");
        v
    };
    assert_eq!(strip(&same), strip(&front_only));
}

#[test]
fn a_front_name_that_disagrees_with_the_back_mrz_is_flagged() {
    let fonts = Fonts::load();
    let mut r = reader(false);
    let p = people()[2].clone();
    let mut printed = p.clone();
    printed.surname = "BOATENG".into();
    let (front, back) = id_card_two_sided_as(&fonts, &printed, &p, &face(2));
    let merged = read_two(&mut r, &front.image, &back.image);
    assert!(merged.mrz.as_ref().unwrap().valid);
    assert_eq!(merged.sides.as_ref().unwrap().mrz, Some("back"));
    assert!(
        flag_codes(&merged).contains(&"mrz_visual_mismatch"),
        "{:?}",
        merged.assembled.flags
    );
    let last = merged
        .assembled
        .cross_checks
        .iter()
        .find(|c| c.field == "lastName")
        .unwrap();
    assert_eq!(
        (last.mrz.as_str(), last.visual.as_str(), last.agree),
        ("MENSAH", "BOATENG", false)
    );
    // The MRZ's surname is what the reading keeps.
    assert_eq!(
        merged.assembled.fields.last_name.as_ref().unwrap().value,
        "MENSAH"
    );
}

#[test]
fn a_back_that_is_not_a_document_gives_a_clear_reason() {
    let fonts = Fonts::load();
    let mut r = reader(false);
    let (front, _) = id_card_two_sided(&fonts, &people()[1], &face(1));
    let blank = RgbImage::from_pixel(1070, 675, image::Rgb([235, 235, 235]));
    let selfie = common::load("obama2.jpg").rgb;
    for (what, back) in [("blank", blank), ("face photo", selfie)] {
        let merged = read_two(&mut r, &front.image, &back);
        let b = merged.back.as_ref().unwrap();
        assert!(!b.found, "{what}: {:?}", b.lines);
        assert_eq!(b.reason_code.as_deref(), Some("no_document"), "{what}");
        assert!(b.reason.as_deref().unwrap().contains("back image"));
        assert!(!b.mrz_found);
        assert!(
            flag_codes(&merged).contains(&"back_no_document"),
            "{what}: {:?}",
            merged.assembled.flags
        );
        // The front still reads.
        assert!(merged.found);
        assert_eq!(
            merged.assembled.fields.last_name.as_ref().unwrap().value,
            "NDIAYE"
        );
        assert!(merged.mrz.is_none());
        assert!(merged.sides.as_ref().unwrap().visual_from_back.is_empty());
    }
}

#[test]
fn a_poor_back_capture_has_its_own_quality_reasons() {
    let fonts = Fonts::load();
    let mut r = reader(false);
    let (front, back) = id_card_two_sided(&fonts, &people()[3], &face(3));
    let blurry = blur(&back.image, 6.0);
    let merged = read_two(&mut r, &front.image, &blurry);
    let b = merged.back.as_ref().unwrap();
    assert!(
        b.quality.reasons.contains(&"blurry".to_string()),
        "{:?}",
        b.quality
    );
    assert!(!b.quality.acceptable);
    // The front's quality is its own.
    assert!(merged.quality.acceptable, "{:?}", merged.quality);

    // A reflection over the first MRZ row (it starts 430 px down the 675-px card).
    let glared = glare(&back.image, 0.5, 453.0 / 675.0, 0.07);
    let merged = read_two(&mut r, &front.image, &glared);
    let b = merged.back.as_ref().unwrap();
    assert!(
        b.quality.reasons.contains(&"glare_on_text".to_string()),
        "{:?}",
        b.quality
    );
    assert!(merged.quality.acceptable, "{:?}", merged.quality);
}

fn kiosk() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kyc-kiosk"));
    c.env_remove("KYC_KIOSK_MODELS")
        .env_remove("KYC_KIOSK_CONFIG");
    c
}

fn run_json(cmd: &mut Command) -> Value {
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn two_sided_files(dir: &Path, face_file: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let fonts = Fonts::load();
    let portrait = common::load(face_file).rgb;
    let (front, back) = id_card_two_sided(&fonts, &people()[0], &portrait);
    let (f, b) = (dir.join("front.png"), dir.join("back.png"));
    front.image.save(&f).unwrap();
    back.image.save(&b).unwrap();
    (f, b)
}

#[test]
fn read_document_back_prints_the_merged_reading_and_refuses_a_bad_back() {
    let dir = tempfile::tempdir().unwrap();
    let (front, back) = two_sided_files(dir.path(), "pyfeat_portrait_anc.jpg");
    let v = run_json(
        kiosk()
            .args(["read-document", "--json", "--today", "2026-11-29"])
            .arg(&front)
            .arg("--back")
            .arg(&back),
    );
    assert_eq!(v["mrz"]["valid"], true);
    assert_eq!(v["mrz"]["format"], "TD1");
    assert_eq!(v["fields"]["documentNumber"]["value"], "CI0482913");
    assert_eq!(v["fields"]["documentNumber"]["source"], "mrz");
    assert_eq!(v["fields"]["address"]["source"], "visual");
    assert_eq!(v["sides"]["mrz"], "back");
    assert_eq!(v["sides"]["portrait"], "front");
    assert_eq!(v["back"]["found"], true);
    assert_eq!(v["back"]["mrzValid"], true);
    assert!(v["back"]["quality"]["acceptable"].is_boolean());
    assert!(v["back"]["quality"]["reasons"].is_array());
    assert_eq!(v["portrait"]["faceDetected"], true);

    // One side: no `back` or `sides` keys at all.
    let one = run_json(
        kiosk()
            .args(["read-document", "--json", "--today", "2026-11-29"])
            .arg(&front),
    );
    assert!(one.get("back").is_none() && one.get("sides").is_none());
    assert!(one["mrz"].is_null());

    // A bad back file is refused like a bad front, with its code, naming the file.
    let truncated = dir.path().join("back-cut.png");
    let bytes = std::fs::read(&back).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let fake = dir.path().join("back.gif");
    std::fs::write(&fake, b"GIF89a not really").unwrap();
    for (file, code) in [
        (truncated.as_path(), "truncated_image"),
        (fake.as_path(), "unsupported_format"),
        (Path::new("/nonexistent/back.png"), "file_not_found"),
    ] {
        let out = kiosk()
            .args(["read-document", "--json"])
            .arg(&front)
            .arg("--back")
            .arg(file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{}", file.display());
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["error"]["code"], code, "{v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(file.file_name().unwrap().to_str().unwrap()),
            "{message}"
        );
    }
}

#[test]
fn verify_document_back_is_merged_and_the_back_image_is_kept_in_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let (front, back) = two_sided_files(dir.path(), "obama.jpg");
    let db = dir.path().join("audit.sqlite3");
    // Recording needs a user's credentials.
    AuditStore::open(AuditConfig::at(&db).with_fast_hashing())
        .unwrap()
        .create_first_admin("root", "root-password-1")
        .unwrap();
    let v = run_json(
        kiosk()
            .args(["verify", "--json", "--record", "--document"])
            .arg(&front)
            .arg("--document-back")
            .arg(&back)
            .arg("--selfie")
            .arg(common::data("obama2.jpg"))
            .arg("--db")
            .arg(&db)
            .args(["--operator", "root"])
            .env("KYC_KIOSK_PASSWORD", "root-password-1"),
    );
    let reading = &v["document"]["reading"];
    assert_eq!(reading["mrz"]["valid"], true);
    assert_eq!(reading["sides"]["mrz"], "back");
    assert_eq!(reading["back"]["found"], true);
    assert_eq!(v["document"]["backImage"]["width"], 1070);
    assert!(
        v["document"]["backImage"]["source"]
            .as_str()
            .unwrap()
            .ends_with("back.png")
    );
    assert_eq!(v["document"]["portrait"]["faceDetected"], true);
    assert_eq!(v["faceMatch"]["computed"], true);
    assert_eq!(v["faceMatch"]["isMatch"], true);
    let id = v["record"]["id"].as_i64().unwrap();

    // The record holds the back file's own bytes beside the front, and they load back.
    let mut store = AuditStore::open(AuditConfig::at(&db)).unwrap();
    let session = store.login("root", "root-password-1").unwrap();
    let detail = store.get_record(&session, id).unwrap();
    assert!(detail.images.contains(&ImageKind::DocumentFront));
    assert!(detail.images.contains(&ImageKind::DocumentBack));
    let stored = store
        .load_image(&session, id, ImageKind::DocumentBack)
        .unwrap();
    // Kept as evidence: a JPEG within bounds as it is, anything else as the evidence JPEG.
    let evidence =
        |p: &Path| kyc_core::record::evidence_bytes(&std::fs::read(p).unwrap()).into_owned();
    assert_eq!(stored, evidence(&back));
    assert!(kyc_core::record::is_jpeg(&stored));
    let front_stored = store
        .load_image(&session, id, ImageKind::DocumentFront)
        .unwrap();
    assert_eq!(front_stored, evidence(&front));

    // A bad back image stops the verification with the input error, like a bad front.
    let out = kiosk()
        .args(["verify", "--json", "--document"])
        .arg(&front)
        .arg("--document-back")
        .arg(dir.path().join("missing-back.png"))
        .arg("--selfie")
        .arg(common::data("obama2.jpg"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["error"]["code"], "file_not_found");
}
