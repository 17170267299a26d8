//! The centre's word on a case in the window: a duplicate flag the central service raised at
//! sync and the online check's outcome ("not checked centrally" when the centre is away) on
//! the case screen, in English and French; and the window closed while its health checks load
//! models exits cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use kyc_core::Config;
use kyc_core::audit::{AuditConfig, AuditStore, Role as UserRole};
use kyc_core::fleet::dedup::{self, CentralCheck, DuplicateCandidate, DuplicateFlag};
use kyc_core::fleet::http::ServerUrl;
use kyc_core::fleet::{CentralSecret, FleetConfig, KioskIdentity};
use kyc_core::service::{Capture, Claim, VerificationService};
use kyc_core::settings::SettingsInForce;
use kyc_kiosk::gui::fleet_panel;
use kyc_kiosk::gui::state::StoreStatus;
use kyc_kiosk::gui::strings::{EN, Lang};
use kyc_kiosk::gui::{AppOptions, KioskApp};

use crate::common::data;
use crate::kiosk::{click, type_into_role, wait_for};
use crate::session::{AGENT_PASSWORD, store_with_users};

const SUPERVISOR_PASSWORD: &str = "supervisor-pass-1";

fn kiosk(audit: AuditConfig) -> Harness<'static, KioskApp> {
    let opts = AppOptions {
        idle_timeout: Duration::from_secs(3600),
        ..AppOptions::new(Config::default(), audit)
    };
    let mut h = Harness::builder()
        .with_size([1280.0, 1000.0])
        .build_ui_state(|ui, app: &mut KioskApp| app.frame(ui), KioskApp::new(opts));
    wait_for(&mut h, "the audit store", |a| {
        matches!(a.state.store, StoreStatus::Ready { .. })
    });
    h
}

fn log_in(h: &mut Harness<'_, KioskApp>, user: &str, password: &str) {
    type_into_role(h, Role::TextInput, EN.username, user);
    type_into_role(h, Role::PasswordInput, EN.password, password);
    click(h, EN.log_in);
    wait_for(h, "login", |a| a.state.user.is_some());
}

fn has(h: &Harness<'_, KioskApp>, text: &str) {
    assert!(
        h.query_all_by_label_contains(text).next().is_some(),
        "{text:?} is not on the screen"
    );
}

/// Two cases recorded by `ama` through the service (still selfies: referred, pending).
fn two_cases(audit: &AuditConfig) -> (i64, i64) {
    let settings = SettingsInForce {
        config: Config::default(),
        file: None,
        path: None,
    };
    let mut svc = VerificationService::open(settings, audit.clone()).unwrap();
    svc.login("ama", AGENT_PASSWORD).unwrap();
    svc.load_pipeline().unwrap();
    let mut ids = Vec::new();
    for selfie in ["obama2.jpg", "obama3.jpg"] {
        svc.begin(Claim::individual_now()).unwrap();
        svc.capture_document(Capture::file(&data("obama.jpg")).unwrap())
            .unwrap();
        svc.capture_document_back(None).unwrap();
        svc.capture_selfie(Capture::file(&data(selfie)).unwrap(), None)
            .unwrap();
        svc.verify(|_| {}).unwrap();
        let r = svc.decide(None).unwrap();
        ids.push(r.record.unwrap().id);
    }
    svc.logout().unwrap();
    (ids[0], ids[1])
}

/// Enrol the store in a fleet whose centre is not listening (a port just released).
fn enrolled_offline(db: &Path) -> FleetConfig {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = FleetConfig {
        server: ServerUrl::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
        kiosk_id: "kG".into(),
        identity: KioskIdentity::generate(),
        central_public_key: CentralSecret::generate().public_key(),
    };
    cfg.save(&FleetConfig::path_for(db)).unwrap();
    cfg
}

