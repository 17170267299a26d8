//! First-run set-up and the System tab, driven headless with egui_kittest. On an empty store the
//! window asks for the kiosk's name and branch (a blank branch is refused in place), then the
//! first administrator: a weak password is refused next to the field and nobody is created;
//! a good one creates the administrator in the SQLite store (chained as `first_admin_created`,
//! the kiosk's identity as `settings_changed`, saved to the settings file); the camera test
//! warns that there is no camera; sign-in follows and the new administrator signs in. On the
//! System tab the administrator sees doctor's checks, one row each, and runs them again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::kiosk;
use crate::session;

use std::time::Duration;

use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use kyc_core::audit::{AuditConfig, Role as UserRole};
use kyc_core::health::Status;
use kyc_kiosk::gui::admin::AdminTab;
use kyc_kiosk::gui::messages::FirstRunField;
use kyc_kiosk::gui::settings_file::{self, SettingsFile};
use kyc_kiosk::gui::setup::SetupStep;
use kyc_kiosk::gui::state::{Screen, StoreStatus};
use kyc_kiosk::gui::strings::EN;
use kyc_kiosk::gui::system::check_name;
use kyc_kiosk::gui::{AppOptions, KioskApp};

use kiosk::{click, type_into_role, wait_for};
use session::events_of;

fn type_into(h: &mut Harness<'_, KioskApp>, label: &str, text: &str) {
    type_into_role(h, Role::TextInput, label, text);
}

/// Every user row: (username, role).
fn users(db: &std::path::Path) -> Vec<(String, String)> {
    let conn = kyc_core::audit::AuditStore::raw_connection(&AuditConfig::at(db)).unwrap();
    let mut q = conn
        .prepare("SELECT username, role FROM users ORDER BY id")
        .unwrap();
    q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn first_run_creates_the_administrator_in_the_window_and_continues_to_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.sqlite3");
    let settings = dir.path().join("conf").join(settings_file::FILE_NAME);
    let audit = AuditConfig::at(&db).with_fast_hashing();
    let opts = AppOptions {
        idle_timeout: Duration::from_secs(3600),
        ..AppOptions::new(kyc_core::Config::default(), audit)
    };
    let app = KioskApp::new(opts).with_settings_file(Some(settings.clone()));
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(|ui, app: &mut KioskApp| app.frame(ui), app);
    wait_for(&mut h, "the audit store", |a| {
        matches!(a.state.store, StoreStatus::Ready { .. })
    });
    // No user yet: the set-up, not the sign-in, and no terminal command to run.
    assert_eq!(h.state().state.screen, Screen::Setup);
    assert!(h.query_by_label_contains("create-admin").is_none());
    assert!(h.query_by_label(EN.setup_title).is_some());

    // The kiosk's name and branch; a blank branch is refused next to its field.
    type_into(&mut h, EN.setup_kiosk_id, "accra-01");
    click(&mut h, EN.next);
    assert_eq!(h.state().state.setup.step, SetupStep::Identity);
    assert!(h.query_by_label("branch: it is empty").is_some());
    type_into(&mut h, EN.setup_branch, "Accra Central");
    click(&mut h, EN.next);
    assert_eq!(h.state().state.setup.step, SetupStep::Admin);

    // A weak password is refused in place; nobody is created.
    type_into(&mut h, EN.username, "chief");
    type_into_role(&mut h, Role::PasswordInput, EN.password, "password");
    type_into_role(&mut h, Role::PasswordInput, EN.password_again, "password");
    click(&mut h, EN.setup_create_admin);
    let err = h
        .state()
        .state
        .setup
        .error(FirstRunField::Password)
        .map(str::to_string);
    let err = err.expect("a password error");
    assert!(err.contains("password refused"), "{err}");
    assert!(h.query_by_label(&err).is_some());
    assert_eq!(h.state().state.setup.step, SetupStep::Admin);
    assert!(users(&db).is_empty());

    // A good one: the administrator is created by the worker, in the store.
    h.state_mut().state.setup.password.clear();
    h.state_mut().state.setup.password2.clear();
    h.step();
    type_into_role(
        &mut h,
        Role::PasswordInput,
        EN.password,
        "harmattan-ledger-42",
    );
    type_into_role(
        &mut h,
        Role::PasswordInput,
        EN.password_again,
        "harmattan-ledger-42",
    );
    click(&mut h, EN.setup_create_admin);
    wait_for(&mut h, "the administrator", |a| {
        a.state.setup.step == SetupStep::Camera || !a.state.setup.errors.is_empty()
    });
    assert!(
        h.state().state.setup.errors.is_empty(),
        "{:?}",
        h.state().state.setup.errors
    );
    assert_eq!(users(&db), [("chief".to_string(), "admin".to_string())]);
    let first = events_of(&db, "first_admin_created");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].0, "system:install");
    assert_eq!(first[0].1["username"], "chief");
    // The kiosk's identity: chained by the new administrator, and saved.
    let changed = events_of(&db, "settings_changed");
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].0, "chief");
    assert_eq!(changed[0].1["after"]["kiosk"]["kioskId"], "accra-01");
    assert_eq!(changed[0].1["after"]["kiosk"]["branch"], "Accra Central");
    let saved = SettingsFile::from_toml(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(saved.kiosk_id(), Some("accra-01"));
    assert_eq!(saved.branch(), Some("Accra Central"));
    // Signed out again: the administrator signs in next, themselves.
    assert!(!events_of(&db, "logout").is_empty());

    // The camera test: no camera here, a warning, and the set-up goes on.
    assert!(h.query_by_label(EN.setup_no_camera).is_some());
    click(&mut h, EN.setup_continue);
    assert_eq!(h.state().state.screen, Screen::Login);
    assert_eq!(h.state().state.login.username, "chief");
    type_into_role(
        &mut h,
        Role::PasswordInput,
        EN.password,
        "harmattan-ledger-42",
    );
    click(&mut h, EN.log_in);
    wait_for(&mut h, "login", |a| {
        a.state.user.is_some() || a.state.login.error.is_some()
    });
    let user = h.state().state.user.clone().expect("signed in");
    assert_eq!(
        (user.username.as_str(), user.role),
        ("chief", UserRole::Admin)
    );
    // The settings screen shows the kiosk's identity in force.
    let current = h.state().state.admin.current.clone().unwrap();
    assert_eq!(current.kiosk_id.as_deref(), Some("accra-01"));
}

