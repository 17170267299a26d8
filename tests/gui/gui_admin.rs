//! The settings screen and user management, driven headless with egui_kittest: an administrator
//! changes `decision.approveAt` (a bad value is refused next to its field first), the change is
//! found as a `settings_changed` event in the SQLite audit chain and in the settings file;
//! the administrator creates a user and disables another; the disabled user's login is refused
//! with a clear message; the new user logs in, sees the thresholds read-only and changes the
//! language, which is recorded under their name. No models are needed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::kiosk;
use crate::session;

use std::time::Duration;

use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use kyc_core::audit::{AuditStore, Role as UserRole};
use kyc_kiosk::gui::admin::{SettingsField, SettingsNotice};
use kyc_kiosk::gui::settings_file::{self, SettingsFile};
use kyc_kiosk::gui::state::{Screen, StoreStatus};
use kyc_kiosk::gui::strings::{EN, Lang};
use kyc_kiosk::gui::{AppOptions, KioskApp};

use kiosk::{click, type_into_role, wait_for};

fn type_into(h: &mut Harness<'_, KioskApp>, label: &str, text: &str) {
    type_into_role(h, Role::TextInput, label, text);
}

fn try_log_in(h: &mut Harness<'_, KioskApp>, user: &str, password: &str) {
    h.state_mut().state.login.username.clear();
    h.step();
    type_into(h, EN.username, user);
    type_into_role(h, Role::PasswordInput, EN.password, password);
    click(h, EN.log_in);
    wait_for(h, "the login answer", |a| {
        a.state.user.is_some() || a.state.login.error.is_some()
    });
}

/// Every `settings_changed` event: (actor, payload).
fn settings_events(db: &std::path::Path) -> Vec<(String, serde_json::Value)> {
    events_of(db, "settings_changed")
}

use session::events_of;

