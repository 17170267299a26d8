//! Screens that fit: at 1280×800 and 1920×1080 the document screen's buttons and the review
//! case's Approve / Reject lie inside the window; the start screen picks the country by name
//! and offers only its ID types; the customer flow shows where the customer is. And consent:
//! a customer who refuses it ends the verification, recorded as abandoned with the refusal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::data;
use crate::kiosk;
use crate::session;

use std::time::Duration;

use eframe::egui::{self, accesskit::Role};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use kyc_core::audit::{
    AuditStore, CustomerType, Decision, ImageKind, IndexedFields, NewVerification, Role as UserRole,
};
use kyc_core::document::idnumber::IdType;
use kyc_kiosk::gui::state::{Screen, StoreStatus};
use kyc_kiosk::gui::strings::EN;
use kyc_kiosk::gui::{AppOptions, KioskApp};

use kiosk::{click, type_into_role, wait_for};

const SIZES: [[f32; 2]; 2] = [[1280.0, 800.0], [1920.0, 1080.0]];

fn kiosk(audit: kyc_core::audit::AuditConfig, size: [f32; 2]) -> Harness<'static, KioskApp> {
    let opts = AppOptions {
        idle_timeout: Duration::from_secs(3600),
        ..AppOptions::new(kyc_core::Config::default(), audit)
    };
    let mut h = Harness::builder()
        .with_size(size)
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

/// The button labelled `label` is on screen, whole, inside a `size` window.
fn inside(h: &Harness<'_, KioskApp>, label: &str, size: [f32; 2]) {
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(size[0], size[1]));
    let node = h.get_by_role_and_label(Role::Button, label);
    let r = node.rect();
    assert!(
        window.contains_rect(r),
        "{label:?} at {r:?} is cut off in a {}×{} window",
        size[0],
        size[1]
    );
    // Large enough to touch.
    assert!(r.height() >= 40.0, "{label:?} is {} high", r.height());
}

#[test]
fn the_document_screen_fits_both_sizes_and_the_flow_shows_its_step() {
    for size in SIZES {
        let dir = tempfile::tempdir().unwrap();
        let audit = session::store_with_users(
            dir.path(),
            &[("ama", session::AGENT_PASSWORD, UserRole::Agent)],
        );
        let mut h = kiosk(audit, size);
        log_in(&mut h, "ama", session::AGENT_PASSWORD);
        // The start screen: step 1 of the flow; the country by name; its ID types only.
        assert!(h.query_by_label_contains(EN.flow_claim).is_some());
        inside(&h, EN.start_verification, size);
        click(&mut h, EN.start_verification);
        assert_eq!(h.state().state.screen, Screen::Start);
        assert!(h.query_by_label(EN.err_country).is_some());
        h.get_by_role_and_label(Role::ComboBox, EN.country).click();
        h.run_steps(2);
        h.get_by_label("Kenya").click();
        h.run_steps(2);
        assert_eq!(h.state().state.start.country, "KE");
        h.get_by_role_and_label(Role::ComboBox, EN.id_type).click();
        h.run_steps(2);
        for offered in ["National ID card", "KRA PIN", "Passport"] {
            assert!(h.query_by_label(offered).is_some(), "{offered}");
        }
        assert!(h.query_by_label("Ghana Card PIN").is_none());
        h.get_by_label("KRA PIN").click();
        h.run_steps(2);
        assert_eq!(h.state().state.start.id_type, Some(IdType::KenyaKraPin));
        // A type of another country is refused (the state is what a tampered form would send).
        h.state_mut().state.start.id_type = Some(IdType::GhanaCardPin);
        click(&mut h, EN.start_verification);
        assert!(h.query_by_label(EN.err_id_type_country).is_some());
        h.state_mut().state.start.id_type = None;
        click(&mut h, EN.start_verification);
        assert_eq!(h.state().state.screen, Screen::Document);

        // The document screen: every button whole inside the window, before and after the
        // front is kept.
        for label in [EN.cancel, EN.next, EN.browse, EN.import] {
            inside(&h, label, size);
        }
        h.state_mut().ui.document_path = data("obama.jpg").display().to_string();
        h.step();
        click(&mut h, EN.import);
        wait_for(&mut h, "the document", |a| {
            a.state
                .session
                .as_ref()
                .is_some_and(|s| s.document.is_some())
        });
        for label in [EN.cancel, EN.retake, EN.next, EN.add_back] {
            inside(&h, label, size);
        }
        // The flow shows where the customer is: step 2 of 4.
        assert!(
            h.query_by_label(&format!("2. {}", EN.flow_document))
                .is_some()
        );
        assert!(
            h.query_by_label(&format!("4. {}", EN.flow_result))
                .is_some()
        );
    }
}

