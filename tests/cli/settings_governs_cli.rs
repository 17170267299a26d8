//! One decision path for the window and the command line: an administrator changes the decision
//! thresholds on the settings screen (the screen's form, its job, and the worker's service that
//! chains, applies and saves `kiosk-settings.toml`), and a following `kyc-kiosk verify --record`
//! against the same state folder decides with them — the recorded decision, its reasons and the
//! thresholds kept with the record all follow the change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::data;

use std::path::Path;
use std::process::Command;

use kyc_core::Config;
use kyc_core::audit::{AuditConfig, AuditStore, Role};
use kyc_core::service::VerificationService;
use kyc_core::settings::SettingsInForce;
use kyc_kiosk::gui::admin::{self, AdminEvent, SettingsNotice};
use kyc_kiosk::gui::messages::{Event, Job};
use kyc_kiosk::gui::settings_file::{FILE_NAME, KioskSettings};
use kyc_kiosk::gui::state::{AppState, User};
use kyc_kiosk::gui::strings::Lang;
use serde_json::Value;

const AGENT_PASSWORD: &str = "agent-pass-1";

/// `verify --record` of the fetched pair (obama.jpg as the document, obama2.jpg as the selfie)
/// as the agent `ama` into the state folder `dir`; the result JSON.
fn verify_record(dir: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_kyc-kiosk"))
        .args(["verify", "--document"])
        .arg(data("obama.jpg"))
        .arg("--selfie")
        .arg(data("obama2.jpg"))
        .args(["--json", "--record", "--db"])
        .arg(dir.join("audit.sqlite3"))
        .args(["--operator", "ama"])
        .env("KYC_KIOSK_PASSWORD", AGENT_PASSWORD)
        .env("KYC_KIOSK_SETTINGS", dir.join(FILE_NAME))
        .env_remove("KYC_KIOSK_MODELS")
        .env_remove("KYC_KIOSK_CONFIG")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (decision, thresholds kept with the record) of record `id`.
fn stored(db: &Path, id: i64) -> (String, Value) {
    let conn =
        kyc_core::audit::AuditStore::raw_connection(&kyc_core::audit::AuditConfig::at(db)).unwrap();
    let (decision, models): (String, String) = conn
        .query_row(
            "SELECT decision, models_json FROM verifications WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    (
        decision,
        serde_json::from_str::<Value>(&models).unwrap()["decision"].clone(),
    )
}

fn codes(v: &Value) -> Vec<String> {
    v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_threshold_set_on_the_settings_screen_governs_the_next_verify_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.sqlite3");
    let audit = AuditConfig::at(&db).with_fast_hashing();
    {
        let mut store = AuditStore::open(audit.clone()).unwrap();
        store.create_first_admin("admin", "admin-pass-1").unwrap();
        let admin = store.login("admin", "admin-pass-1").unwrap();
        store
            .create_user(&admin, "ama", AGENT_PASSWORD, Role::Agent)
            .unwrap();
        store.logout(admin).unwrap();
    }

    // Before any change: the built-in thresholds; the same person is not rejected.
    let before = verify_record(dir.path());
    // The pair is one person: a high match confidence (99.77 with the shipped models), below
    // the threshold the administrator sets next.
    let confidence = before["faceMatch"]["confidence"].as_f64().unwrap();
    assert!(confidence > 10.0 && confidence < 99.9, "{confidence}");
    assert_ne!(before["decision"], "reject", "{before}");
    assert!(!codes(&before).contains(&"face_mismatch".to_string()));
    let first = before["record"]["id"].as_i64().unwrap();
    let (decision, thresholds) = stored(&db, first);
    assert_eq!(decision, before["decision"].as_str().unwrap());
    assert_eq!(thresholds["rejectMatchBelow"], 10.0);
    assert_eq!(thresholds["approveAt"], 70.0);

    // The administrator raises the thresholds on the settings screen: the form's job, served by
    // the same function the window's worker runs, with its verification service.
    let mut st = AppState::new(Lang::En);
    st.user = Some(User {
        username: "admin".into(),
        role: Role::Admin,
    });
    let shown = KioskSettings::from_parts(&Config::default(), None, Lang::En, 120);
    st.admin.set_current(shown, Config::default());
    st.admin.settings_file = Some(dir.path().join(FILE_NAME));
    admin::open(&mut st);
    let form = st.admin.form.as_mut().unwrap();
    form.approve_at = "100".into();
    form.reject_match_below = "99.9".into();
    let Some(Job::Admin(job)) = admin::apply_form(&mut st) else {
        panic!("the form sent no job: {:?}", st.admin.errors);
    };
    let in_force = SettingsInForce::load(Config::default(), None).unwrap();
    let mut service = VerificationService::open(in_force, audit).unwrap();
    service.login("admin", "admin-pass-1").unwrap();
    let answer = kyc_kiosk::gui::worker::serve_admin(Some(&mut service), job);
    assert!(
        matches!(
            &answer,
            AdminEvent::SettingsApplied {
                notice: SettingsNotice::Saved(_),
                ..
            }
        ),
        "{answer:?}"
    );
    drop(service);
    st.apply(Event::Admin(answer));
    assert!((st.admin.config.decision.reject_match_below - 99.9).abs() < 1e-4);

    // The next `verify --record` decides with them: the same pair is now rejected as a
    // mismatch, and the record keeps the thresholds it was decided with.
    let after = verify_record(dir.path());
    assert_eq!(after["decision"], "reject", "{after}");
    assert!(
        codes(&after).contains(&"face_mismatch".to_string()),
        "{after}"
    );
    let second = after["record"]["id"].as_i64().unwrap();
    assert!(second > first);
    let (decision, thresholds) = stored(&db, second);
    assert_eq!(decision, "reject");
    assert!((thresholds["rejectMatchBelow"].as_f64().unwrap() - 99.9).abs() < 1e-4);
    assert_eq!(thresholds["approveAt"], 100.0);

    // Both runs chained the settings they decided with.
    let conn = kyc_core::audit::AuditStore::raw_connection(&kyc_core::audit::AuditConfig::at(&db))
        .unwrap();
    let mut q = conn
        .prepare("SELECT actor, payload FROM events WHERE kind = 'settings_in_force' ORDER BY seq")
        .unwrap();
    let in_force: Vec<(String, Value)> = q
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .map(|r| {
            let (a, p) = r.unwrap();
            (a, serde_json::from_str(&p).unwrap())
        })
        .collect();
    assert_eq!(in_force.len(), 2);
    assert_eq!(in_force[0].0, "system:cli-verify");
    assert_eq!(
        in_force[0].1["settings"]["decision"]["rejectMatchBelow"],
        10.0
    );
    let raised = in_force[1].1["settings"]["decision"]["rejectMatchBelow"]
        .as_f64()
        .unwrap();
    assert!((raised - 99.9).abs() < 1e-4, "{raised}");
    let changed: String = conn
        .query_row(
            "SELECT actor FROM events WHERE kind = 'settings_changed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(changed, "admin");
}
