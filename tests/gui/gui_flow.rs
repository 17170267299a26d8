//! The kiosk GUI driven headless with egui_kittest: an agent logs in, imports the document, the
//! customer performs the liveness challenge in front of an image-sequence source (real clip
//! frames with simulated head turns), the agent sees the result and approves; a second customer
//! (an imported still selfie: passive check only) is referred; a supervisor overrides the
//! referral. Each step is then checked in the SQLite audit store itself. Uses the real models
//! (run `packaging/setup.sh all` first).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::kiosk;
use crate::moves;
use crate::passport;
use crate::session;
use crate::synth;

use std::time::Duration;

use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use kyc_core::audit::{AuditStore, Decision, ImageKind, ReviewStatus, Role as UserRole};
use kyc_core::liveness::challenge::Step;
use kyc_core::result;
use kyc_kiosk::gui::capture::SourceSpec;
use kyc_kiosk::gui::receipt;
use kyc_kiosk::gui::state::{Screen, StoreStatus};
use kyc_kiosk::gui::strings::{EN, Lang};
use kyc_kiosk::gui::{AppOptions, KioskApp};

use common::data;
use kiosk::{click, type_into_role, wait_for};

fn type_into(h: &mut Harness<'_, KioskApp>, label: &str, text: &str) {
    type_into_role(h, Role::TextInput, label, text);
}

fn log_in(h: &mut Harness<'_, KioskApp>, user: &str, password: &str) {
    type_into(h, EN.username, user);
    type_into_role(h, Role::PasswordInput, EN.password, password);
    click(h, EN.log_in);
    wait_for(h, "login", |a| a.state.user.is_some());
}

/// How the selfie is taken.
enum Selfie<'a> {
    /// The liveness challenge on the live source.
    Challenge,
    /// An imported still image (passive check only).
    Import(&'a std::path::Path),
}

/// Start a verification, import the document, take the selfie, run the checks.
fn verify_customer(
    h: &mut Harness<'_, KioskApp>,
    country: &str,
    document: &std::path::Path,
    selfie: Selfie<'_>,
) {
    assert_eq!(h.state().state.screen, Screen::Start);
    h.state_mut().state.start.country = country.to_ascii_uppercase();
    h.step();
    click(h, EN.start_verification);
    assert_eq!(h.state().state.screen, Screen::Document);
    h.state_mut().ui.document_path = document.display().to_string();
    h.step();
    click(h, EN.import);
    wait_for(h, "document import", |a| {
        a.state
            .session
            .as_ref()
            .is_some_and(|s| s.document.is_some())
    });
    click(h, EN.next);
    assert_eq!(h.state().state.screen, Screen::Selfie);
    // The customer's consent to biometric processing comes first.
    assert!(h.query_by_label(EN.consent_text).is_some());
    click(h, EN.consent_agree);
    wait_for(h, "a frame from the source", |a| a.ui.frame.is_some());
    match selfie {
        Selfie::Challenge => {
            // Plain capture is not offered for the selfie of a live source: the challenge is.
            assert!(
                h.query_by_role_and_label(Role::Button, EN.capture)
                    .is_none()
            );
            wait_for(h, "the liveness models", |a| {
                matches!(
                    a.state.liveness_models,
                    kyc_kiosk::gui::state::ModelStatus::Ready { .. }
                )
            });
            // Start on the resting part of the loop, so the smile comes after the baseline.
            wait_for(h, "the resting part of the loop", |a| {
                a.ui.frame
                    .as_ref()
                    .is_some_and(|f| (f.seq as usize) % moves::SMILE_LOOP < 6)
            });
            click(h, EN.start_challenge);
            assert!(h.state().state.challenge_running());
            // The first prompt, then step 1 of 1 with its own prompt and countdown.
            wait_for(h, "the first step", |a| {
                a.state
                    .session
                    .as_ref()
                    .and_then(|s| s.challenge.as_ref())
                    .is_some_and(|c| c.current_step().is_some() || !c.running())
            });
            // The step showing has its own prompt, "step 1 of 1" and a countdown.
            let step = h
                .state()
                .state
                .session
                .as_ref()
                .and_then(|s| s.challenge.as_ref())
                .and_then(|c| c.current_step());
            if let Some(k) = step {
                let prompt = [EN.prompt_smile][k];
                assert!(h.query_by_label_contains(prompt).is_some(), "{prompt}");
                let progress = format!("{} {} {} 1", EN.step, k + 1, EN.of);
                assert!(h.query_by_label_contains(&progress).is_some(), "{progress}");
                assert!(h.query_by_label_contains(EN.step_time_left).is_some());
            }
            wait_for(h, "the end of the challenge", |a| {
                !a.state.challenge_running()
            });
            let s = h.state().state.session.as_ref().unwrap();
            let c = s.challenge.as_ref().unwrap();
            let r = c.result.as_ref().expect("a finished challenge");
            assert!(r.is_live, "{:?} {:?}", r.reasons, r.active.steps);
            assert!(s.selfie.is_some() && s.liveness.is_some());
            assert!(h.query_by_label(EN.challenge_passed).is_some());
        }
        Selfie::Import(path) => {
            h.state_mut().ui.selfie_path = path.display().to_string();
            h.step();
            click(h, EN.import);
            wait_for(h, "selfie import", |a| {
                a.state.session.as_ref().is_some_and(|s| s.selfie.is_some())
            });
            assert!(h.state().state.session.as_ref().unwrap().liveness.is_none());
        }
    }
    click(h, EN.verify);
    wait_for(h, "the result screen", |a| a.state.screen == Screen::Result);
}

