//! Failed liveness challenges are kept: a customer who does not perform the step fails the
//! challenge three times in front of an image-sequence camera (the selfie clip, head still); each
//! failure is a chained audit event at once; a fourth attempt is not offered; the agent imports a
//! still selfie, and the case is referred for the failed challenges, with their count in the
//! stored result. Uses the real models (run `packaging/setup.sh all` first).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::kiosk;
use crate::passport;
use crate::session;

use egui_kittest::kittest::Queryable;
use kyc_core::Config;
use kyc_core::audit::{AuditStore, Decision as StoredDecision};
use kyc_core::liveness::challenge::Step;
use kyc_core::result::{Decision, LivenessMode};
use kyc_kiosk::gui::capture::SourceSpec;
use kyc_kiosk::gui::state::{MAX_CHALLENGE_ATTEMPTS, Screen};
use kyc_kiosk::gui::strings::EN;

use common::data;
use kiosk::{click, type_into_role, wait_for};

/// `liveness_challenge_failed` events in the database: (actor, payload).
fn failed_events(db: &std::path::Path) -> Vec<(String, serde_json::Value)> {
    session::events_of(db, "liveness_challenge_failed")
}

#[test]
fn failed_challenges_are_recorded_and_a_still_selfie_after_them_is_referred() {
    let dir = tempfile::tempdir().unwrap();
    // A short challenge: the customer has 1.5 s to come closer, and never does.
    let mut config = Config::default();
    config.liveness.challenge.step_timeout_ms = 1_500.0;
    config.liveness.challenge.deadline_ms = 2_500.0;
    let source = SourceSpec::Frames {
        dir: data("frames/single_face"),
        fps: 10.0,
    };
    let mut h =
        session::on_document_screen(dir.path(), source, config, Some(vec![Step::ComeCloser]));
    let passport = passport::passport_file("pyfeat_single_face.jpg", 1, dir.path());
    h.state_mut().ui.document_path = passport.display().to_string();
    h.step();
    click(&mut h, EN.import);
    wait_for(&mut h, "document import", |a| {
        a.state
            .session
            .as_ref()
            .is_some_and(|s| s.document.is_some())
    });
    click(&mut h, EN.next);
    assert_eq!(h.state().state.screen, Screen::Selfie);
    click(&mut h, EN.consent_agree);
    wait_for(&mut h, "the liveness models and a frame", |a| {
        a.ui.frame.is_some()
            && matches!(
                a.state.liveness_models,
                kyc_kiosk::gui::state::ModelStatus::Ready { .. }
            )
    });

    let db = dir.path().join("audit.sqlite3");
    for attempt in 1..=MAX_CHALLENGE_ATTEMPTS {
        click(
            &mut h,
            if attempt == 1 {
                EN.start_challenge
            } else {
                EN.try_again
            },
        );
        assert!(h.state().state.challenge_running(), "attempt {attempt}");
        wait_for(&mut h, "the challenge to fail", |a| {
            !a.state.challenge_running()
        });
        let s = h.state().state.session.as_ref().unwrap();
        let c = s.challenge.as_ref().unwrap();
        assert!(!c.result.as_ref().unwrap().is_live, "attempt {attempt}");
        assert_eq!(s.failed_challenges, attempt);
        assert!(s.selfie.is_none(), "a failed challenge gives no selfie");
        // Recorded at once, by the agent, with the challenge issued and why it failed.
        wait_for(&mut h, "the event", |_| {
            failed_events(&db).len() == attempt as usize
        });
        let events = failed_events(&db);
        let (actor, payload) = events.last().unwrap();
        assert_eq!(actor, "ama");
        assert_eq!(payload["attempt"], attempt);
        assert_eq!(payload["country"], "GH");
        assert_eq!(payload["challenge"]["steps"][0], "comeCloser");
        assert_eq!(payload["active"]["passed"], false);
        assert!(!payload["reasons"].as_array().unwrap().is_empty());
        assert!(payload["frameCount"].as_u64().unwrap() > 0);
    }
    h.step();
    let counter = format!(
        "{}: {MAX_CHALLENGE_ATTEMPTS} {} {MAX_CHALLENGE_ATTEMPTS}",
        EN.failed_attempts, EN.of
    );
    assert!(h.query_by_label(&counter).is_some(), "{counter}");
    assert!(h.query_by_label(EN.too_many_attempts).is_some());
    assert!(h.query_by_label(EN.try_again).is_none());

    // The agent falls back on a still selfie: checked passively, and referred for the failures.
    session::import_selfie_and_verify(&mut h, &data("frames/single_face/0000.png"));
    let result = h
        .state()
        .state
        .session
        .as_ref()
        .unwrap()
        .result
        .as_ref()
        .unwrap()
        .result
        .clone();
    let liveness = result.liveness.as_ref().unwrap();
    assert_eq!(liveness.mode, LivenessMode::SingleImage);
    assert_eq!(liveness.failed_attempts, MAX_CHALLENGE_ATTEMPTS);
    assert_eq!(result.decision, Decision::Refer, "{:?}", result.reasons);
    assert!(
        result.reasons.iter().any(|r| r.code == "liveness_retries"),
        "{:?}",
        result.reasons
    );
    type_into_role(
        &mut h,
        eframe::egui::accesskit::Role::TextInput,
        EN.reason,
        "customer could not complete the liveness check",
    );
    click(&mut h, EN.refer);
    wait_for(&mut h, "the record", |a| {
        a.state
            .session
            .as_ref()
            .is_some_and(|s| s.receipt.is_some())
    });
    let id = h
        .state()
        .state
        .session
        .as_ref()
        .unwrap()
        .receipt
        .as_ref()
        .unwrap()
        .id;
    drop(h);

    let mut store = AuditStore::open(session::audit_config(dir.path())).unwrap();
    let admin = store.login("admin", "admin-pass-1").unwrap();
    let record = store.get_record(&admin, id).unwrap();
    assert_eq!(record.summary.current_decision, StoredDecision::Refer);
    assert_eq!(
        record.result["liveness"]["failedAttempts"],
        MAX_CHALLENGE_ATTEMPTS
    );
    let report = store.verify().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(failed_events(&db).len(), MAX_CHALLENGE_ATTEMPTS as usize);
}
