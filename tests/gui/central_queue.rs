//! The window's central review mode (`kyc-kiosk supervisor --window`) driven headless with
//! egui_kittest against a real central service over a real PostgreSQL cluster: kiosk A records
//! a referred case (a real verification of fetched images) and syncs; at an enrolled
//! workstation a wrong password is refused, the agent who recorded the case cannot decide it
//! (four-eyes), another supervisor finds it in the fleet queue, opens its evidence and rejects
//! it with a reason; kiosk A's next sync chains the decision and its trail verifies; with the
//! central service stopped the window says it is unreachable. An unenrolled workstation shows
//! the enrol command.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use kyc_core::fleet::supervisor::Refusal;
use kyc_kiosk::gui::central::{CentralApp, CentralOptions, Phase};
use kyc_kiosk::gui::central_view::EN as C;
use kyc_kiosk::gui::evidence_text::EN as EV;
use kyc_kiosk::gui::strings::Lang;

use crate::fleet_common::{
    AMA_CENTRAL, CentralRun, SUE, audit_verify_ok, kiosk_bin, local_events, local_state, new_kiosk,
    ok, sync, verify_record,
};

/// Every `central_decision` event in the store `db`, oldest first: (actor, record id).
fn central_decision_events(db: &Path) -> Vec<(String, Option<i64>)> {
    local_events(db, "central_decision")
        .into_iter()
        .map(|(actor, id, _)| (actor, id))
        .collect()
}

type H<'a> = Harness<'a, CentralApp>;

fn window(ws_file: &Path) -> H<'static> {
    let opts = CentralOptions {
        workstation_file: ws_file.to_path_buf(),
        server: None,
        username: None,
        lang: Lang::En,
        limits: kyc_core::Config::default().limits,
    };
    Harness::builder()
        .with_size([1600.0, 1400.0])
        .build_ui_state(
            |ui, app: &mut CentralApp| app.frame(ui),
            CentralApp::new(&opts),
        )
}