/// Apply the filters and wait for the records they select (ids).
fn apply_filters(h: &mut Harness<'_, KioskApp>) -> Vec<i64> {
    // Lay out the filters as changed first, so the click lands on the button.
    h.run_steps(2);
    click(h, EN.apply_filters);
    wait_for(h, "the filtered queue", |a| !a.state.review.busy);
    h.state().state.review.queue.iter().map(|r| r.id).collect()
}

/// The review screen's filters: every record or pending only, decision, agent, name or ID
/// number, date range; a bad date is refused on screen; clearing gives the queue back.
fn check_queue_filters(h: &mut Harness<'_, KioskApp>, approved: i64, referred: i64) {
    let sorted = |mut v: Vec<i64>| {
        v.sort_unstable();
        v
    };
    h.get_by_role_and_label(Role::CheckBox, EN.pending_only)
        .click();
    h.step();
    assert!(!h.state().state.review.filter.pending_only);
    assert_eq!(sorted(apply_filters(h)), sorted(vec![approved, referred]));
    h.state_mut().state.review.filter.decision = Some(Decision::Refer);
    assert_eq!(apply_filters(h), vec![referred]);
    h.state_mut().state.review.filter.decision = None;
    // Lay out the filters as they are now (the decision filter's width changed), so the click
    // lands on the field.
    h.run_steps(2);
    type_into(h, EN.agent, "kofi");
    assert_eq!(
        h.state().state.review.filter.agent,
        "kofi",
        "the agent filter took the typing"
    );
    assert_eq!(apply_filters(h), Vec::<i64>::new());
    h.state_mut().state.review.filter.agent = "ama".into();
    assert_eq!(apply_filters(h).len(), 2);
    // Free text: part of the document number read, in any letter case.
    type_into(h, EN.name_or_id, "a0295");
    assert_eq!(apply_filters(h), vec![approved]);
    h.state_mut().state.review.filter.text.clear();
    let day = |offset: i64| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        kyc_core::document::mrz::IsoDate::from_days_since_epoch(now / 86_400 + offset).to_string()
    };
    type_into(h, EN.from_day, &day(0));
    type_into(h, EN.to_day, &day(0));
    assert_eq!(apply_filters(h).len(), 2);
    h.state_mut().state.review.filter.from = day(1);
    h.state_mut().state.review.filter.to = day(1);
    assert_eq!(apply_filters(h), Vec::<i64>::new());
    h.state_mut().state.review.filter.from = "2026-99-99".into();
    h.run_steps(2);
    click(h, EN.apply_filters);
    assert!(h.state().state.review.filter_error.is_some());
    assert!(h.query_by_label_contains(EN.bad_filter).is_some());
    click(h, EN.clear_filters);
    wait_for(h, "the queue", |a| !a.state.review.busy);
    assert!(h.state().state.review.filter_error.is_none());
    assert_eq!(
        h.state()
            .state
            .review
            .queue
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        vec![referred]
    );
}

