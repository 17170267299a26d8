//! The fleet cycle every front end runs (`kyc_core::fleet::sync_and_pull`: push, pull central
//! decisions and the fleet policy, push again) against a real central service over a real
//! PostgreSQL cluster: the background thread's cycle applies a central decision and a policy,
//! a running service puts the policy in force without a restart, offline keeps the last one,
//! and the simulation's headless kiosk (`fleet_kiosk`) pulls both too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kyc_core::Config;
use kyc_core::audit::AuditConfig;
use kyc_core::fleet::client::BackgroundSync;
use kyc_core::fleet::{FleetConfig, FleetError, SyncOptions, sync_and_pull};
use kyc_core::service::VerificationService;
use kyc_core::settings::SettingsInForce;
use kyc_kiosk::gui::fleet_panel::FleetStatus;
use kyc_kiosk::gui::strings::Lang;

use crate::common::data;
use crate::fleet_common::{
    AGENT_PASSWORD, CentralRun, SUE, audit_verify_ok, local_events, local_state, new_kiosk, ok,
    sync, verify_record,
};

/// Sue decides `kiosk`'s record `id` centrally.
fn decide(central: &CentralRun, kiosk: &str, id: i64, decision: &str) {
    central
        .on(central.central.decide(
            &central.user(SUE),
            kiosk,
            id,
            decision,
            "decided at the back office",
        ))
        .unwrap();
}

/// The administrator sets a stricter fleet policy (version 1 on a fresh centre).
fn set_strict_policy(central: &CentralRun) {
    let strict = serde_json::json!({
        "decision": { "approveAt": 99.5 },
        "matching": { "minimumLevel": 4 }
    });
    let v = central
        .on(central.central.set_policy(&central.admin(), &strict, None))
        .unwrap();
    assert_eq!(v.version, 1);
}