/// A referred case run by `ama`, pending review.
fn pending_case(audit: &kyc_core::audit::AuditConfig) -> i64 {
    let mut store = AuditStore::open(audit.clone()).unwrap();
    let doc = std::fs::read(data("obama.jpg")).unwrap();
    let selfie = std::fs::read(data("obama2.jpg")).unwrap();
    let images: Vec<(ImageKind, &[u8])> = vec![
        (ImageKind::DocumentFront, &doc),
        (ImageKind::Portrait, &doc),
        (ImageKind::Selfie, &selfie),
    ];
    let result = serde_json::json!({"decision": "refer", "overallConfidence": 61.0});
    let models = serde_json::json!({});
    let now = kyc_core::record::now_ms();
    let receipt = store
        .record_verification(&NewVerification {
            operator: "ama",
            customer_type: CustomerType::Individual,
            claimed_id_type: None,
            claimed_id_number: None,
            started_ms: now - 60_000,
            finished_ms: now,
            indexed: IndexedFields {
                decision: Decision::Refer,
                decision_reason: "face match below the threshold; still selfie".into(),
                document_number: Some("G1234567".into()),
                full_name: Some("Ama Mensah".into()),
                country: Some("GH".into()),
                overall_confidence: Some(61.0),
            },
            result: &result,
            models: &models,
            images: &images,
            template: None,
            corrections: &[],
        })
        .unwrap();
    receipt.id
}

#[test]
fn the_review_case_buttons_fit_both_sizes() {
    for size in SIZES {
        let dir = tempfile::tempdir().unwrap();
        let audit = session::store_with_users(
            dir.path(),
            &[
                ("ama", session::AGENT_PASSWORD, UserRole::Agent),
                ("kofi", "super-pass-1", UserRole::Supervisor),
            ],
        );
        let id = pending_case(&audit);
        let mut h = kiosk(audit, size);
        log_in(&mut h, "kofi", "super-pass-1");
        click(&mut h, EN.review_queue);
        wait_for(&mut h, "the queue", |a| !a.state.review.queue.is_empty());
        click(&mut h, &format!("{} #{id}", EN.open));
        wait_for(&mut h, "the case", |a| a.state.review.selected.is_some());
        for label in [EN.approve, EN.reject] {
            inside(&h, label, size);
        }
        // The decision still works from there: a note is required first.
        click(&mut h, EN.approve);
        assert!(h.state().state.review.note_missing);
    }
}

#[test]
fn a_refused_consent_ends_the_verification_on_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.sqlite3");
    let audit = session::store_with_users(
        dir.path(),
        &[("ama", session::AGENT_PASSWORD, UserRole::Agent)],
    );
    let mut h = kiosk(audit, [1280.0, 800.0]);
    log_in(&mut h, "ama", session::AGENT_PASSWORD);
    h.state_mut().state.start.country = "GH".into();
    click(&mut h, EN.start_verification);
    h.state_mut().ui.document_path = data("obama.jpg").display().to_string();
    h.step();
    click(&mut h, EN.import);
    wait_for(&mut h, "the document", |a| {
        a.state
            .session
            .as_ref()
            .is_some_and(|s| s.document.is_some())
    });
    click(&mut h, EN.next);
    assert_eq!(h.state().state.screen, Screen::Selfie);
    // Before consent: no capture, no import, no verify — the consent screen alone.
    assert!(h.query_by_label(EN.consent_text).is_some());
    assert!(h.query_by_role_and_label(Role::Button, EN.verify).is_none());
    assert!(h.query_by_role_and_label(Role::Button, EN.import).is_none());
    inside(&h, EN.consent_agree, [1280.0, 800.0]);
    inside(&h, EN.consent_refuse, [1280.0, 800.0]);
    click(&mut h, EN.consent_refuse);
    assert_eq!(h.state().state.screen, Screen::Start);
    assert!(h.state().state.session.is_none());
    assert_eq!(
        h.state().state.notice.as_deref(),
        Some(EN.consent_refused_notice)
    );
    // Recorded as abandoned, with the refusal and its reason.
    let conn = kyc_core::audit::AuditStore::raw_connection(&kyc_core::audit::AuditConfig::at(&db))
        .unwrap();
    let ended = || -> Option<(String, String)> {
        conn.query_row(
            "SELECT current_decision, result_json FROM verifications ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok()
    };
    wait_for(&mut h, "the abandoned record", |_| ended().is_some());
    let (decision, json) = ended().unwrap();
    assert_eq!(decision, "abandoned");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["abandoned"]["reason"], "consent_refused");
    assert_eq!(v["consent"]["given"], false);
    assert_eq!(
        v["consent"]["textSha256"],
        kyc_core::models::sha256_hex(EN.consent_text.as_bytes())
    );
}
