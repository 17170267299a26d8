//! The `kyc-kiosk` command line: JSON contract, exit codes and bad input, run as a process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::passport;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::data;
use serde_json::Value;

fn kiosk(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kyc-kiosk"));
    cmd.args(args)
        .env_remove("KYC_KIOSK_MODELS")
        .env_remove("KYC_KIOSK_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kyc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// `verify --document doc --selfie selfie --json [extra…]`, which must exit 0; its JSON.
fn verify_json(doc: &Path, selfie: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "verify",
        "--document",
        s(doc),
        "--selfie",
        s(selfie),
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = kiosk(&args, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
}

/// The `code` of every reason in a verification's JSON.
fn reason_codes(v: &Value) -> Vec<String> {
    v["reasons"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn match_json_contract() {
    let a = data("obama.jpg");
    let b = data("obama2.jpg");
    let out = kiosk(&["match", s(&a), s(&b), "--json"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["isMatch"], true);
    assert!(v["confidence"].as_f64().unwrap() > v["threshold"].as_f64().unwrap());
    assert!((1..=5).contains(&v["matchLevel"].as_u64().unwrap()));
    for img in v["images"].as_array().unwrap() {
        assert_eq!(img["faceDetection"]["faceDetected"], true);
        assert!(img["faceDetection"]["quality"]["sharpness"].is_number());
        assert!(img["faceDetection"]["quality"]["yaw"].is_number());
    }
    for stage in ["a.decode", "a.detect.infer", "a.embed", "b.embed", "total"] {
        assert!(v["timingsMs"][stage].as_f64().unwrap() >= 0.0, "{stage}");
    }
    assert_eq!(v["models"].as_array().unwrap().len(), 2);

    let c = data("biden.jpg");
    let out = kiosk(&["match", s(&a), s(&c), "--json"], &[]);
    assert_eq!(out.status.code(), Some(0), "no match still exits 0");
    assert_eq!(json(&out)["isMatch"], false);
}

#[test]
fn verify_json_has_every_block_even_when_one_fails() {
    // A passport page (synthetic, exact ground truth) carrying his portrait, and his selfie.
    let doc = passport::passport_file("obama.jpg", 0, &tmp("docs"));
    let face = data("obama3.jpg");
    let v = verify_json(&doc, &face, &[]);
    // Every check passes, but the selfie is a still file: referred, never approved, and the
    // only reason is the still capture.
    assert_eq!(v["verified"], false, "{}", v["reasons"]);
    assert_eq!(v["decision"], "refer");
    assert_eq!(v["liveness"]["captureSource"], "still");
    let codes: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["code"].as_str())
        .collect();
    assert_eq!(codes, ["still_selfie"], "{}", v["reasons"]);
    let reading = &v["document"]["reading"];
    assert_eq!(reading["found"], true);
    assert_eq!(reading["mrz"]["valid"], true);
    assert_eq!(reading["fields"]["lastName"]["value"], "KOUASSI");
    assert_eq!(reading["fields"]["lastName"]["source"], "visual");
    assert_eq!(reading["fields"]["documentNumber"]["value"], "CI0482913");
    assert_eq!(reading["fields"]["documentNumber"]["source"], "mrz");
    assert_eq!(reading["fields"]["dateOfBirth"]["value"], "1988-03-14");
    assert!(v["document"]["confidence"].as_f64().unwrap() > 80.0);
    assert!(v["timingsMs"]["document.read"].as_f64().unwrap() > 0.0);

    // The number the customer gave against the number read: the same passes, another refers.
    let with_number = |number: &str| {
        verify_json(
            &doc,
            &face,
            &["--id-type", "passport", "--id-number", number],
        )
    };
    let same = with_number("ci 0482913");
    assert_eq!(same["decision"], "refer");
    assert_eq!(
        same["reasons"].as_array().unwrap().len(),
        1,
        "{}",
        same["reasons"]
    );
    assert_eq!(same["document"]["idNumberMatch"]["mismatch"], false);
    let other = with_number("CI0482918");
    assert_eq!(other["decision"], "refer");
    assert_eq!(other["document"]["idNumberMatch"]["mismatch"], true);
    assert_eq!(
        other["document"]["idNumberMatch"]["differences"][0]["position"],
        8
    );
    assert!(reason_codes(&other).contains(&"id_number_mismatch".to_string()));

    // The same holder and page, but the passport expired: rejected, saying why.
    let expired = passport::expired_passport_file("obama.jpg", (2021, 3, 13), &tmp("docs"));
    let v = verify_json(&expired, &face, &[]);
    assert_eq!(v["decision"], "reject", "{}", v["reasons"]);
    assert_eq!(v["faceMatch"]["isMatch"], true);
    assert_eq!(
        v["document"]["reading"]["fields"]["expirationDate"]["value"],
        "2021-03-13"
    );
    assert!(
        reason_codes(&v).contains(&"expired".to_string()),
        "{}",
        v["reasons"]
    );

    // A photo with no document in it: every block present, the missing document stated, referred.
    let v = verify_json(&data("obama.jpg"), &face, &[]);
    assert_eq!(v["decision"], "refer");
    assert_eq!(v["document"]["reading"]["found"], false);
    assert_eq!(v["faceMatch"]["isMatch"], true);
    assert!(
        reason_codes(&v).contains(&"no_document".to_string()),
        "{}",
        v["reasons"]
    );
    for key in [
        "document",
        "faceDetection",
        "faceMatch",
        "quality",
        "overallConfidence",
        "timingsMs",
    ] {
        assert!(!v[key].is_null(), "{key}");
    }
    assert_eq!(v["faceDetection"]["faceDetected"], true);
    assert!(
        v["quality"]["idFaceSharpness"].is_number()
            && v["quality"]["selfieFaceBrightness"].is_number()
    );

    // A selfie with no face: blocks still present, failure stated in-band.
    let blank = tmp("blank.png");
    image::RgbImage::from_pixel(320, 240, image::Rgb([200, 200, 200]))
        .save(&blank)
        .unwrap();
    let out = kiosk(
        &[
            "verify",
            "--document",
            s(&doc),
            "--selfie",
            s(&blank),
            "--json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["verified"], false);
    assert_eq!(v["faceDetection"]["faceDetected"], false);
    assert_eq!(v["faceDetection"]["reasonCode"], "no_face");
    assert_eq!(v["faceMatch"]["computed"], false);
    assert_eq!(v["faceMatch"]["isMatch"], false);
    assert!(v["document"]["portrait"]["faceDetected"] == true);
    assert!(
        v["quality"]["selfieFaceSharpness"].is_null()
            && v["quality"]["idFaceSharpness"].is_number()
    );
    assert_eq!(v["decision"], "refer");
}

#[test]
fn weights_come_from_the_config_file() {
    let cfg = tmp("weights.toml");
    std::fs::write(
        &cfg,
        "[weights]\ndocument = 0.0\nselfieDetection = 0.0\nfaceMatch = 1.0\n",
    )
    .unwrap();
    let doc = data("obama.jpg");
    let face = data("obama3.jpg");
    let out = kiosk(
        &[
            "--config",
            s(&cfg),
            "verify",
            "--document",
            s(&doc),
            "--selfie",
            s(&face),
            "--json",
        ],
        &[],
    );
    let v = json(&out);
    let overall = v["overallConfidence"].as_f64().unwrap();
    let m = v["faceMatch"]["confidence"].as_f64().unwrap();
    assert!((overall - m).abs() < 0.02, "{overall} vs {m}");
    std::fs::write(&cfg, "[weights]\ndocument = 0.9\n").unwrap();
    let out = kiosk(
        &["--config", s(&cfg), "match", s(&doc), s(&face), "--json"],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "invalid config is a set-up error"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("add up to 1"));
}

/// Run `match` with one bad file and check the error contract.
fn assert_bad_input(path: &Path, code: &str) {
    let good = data("obama.jpg");
    let out = kiosk(&["match", s(path), s(&good), "--json"], &[]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{code}: exit code; stderr {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{code}: one line on stderr: {stderr}"
    );
    assert!(
        stderr.contains(path.file_name().unwrap().to_str().unwrap()),
        "{code}: names the file: {stderr}"
    );
    let v = json(&out);
    assert_eq!(v["error"]["code"], code, "{v}");
    // Without --json: the same exit code, nothing on stdout.
    let out = kiosk(&["match", s(path), s(&good)], &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_inputs_get_specific_errors() {
    assert_bad_input(&tmp("does-not-exist.jpg"), "file_not_found");

    let text = tmp("notes.jpg");
    std::fs::write(&text, "this is a text file with a .jpg name").unwrap();
    assert_bad_input(&text, "not_an_image");

    let real = std::fs::read(data("obama.jpg")).unwrap();
    let cut = tmp("cut.jpg");
    std::fs::write(&cut, &real[..real.len() / 2]).unwrap();
    assert_bad_input(&cut, "truncated_image");

    let png = std::fs::read(data("32bit.png")).unwrap();
    let cut_png = tmp("cut.png");
    std::fs::write(&cut_png, &png[..png.len() * 3 / 4]).unwrap();
    assert_bad_input(&cut_png, "truncated_image");

    let gif = tmp("anim.gif");
    std::fs::write(&gif, b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;").unwrap();
    assert_bad_input(&gif, "unsupported_format");

    // WebP is read now; a WebP holding only its headers is a cut-off file.
    let webp = tmp("photo.webp");
    std::fs::write(&webp, b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00").unwrap();
    assert_bad_input(&webp, "truncated_image");

    // Over 15 MB: a real JPEG padded with trailing bytes.
    let big = tmp("huge.jpg");
    let mut bytes = real.clone();
    bytes.resize(15 * 1024 * 1024 + 1, 0);
    std::fs::write(&big, &bytes).unwrap();
    assert_bad_input(&big, "image_too_large");

    // A decompression bomb: a valid PNG header declaring 60000×60000 pixels.
    let bomb = tmp("bomb.png");
    std::fs::write(&bomb, bomb_png(60_000, 60_000)).unwrap();
    assert_bad_input(&bomb, "too_many_pixels");
}

/// A tiny PNG whose header declares `w`×`h` (the pixel data is a few bytes of zlib).
fn bomb_png(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], body: &[u8]) {
        out.extend((body.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend(body);
        out.extend(&crc_input);
        out.extend(crc32(&crc_input).to_be_bytes());
    }
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn missing_or_altered_models_are_refused_by_name() {
    let real = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models");
    let a = data("obama.jpg");

    let empty = tmp("no-models");
    std::fs::create_dir_all(&empty).unwrap();
    let out = kiosk(
        &["match", s(&a), s(&a), "--json"],
        &[("KYC_KIOSK_MODELS", &empty)],
    );
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("libonnxruntime.so.1.31.1") && stderr.contains("packaging/fetch.py models"),
        "{stderr}"
    );
    assert_eq!(json(&out)["error"]["code"], "runtime_unavailable");

    // The runtime is fine but the detector was altered.
    let altered = tmp("altered-models");
    std::fs::create_dir_all(altered.join("lib")).unwrap();
    let lib = "lib/libonnxruntime.so.1.31.1";
    if !altered.join(lib).exists() {
        std::os::unix::fs::symlink(real.join(lib), altered.join(lib)).unwrap();
    }
    let mut yunet = std::fs::read(real.join("face_detection_yunet_2023mar_dyn.onnx")).unwrap();
    let n = yunet.len();
    yunet[n - 10] ^= 0xFF;
    std::fs::write(altered.join("face_detection_yunet_2023mar_dyn.onnx"), yunet).unwrap();
    let out = kiosk(
        &["match", s(&a), s(&a), "--json"],
        &[("KYC_KIOSK_MODELS", &altered)],
    );
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("face_detection_yunet_2023mar_dyn.onnx") && stderr.contains("altered"),
        "{stderr}"
    );
    assert_eq!(json(&out)["error"]["code"], "model_unavailable");
}

#[test]
fn usage_errors_exit_2() {
    let out = kiosk(&["match", "only-one-arg"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn verify_record_keeps_a_chained_record_and_flags_a_duplicate_face() {
    let dir = tmp("record");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("audit.sqlite3");
    let doc = passport::passport_file("obama.jpg", 0, &dir);
    let admin = kiosk(
        &[
            "audit",
            "create-admin",
            "--db",
            s(&db),
            "--username",
            "root",
        ],
        &[("KYC_KIOSK_ADMIN_PASSWORD", Path::new("root-password-1"))],
    );
    assert_eq!(
        admin.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&admin.stderr)
    );
    // No credentials: refused before any work, nothing recorded.
    let anonymous = kiosk(
        &[
            "verify",
            "--document",
            s(&doc),
            "--selfie",
            s(&data("obama3.jpg")),
            "--json",
            "--record",
            "--db",
            s(&db),
        ],
        &[],
    );
    assert_eq!(anonymous.status.code(), Some(8));
    assert!(String::from_utf8_lossy(&anonymous.stderr).contains("credentials required"));
    let count = || -> i64 {
        kyc_core::audit::AuditStore::raw_connection(&kyc_core::audit::AuditConfig::at(&db))
            .unwrap()
            .query_row("SELECT count(*) FROM verifications", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(), 0);
    let run = |selfie: &str, id: &str| {
        let selfie = data(selfie);
        let out = kiosk(
            &[
                "verify",
                "--document",
                s(&doc),
                "--selfie",
                s(&selfie),
                "--json",
                "--record",
                "--db",
                s(&db),
                "--operator",
                "root",
                "--id-type",
                "passport",
                "--id-number",
                id,
            ],
            &[("KYC_KIOSK_PASSWORD", Path::new("root-password-1"))],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json(&out)
    };
    let first = run("obama3.jpg", "CI0482913");
    // A still selfie: referred (never approved), with nothing else against it.
    assert_eq!(first["decision"], "refer");
    assert_eq!(first["reasons"][0]["code"], "still_selfie");
    assert!(first["record"]["id"].as_i64().unwrap() >= 1);
    assert_eq!(
        first["record"]["duplicates"]["sameFaceDifferentId"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // The same man again under another passport number: flagged and referred.
    let second = run("obama2.jpg", "P7654321");
    assert_eq!(second["decision"], "refer");
    assert_eq!(second["verified"], false);
    assert!(
        second["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "duplicate_face")
    );
    assert_eq!(
        second["record"]["duplicates"]["sameFaceDifferentId"][0],
        first["record"]["id"]
    );

    let ok = kiosk(&["audit", "verify", "--db", s(&db)], &[]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    // The recorded operator is the user who logged in.
    let operators: Vec<String> =
        kyc_core::audit::AuditStore::raw_connection(&kyc_core::audit::AuditConfig::at(&db))
            .unwrap()
            .prepare("SELECT operator FROM verifications ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    assert_eq!(operators, ["root", "root"]);

    // Export: without credentials it fails and prints no record; a wrong password too.
    let export = |env: &[(&str, &Path)], extra: &[&str]| {
        let mut args = vec!["audit", "export", "--db", s(&db), "--format", "jsonl"];
        args.extend_from_slice(extra);
        kiosk(&args, env)
    };
    let none = export(&[], &[]);
    assert_eq!(none.status.code(), Some(8));
    assert!(
        none.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&none.stdout)
    );
    assert!(String::from_utf8_lossy(&none.stderr).contains("credentials required"));
    let wrong = export(
        &[("KYC_KIOSK_PASSWORD", Path::new("not-the-password"))],
        &["--operator", "root"],
    );
    assert_eq!(wrong.status.code(), Some(8));
    assert!(wrong.stdout.is_empty());
    let good = export(
        &[("KYC_KIOSK_PASSWORD", Path::new("root-password-1"))],
        &["--operator", "root"],
    );
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&good.stdout).lines().count(), 2);

    // Edit a stored decision behind the store's back: the chain check names the record.
    let conn = kyc_core::audit::AuditStore::raw_connection(&kyc_core::audit::AuditConfig::at(&db))
        .unwrap();
    conn.execute(
        "UPDATE verifications SET current_decision = 'approve' WHERE id = ?1",
        [second["record"]["id"].as_i64().unwrap()],
    )
    .unwrap();
    drop(conn);
    let broken = kiosk(&["audit", "verify", "--db", s(&db)], &[]);
    assert_eq!(broken.status.code(), Some(7));

    // An earlier copy of the file put back: broken too (exit 7, not 0, not 2).
    let dir2 = tmp("record-rollback");
    let _ = std::fs::remove_dir_all(&dir2);
    std::fs::create_dir_all(&dir2).unwrap();
    let db2 = dir2.join("audit.sqlite3");
    let admin = || {
        kiosk(
            &[
                "audit",
                "create-admin",
                "--db",
                s(&db2),
                "--username",
                "root",
            ],
            &[("KYC_KIOSK_ADMIN_PASSWORD", Path::new("root-password-1"))],
        )
    };
    assert_eq!(admin().status.code(), Some(0));
    std::fs::copy(&db2, dir2.join("copy")).unwrap();
    // A second create-admin is refused, whatever the users table says.
    assert_eq!(admin().status.code(), Some(6));
    let stats = kiosk(
        &["audit", "stats", "--db", s(&db2), "--operator", "root"],
        &[("KYC_KIOSK_PASSWORD", Path::new("root-password-1"))],
    );
    assert_eq!(
        stats.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&stats.stderr)
    );
    assert_eq!(
        kiosk(&["audit", "verify", "--db", s(&db2)], &[])
            .status
            .code(),
        Some(0)
    );
    std::fs::copy(dir2.join("copy"), &db2).unwrap();
    let rolled = kiosk(&["audit", "verify", "--db", s(&db2)], &[]);
    assert_eq!(rolled.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&rolled.stdout).contains("anchor_ahead"));
}

#[test]
fn minimum_match_level_raises_the_configured_minimum_and_never_lowers_it() {
    let (a, b) = (data("obama.jpg"), data("obama3.jpg"));
    let plain = json(&kiosk(&["match", s(&a), s(&b), "--json"], &[]));
    let level = plain["matchLevel"].as_u64().unwrap();
    let configured = plain["minimumMatchLevel"].as_u64().unwrap();
    assert_eq!(plain["isMatch"], true);
    // Asking for a lower minimum than the configured one is refused (flags only tighten).
    let low = kiosk(
        &[
            "match",
            s(&a),
            s(&b),
            "--minimum-match-level",
            "1",
            "--json",
        ],
        &[],
    );
    assert_eq!(low.status.code(), Some(2));
    assert_eq!(json(&low)["error"]["code"], "flag_loosens_policy");
    // The pair's own level is still a match; one above it is not.
    let at = level.to_string();
    let same = json(&kiosk(
        &[
            "match",
            s(&a),
            s(&b),
            "--minimum-match-level",
            &at,
            "--json",
        ],
        &[],
    ));
    assert_eq!(same["isMatch"], true);
    assert_eq!(
        same["minimumMatchLevel"].as_u64().unwrap(),
        level.max(configured)
    );
    if level < 5 {
        let above = (level + 1).to_string();
        let out = kiosk(
            &[
                "match",
                s(&a),
                s(&b),
                "--minimum-match-level",
                &above,
                "--json",
            ],
            &[],
        );
        assert_eq!(json(&out)["isMatch"], false);
    }
    let out = kiosk(
        &[
            "match",
            s(&a),
            s(&b),
            "--minimum-match-level",
            "6",
            "--json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
}
