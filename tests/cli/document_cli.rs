//! `kyc-kiosk read-document` and `eval-documents` as processes: the JSON contract, exit codes and
//! bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::synth;

use std::process::Command;

use serde_json::Value;
use synth::*;

fn kiosk() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kyc-kiosk"))
}

#[test]
fn read_document_prints_the_document_block_with_the_mrz_contract() {
    let dir = tempfile::tempdir().unwrap();
    let fonts = Fonts::load();
    let doc = id_card(
        &fonts,
        &people()[2],
        &common::load("pyfeat_portrait_hao.jpg").rgb,
    );
    let path = dir.path().join("card.png");
    doc.image.save(&path).unwrap();
    let out = kiosk()
        .args(["read-document", "--json", "--today", "2026-11-29"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["found"], true);
    let mrz = &v["mrz"];
    assert_eq!(mrz["format"], "TD1");
    assert_eq!(mrz["valid"], true);
    assert_eq!(mrz["raw"].as_array().unwrap().len(), 3);
    let checks = mrz["checks"].as_array().unwrap();
    assert!(checks.iter().all(|c| c["ok"] == true));
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "documentNumber",
            "birthDate",
            "expiryDate",
            "composite",
            "documentCode",
            "issuingState",
            "nationality"
        ]
    );
    let fields = &v["fields"];
    assert_eq!(fields["documentNumber"]["value"], "G3381902");
    assert_eq!(fields["documentNumber"]["source"], "mrz");
    assert_eq!(fields["dateOfBirth"]["value"], "1995-07-21");
    assert_eq!(fields["lastName"]["value"], "MENSAH");
    let c = v["confidence"].as_f64().unwrap();
    assert!(c > 90.0 && c <= 100.0, "{c}");
    assert!(v["quality"]["acceptable"].is_boolean());
    assert!(v["portrait"]["faceDetected"].as_bool().unwrap());
}

#[test]
fn read_document_json_carries_the_document_quad_and_mrz_only_reads_the_zone() {
    let dir = tempfile::tempdir().unwrap();
    let fonts = Fonts::load();
    let doc = passport(
        &fonts,
        &people()[0],
        &common::load("pyfeat_portrait_anc.jpg").rgb,
    );
    let (img, truth) = photo_with_corners(&doc.image, 15.0, -5.0, 0.5);
    let path = dir.path().join("passport-photo.png");
    img.save(&path).unwrap();
    let read = |extra: &[&str]| -> Value {
        let out = kiosk()
            .args(["read-document", "--json", "--today", "2026-11-29"])
            .args(extra)
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = read(&[]);
    assert_eq!(v["regionSource"], "edges");
    assert_eq!(v["rectified"], true);
    assert_eq!(v["mrzOnly"], false);
    let corners = v["documentQuad"]["corners"].as_array().unwrap();
    assert_eq!(corners.len(), 4);
    for (got, want) in corners.iter().zip(truth.iter()) {
        let (x, y) = (got[0].as_f64().unwrap(), got[1].as_f64().unwrap());
        assert!(
            (x - want[0]).abs() < 20.0 && (y - want[1]).abs() < 20.0,
            "{got} vs {want:?}"
        );
    }
    assert_eq!(
        v["quality"]["fillPercent"],
        v["documentQuad"]["fillPercent"]
    );
    assert_eq!(v["mrz"]["valid"], true);

    let fast = read(&["--mrz-only"]);
    assert_eq!(fast["mrzOnly"], true);
    assert_eq!(fast["mrz"]["valid"], true);
    assert_eq!(fast["mrz"]["corrected"], serde_json::json!(doc.mrz));
    assert!(fast["documentQuad"].is_null());
    assert!(fast["portrait"].is_null());

    let plain = read(&["--no-locate"]);
    assert!(plain["documentQuad"].is_null());
    assert_eq!(plain["regionSource"], "text");
}

#[test]
fn read_document_refuses_bad_input_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.jpg");
    std::fs::write(&fake, b"GIF89a not really").unwrap();
    let out = kiosk()
        .args(["read-document", "--json"])
        .arg(&fake)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "unsupported_format");
    let missing = kiosk()
        .args(["read-document", "--json", "/nonexistent/doc.png"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(3));
    let usage = kiosk().args(["read-document"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn eval_documents_scores_against_truth_files() {
    let dir = tempfile::tempdir().unwrap();
    let fonts = Fonts::load();
    let p = &people()[5];
    let doc = passport(&fonts, p, &common::load("pyfeat_portrait_su.jpg").rgb);
    doc.image.save(dir.path().join("p.png")).unwrap();
    let mut truth = serde_json::Map::new();
    truth.insert("documentNumber".into(), p.number.clone().into());
    truth.insert("dateOfBirth".into(), iso(p.birth).into());
    truth.insert("mrzValid".into(), true.into());
    std::fs::write(
        dir.path().join("p.truth.json"),
        serde_json::to_string(&truth).unwrap(),
    )
    .unwrap();
    let out = kiosk()
        .args([
            "eval-documents",
            "--json",
            "--no-portrait",
            "--today",
            "2026-11-29",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["images"], 1);
    assert_eq!(v["mrzFound"], 1);
    assert_eq!(v["mrzValid"], 1);
    assert_eq!(v["fieldsExpected"], 2);
    assert_eq!(v["fieldsCorrect"], 2);
    assert_eq!(v["items"][0]["mrzFormat"], "TD3");
}

#[test]
fn verify_refuses_an_unknown_id_type_and_takes_the_documented_one() {
    // The option's own help gives `ghana_card` as an example: it must be understood (the run
    // then stops at the missing file, exit 3, not at the command line, exit 2).
    let missing = "/nonexistent/doc.png";
    let known = kiosk()
        .args([
            "verify",
            "--document",
            missing,
            "--selfie",
            missing,
            "--id-type",
            "ghana_card",
            "--json",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&known.stderr);
    assert!(!stderr.contains("unknown ID type"), "{stderr}");
    assert_eq!(known.status.code(), Some(3), "{stderr}");

    let out = kiosk()
        .args([
            "verify",
            "--document",
            missing,
            "--selfie",
            missing,
            "--id-type",
            "nonsense",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown ID type \"nonsense\""), "{stderr}");
    for supported in [
        "ghana_card_pin",
        "nigeria_nin",
        "kenya_national_id",
        "passport",
    ] {
        assert!(
            stderr.contains(supported),
            "{supported} not listed: {stderr}"
        );
    }
}
