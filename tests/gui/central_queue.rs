//! The window's central review mode (`kyc-kiosk supervisor --window`) driven headless with
//! egui_kittest against a real central service over a real PostgreSQL cluster: kiosk A records
//! a referred case (a real verification of fetched images) and syncs; at an enrolled
//! workstation a wrong password is refused, the agent who recorded the case cannot decide it
//! (four-eyes), another supervisor finds it in the fleet queue, opens its evidence and rejects
//! it with a reason; kiosk A's next sync chains the decision and its trail verifies; with the
//! central service stopped the window says it is unreachable. An unenrolled workstation shows
//! the enrol command.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use kyc_central::testpg::TestCluster;
use kyc_central::{Central, CentralRole, CentralUser};
use kyc_core::audit::{AuditConfig, AuditStore, Role as KioskRole};
use kyc_core::fleet::CentralSecret;
use kyc_core::fleet::supervisor::Refusal;
use kyc_kiosk::gui::central::{CentralApp, CentralOptions, Phase};
use kyc_kiosk::gui::central_view::EN as C;
use kyc_kiosk::gui::evidence_text::EN as EV;
use kyc_kiosk::gui::strings::Lang;

use crate::common::data;
use crate::fleet_common::{kiosk_bin, ok};

const AGENT_PASSWORD: &str = "agent-pass-1";
const ADMIN: (&str, &str) = ("root-admin", "central-admin-pass-7");
const SUE: (&str, &str) = ("sue", "supervisor-pass-9");
/// A central supervisor with the same name as the kiosk agent who records the case.
const AMA_CENTRAL: (&str, &str) = ("ama", "central-ama-pass-3");

struct CentralRun {
    rt: tokio::runtime::Runtime,
    central: Central,
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<()>>,
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
        for (u, p) in [SUE, AMA_CENTRAL] {
            rt.block_on(central.create_user(&admin, u, CentralRole::Supervisor, p))
                .unwrap();
        }
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let c = Arc::new(central.clone());
        let served = rt.spawn(async move {
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
            stop: Some(tx),
            served: Some(served),
        }
    }

    fn admin(&self) -> CentralUser {
        self.rt
            .block_on(self.central.sign_in(ADMIN.0, ADMIN.1))
            .unwrap()
    }

    /// Stop serving: the listener is closed once this returns.
    fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.served.take() {
            self.rt.block_on(h).unwrap();
        }
    }
}