#[test]
fn agent_approves_and_refers_then_supervisor_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let audit = session::store_with_users(
        dir.path(),
        &[
            ("ama", "agent-pass-1", UserRole::Agent),
            ("kofi", "super-pass-1", UserRole::Supervisor),
        ],
    );
    // The camera is an image sequence of real footage: the customer rests, then smiles, in a
    // loop.
    let frames = dir.path().join("frames");
    moves::write_smile_frames(&data("frames/single_face"), &frames);

    let opts = AppOptions {
        source: Some(SourceSpec::Frames {
            dir: frames.clone(),
            fps: 5.0,
        }),
        idle_timeout: Duration::from_secs(3600),
        challenge: Some(vec![Step::Smile]),
        ..AppOptions::new(kyc_core::Config::default(), audit.clone())
    };
    let mut h = Harness::builder()
        .with_size([1280.0, 1400.0])
        .build_ui_state(|ui, app: &mut KioskApp| app.frame(ui), KioskApp::new(opts));
    wait_for(&mut h, "the audit store", |a| {
        matches!(
            a.state.store,
            StoreStatus::Ready {
                has_admin: true,
                ..
            }
        )
    });

    // A wrong password is refused on screen.
    type_into(&mut h, EN.username, "ama");
    type_into_role(&mut h, Role::PasswordInput, EN.password, "wrong");
    click(&mut h, EN.log_in);
    wait_for(&mut h, "login refusal", |a| a.state.login.error.is_some());
    assert!(h.state().state.user.is_none());
    h.state_mut().state.login.username.clear();
    log_in(&mut h, "ama", "agent-pass-1");

    // Customer 1: a passport page carrying the customer's portrait, and the challenge performed in front
    // of the camera → live, approve.
    let passport = passport::passport_file("pyfeat_single_face.jpg", 1, dir.path());
    verify_customer(&mut h, "gh", &passport, Selfie::Challenge);
    {
        let view = h
            .state()
            .state
            .session
            .as_ref()
            .unwrap()
            .result
            .as_ref()
            .unwrap();
        let r = &view.result;
        assert!(
            r.face_match.computed && r.face_match.outcome.is_match,
            "{:?}",
            r.face_match
        );
        assert_eq!(r.decision, result::Decision::Approve, "{:?}", r.reasons);
        let reading = r.document.reading.as_ref().unwrap();
        assert!(reading.mrz.as_ref().is_some_and(|m| m.valid));
        assert_eq!(
            reading.assembled.fields.last_name.as_ref().unwrap().value,
            "NDIAYE"
        );
        assert!(view.portrait.is_some());
        assert!(!view.duplicates.flagged());
        let l = r.liveness.as_ref().unwrap();
        assert_eq!(l.mode, result::LivenessMode::Sequence);
        assert!(l.is_live && l.active.as_ref().unwrap().passed);
    }
    assert!(h.query_all_by_label_contains(EN.liveness).next().is_some());
    // The fields read are on the screen, with the MRZ verdict.
    h.run_steps(2);
    assert!(h.query_all_by_value("NDIAYE").next().is_some());
    assert!(h.query_all_by_value("A02958811").next().is_some());
    assert!(
        h.query_by_label_contains(EN.mrz_valid).is_some(),
        "the MRZ verdict is shown"
    );
    // The agent corrects a field read from the document (a second surname left out).
    type_into(&mut h, "lastName", " SARR");
    let corrected = {
        let f = &h.state().state.session.as_ref().unwrap().decision.fields;
        let last = f.iter().find(|f| f.name == "lastName").unwrap();
        assert_eq!(last.read, "NDIAYE");
        assert!(last.corrected() && last.value.contains("SARR"), "{last:?}");
        last.value.trim().to_string()
    };
    h.run_steps(2);
    assert!(h.query_by_label_contains(EN.corrected).is_some());
    click(&mut h, EN.approve);
    wait_for(&mut h, "the record receipt", |a| {
        a.state
            .session
            .as_ref()
            .is_some_and(|s| s.receipt.is_some())
    });
    let first = h
        .state()
        .state
        .session
        .as_ref()
        .unwrap()
        .receipt
        .clone()
        .unwrap();
    assert_eq!(first.current_decision, Decision::Approve);
    assert_eq!(first.review_status, ReviewStatus::None);
    // The customer's receipt: a PDF in the data folder, read back.
    wait_for(&mut h, "the receipt", |a| {
        a.state
            .session
            .as_ref()
            .is_some_and(|s| s.receipt_pdf.is_some())
    });
    let pdf = h
        .state()
        .state
        .session
        .as_ref()
        .unwrap()
        .receipt_pdf
        .clone();
    let pdf = pdf.unwrap().unwrap();
    assert_eq!(pdf.parent().unwrap(), dir.path().join("receipts"));
    let text = receipt::text_of(&std::fs::read(&pdf).unwrap()).unwrap();
    let kiosk_id = audit.kiosk_id.clone();
    let reference = receipt::reference(&kiosk_id, first.id);
    assert_eq!(text[1], format!("Case reference: {reference}"));
    assert!(text.iter().any(|l| l == "Decision: Approve"), "{text:?}");
    assert!(text.join(" ").contains("erasure"));
    assert!(
        h.query_by_label_contains(&pdf.display().to_string())
            .is_some()
    );
    // The consent is kept in the record's result.
    {
        let conn = kyc_core::audit::AuditStore::raw_connection(&kyc_core::audit::AuditConfig::at(
            dir.path().join("audit.sqlite3"),
        ))
        .unwrap();
        let json: String = conn
            .query_row(
                "SELECT result_json FROM verifications WHERE id = ?1",
                [first.id],
                |r| r.get(0),
            )
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["consent"]["given"], true, "{v}");
        assert_eq!(v["consent"]["lang"], "en");
        assert_eq!(
            v["consent"]["textSha256"],
            kyc_core::models::sha256_hex(EN.consent_text.as_bytes())
        );
    }
    click(&mut h, EN.next_customer);
    assert!(h.state().state.session.is_none());

    // Customer 2: an imported still selfie (passive check only); the agent refers; a reason
    // is required first.
    let passport2 = passport::passport_file("obama.jpg", 0, dir.path());
    verify_customer(
        &mut h,
        "CI",
        &passport2,
        Selfie::Import(&data("obama2.jpg")),
    );
    click(&mut h, EN.refer);
    assert!(h.state().state.session.as_ref().unwrap().receipt.is_none());
    assert!(
        h.state()
            .state
            .session
            .as_ref()
            .unwrap()
            .decision
            .error
            .is_some()
    );
    type_into(&mut h, EN.reason, "document photo is twenty years old");
    click(&mut h, EN.refer);
    wait_for(&mut h, "the referral receipt", |a| {
        a.state
            .session
            .as_ref()
            .is_some_and(|s| s.receipt.is_some())
    });
    let second = h
        .state()
        .state
        .session
        .as_ref()
        .unwrap()
        .receipt
        .clone()
        .unwrap();
    assert_eq!(second.current_decision, Decision::Refer);
    assert_eq!(second.review_status, ReviewStatus::Pending);
    assert_ne!(first.id, second.id);

    // The agent has no review screen.
    assert!(h.query_by_label(EN.review_queue).is_none());
    click(&mut h, EN.log_out);
    assert_eq!(h.state().state.screen, Screen::Login);

    // The supervisor opens the queue, opens the case and approves it with a note.
    log_in(&mut h, "kofi", "super-pass-1");
    click(&mut h, EN.review_queue);
    wait_for(&mut h, "the review queue", |a| {
        !a.state.review.busy && !a.state.review.queue.is_empty()
    });
    assert_eq!(
        h.state()
            .state
            .review
            .queue
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        vec![second.id]
    );
    let stats = h.state().state.review.stats.clone().unwrap();
    assert_eq!(stats.total, 2);
    assert_eq!(stats.pending_review, 1);
    check_queue_filters(&mut h, first.id, second.id);
    click(&mut h, &format!("{} #{}", EN.open, second.id));
    wait_for(&mut h, "the case detail", |a| {
        a.state.review.selected.is_some()
    });
    {
        let sel = h.state().state.review.selected.as_ref().unwrap();
        assert!(
            sel.portrait.is_some() && sel.selfie.is_some(),
            "stored images shown"
        );
    }
    click(&mut h, EN.approve);
    assert!(h.state().state.review.note_missing, "a note is required");
    type_into(&mut h, EN.note, "old photo, same person; checked in person");
    click(&mut h, EN.approve);
    wait_for(&mut h, "the override", |a| {
        !a.state.review.busy && a.state.review.selected.is_none() && a.state.review.queue.is_empty()
    });

    // What the store holds.
    drop(h);
    let mut store = AuditStore::open(audit).unwrap();
    let admin = store.login("admin", "admin-pass-1").unwrap();
    let d1 = store.get_record(&admin, first.id).unwrap();
    assert_eq!(d1.summary.operator, "ama");
    assert_eq!(d1.summary.decision, Decision::Approve);
    assert_eq!(d1.summary.country.as_deref(), Some("GH"));
    assert!(
        d1.summary
            .decision_reason
            .starts_with("operator decided approve (suggested approve)")
    );
    for kind in [
        ImageKind::DocumentFront,
        ImageKind::Portrait,
        ImageKind::Selfie,
    ] {
        assert!(d1.images.contains(&kind), "{kind:?} stored");
    }
    assert!(d1.has_template);
    assert_eq!(d1.result["decision"], "approve");
    // The correction is stored with the value read, the corrected value and who made it;
    // the result keeps what was read.
    assert_eq!(d1.corrections.len(), 1, "{:?}", d1.corrections);
    let c = &d1.corrections[0];
    assert_eq!(
        (c.field.as_str(), c.before.as_str(), c.after.as_str()),
        ("lastName", "NDIAYE", corrected.as_str())
    );
    assert_eq!(c.corrected_by, "ama");
    assert!(c.corrected_ms > 0);
    assert_eq!(
        d1.result["document"]["reading"]["fields"]["lastName"]["value"],
        "NDIAYE"
    );
    // The liveness outcome is in the stored result: the challenge, its steps, live.
    let l = &d1.result["liveness"];
    assert_eq!(l["mode"], "sequence");
    assert_eq!(l["isLive"], true);
    assert_eq!(l["challenge"]["steps"], serde_json::json!(["smile"]));
    assert_eq!(l["captureSource"], "challenge");
    assert_eq!(l["active"]["passed"], true);
    assert!(l["selfieFrame"]["frameIndex"].is_number());
    // The selfie is the frame the challenge chose, kept as evidence (a JPEG within bounds as
    // played, anything else as the evidence JPEG of its file).
    let selfie = store
        .load_image(&admin, first.id, ImageKind::Selfie)
        .unwrap();
    let played: Vec<Vec<u8>> = kyc_kiosk::cli::liveness::frame_files(&frames)
        .unwrap()
        .iter()
        .map(|f| kyc_core::record::evidence_bytes(&std::fs::read(f).unwrap()).into_owned())
        .collect();
    assert!(
        played.contains(&selfie),
        "the chosen frame's bytes are kept"
    );

    let d2 = store.get_record(&admin, second.id).unwrap();
    assert_eq!(d2.summary.country.as_deref(), Some("CI"));
    assert_eq!(d2.result["liveness"]["mode"], "singleImage");
    assert_eq!(
        store
            .load_image(&admin, second.id, ImageKind::Selfie)
            .unwrap(),
        std::fs::read(data("obama2.jpg")).unwrap()
    );
    assert_eq!(d2.summary.decision, Decision::Refer);
    assert!(
        d2.summary
            .decision_reason
            .contains("document photo is twenty years old")
    );
    assert_eq!(d2.summary.current_decision, Decision::Approve);
    assert_eq!(d2.summary.review_status, ReviewStatus::Closed);
    assert_eq!(d2.supervisor_actions.len(), 1);
    let action = &d2.supervisor_actions[0];
    assert_eq!(action.supervisor, "kofi");
    assert_eq!(action.decision, Some(Decision::Approve));
    assert_eq!(action.note, "old photo, same person; checked in person");
    let report = store.verify().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
