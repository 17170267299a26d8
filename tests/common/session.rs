//! A kiosk under test: a fresh audit store with an administrator and its users; the app on a
//! frame source with the agent `ama` signed in and a verification started (Ghana, individual) —
//! the harness is left on the document screen.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use kyc_core::Config;
use kyc_core::audit::{AuditConfig, AuditStore, Role as UserRole};
use kyc_core::liveness::challenge::Step;
use kyc_kiosk::gui::capture::SourceSpec;
use kyc_kiosk::gui::state::{Screen, StoreStatus};
use kyc_kiosk::gui::strings::EN;
use kyc_kiosk::gui::{AppOptions, KioskApp};

use crate::kiosk::{click, type_into_role, wait_for};

/// The agent's password.
pub const AGENT_PASSWORD: &str = "agent-pass-1";

/// The store's settings for `dir` (fast password hashing: these are tests).
pub fn audit_config(dir: &Path) -> AuditConfig {
    AuditConfig::at(dir.join("audit.sqlite3")).with_fast_hashing()
}

/// A fresh audit store in `dir` with the administrator `admin` (password `admin-pass-1`) and
/// `users` (username, password, role) created by them; returns the store's settings.
pub fn store_with_users(dir: &Path, users: &[(&str, &str, UserRole)]) -> AuditConfig {
    let audit = audit_config(dir);
    let mut store = AuditStore::open(audit.clone()).unwrap();
    store.create_first_admin("admin", "admin-pass-1").unwrap();
    let admin = store.login("admin", "admin-pass-1").unwrap();
    for (name, password, role) in users {
        store.create_user(&admin, name, password, *role).unwrap();
    }
    store.logout(admin).unwrap();
    audit
}

/// Every audit event of `kind` in the database at `db`, oldest first: (actor, payload).
pub fn events_of(db: &Path, kind: &str) -> Vec<(String, serde_json::Value)> {
    let conn =
        kyc_core::audit::AuditStore::raw_connection(&kyc_core::audit::AuditConfig::at(db)).unwrap();
    let mut stmt = conn
        .prepare("SELECT actor, payload FROM events WHERE kind = ?1 ORDER BY seq")
        .unwrap();
    stmt.query_map([kind], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })
    .unwrap()
    .map(|r| {
        let (a, p) = r.unwrap();
        (a, serde_json::from_str(&p).unwrap())
    })
    .collect()
}

/// On the selfie screen: import `path` as the selfie, run the checks, wait for the result.
pub fn import_selfie_and_verify(h: &mut Harness<'_, KioskApp>, path: &Path) {
    h.state_mut().ui.selfie_path = path.display().to_string();
    h.step();
    click(h, EN.import);
    wait_for(h, "selfie import", |a| {
        a.state.session.as_ref().is_some_and(|s| s.selfie.is_some())
    });
    click(h, EN.verify);
    wait_for(h, "the result screen", |a| a.state.screen == Screen::Result);
}

/// Open the kiosk on `source` with `config`, sign `ama` in and start a verification.
pub fn on_document_screen(
    dir: &Path,
    source: SourceSpec,
    config: Config,
    challenge: Option<Vec<Step>>,
) -> Harness<'static, KioskApp> {
    let audit = store_with_users(dir, &[("ama", AGENT_PASSWORD, UserRole::Agent)]);
    let opts = AppOptions {
        source: Some(source),
        idle_timeout: Duration::from_secs(3600),
        challenge,
        ..AppOptions::new(config, audit)
    };
    let mut h = Harness::builder()
        .with_size([1280.0, 1100.0])
        .build_ui_state(|ui, app: &mut KioskApp| app.frame(ui), KioskApp::new(opts));
    wait_for(&mut h, "the audit store", |a| {
        matches!(a.state.store, StoreStatus::Ready { .. })
    });
    type_into_role(&mut h, Role::TextInput, EN.username, "ama");
    type_into_role(&mut h, Role::PasswordInput, EN.password, AGENT_PASSWORD);
    click(&mut h, EN.log_in);
    wait_for(&mut h, "login", |a| a.state.user.is_some());
    h.state_mut().state.start.country = "GH".into();
    h.step();
    click(&mut h, EN.start_verification);
    assert_eq!(h.state().state.screen, Screen::Document);
    h
}
