//! The log a real verification leaves: written to the configured folder, stage by stage, and
//! free of the customer's personal data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::data;
use crate::passport;

use std::process::Command;

/// A recorded verification of a synthetic passport (holder KOUASSI Adjoa Élodie, number
/// CI0482913, born 1988-03-14) with the log at its most verbose for our code: the log file
/// names the stages, the models and the audit write, and nothing of the holder.
#[test]
fn a_verification_log_names_stages_and_no_personal_data() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    let config = tmp.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[logging]\nlevel = \"trace,ort=info\"\nstderr = \"info\"\nkeepFiles = 2\ndir = {:?}\n",
            logs.display().to_string()
        ),
    )
    .unwrap();
    let doc = passport::passport_file("obama.jpg", 0, tmp.path());
    let selfie = data("obama3.jpg");
    let db = tmp.path().join("audit.sqlite3");
    let admin = Command::new(env!("CARGO_BIN_EXE_kyc-kiosk"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "audit",
            "create-admin",
        ])
        .args(["--db", db.to_str().unwrap(), "--username", "admin"])
        .env("KYC_KIOSK_ADMIN_PASSWORD", "admin-passphrase-1")
        .output()
        .unwrap();
    assert_eq!(
        admin.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&admin.stderr)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kyc-kiosk"))
        .args(["--config", config.to_str().unwrap(), "verify", "--json"])
        .args(["--document", doc.to_str().unwrap()])
        .args(["--selfie", selfie.to_str().unwrap()])
        .args(["--id-type", "passport", "--id-number", "CI0482913"])
        .args([
            "--record",
            "--db",
            db.to_str().unwrap(),
            "--operator",
            "admin",
        ])
        .env("KYC_KIOSK_PASSWORD", "admin-passphrase-1")
        .env_remove("KYC_KIOSK_LOG")
        .env_remove("RUST_LOG")
        .env_remove("KYC_KIOSK_CONFIG")
        .env_remove("KYC_KIOSK_MODELS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The verification did read the holder's data: it is in the result, not in the log.
    assert_eq!(
        v["document"]["reading"]["fields"]["lastName"]["value"],
        "KOUASSI"
    );
    assert_eq!(
        v["document"]["reading"]["fields"]["documentNumber"]["value"],
        "CI0482913"
    );

    let files: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("kyc-kiosk.") && name.ends_with(".log"),
        "{name}"
    );
    let log = std::fs::read_to_string(&files[0]).unwrap();
    for expected in [
        "logging started",
        "ONNX Runtime loaded",
        "model loaded",
        "model=\"face_detector\"",
        "model=\"ocr_recognizer_tiny\"",
        "ort::logging",
        "pipeline loaded",
        "stage=\"decode\"",
        "stage=\"match\"",
        "stage=\"total\"",
        "verification done",
        "decision=Refer",
        "document.read=",
        "audit: verification recorded",
    ] {
        assert!(log.contains(expected), "the log lacks {expected:?}:\n{log}");
    }
    for (what, text) in [("log file", log.as_str()), ("stderr", stderr.as_str())] {
        let upper = text.to_uppercase();
        for personal in [
            "KOUASSI",
            "ADJOA",
            "ÉLODIE",
            "ELODIE",
            "CI0482913",
            "0482913",
            "1988-03-14",
            "880314",
            // Input paths can carry a customer's name: none is logged.
            "OBAMA",
            "PASSPORT-0",
        ] {
            assert!(
                !upper.contains(personal),
                "{what} holds {personal:?}:\n{text}"
            );
        }
    }
}
