//! A customer who refuses consent to biometric processing gets a receipt too: the PDF written
//! into the data folder is read back (case reference of the abandoned record, that no
//! biometric processing took place, how to ask for erasure), and the store is checked to hold
//! what the receipt says — no selfie, no face template.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::data;
use crate::kiosk;
use crate::session;

use std::time::Duration;

use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use kyc_core::audit::{AuditConfig, AuditStore, Role as UserRole};
use kyc_kiosk::gui::receipt;
use kyc_kiosk::gui::state::{Screen, StoreStatus};
use kyc_kiosk::gui::strings::{EN, FR, Lang};
use kyc_kiosk::gui::{AppOptions, KioskApp};

use kiosk::{click, type_into_role, wait_for};

/// Sign in, start a Ghana claim, import the document and reach the consent screen.
fn at_consent(h: &mut Harness<'_, KioskApp>, lang: Lang) {
    let s = lang.s();
    wait_for(h, "the audit store", |a| {
        matches!(a.state.store, StoreStatus::Ready { .. })
    });
    type_into_role(h, Role::TextInput, s.username, "ama");
    type_into_role(h, Role::PasswordInput, s.password, session::AGENT_PASSWORD);
    click(h, s.log_in);
    wait_for(h, "login", |a| a.state.user.is_some());
    h.state_mut().state.start.country = "GH".into();
    click(h, s.start_verification);
    h.state_mut().ui.document_path = data("obama.jpg").display().to_string();
    h.step();
    click(h, s.import);
    wait_for(h, "the document", |a| {
        a.state
            .session
            .as_ref()
            .is_some_and(|s| s.document.is_some())
    });
    click(h, s.next);
    assert_eq!(h.state().state.screen, Screen::Selfie);
    assert!(h.query_by_label(s.consent_text).is_some());
}

fn kiosk_in(audit: AuditConfig, lang: Lang) -> Harness<'static, KioskApp> {
    let opts = AppOptions {
        idle_timeout: Duration::from_secs(3600),
        lang,
        ..AppOptions::new(kyc_core::Config::default(), audit)
    };
    Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(|ui, app: &mut KioskApp| app.frame(ui), KioskApp::new(opts))
}

/// The refusal's receipt once written: its path.
fn refusal_pdf(h: &mut Harness<'_, KioskApp>) -> std::path::PathBuf {
    wait_for(h, "the refusal's receipt", |a| {
        a.state.refusal.as_ref().is_some_and(|r| r.pdf.is_some())
    });
    let r = h.state().state.refusal.clone().unwrap();
    r.pdf.unwrap().expect("the receipt is written")
}

#[test]
fn a_customer_who_refuses_consent_gets_a_receipt_that_says_what_was_kept() {
    let dir = tempfile::tempdir().unwrap();
    let audit = session::store_with_users(
        dir.path(),
        &[("ama", session::AGENT_PASSWORD, UserRole::Agent)],
    );
    let kiosk_id = audit.kiosk_id.clone();
    let mut h = kiosk_in(audit.clone(), Lang::En);
    at_consent(&mut h, Lang::En);
    click(&mut h, EN.consent_refuse);
    assert_eq!(h.state().state.screen, Screen::Start);
    assert!(h.state().state.session.is_none());

    let pdf = refusal_pdf(&mut h);
    let id = h.state().state.refusal.as_ref().unwrap().id.unwrap();
    assert_eq!(pdf.parent().unwrap(), dir.path().join("receipts"));
    let reference = receipt::reference(&kiosk_id, id);
    assert_eq!(
        pdf.file_name().unwrap().to_str().unwrap(),
        format!("{reference}.pdf")
    );
    // Shown to the agent on the start screen, to hand over.
    assert!(h.query_by_label(EN.receipt_written).is_some());
    assert!(h.query_by_label(&pdf.display().to_string()).is_some());

    let text = receipt::text_of(&std::fs::read(&pdf).unwrap()).unwrap();
    assert_eq!(text[0], "Identity verification receipt");
    assert_eq!(text[1], format!("Case reference: {reference}"));
    assert!(
        text[4].contains("you did not consent to biometric processing"),
        "{}",
        text[4]
    );
    let all = text.join(" ");
    let statement = receipt::REFUSED_EN
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(all.contains(&statement), "{all}");
    assert!(all.contains("ask for its erasure"), "{all}");
    assert!(!all.contains("Decision:"), "{all}");

    // The record the reference names: abandoned for the refusal, with the document only —
    // no selfie, no portrait, no face template, as the receipt says.
    let conn = AuditStore::raw_connection(&audit).unwrap();
    let (decision, json): (String, String) = conn
        .query_row(
            "SELECT current_decision, result_json FROM verifications WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(decision, "abandoned");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["abandoned"]["reason"], "consent_refused");
    assert_eq!(v["consent"]["given"], false);
    let kinds: Vec<String> = conn
        .prepare("SELECT kind FROM blobs WHERE verification_id = ?1 ORDER BY kind")
        .unwrap()
        .query_map([id], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(kinds, ["document_front"]);
    let templates: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM templates WHERE verification_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(templates, 0);

    // The next customer's verification clears it from the start screen.
    h.state_mut().state.start.country = "GH".into();
    click(&mut h, EN.start_verification);
    assert!(h.state().state.refusal.is_none());
}

#[test]
fn the_refusal_receipt_is_in_the_kiosk_language() {
    let dir = tempfile::tempdir().unwrap();
    let audit = session::store_with_users(
        dir.path(),
        &[("ama", session::AGENT_PASSWORD, UserRole::Agent)],
    );
    let mut h = kiosk_in(audit, Lang::Fr);
    at_consent(&mut h, Lang::Fr);
    click(&mut h, FR.consent_refuse);
    let pdf = refusal_pdf(&mut h);
    let text = receipt::text_of(&std::fs::read(&pdf).unwrap()).unwrap();
    assert_eq!(text[0], "Reçu de vérification d'identité");
    let all = text.join(" ");
    let statement = receipt::REFUSED_FR
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(all.contains(&statement), "{all}");
    assert!(all.contains("en demander l'effacement"), "{all}");
}