/// The idle timeout used to clear the customer and leave the agent signed in; it now logs the
/// agent out (issue 13: an unattended kiosk must not stay signed in) and the verification the
/// customer left, whose document was captured, ends in the store as abandoned.
fn french_ui_and_idle_timeout_logs_the_agent_out_and_records_the_abandoned_case() {
    use kyc_kiosk::gui::strings::FR;
    let dir = tempfile::tempdir().unwrap();
    let audit = session::store_with_users(dir.path(), &[("awa", "agent-pass-1", UserRole::Agent)]);
    let db = audit.db_path.clone();
    let opts = AppOptions {
        kiosk: true,
        idle_timeout: Duration::from_secs(1),
        ..AppOptions::new(kyc_core::Config::default(), audit.clone())
    };
    let mut h = Harness::builder()
        .with_size([1280.0, 1000.0])
        .build_ui_state(|ui, app: &mut KioskApp| app.frame(ui), KioskApp::new(opts));
    wait_for(&mut h, "the audit store", |a| {
        matches!(a.state.store, StoreStatus::Ready { .. })
    });
    h.get_by_label("Français").click();
    h.step();
    h.step();
    assert_eq!(h.state().state.lang, Lang::Fr);
    type_into(&mut h, FR.username, "awa");
    type_into_role(&mut h, Role::PasswordInput, FR.password, "agent-pass-1");
    click(&mut h, FR.log_in);
    wait_for(&mut h, "login", |a| a.state.user.is_some());
    h.state_mut().state.start.country = "SN".into();
    h.step();
    click(&mut h, FR.start_verification);
    assert_eq!(h.state().state.screen, Screen::Document);
    // No camera source: the banner says so, and file import is offered.
    assert!(h.query_by_label(FR.no_camera).is_some());
    assert!(h.query_by_role_and_label(Role::Button, FR.import).is_some());
    // An agent in kiosk mode has no way out of the kiosk.
    assert!(h.query_by_label(FR.exit).is_none());
    // The customer's document is captured: from now on the case ends in the store.
    h.state_mut().ui.document_path = data("obama.jpg").display().to_string();
    h.step();
    click(&mut h, FR.import);
    // Left alone, the kiosk clears the customer and logs the agent out.
    wait_for(&mut h, "the idle timeout", |a| a.state.user.is_none());
    assert!(h.state().state.session.is_none());
    assert_eq!(h.state().state.screen, Screen::Login);
    assert_eq!(h.state().state.notice.as_deref(), Some(FR.idle_cleared));
    assert!(h.state().state.start.country.is_empty());
    // In the chain: the idle log-out by the agent, then the log-out itself.
    for _ in 0..12_000 {
        // The idle log-out and the log-out are two commits: wait for both.
        if !session::events_of(&db, "idle_logout").is_empty()
            && session::events_of(&db, "logout")
                .iter()
                .any(|(a, _)| a == "awa")
        {
            break;
        }
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    let idle = session::events_of(&db, "idle_logout");
    assert_eq!(idle.len(), 1);
    assert_eq!(idle[0].0, "awa");
    assert!(
        session::events_of(&db, "logout")
            .iter()
            .any(|(a, _)| a == "awa")
    );
    // The abandoned case, with the document the customer left.
    let mut store = AuditStore::open(audit).unwrap();
    let admin = store.login("admin", "admin-pass-1").unwrap();
    let rows = store
        .query(
            &admin,
            &kyc_core::audit::RecordFilter::default(),
            kyc_core::audit::Page::default(),
        )
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].operator, "awa");
    assert_eq!(rows[0].decision, Decision::Abandoned);
    assert!(
        rows[0].decision_reason.contains("idle"),
        "{}",
        rows[0].decision_reason
    );
    assert_eq!(rows[0].country.as_deref(), Some("SN"));
    let detail = store.get_record(&admin, rows[0].id).unwrap();
    assert_eq!(detail.images, [ImageKind::DocumentFront]);
    assert_eq!(detail.result["abandoned"]["reason"], "idle_timeout");
    assert!(store.verify().unwrap().problems.is_empty());
}

