//! A kiosk under test: a fresh audit store with an administrator and an agent (`ama`), the app
//! on a frame source, the agent signed in and a verification started (Ghana, individual) — the
//! harness is left on the document screen.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use kyc_kiosk::Config;
use kyc_kiosk::audit::{AuditConfig, AuditStore, Role as UserRole};
use kyc_kiosk::gui::capture::SourceSpec;
use kyc_kiosk::gui::state::{Screen, StoreStatus};
use kyc_kiosk::gui::strings::{EN, Lang};
use kyc_kiosk::gui::{AppOptions, KioskApp};
use kyc_kiosk::liveness::challenge::Step;

use crate::kiosk::{click, type_into_role, wait_for};

/// The agent's password.
pub const AGENT_PASSWORD: &str = "agent-pass-1";

/// The store's settings for `dir` (fast password hashing: these are tests).
pub fn audit_config(dir: &Path) -> AuditConfig {
    AuditConfig::at(dir.join("audit.sqlite3")).with_fast_hashing()
}

/// Open the kiosk on `source` with `config`, sign `ama` in and start a verification.
pub fn on_document_screen(
    dir: &Path,
    source: SourceSpec,
    config: Config,
    challenge: Option<Vec<Step>>,
) -> Harness<'static, KioskApp> {
    let audit = audit_config(dir);
    {
        let mut store = AuditStore::open(audit.clone()).unwrap();
        store.create_first_admin("admin", "admin-pass-1").unwrap();
        let admin = store.login("admin", "admin-pass-1").unwrap();
        store
            .create_user(&admin, "ama", AGENT_PASSWORD, UserRole::Agent)
            .unwrap();
    }
    let opts = AppOptions {
        config,
        audit,
        source: Some(source),
        document: None,
        selfie: None,
        lang: Lang::En,
        kiosk: false,
        idle_timeout: Duration::from_secs(3600),
        challenge,
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
    type_into_role(&mut h, Role::TextInput, EN.country, "gh");
    click(&mut h, EN.start_verification);
    assert_eq!(h.state().state.screen, Screen::Document);
    h
}
