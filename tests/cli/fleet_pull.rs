//! The fleet cycle every front end runs (`kyc_core::fleet::sync_and_pull`: push, pull central
//! decisions and the fleet policy, push again) against a real central service over a real
//! PostgreSQL cluster: the background thread's cycle applies a central decision and a policy,
//! a running service puts the policy in force without a restart, offline keeps the last one,
//! and the simulation's headless kiosk (`fleet_kiosk`) pulls both too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use kyc_central::testpg::TestCluster;
use kyc_central::{Central, CentralRole, CentralUser};
use kyc_core::Config;
use kyc_core::audit::{AuditConfig, AuditStore, Role};
use kyc_core::fleet::client::BackgroundSync;
use kyc_core::fleet::{CentralSecret, FleetConfig, FleetError, SyncOptions, sync_and_pull};
use kyc_core::service::VerificationService;
use kyc_core::settings::SettingsInForce;
use kyc_kiosk::gui::fleet_panel::FleetStatus;
use kyc_kiosk::gui::strings::Lang;

use crate::common::data;
use crate::fleet_common::{kiosk_bin, ok};

const AGENT_PASSWORD: &str = "agent-pass-1";
const ADMIN: (&str, &str) = ("root-admin", "central-admin-pass-7");
const SUE: (&str, &str) = ("sue", "supervisor-pass-9");

struct CentralRun {
    rt: tokio::runtime::Runtime,
    central: Central,
    url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl CentralRun {
    fn start(db: &str) -> Self {
        let cluster = TestCluster::shared().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let conn = rt.block_on(cluster.create_database(db)).unwrap();
        let central = rt
            .block_on(Central::open(&conn, CentralSecret::generate()))
            .unwrap()
            .with_fast_hashing();
        rt.block_on(central.create_first_admin(ADMIN.0, ADMIN.1))
            .unwrap();
        let admin = rt.block_on(central.sign_in(ADMIN.0, ADMIN.1)).unwrap();
        rt.block_on(central.create_user(&admin, SUE.0, CentralRole::Supervisor, SUE.1))
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let c = Arc::new(central.clone());
        rt.spawn(async move {
            kyc_central::serve(c, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        CentralRun {
            rt,
            central,
            url,
            _stop: tx,
        }
    }

    fn user(&self, (name, password): (&str, &str)) -> CentralUser {
        self.rt
            .block_on(self.central.sign_in(name, password))
            .unwrap()
    }

    fn enroll_kiosk(&self, db: &Path, kiosk: &str) {
        let token = self
            .rt
            .block_on(self.central.create_enrol_token(&self.user(ADMIN), kiosk))
            .unwrap();
        ok(kiosk_bin()
            .args(["fleet", "enroll", "--db"])
            .arg(db)
            .args(["--server", &self.url, "--kiosk-id", kiosk])
            .env("KYC_FLEET_TOKEN", &token)
            .output()
            .unwrap());
    }

    /// Sue decides `kiosk`'s record `id` centrally.
    fn decide(&self, kiosk: &str, id: i64, decision: &str) {
        self.rt
            .block_on(self.central.decide(
                &self.user(SUE),
                kiosk,
                id,
                decision,
                "decided at the back office",
            ))
            .unwrap();
    }

    /// The administrator sets a stricter fleet policy (version 1 on a fresh centre).
    fn set_strict_policy(&self) {
        let strict = serde_json::json!({
            "decision": { "approveAt": 99.5 },
            "matching": { "minimumLevel": 4 }
        });
        let v = self
            .rt
            .block_on(self.central.set_policy(&self.user(ADMIN), &strict, None))
            .unwrap();
        assert_eq!(v.version, 1);
    }
}

/// A kiosk store in `dir` with an administrator and the agent `ama`, and one case recorded by
/// `verify --record` (a still selfie: referred, pending).
fn kiosk_with_a_case(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let db = dir.join("audit.sqlite3");
    let mut store = AuditStore::open(AuditConfig::at(&db).with_fast_hashing()).unwrap();
    store.create_first_admin("admin", "admin-pass-1").unwrap();
    let admin = store.login("admin", "admin-pass-1").unwrap();
    store
        .create_user(&admin, "ama", AGENT_PASSWORD, Role::Agent)
        .unwrap();
    store.logout(admin).unwrap();
    drop(store);
    let out = ok(kiosk_bin()
        .args(["verify", "--document"])
        .arg(data("obama.jpg"))
        .arg("--selfie")
        .arg(data("obama2.jpg"))
        .args(["--json", "--record", "--db"])
        .arg(&db)
        .args(["--operator", "ama", "--settings"])
        .arg(db.with_file_name("kiosk-settings.toml"))
        .env("KYC_KIOSK_PASSWORD", AGENT_PASSWORD)
        .output()
        .unwrap());
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["decision"], "refer", "{v}");
    assert_eq!(local_state(&db, 1), ("refer".into(), "pending".into()));
    db
}

fn local_state(db: &Path, id: i64) -> (String, String) {
    let conn = AuditStore::raw_connection(&AuditConfig::at(db)).unwrap();
    conn.query_row(
        "SELECT current_decision, review_status FROM verifications WHERE id = ?1",
        [id],
        |r| Ok((r.get(0).unwrap(), r.get(1).unwrap())),
    )
    .unwrap()
}

fn local_events(db: &Path, kind: &str) -> Vec<(String, Option<i64>, String)> {
    let conn = AuditStore::raw_connection(&AuditConfig::at(db)).unwrap();
    let mut st = conn
        .prepare("SELECT actor, verification_id, payload FROM events WHERE kind = ?1 ORDER BY seq")
        .unwrap();
    st.query_map([kind], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn audit_verify_ok(db: &Path) {
    ok(kiosk_bin()
        .args(["audit", "verify", "--db"])
        .arg(db)
        .output()
        .unwrap());
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
    let central = CentralRun::start("pull_cycle");
    let db = kiosk_with_a_case(&dir.path().join("kP"));
    central.enroll_kiosk(&db, "kP");
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
    central.decide("kP", 1, "reject");
    central.set_strict_policy();

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
    let central = CentralRun::start("pull_headless");
    let db = kiosk_with_a_case(&dir.path().join("kH"));
    central.enroll_kiosk(&db, "kH");
    // `kyc-kiosk sync` pushes the case.
    let report: serde_json::Value = serde_json::from_str(
        ok(kiosk_bin()
            .args(["sync", "--db"])
            .arg(&db)
            .output()
            .unwrap())
        .trim(),
    )
    .unwrap();
    assert_eq!(report["records"], 1, "{report}");
    assert_eq!(report["inbox"]["applied"], 0, "{report}");
    central.decide("kH", 1, "approve");
    central.set_strict_policy();

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