#[test]
fn the_case_screen_shows_the_central_duplicate_flag_and_not_checked_when_offline() {
    let dir = tempfile::tempdir().unwrap();
    let audit = store_with_users(
        dir.path(),
        &[
            ("ama", AGENT_PASSWORD, UserRole::Agent),
            ("kofi", SUPERVISOR_PASSWORD, UserRole::Supervisor),
        ],
    );
    let (flagged, unchecked) = two_cases(&audit);
    let cfg = enrolled_offline(&audit.db_path);
    {
        let mut store = AuditStore::open(audit.clone()).unwrap();
        // The online check of the second case, with the centre away: not checked.
        let outcome =
            dedup::check_record(&mut store, &cfg, unchecked, Duration::from_secs(2)).unwrap();
        assert!(
            matches!(outcome, CentralCheck::NotChecked { .. }),
            "{outcome:?}"
        );
        // A flag the centre raised on the first case, as a sync delivers it.
        let flag = DuplicateFlag {
            flag_id: 5,
            record_id: flagged,
            raised_ms: 1_764_770_400_000,
            candidates: vec![DuplicateCandidate {
                kiosk_id: "branch-07".into(),
                record_id: 42,
                score: 0.93,
                same_id_number: true,
            }],
        };
        assert_eq!(dedup::deliver_flags(&mut store, &[flag]).unwrap(), 1);
    }

    let mut h = kiosk(audit);
    log_in(&mut h, "kofi", SUPERVISOR_PASSWORD);
    click(&mut h, EN.review_queue);
    wait_for(&mut h, "the queue", |a| {
        a.state.review.queue.iter().any(|r| r.id == flagged)
    });
    let open = |h: &mut Harness<'_, KioskApp>, id: i64| {
        click(h, &format!("{} #{id}", EN.open));
        wait_for(h, "the case and its central findings", |a| {
            a.state
                .review
                .selected
                .as_ref()
                .is_some_and(|v| v.detail.summary.id == id)
                && a.state.fleet.findings.contains_key(&id)
        });
        h.run_steps(3);
    };

    open(&mut h, flagged);
    let en = fleet_panel::words(Lang::En);
    has(&h, en.heading);
    has(&h, en.flag_raised);
    has(
        &h,
        "record #42 at kiosk branch-07 (similarity 0.930), same ID number",
    );
    has(&h, "Not checked centrally yet.");
    // In French too.
    h.state_mut().state.lang = Lang::Fr;
    h.run_steps(3);
    let fr = fleet_panel::words(Lang::Fr);
    has(&h, fr.flag_raised);
    has(
        &h,
        "dossier #42 du kiosque branch-07 (similarité 0.930), même numéro de pièce",
    );
    h.state_mut().state.lang = Lang::En;
    h.run_steps(3);

    open(&mut h, unchecked);
    has(&h, en.not_checked);
    assert!(
        h.query_all_by_label_contains(en.flag_raised)
            .next()
            .is_none(),
        "the second case carries no flag"
    );
    let f = &h.state().state.fleet.findings[&unchecked];
    assert!(f.enrolled && f.flags.is_empty());
    wait_for(&mut h, "the models", |a| {
        matches!(
            a.state.models,
            kyc_kiosk::gui::state::ModelStatus::Ready { .. }
        )
    });
}

/// Set by the parent test below: run the window and leave at once, in this process.
const CHILD: &str = "KYC_GUI_EXIT_CHILD";

#[test]
fn the_window_closed_while_its_checks_load_models_exits_cleanly() {
    if let Some(dir) = std::env::var_os(CHILD) {
        let audit = store_with_users(Path::new(&dir), &[]);
        let mut h = kiosk(audit);
        log_in(&mut h, "admin", "admin-pass-1");
        click(&mut h, EN.settings);
        click(&mut h, EN.tab_system);
        assert!(h.state().state.admin.system.running());
        // Closed at once: the health checks and the worker's model loader are still loading
        // models through ONNX Runtime; the process then exits.
        drop(h);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "central_flags::the_window_closed_while_its_checks_load_models_exits_cleanly",
            "--test-threads",
            "1",
        ])
        .env(CHILD, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the child ended with {:?}: {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}