/// A Ghana Card claimed: the back side is required before the selfie (no skip), front and back
/// are imported, read and merged (the MRZ from the back), shown side by side on the result
/// screen, kept in the record, and shown again in the supervisor's case detail.
#[test]
fn two_sided_card_needs_its_back_which_is_read_recorded_and_reviewed() {
    let dir = tempfile::tempdir().unwrap();
    let audit = session::store_with_users(
        dir.path(),
        &[
            ("ama", "agent-pass-1", UserRole::Agent),
            ("kofi", "super-pass-1", UserRole::Supervisor),
        ],
    );
    let fonts = synth::Fonts::load();
    let portrait = synth::portrait_crop(&common::load("obama.jpg").rgb);
    let (front, back) = synth::id_card_two_sided(&fonts, &synth::people()[2], &portrait);
    let (front_file, back_file) = (dir.path().join("front.png"), dir.path().join("back.png"));
    front.image.save(&front_file).unwrap();
    back.image.save(&back_file).unwrap();
    let opts = AppOptions {
        idle_timeout: Duration::from_secs(3600),
        ..AppOptions::new(kyc_core::Config::default(), audit.clone())
    };
    let mut h = Harness::builder()
        .with_size([1280.0, 1400.0])
        .build_ui_state(|ui, app: &mut KioskApp| app.frame(ui), KioskApp::new(opts));
    wait_for(&mut h, "the audit store", |a| {
        matches!(a.state.store, StoreStatus::Ready { .. })
    });
    log_in(&mut h, "ama", "agent-pass-1");
    h.state_mut().state.start.country = "GH".into();
    h.state_mut().state.start.id_type = Some(kyc_core::document::idnumber::IdType::GhanaCardPin);
    h.step();
    click(&mut h, EN.start_verification);
    assert_eq!(h.state().state.screen, Screen::Document);
    h.state_mut().ui.document_path = front_file.display().to_string();
    h.step();
    click(&mut h, EN.import);
    wait_for(&mut h, "front import", |a| {
        a.state
            .session
            .as_ref()
            .is_some_and(|s| s.document.is_some())
    });
    // The back-side step is open, required: no skip, and the selfie waits for it.
    assert!(h.query_by_label(EN.back_guide_required).is_some());
    assert!(h.query_by_label(EN.back_required).is_some());
    assert!(
        h.query_by_role_and_label(Role::Button, EN.skip_back)
            .is_none()
    );
    click(&mut h, EN.next);
    assert_eq!(h.state().state.screen, Screen::Document);
    h.state_mut().ui.back.path = back_file.display().to_string();
    h.step();
    click(&mut h, EN.import_back);
    wait_for(&mut h, "back import", |a| {
        a.ui.back.error.is_some()
            || a.state
                .session
                .as_ref()
                .is_some_and(|s| s.document_back.is_some())
    });
    assert_eq!(h.state().ui.back.error, None);
    assert!(h.query_by_label(EN.back_required).is_none());
    click(&mut h, EN.next);
    assert_eq!(h.state().state.screen, Screen::Selfie);
    click(&mut h, EN.consent_agree);
    session::import_selfie_and_verify(&mut h, &data("obama2.jpg"));
    {
        let view = h
            .state()
            .state
            .session
            .as_ref()
            .unwrap()
            .result
            .as_ref()
            .unwrap();
        assert!(view.document_back.is_some());
        let r = &view.result;
        let reading = r.document.reading.as_ref().unwrap();
        assert!(reading.mrz.as_ref().is_some_and(|m| m.valid));
        assert_eq!(reading.sides.as_ref().unwrap().mrz, Some("back"));
        assert_eq!(
            reading
                .assembled
                .fields
                .document_number
                .as_ref()
                .unwrap()
                .value,
            "G3381902"
        );
        assert!(r.face_match.computed && r.face_match.outcome.is_match);
    }
    h.run_steps(2);
    assert!(h.query_by_label(EN.document_front).is_some());
    assert!(h.query_by_label(EN.document_back).is_some());
    assert!(h.query_by_label_contains(EN.back_quality).is_some());
    type_into(&mut h, EN.reason, "back side checked at the counter");
    click(&mut h, EN.refer);
    let id = {
        wait_for(&mut h, "the record receipt", |a| {
            a.state
                .session
                .as_ref()
                .is_some_and(|s| s.receipt.is_some())
        });
        h.state()
            .state
            .session
            .as_ref()
            .unwrap()
            .receipt
            .as_ref()
            .unwrap()
            .id
    };
    click(&mut h, EN.log_out);
    log_in(&mut h, "kofi", "super-pass-1");
    click(&mut h, EN.review_queue);
    wait_for(&mut h, "the review queue", |a| {
        !a.state.review.busy && !a.state.review.queue.is_empty()
    });
    click(&mut h, &format!("{} #{id}", EN.open));
    wait_for(&mut h, "the case detail", |a| {
        a.state.review.selected.is_some()
    });
    assert!(
        h.state()
            .state
            .review
            .selected
            .as_ref()
            .unwrap()
            .document_back
            .is_some()
    );
    h.run_steps(2);
    assert!(h.query_by_label(EN.document_back).is_some());

    drop(h);
    let mut store = AuditStore::open(audit).unwrap();
    let admin = store.login("admin", "admin-pass-1").unwrap();
    let d = store.get_record(&admin, id).unwrap();
    assert!(d.images.contains(&ImageKind::DocumentBack));
    assert_eq!(
        store
            .load_image(&admin, id, ImageKind::DocumentBack)
            .unwrap(),
        kyc_core::record::evidence_bytes(&std::fs::read(&back_file).unwrap()).into_owned()
    );
    assert_eq!(d.result["document"]["reading"]["sides"]["mrz"], "back");
}