/// A kiosk store with an administrator and the agent `ama`.
fn new_kiosk(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let db = dir.join("audit.sqlite3");
    let mut store = AuditStore::open(AuditConfig::at(&db).with_fast_hashing()).unwrap();
    store.create_first_admin("admin", "admin-pass-1").unwrap();
    let admin = store.login("admin", "admin-pass-1").unwrap();
    store
        .create_user(&admin, "ama", AGENT_PASSWORD, KioskRole::Agent)
        .unwrap();
    store.logout(admin).unwrap();
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

fn central_decision_events(db: &Path) -> Vec<(String, Option<i64>)> {
    let conn = AuditStore::raw_connection(&AuditConfig::at(db)).unwrap();
    let mut st = conn
        .prepare(
            "SELECT actor, verification_id FROM events WHERE kind = 'central_decision' ORDER BY seq",
        )
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

type H<'a> = Harness<'a, CentralApp>;

fn window(ws_file: &Path) -> H<'static> {
    let opts = CentralOptions {
        workstation_file: ws_file.to_path_buf(),
        server: None,
        username: None,
        lang: Lang::En,
        limits: kyc_core::Config::default().limits,
    };
    Harness::builder()
        .with_size([1600.0, 1400.0])
        .build_ui_state(
            |ui, app: &mut CentralApp| app.frame(ui),
            CentralApp::new(&opts),
        )
}

/// Run frames until the window's worker has answered (the bound only guards against a hang;
/// nothing is timed).
fn settle(h: &mut H<'_>, what: &str) {
    for _ in 0..6_000 {
        h.step();
        if h.state().state.working.is_none() {
            h.step();
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("gave up waiting for {what}");
}

fn click(h: &mut H<'_>, label: &str) {
    h.get_by_role_and_label(Role::Button, label).click();
    h.step();
    h.step();
}

fn type_into(h: &mut H<'_>, role: Role, label: &str, text: &str) {
    h.get_by_role_and_label(role, label).click();
    h.step();
    h.get_by_role_and_label(role, label).type_text(text);
    h.step();
}

fn has(h: &H<'_>, text: &str) {
    assert!(
        h.query_all_by_label_contains(text).next().is_some(),
        "{text:?} is not on the screen"
    );
}

fn sign_in(h: &mut H<'_>, user: (&str, &str)) {
    h.state_mut().state.username.clear();
    h.step();
    type_into(h, Role::TextInput, C.username, user.0);
    type_into(h, Role::PasswordInput, C.password, user.1);
    click(h, C.sign_in);
    settle(h, "the sign-in");
    // A successful sign-in loads the first page at once.
    settle(h, "the first page");
}

#[test]
fn the_window_decides_a_case_recorded_at_another_kiosk_and_the_decision_reaches_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut central = CentralRun::start("gui_central_queue");
    let db = new_kiosk(&dir.path().join("kA"));
    // Kiosk A records a real verification; a still selfie is referred.
    let out = kiosk_bin()
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
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&ok(out)).unwrap();
    assert_eq!(v["decision"], "refer", "{v}");
    let token = central
        .rt
        .block_on(central.central.create_enrol_token(&central.admin(), "kA"))
        .unwrap();
    ok(kiosk_bin()
        .args(["fleet", "enroll", "--db"])
        .arg(&db)
        .args(["--server", &central.url, "--kiosk-id", "kA"])
        .env("KYC_FLEET_TOKEN", &token)
        .output()
        .unwrap());
    ok(kiosk_bin()
        .args(["sync", "--db"])
        .arg(&db)
        .output()
        .unwrap());
    central
        .rt
        .block_on(
            central
                .central
                .set_branch(&central.admin(), "kA", "accra-central"),
        )
        .unwrap();

    // The workstation is enrolled as the command line does it; the window uses the same file.
    let ws_file = dir.path().join("ws").join("workstation");
    let ws_token = central
        .rt
        .block_on(
            central
                .central
                .create_workstation_token(&central.admin(), "ws1"),
        )
        .unwrap();
    ok(kiosk_bin()
        .args(["supervisor", "--server", &central.url, "--workstation-file"])
        .arg(&ws_file)
        .args(["enroll", "--workstation-id", "ws1"])
        .env("KYC_FLEET_TOKEN", &ws_token)
        .output()
        .unwrap());
    let mut h = window(&ws_file);
    assert_eq!(h.state().state.phase, Phase::SignIn);
    has(&h, "ws1");

    // A wrong password: refused in plain words, still on the sign-in screen, field emptied.
    type_into(&mut h, Role::TextInput, C.username, SUE.0);
    type_into(&mut h, Role::PasswordInput, C.password, "not-the-password");
    click(&mut h, C.sign_in);
    settle(&mut h, "the refused sign-in");
    assert_eq!(h.state().state.error, Some(Refusal::WrongPassword));
    assert_eq!(h.state().state.phase, Phase::SignIn);
    assert!(h.state().state.password.is_empty());
    has(&h, C.r_wrong_password);

    // The agent who recorded the case, as a central supervisor: four-eyes refusal, shown.
    sign_in(&mut h, AMA_CENTRAL);
    assert_eq!(h.state().state.phase, Phase::Queue);
    click(&mut h, "Open kA:1");
    settle(&mut h, "the case");
    assert!(h.state().state.case.is_some());
    type_into(&mut h, Role::TextInput, C.why, "looks fine to me");
    click(&mut h, C.approve);
    settle(&mut h, "the refused decision");
    assert_eq!(h.state().state.error, Some(Refusal::OwnCase));
    has(&h, C.r_own_case);
    assert!(
        central
            .rt
            .block_on(central.central.decisions())
            .unwrap()
            .is_empty(),
        "nothing is stored"
    );
    click(&mut h, C.sign_out);
    assert_eq!(h.state().state.phase, Phase::SignIn);

    // Another supervisor: the fleet queue, filtered on the kiosk, shows the case.
    sign_in(&mut h, SUE);
    type_into(&mut h, Role::TextInput, C.kiosk, "kA");
    click(&mut h, C.search);
    settle(&mut h, "the filtered page");
    let page = h.state().state.page.clone().unwrap();
    assert_eq!(page.cases.len(), 1);
    let line = &page.cases[0];
    assert_eq!(
        (
            line.kiosk_id.as_str(),
            line.record_id,
            line.branch.as_deref()
        ),
        ("kA", 1, Some("accra-central"))
    );
    assert_eq!(line.review_status, "pending");
    let recorded_reason = line.reason.clone().unwrap();
    assert!(!recorded_reason.is_empty());
    has(&h, "Open kA:1");
    has(&h, "accra-central");
    has(&h, &recorded_reason);
    // Another kiosk's filter finds nothing.
    h.state_mut().state.filters.kiosk = "kB".into();
    h.step();
    click(&mut h, C.search);
    settle(&mut h, "the empty page");
    assert!(h.state().state.page.as_ref().unwrap().cases.is_empty());
    has(&h, C.no_cases);
    h.state_mut().state.filters.kiosk = "kA".into();
    h.step();
    click(&mut h, C.search);
    settle(&mut h, "the page again");

    // The case's evidence, from the centre's copy of the kiosk's record and images.
    click(&mut h, "Open kA:1");
    settle(&mut h, "the case");
    {
        let case = &h.state().state.case.as_ref().unwrap().view;
        assert_eq!(case.summary.as_ref().unwrap().operator, "ama");
        assert_eq!(case.summary.as_ref().unwrap().kiosk_id, "kA");
        assert!(
            case.images.selfie.is_some(),
            "the selfie travelled and decodes"
        );
        assert!(
            case.images.front.is_some(),
            "the document travelled and decodes"
        );
        // The sample photo is no identity document: the reading's own words say so.
        assert!(case.not_read.is_some(), "why no document was read");
        assert!(case.liveness.is_some(), "the liveness evidence");
    }
    let level = format!(
        "{} {}",
        EV.level,
        h.state().state.case.as_ref().unwrap().view.face.level
    );
    for text in [
        "Case kA:1",
        EV.images,
        EV.face_match,
        &level,
        EV.liveness,
        EV.still_image,
        EV.not_read,
        "ama",
    ] {
        has(&h, text);
    }
    // No reason, no decision.
    assert!(
        h.get_by_role_and_label(Role::Button, C.reject)
            .accesskit_node()
            .is_disabled()
    );
    type_into(
        &mut h,
        Role::TextInput,
        C.why,
        "selfie does not show a live person",
    );
    click(&mut h, C.reject);
    settle(&mut h, "the decision");
    let decided = h.state().state.decided.clone().unwrap();
    assert_eq!(
        (
            decided.kiosk_id.as_str(),
            decided.record_id,
            decided.decision.as_str()
        ),
        ("kA", 1, "reject")
    );
    assert_eq!(decided.supervisor, "sue");
    has(&h, C.stored);
    settle(&mut h, "the refreshed page");
    assert!(h.state().state.case.is_none());
    let log = central.rt.block_on(central.central.decisions()).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].supervisor.as_str(), log[0].reason.as_str()),
        ("sue", "selfie does not show a live person")
    );

    // Kiosk A's next sync applies it as a chained event; the trail verifies.
    assert_eq!(local_state(&db, 1), ("refer".into(), "pending".into()));
    let report: serde_json::Value = serde_json::from_str(
        ok(kiosk_bin()
            .args(["sync", "--db"])
            .arg(&db)
            .output()
            .unwrap())
        .trim(),
    )
    .unwrap();
    assert_eq!(report["inbox"]["applied"], 1, "{report}");
    assert_eq!(local_state(&db, 1), ("reject".into(), "closed".into()));
    assert_eq!(
        central_decision_events(&db),
        vec![("central:sue".to_string(), Some(1))]
    );
    let verify = kiosk_bin()
        .args(["audit", "verify", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "audit verify: {}",
        String::from_utf8_lossy(&verify.stdout)
    );

    // The central service stops: the window says it cannot be reached, and goes on.
    central.stop();
    click(&mut h, C.search);
    settle(&mut h, "the unreachable service");
    assert!(
        matches!(h.state().state.error, Some(Refusal::Unreachable(_))),
        "{:?}",
        h.state().state.error
    );
    has(&h, C.r_unreachable);
    assert_eq!(h.state().state.phase, Phase::Queue);
}

#[test]
fn an_unenrolled_workstation_shows_the_enrol_command_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let ws_file = dir.path().join("no-such-workstation");
    let mut h = window(&ws_file);
    h.step();
    assert!(matches!(h.state().state.phase, Phase::NotEnrolled { .. }));
    has(&h, C.not_enrolled);
    has(&h, "supervisor --server URL");
    has(&h, "enroll --workstation-id");
    assert!(
        h.query_by_role_and_label(Role::Button, C.sign_in).is_none(),
        "no sign-in without an enrolment"
    );
    // A file other users can read is refused with the reason, not used.
    std::fs::write(&ws_file, "{}").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ws_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let mut h = window(&ws_file);
    h.step();
    match &h.state().state.phase {
        Phase::NotEnrolled { why, .. } => assert!(why.contains("chmod 600"), "{why}"),
        other => panic!("{other:?}"),
    }
    has(&h, "chmod 600");
}