#[test]
fn the_system_tab_shows_the_doctor_checks_and_runs_them_again() {
    let dir = tempfile::tempdir().unwrap();
    let audit = session::store_with_users(dir.path(), &[]);
    let opts = AppOptions {
        idle_timeout: Duration::from_secs(3600),
        ..AppOptions::new(kyc_core::Config::default(), audit)
    };
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(|ui, app: &mut KioskApp| app.frame(ui), KioskApp::new(opts));
    wait_for(&mut h, "the audit store", |a| {
        matches!(a.state.store, StoreStatus::Ready { .. })
    });
    assert_eq!(h.state().state.screen, Screen::Login);
    type_into(&mut h, EN.username, "admin");
    type_into_role(&mut h, Role::PasswordInput, EN.password, "admin-pass-1");
    click(&mut h, EN.log_in);
    wait_for(&mut h, "login", |a| a.state.user.is_some());
    click(&mut h, EN.settings);
    click(&mut h, EN.tab_system);
    assert_eq!(h.state().state.admin.tab, AdminTab::System);
    wait_for(&mut h, "the health report", |a| {
        a.state.admin.system.report.is_some()
    });
    let report = h.state().state.admin.system.report.clone().unwrap();
    let ids: Vec<&str> = report.checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        ["config", "models", "store", "clock", "disk", "camera"]
    );
    let status = |id: &str| report.check(id).unwrap().status;
    assert_eq!(status("models"), Status::Ok, "{:?}", report.check("models"));
    assert_eq!(status("store"), Status::Ok, "{:?}", report.check("store"));
    assert_eq!(status("clock"), Status::Ok);
    // No camera in use here: a warning, not an error.
    assert_eq!(status("camera"), Status::Warning);
    assert_eq!(report.status, Status::Warning);
    // One row per check, with its status word and its finding, on screen.
    for c in &report.checks {
        assert!(
            h.query_by_label(&check_name(kyc_kiosk::gui::strings::Lang::En, &c.id))
                .is_some(),
            "{}",
            c.id
        );
        assert!(h.query_by_label(&c.summary).is_some(), "{}", c.summary);
    }
    assert!(h.query_all_by_label(EN.status_ok).count() >= 3);
    assert!(h.query_all_by_label(EN.status_warning).count() >= 2);
    // Run again: a new report.
    let before = report.checked_at_ms;
    std::thread::sleep(Duration::from_millis(5));
    click(&mut h, EN.system_rerun);
    wait_for(&mut h, "the second report", |a| {
        a.state
            .admin
            .system
            .report
            .as_ref()
            .is_some_and(|r| r.checked_at_ms > before)
    });
}