/// A kiosk store in `dir` with an administrator and the agent `ama`, and one case recorded by
/// `verify --record` (a still selfie: referred, pending).
fn kiosk_with_a_case(dir: &Path) -> PathBuf {
    let db = new_kiosk(dir);
    let out = ok(verify_record(&db, "obama.jpg", "obama2.jpg", &[]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["decision"], "refer", "{v}");
    assert_eq!(local_state(&db, 1), ("refer".into(), "pending".into()));
    db
}

fn quick() -> SyncOptions {
    SyncOptions {
        timeout: Duration::from_secs(20),
        ..SyncOptions::default()
    }
}

#[test]
fn the_background_cycle_applies_a_central_decision_and_a_policy_the_running_kiosk_takes_in() {
    let dir = tempfile::tempdir().unwrap();
    let central = CentralRun::start("pull_cycle").with_supervisors(&[SUE]);
    let db = kiosk_with_a_case(&dir.path().join("kP"));
    central.enroll(&db, "kP");
    let audit = AuditConfig::at(&db);
    let fleet = FleetConfig::path_for(&db);

    // A first cycle pushes the case; nothing to pull yet.
    let first = sync_and_pull(&audit, &fleet, None, &quick()).unwrap();
    assert_eq!(first.sync.records, 1, "{first:?}");
    assert_eq!((first.inbox.applied, first.inbox.policy_version), (0, None));
    assert!(!first.pulled_anything());

    // The kiosk is running (its service open, as in the window) when the centre decides the
    // case and sets a stricter policy.
    let settings = SettingsInForce {
        config: Config::default(),
        file: None,
        path: None,
    };
    let mut svc = VerificationService::open(settings, audit.clone()).unwrap();
    assert_eq!(svc.fleet_policy_version(), None);
    assert_eq!(
        svc.config().decision.approve_at,
        Config::default().decision.approve_at
    );
    decide(&central, "kP", 1, "reject");
    set_strict_policy(&central);

    // The background thread's first cycle pulls both.
    let (tx, rx) = std::sync::mpsc::channel();
    let sync = BackgroundSync::spawn(
        audit.clone(),
        fleet.clone(),
        Duration::from_secs(3600),
        quick(),
        move |r| {
            let _ = tx.send(match r {
                Ok(rep) => Ok(rep.clone()),
                Err(e) => Err(e.to_string()),
            });
        },
    )
    .unwrap();
    // A bound against a hang only.
    let report = rx.recv_timeout(Duration::from_secs(300)).unwrap().unwrap();
    sync.stop();
    assert_eq!(report.inbox.applied, 1, "{report:?}");
    assert_eq!(report.inbox.policy_version, Some(1));
    assert!(report.inbox.policy_applied && report.pulled_anything());
    // Chained on the kiosk: the decision and the policy, and the trail verifies.
    assert_eq!(local_state(&db, 1), ("reject".into(), "closed".into()));
    let decisions = local_events(&db, "central_decision");
    assert_eq!(decisions.len(), 1);
    assert_eq!(
        (decisions[0].0.as_str(), decisions[0].1),
        ("central:sue", Some(1))
    );
    let policies = local_events(&db, "fleet_settings_applied");
    assert_eq!(policies.len(), 1);
    assert_eq!(policies[0].0, "central:root-admin");
    // The centre knows the decision arrived, and holds the kiosk's events (pushed after the
    // pull).
    let log = central.rt.block_on(central.central.decisions()).unwrap();
    assert_eq!(log[0].outcome.as_deref(), Some("applied"));
    assert_eq!(report.sync.ack_seq, report.sync.local_seq);

    // The running service takes the policy in without a restart, once.
    assert!(svc.refresh_fleet_policy().unwrap());
    assert_eq!(svc.fleet_policy_version(), Some(1));
    assert_eq!(svc.config().decision.approve_at, 99.5);
    assert_eq!(svc.config().matching.minimum_level, 4);
    assert!(!svc.refresh_fleet_policy().unwrap());
    let in_force = local_events(&db, "settings_in_force");
    let last = in_force.last().unwrap();
    assert_eq!(last.0, "system:fleet-policy");
    assert!(last.2.contains("99.5"), "{}", last.2);
    drop(svc);
    audit_verify_ok(&db);

    // A second cycle finds nothing new.
    let again = sync_and_pull(&audit, &fleet, None, &quick()).unwrap();
    assert_eq!((again.inbox.applied, again.inbox.repeated), (0, 0));
    assert!(!again.pulled_anything());
    assert_eq!(again.inbox.policy_version, Some(1));

    // Offline (the centre is gone): the cycle says unreachable, the window's status line says
    // offline since when, and the kiosk keeps the last policy.
    drop(central);
    let mut status = FleetStatus::default();
    status.observe(&Ok(again), 1_000);
    let offline = sync_and_pull(&audit, &fleet, None, &quick());
    assert!(
        matches!(offline, Err(FleetError::Unreachable(_))),
        "{offline:?}"
    );
    status.observe(&offline, 1_764_770_400_000);
    assert!(
        status
            .line(Lang::En)
            .starts_with("Fleet: offline since 2025-12-03 14:00 UTC · fleet policy version 1"),
        "{}",
        status.line(Lang::En)
    );
    let settings = SettingsInForce {
        config: Config::default(),
        file: None,
        path: None,
    };
    let reopened = VerificationService::open(settings, audit).unwrap();
    assert_eq!(reopened.fleet_policy_version(), Some(1));
    assert_eq!(reopened.config().decision.approve_at, 99.5);
}

#[test]
fn the_headless_kiosk_pulls_central_decisions_and_the_fleet_policy() {
    let dir = tempfile::tempdir().unwrap();
    let central = CentralRun::start("pull_headless").with_supervisors(&[SUE]);
    let db = kiosk_with_a_case(&dir.path().join("kH"));
    central.enroll(&db, "kH");
    // `kyc-kiosk sync` pushes the case.
    let report = sync(&db);
    assert_eq!(report["records"], 1, "{report}");
    assert_eq!(report["inbox"]["applied"], 0, "{report}");
    decide(&central, "kH", 1, "approve");
    set_strict_policy(&central);

    // The headless kiosk records one more case while its background cycle runs.
    let out = Command::new(env!("CARGO_BIN_EXE_fleet_kiosk"))
        .arg(&db)
        .args(["2", "1"])
        .arg(data("obama.jpg"))
        .arg(data("obama3.jpg"))
        .env_remove("KYC_KIOSK_MODELS")
        .env_remove("KYC_KIOSK_CONFIG")
        .env("KYC_KIOSK_OPERATOR", "ama")
        .env("KYC_KIOSK_PASSWORD", AGENT_PASSWORD)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("central decisions applied 1, fleet policy version 1"),
        "{stderr}"
    );
    assert_eq!(local_state(&db, 1), ("approve".into(), "closed".into()));
    assert_eq!(local_events(&db, "central_decision").len(), 1);
    assert_eq!(local_events(&db, "fleet_settings_applied").len(), 1);
    assert_eq!(local_state(&db, 2).1, "pending");
    audit_verify_ok(&db);
    let log = central.rt.block_on(central.central.decisions()).unwrap();
    assert_eq!(log[0].outcome.as_deref(), Some("applied"));
}
