//! `kyc-kiosk doctor` run as a process on a fresh, private state: the JSON shape, the camera
//! warning, verified models, a sound and a tampered store, and a corrupted model's error exit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kyc_core::audit::{AuditConfig, AuditStore};
use serde_json::Value;

/// `doctor` with `args`, its home, data and config folders inside `state` (nothing of the
/// user running the tests is seen), plus `env`.
fn doctor(state: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kyc-kiosk"));
    cmd.arg("doctor")
        .args(args)
        .env_remove("KYC_KIOSK_MODELS")
        .env_remove("KYC_KIOSK_CONFIG")
        .env("HOME", state)
        .env("XDG_DATA_HOME", state.join("data"))
        .env("XDG_CONFIG_HOME", state.join("config"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no `{id}` check in {report}"))
}

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// Whether this machine has a video device (developers' may; CI and this machine have none).
fn has_camera() -> bool {
    std::fs::read_dir("/dev").is_ok_and(|d| {
        d.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("video"))
    })
}

#[test]
fn doctor_on_a_fresh_state_warns_of_camera_and_store_and_verifies_the_models() {
    let state = tempfile::tempdir().unwrap();
    let out = doctor(state.path(), &["--json"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&out);
    let ids: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["config", "models", "store", "clock", "disk", "camera"]
    );
    for c in r["checks"].as_array().unwrap() {
        assert!(
            ["ok", "warning", "error"].contains(&c["status"].as_str().unwrap()),
            "{c}"
        );
        assert!(!c["summary"].as_str().unwrap().is_empty(), "{c}");
        assert!(c["details"].is_object(), "{c}");
    }
    assert_eq!(r["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(r["buildDate"].as_str().unwrap().len(), 10);

    let models = check(&r, "models");
    assert_eq!(models["status"], "ok", "{models}");
    let listed = models["details"]["models"].as_array().unwrap();
    let manifest = kyc_core::models::Manifest::embedded().unwrap();
    assert_eq!(listed.len(), manifest.model.len());
    assert!(
        listed
            .iter()
            .all(|m| m["ok"] == true && m["session"] == true)
    );
    assert_eq!(models["details"]["sessions"], manifest.model.len());
    assert_eq!(models["details"]["runtime"]["ok"], true);

    let store = check(&r, "store");
    assert_eq!(store["status"], "warning", "{store}");
    assert_eq!(store["details"]["exists"], false);
    assert_eq!(
        store["details"]["db"],
        state
            .path()
            .join("data/kyc-kiosk/audit.sqlite3")
            .to_str()
            .unwrap()
    );
    assert!(
        !state.path().join("data/kyc-kiosk/audit.sqlite3").exists(),
        "doctor must not create the store"
    );

    let config = check(&r, "config");
    assert_eq!(config["status"], "ok");
    assert_eq!(config["details"]["path"], Value::Null);
    assert_eq!(config["details"]["values"]["threads"], 2);
    assert_eq!(config["details"]["values"]["decision"]["approveAt"], 70.0);

    assert_eq!(check(&r, "clock")["status"], "ok");
    assert!(check(&r, "disk")["details"]["freeBytes"].as_u64().unwrap() > 0);

    let camera = check(&r, "camera");
    if has_camera() {
        assert!(!camera["details"]["cameras"].as_array().unwrap().is_empty());
    } else {
        assert_eq!(camera["status"], "warning", "{camera}");
        assert!(camera["summary"].as_str().unwrap().contains("no camera"));
        assert_eq!(r["status"], "warning");
    }

    // The plain report says the same in words and exits the same way.
    let plain = doctor(state.path(), &[], &[]);
    assert_eq!(plain.status.code(), Some(0));
    let text = String::from_utf8_lossy(&plain.stdout);
    assert!(text.contains("WARNING  store"), "{text}");
    assert!(text.contains("OK       models"), "{text}");
    assert!(text.contains("  threads = 2"), "{text}");
}

#[test]
fn doctor_exits_with_an_error_on_a_corrupted_model() {
    let state = tempfile::tempdir().unwrap();
    let models = state.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    let victim = "fr_liveness.onnx";
    for entry in std::fs::read_dir(models_dir()).unwrap().flatten() {
        let name = entry.file_name();
        if name == victim {
            let mut bytes = std::fs::read(entry.path()).unwrap();
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0x55;
            std::fs::write(models.join(&name), bytes).unwrap();
        } else {
            std::os::unix::fs::symlink(entry.path(), models.join(&name)).unwrap();
        }
    }
    let out = doctor(state.path(), &["--json"], &[("KYC_KIOSK_MODELS", &models)]);
    assert_eq!(
        out.status.code(),
        Some(kyc_core::error::exit::SETUP),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let r = report(&out);
    assert_eq!(r["status"], "error");
    let check = check(&r, "models");
    assert_eq!(check["status"], "error");
    let summary = check["summary"].as_str().unwrap();
    assert!(
        summary.contains(victim) && summary.contains("altered"),
        "{summary}"
    );
    let bad: Vec<&Value> = check["details"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["ok"] == false)
        .collect();
    assert_eq!(bad.len(), 1, "{check}");
    assert_eq!(bad[0]["file"], victim);
    assert_eq!(check["details"]["runtime"]["ok"], true);
}

#[test]
fn doctor_checks_an_existing_store_chain_and_names_the_config_file() {
    let state = tempfile::tempdir().unwrap();
    let db = state.path().join("store/audit.sqlite3");
    let cfg = AuditConfig::at(&db).with_fast_hashing();
    let mut store = AuditStore::open(cfg).unwrap();
    store.create_first_admin("admin", "admin-pass-1").unwrap();
    drop(store);
    let config = state.path().join("kiosk.toml");
    std::fs::write(&config, "threads = 1\n").unwrap();
    let db_arg = db.to_str().unwrap();
    let config_arg = config.to_str().unwrap();

    let out = doctor(
        state.path(),
        &["--json", "--db", db_arg, "--config", config_arg],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let r = report(&out);
    let s = check(&r, "store");
    assert_eq!(s["status"], "ok", "{s}");
    assert_eq!(s["details"]["records"], 0);
    assert!(s["details"]["events"].as_u64().unwrap() >= 1);
    assert_eq!(s["details"]["integrity"], serde_json::json!(["ok"]));
    let c = check(&r, "config");
    assert_eq!(c["details"]["path"], config_arg);
    assert_eq!(c["details"]["values"]["threads"], 1);
    assert_eq!(
        check(&r, "disk")["details"]["dir"],
        db.parent().unwrap().to_str().unwrap()
    );

    // An edited chained event is an error, named by the chain check.
    let conn = kyc_core::audit::AuditStore::raw_connection(&kyc_core::audit::AuditConfig::at(&db))
        .unwrap();
    conn.execute("UPDATE events SET actor = 'intruder' WHERE seq = 1", [])
        .unwrap();
    drop(conn);
    let out = doctor(state.path(), &["--json", "--db", db_arg], &[]);
    assert_eq!(out.status.code(), Some(kyc_core::error::exit::SETUP));
    let s = check(&report(&out), "store").clone();
    assert_eq!(s["status"], "error");
    assert_eq!(s["details"]["problems"][0]["problem"], "event_edited");

    // A configuration that does not parse is the doctor's finding, not a crash.
    std::fs::write(&config, "threads = 0\n").unwrap();
    let out = doctor(state.path(), &["--json", "--config", config_arg], &[]);
    assert_eq!(out.status.code(), Some(kyc_core::error::exit::SETUP));
    let c = check(&report(&out), "config").clone();
    assert_eq!(c["status"], "error");
    assert!(c["summary"].as_str().unwrap().contains("threads"), "{c}");
}