#[test]
fn admin_changes_a_threshold_and_manages_users_agent_sees_it_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.sqlite3");
    let settings = dir.path().join("conf").join(settings_file::FILE_NAME);
    let audit = session::store_with_users(dir.path(), &[("ama", "agent-pass-1", UserRole::Agent)]);
    let opts = AppOptions {
        idle_timeout: Duration::from_secs(3600),
        ..AppOptions::new(kyc_core::Config::default(), audit.clone())
    };
    let app = KioskApp::new(opts).with_settings_file(Some(settings.clone()));
    let mut h = Harness::builder()
        .with_size([1280.0, 1600.0])
        .build_ui_state(|ui, app: &mut KioskApp| app.frame(ui), app);
    wait_for(&mut h, "the audit store", |a| {
        matches!(a.state.store, StoreStatus::Ready { .. })
    });

    // The administrator opens the settings screen from the top bar.
    try_log_in(&mut h, "admin", "admin-pass-1");
    assert!(h.state().state.user.is_some());
    // The settings in force at start are in the chain (by the kiosk itself).
    let start = events_of(&db, "settings_in_force");
    assert_eq!(start.len(), 1);
    assert_eq!(start[0].0, "system:kiosk-start");
    assert_eq!(start[0].1["settings"]["decision"]["approveAt"], 70.0);
    assert_eq!(start[0].1["settings"]["kiosk"]["source"], "none");
    // The old read-only collapsible is gone from the start screen.
    assert!(h.query_by_label(EN.thresholds).is_none());
    click(&mut h, EN.settings);
    assert_eq!(h.state().state.screen, Screen::Settings);
    wait_for(&mut h, "the camera list", |a| {
        a.state.admin.cameras.is_some()
    });
    if h.state().state.admin.cameras.as_ref().unwrap().is_empty() {
        assert!(h.query_by_label(EN.no_camera_listed).is_some());
    }
    assert!(h.query_by_label(EN.admin_only).is_none());
    // A value out of range is refused next to its field, and nothing is sent.
    type_into(&mut h, EN.approve_at, "5"); // "70" becomes "705" (or "570")
    click(&mut h, EN.apply_settings);
    let errors = h.state().state.admin.errors.clone();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, SettingsField::ApproveAt);
    assert!(
        h.query_by_label_contains("decision.approveAt must be between 0 and 100")
            .is_some()
    );
    assert!(settings_events(&db).is_empty());
    // Now a valid value.
    h.state_mut().state.admin.form.as_mut().unwrap().approve_at = "88".into();
    h.step();
    click(&mut h, EN.apply_settings);
    wait_for(&mut h, "the settings applied", |a| !a.state.admin.busy);
    assert_eq!(
        h.state().state.admin.notice,
        Some(SettingsNotice::Saved(settings.clone()))
    );
    assert!(h.query_by_label_contains(EN.settings_saved).is_some());
    assert!(h.state().state.admin.errors.is_empty());
    // The worker's configuration (what the next verification and its record use) changed.
    assert_eq!(h.state().state.admin.config.decision.approve_at, 88.0);
    // In the audit chain, attributed to the administrator, with before and after.
    let events = settings_events(&db);
    assert_eq!(events.len(), 1);
    let (actor, p) = &events[0];
    assert_eq!(actor, "admin");
    assert_eq!(p["before"]["decision"]["approveAt"], 70.0);
    assert_eq!(p["after"]["decision"]["approveAt"], 88.0);
    assert_eq!(p["changed"], serde_json::json!(["decision.approveAt"]));
    // In the settings file, which the next start reads.
    let saved = settings_file::load(&settings).unwrap().unwrap();
    assert_eq!(saved.decision.unwrap().approve_at, 88.0);
    let text = std::fs::read_to_string(&settings).unwrap();
    assert!(text.contains("approveAt = 88.0"), "{text}");
    let next_start = kyc_kiosk::gui::options_with_saved(
        &kyc_kiosk::gui::GuiArgs::default(),
        kyc_core::Config::default(),
        Some(&SettingsFile::from_toml(&text).unwrap()),
    )
    .unwrap();
    assert_eq!(next_start.config.decision.approve_at, 88.0);

    // Users: the list, a new user, and another one disabled.
    click(&mut h, EN.tab_users);
    wait_for(&mut h, "the users", |a| {
        !a.state.admin.users.list.is_empty()
    });
    let names: Vec<String> = h
        .state()
        .state
        .admin
        .users
        .list
        .iter()
        .map(|u| u.username.clone())
        .collect();
    assert_eq!(names, ["admin", "ama"]);
    type_into(&mut h, EN.username, "efua");
    type_into_role(&mut h, Role::PasswordInput, EN.password, "efua-pass-12");
    type_into_role(
        &mut h,
        Role::PasswordInput,
        EN.password_again,
        "efua-pass-12",
    );
    click(&mut h, EN.create_user);
    wait_for(&mut h, "the new user", |a| {
        a.state
            .admin
            .users
            .list
            .iter()
            .any(|u| u.username == "efua")
    });
    assert!(h.query_by_label_contains("created efua (agent)").is_some());
    click(&mut h, &format!("{} ama", EN.manage));
    click(&mut h, EN.disable_user);
    wait_for(&mut h, "ama disabled", |a| {
        a.state
            .admin
            .users
            .list
            .iter()
            .any(|u| u.username == "ama" && u.disabled)
    });
    // The administrator's own row cannot be disabled: the store says why.
    click(&mut h, &format!("{} admin", EN.manage));
    click(&mut h, EN.disable_user);
    wait_for(&mut h, "the refusal", |a| !a.state.admin.users.busy);
    assert!(
        h.query_by_label_contains("you cannot disable your own account")
            .is_some()
    );
    click(&mut h, EN.log_out);
    assert_eq!(h.state().state.screen, Screen::Login);
    assert!(h.state().state.admin.users.list.is_empty());

    // The disabled user is refused with a clear message.
    try_log_in(&mut h, "ama", "agent-pass-1");
    assert!(h.state().state.user.is_none());
    let error = h.state().state.login.error.clone().unwrap();
    assert!(error.contains("disabled"), "{error}");
    assert!(h.query_by_label_contains("is disabled").is_some());

    // The new user logs in; as an agent they see the thresholds read-only.
    try_log_in(&mut h, "efua", "efua-pass-12");
    assert_eq!(
        h.state().state.user.as_ref().map(|u| u.role),
        Some(UserRole::Agent)
    );
    click(&mut h, EN.settings);
    assert_eq!(h.state().state.screen, Screen::Settings);
    assert!(h.query_by_label(EN.admin_only).is_some());
    assert!(
        h.query_by_role_and_label(Role::TextInput, EN.approve_at)
            .is_none()
    );
    assert!(
        h.query_by_label("88").is_some(),
        "the value in force is shown"
    );
    assert!(h.query_by_label(EN.tab_users).is_none());
    // The language is theirs to change; it is recorded under their name.
    h.state_mut().state.admin.form.as_mut().unwrap().lang = Lang::Fr;
    h.step();
    click(&mut h, EN.apply_settings);
    wait_for(&mut h, "the language applied", |a| !a.state.admin.busy);
    assert_eq!(h.state().state.lang, Lang::Fr);
    let events = settings_events(&db);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].0, "efua");
    assert_eq!(events[1].1["changed"], serde_json::json!(["kiosk.lang"]));
    assert_eq!(events[1].1["after"]["decision"]["approveAt"], 88.0);
    let saved = settings_file::load(&settings).unwrap().unwrap();
    assert_eq!(settings_file::saved_lang(&saved), Some(Lang::Fr));
    assert_eq!(saved.decision.unwrap().approve_at, 88.0);

    // The whole chain still verifies, user changes included.
    let store = AuditStore::open(audit).unwrap();
    let report = store.verify().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let kinds: Vec<String> = {
        let conn = AuditStore::raw_connection(&kyc_core::audit::AuditConfig::at(&db)).unwrap();
        let mut stmt = conn
            .prepare("SELECT kind FROM events WHERE kind LIKE 'user_%' ORDER BY seq")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(kinds, ["user_created", "user_created", "user_disabled"]);
}