/// Run frames until the window's worker has answered (the bound only guards against a hang;
/// nothing is timed).
fn settle(h: &mut H<'_>, what: &str) {
    for _ in 0..6_000 {
        h.step();
        if h.state().state.working.is_none() {
            h.step();
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("gave up waiting for {what}");
}

fn click(h: &mut H<'_>, label: &str) {
    h.get_by_role_and_label(Role::Button, label).click();
    h.step();
    h.step();
}

fn type_into(h: &mut H<'_>, role: Role, label: &str, text: &str) {
    h.get_by_role_and_label(role, label).click();
    h.step();
    h.get_by_role_and_label(role, label).type_text(text);
    h.step();
}

fn has(h: &H<'_>, text: &str) {
    assert!(
        h.query_all_by_label_contains(text).next().is_some(),
        "{text:?} is not on the screen"
    );
}

fn sign_in(h: &mut H<'_>, user: (&str, &str)) {
    h.state_mut().state.username.clear();
    h.step();
    type_into(h, Role::TextInput, C.username, user.0);
    type_into(h, Role::PasswordInput, C.password, user.1);
    click(h, C.sign_in);
    settle(h, "the sign-in");
    // A successful sign-in loads the first page at once.
    settle(h, "the first page");
}

#[test]
fn the_window_decides_a_case_recorded_at_another_kiosk_and_the_decision_reaches_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut central = CentralRun::start("gui_central_queue").with_supervisors(&[SUE, AMA_CENTRAL]);
    let db = new_kiosk(&dir.path().join("kA"));
    // Kiosk A records a real verification; a still selfie is referred.
    let out = verify_record(&db, "obama.jpg", "obama2.jpg", &[]);
    let v: serde_json::Value = serde_json::from_str(&ok(out)).unwrap();
    assert_eq!(v["decision"], "refer", "{v}");
    central.enroll(&db, "kA");
    sync(&db);
    central.set_branch("kA", "accra-central");

    // The workstation is enrolled as the command line does it; the window uses the same file.
    let ws_file = dir.path().join("ws").join("workstation");
    let ws_token = central.workstation_token("ws1");
    ok(kiosk_bin()
        .args(["supervisor", "--server", &central.url, "--workstation-file"])
        .arg(&ws_file)
        .args(["enroll", "--workstation-id", "ws1"])
        .env("KYC_FLEET_TOKEN", &ws_token)
        .output()
        .unwrap());
    let mut h = window(&ws_file);
    assert_eq!(h.state().state.phase, Phase::SignIn);
    has(&h, "ws1");

    // A wrong password: refused in plain words, still on the sign-in screen, field emptied.
    type_into(&mut h, Role::TextInput, C.username, SUE.0);
    type_into(&mut h, Role::PasswordInput, C.password, "not-the-password");
    click(&mut h, C.sign_in);
    settle(&mut h, "the refused sign-in");
    assert_eq!(h.state().state.error, Some(Refusal::WrongPassword));
    assert_eq!(h.state().state.phase, Phase::SignIn);
    assert!(h.state().state.password.is_empty());
    has(&h, C.r_wrong_password);

    // The agent who recorded the case, as a central supervisor: four-eyes refusal, shown.
    sign_in(&mut h, AMA_CENTRAL);
    assert_eq!(h.state().state.phase, Phase::Queue);
    click(&mut h, "Open kA:1");
    settle(&mut h, "the case");
    assert!(h.state().state.case.is_some());
    type_into(&mut h, Role::TextInput, C.why, "looks fine to me");
    click(&mut h, C.approve);
    settle(&mut h, "the refused decision");
    assert_eq!(h.state().state.error, Some(Refusal::OwnCase));
    has(&h, C.r_own_case);
    assert!(
        central
            .rt
            .block_on(central.central.decisions())
            .unwrap()
            .is_empty(),
        "nothing is stored"
    );
    click(&mut h, C.sign_out);
    assert_eq!(h.state().state.phase, Phase::SignIn);

    // Another supervisor: the fleet queue, filtered on the kiosk, shows the case.
    sign_in(&mut h, SUE);
    type_into(&mut h, Role::TextInput, C.kiosk, "kA");
    click(&mut h, C.search);
    settle(&mut h, "the filtered page");
    let page = h.state().state.page.clone().unwrap();
    assert_eq!(page.cases.len(), 1);
    let line = &page.cases[0];
    assert_eq!(
        (
            line.kiosk_id.as_str(),
            line.record_id,
            line.branch.as_deref()
        ),
        ("kA", 1, Some("accra-central"))
    );
    assert_eq!(line.review_status, "pending");
    let recorded_reason = line.reason.clone().unwrap();
    assert!(!recorded_reason.is_empty());
    has(&h, "Open kA:1");
    has(&h, "accra-central");
    has(&h, &recorded_reason);
    // Another kiosk's filter finds nothing.
    h.state_mut().state.filters.kiosk = "kB".into();
    h.step();
    click(&mut h, C.search);
    settle(&mut h, "the empty page");
    assert!(h.state().state.page.as_ref().unwrap().cases.is_empty());
    has(&h, C.no_cases);
    h.state_mut().state.filters.kiosk = "kA".into();
    h.step();
    click(&mut h, C.search);
    settle(&mut h, "the page again");

    // The case's evidence, from the centre's copy of the kiosk's record and images.
    click(&mut h, "Open kA:1");
    settle(&mut h, "the case");
    {
        let case = &h.state().state.case.as_ref().unwrap().view;
        assert_eq!(case.summary.as_ref().unwrap().operator, "ama");
        assert_eq!(case.summary.as_ref().unwrap().kiosk_id, "kA");
        assert!(
            case.images.selfie.is_some(),
            "the selfie travelled and decodes"
        );
        assert!(
            case.images.front.is_some(),
            "the document travelled and decodes"
        );
        // The sample photo is no identity document: the reading's own words say so.
        assert!(case.not_read.is_some(), "why no document was read");
        assert!(case.liveness.is_some(), "the liveness evidence");
    }
    let level = format!(
        "{} {}",
        EV.level,
        h.state().state.case.as_ref().unwrap().view.face.level
    );
    for text in [
        "Case kA:1",
        EV.images,
        EV.face_match,
        &level,
        EV.liveness,
        EV.still_image,
        EV.not_read,
        "ama",
    ] {
        has(&h, text);
    }
    // No reason, no decision.
    assert!(
        h.get_by_role_and_label(Role::Button, C.reject)
            .accesskit_node()
            .is_disabled()
    );
    type_into(
        &mut h,
        Role::TextInput,
        C.why,
        "selfie does not show a live person",
    );
    click(&mut h, C.reject);
    settle(&mut h, "the decision");
    let decided = h.state().state.decided.clone().unwrap();
    assert_eq!(
        (
            decided.kiosk_id.as_str(),
            decided.record_id,
            decided.decision.as_str()
        ),
        ("kA", 1, "reject")
    );
    assert_eq!(decided.supervisor, "sue");
    has(&h, C.stored);
    settle(&mut h, "the refreshed page");
    assert!(h.state().state.case.is_none());
    let log = central.rt.block_on(central.central.decisions()).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].supervisor.as_str(), log[0].reason.as_str()),
        ("sue", "selfie does not show a live person")
    );

    // Kiosk A's next sync applies it as a chained event; the trail verifies.
    assert_eq!(local_state(&db, 1), ("refer".into(), "pending".into()));
    let report = sync(&db);
    assert_eq!(report["inbox"]["applied"], 1, "{report}");
    assert_eq!(local_state(&db, 1), ("reject".into(), "closed".into()));
    assert_eq!(
        central_decision_events(&db),
        vec![("central:sue".to_string(), Some(1))]
    );
    audit_verify_ok(&db);

    // The central service stops: the window says it cannot be reached, and goes on.
    central.cut();
    click(&mut h, C.search);
    settle(&mut h, "the unreachable service");
    assert!(
        matches!(h.state().state.error, Some(Refusal::Unreachable(_))),
        "{:?}",
        h.state().state.error
    );
    has(&h, C.r_unreachable);
    assert_eq!(h.state().state.phase, Phase::Queue);
}

#[test]
fn an_unenrolled_workstation_shows_the_enrol_command_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let ws_file = dir.path().join("no-such-workstation");
    let mut h = window(&ws_file);
    h.step();
    assert!(matches!(h.state().state.phase, Phase::NotEnrolled { .. }));
    has(&h, C.not_enrolled);
    has(&h, "supervisor --server URL");
    has(&h, "enroll --workstation-id");
    assert!(
        h.query_by_role_and_label(Role::Button, C.sign_in).is_none(),
        "no sign-in without an enrolment"
    );
    // A file other users can read is refused with the reason, not used.
    std::fs::write(&ws_file, "{}").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ws_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let mut h = window(&ws_file);
    h.step();
    match &h.state().state.phase {
        Phase::NotEnrolled { why, .. } => assert!(why.contains("chmod 600"), "{why}"),
        other => panic!("{other:?}"),
    }
    has(&h, "chmod 600");
}