#[test]
fn a_settings_file_that_cannot_be_written_is_reported_and_the_change_stays_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let audit = session::store_with_users(dir.path(), &[]);
    // The settings file's folder is a plain file: every write fails.
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"x").unwrap();
    let opts = AppOptions {
        idle_timeout: Duration::from_secs(3600),
        ..AppOptions::new(kyc_core::Config::default(), audit)
    };
    let app = KioskApp::new(opts).with_settings_file(Some(blocker.join("kiosk-settings.toml")));
    let mut h = Harness::builder()
        .with_size([1280.0, 1600.0])
        .build_ui_state(|ui, app: &mut KioskApp| app.frame(ui), app);
    wait_for(&mut h, "the audit store", |a| {
        matches!(a.state.store, StoreStatus::Ready { .. })
    });
    try_log_in(&mut h, "admin", "admin-pass-1");
    click(&mut h, EN.settings);
    h.state_mut()
        .state
        .admin
        .form
        .as_mut()
        .unwrap()
        .idle_timeout = "45".into();
    h.step();
    click(&mut h, EN.apply_settings);
    wait_for(&mut h, "the settings applied", |a| !a.state.admin.busy);
    assert!(
        matches!(&h.state().state.admin.notice, Some(SettingsNotice::NotSaved(m)) if m.contains("not-a-folder")),
        "{:?}",
        h.state().state.admin.notice
    );
    assert!(h.query_by_label_contains(EN.settings_not_saved).is_some());
    // Nothing is lost in memory: the form and the settings in force keep the new value.
    assert_eq!(
        h.state()
            .state
            .admin
            .current
            .as_ref()
            .map(|c| c.idle_timeout_secs),
        Some(45)
    );
    assert_eq!(
        h.state().state.admin.form.as_ref().unwrap().idle_timeout,
        "45"
    );
}
