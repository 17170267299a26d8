//! The central supervisor queue against a real central service over a real PostgreSQL cluster:
//! a case recorded by `kyc-kiosk verify --record` at a kiosk is listed centrally, opened and
//! decided from an enrolled supervisor workstation (`kyc-kiosk supervisor …`), and the
//! kiosk's next `kyc-kiosk sync` applies the decision as a chained event; the four-eyes rule;
//! unsigned, replayed, tampered and wrong-password requests; no clear personal data in the
//! HTTP bodies; the fleet policy reaching a kiosk and governing its decision; a laxer policy
//! refused without confirmation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Output;

use base64::Engine;
use kyc_central::CentralError;
use kyc_central::testpg::TestCluster;
use kyc_core::audit::{AuditConfig, AuditStore};
use kyc_core::fleet::http;
use kyc_core::fleet::supervisor::{
    CaseDetail, QueueFilter, QueuePage, QueueRequest, Workstation, paths,
};

use crate::common::data;
use crate::fleet_common::{
    AGENT_PASSWORD, AMA_CENTRAL, CentralRun, SUE, audit_verify_ok, kiosk_bin, local_events,
    local_state, new_kiosk, ok, read_only, sync, verify_record,
};

/// A central service over the new database `db` with the supervisors Sue and (centrally) Ama.
fn central_with_supervisors(db: &str) -> CentralRun {
    CentralRun::start(db).with_supervisors(&[SUE, AMA_CENTRAL])
}

fn supervisor(ws_file: &Path, user: (&str, &str), args: &[&str]) -> Output {
    kiosk_bin()
        .args(["supervisor", "--workstation-file"])
        .arg(ws_file)
        .args(["--username", user.0])
        .args(args)
        .env("KYC_KIOSK_PASSWORD", user.1)
        .output()
        .unwrap()
}

#[test]
fn a_case_recorded_at_a_kiosk_is_decided_centrally_and_reaches_the_kiosk_as_a_chained_event() {
    let dir = tempfile::tempdir().unwrap();
    let central = central_with_supervisors("queue_flow");
    let db = new_kiosk(&dir.path().join("kA"));
    for (doc, selfie) in [("obama.jpg", "obama2.jpg"), ("obama.jpg", "obama3.jpg")] {
        let v: serde_json::Value =
            serde_json::from_str(&ok(verify_record(&db, doc, selfie, &[]))).unwrap();
        // One still selfie is not proof of liveness: the kiosk refers the case.
        assert_eq!(v["decision"], "refer", "{v}");
    }
    assert_eq!(local_state(&db, 1).1, "pending");
    central.enroll(&db, "kA");
    sync(&db);
    central.set_branch("kA", "accra-central");

    // The workstation enrols with a one-time token; the token is single-use.
    let ws_file = dir.path().join("ws").join("workstation");
    let token = central.workstation_token("ws1");
    let enrol = |file: &Path| {
        kiosk_bin()
            .args(["supervisor", "--server", &central.url, "--workstation-file"])
            .arg(file)
            .args(["enroll", "--workstation-id", "ws1"])
            .env("KYC_FLEET_TOKEN", &token)
            .output()
            .unwrap()
    };
    assert!(ok(enrol(&ws_file)).contains("workstation ws1 enrolled"));
    let again = enrol(&dir.path().join("other-ws"));
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("used already"));

    // The queue across kiosks, filtered by branch: both cases, newest first.
    let page: QueuePage = serde_json::from_str(&ok(supervisor(
        &ws_file,
        SUE,
        &["queue", "--branch", "accra-central"],
    )))
    .unwrap();
    let ids: Vec<i64> = page.cases.iter().map(|c| c.record_id).collect();
    assert_eq!(ids, vec![2, 1]);
    assert!(page.cases.iter().all(|c| c.kiosk_id == "kA"
        && c.operator.as_deref() == Some("ama")
        && c.review_status == "pending"
        && c.branch.as_deref() == Some("accra-central")));
    let other: QueuePage = serde_json::from_str(&ok(supervisor(
        &ws_file,
        SUE,
        &["queue", "--branch", "kumasi"],
    )))
    .unwrap();
    assert!(other.cases.is_empty());

    // The case in full, with the images the kiosk holds, byte for byte.
    let images = dir.path().join("images");
    let shown: serde_json::Value = serde_json::from_str(&ok(supervisor(
        &ws_file,
        SUE,
        &["show", "kA:1", "--images", images.to_str().unwrap()],
    )))
    .unwrap();
    assert_eq!(shown["record"]["operator"], "ama");
    assert_eq!(shown["record"]["decision"], "refer");
    assert!(shown["result"]["face"].is_object() || shown["result"].is_object());
    let kiosk_rec = read_only(&db).outbox_record(1).unwrap();
    assert_eq!(
        shown["images"].as_array().unwrap().len(),
        kiosk_rec.images.len()
    );
    for (kind, bytes) in &kiosk_rec.images {
        let file = images.join(format!("kA-1-{}.jpg", kind.as_str()));
        assert_eq!(std::fs::read(&file).unwrap(), bytes.to_vec(), "{kind:?}");
    }

    // Four-eyes: a central supervisor named as the case's operator cannot decide it.
    let own = supervisor(
        &ws_file,
        AMA_CENTRAL,
        &["decide", "kA:1", "--approve", "--reason", "looks fine"],
    );
    assert!(!own.status.success());
    let err = String::from_utf8_lossy(&own.stderr);
    assert!(
        err.contains("own_case") && err.contains("four-eyes"),
        "{err}"
    );

    let decided: serde_json::Value = serde_json::from_str(&ok(supervisor(
        &ws_file,
        SUE,
        &[
            "decide",
            "kA:1",
            "--reject",
            "--reason",
            "selfie does not show a live person",
        ],
    )))
    .unwrap();
    assert_eq!(
        (decided["id"].as_i64(), decided["decision"].as_str()),
        (Some(1), Some("reject"))
    );
    // Not twice.
    let twice = supervisor(
        &ws_file,
        SUE,
        &["decide", "kA:1", "--approve", "--reason", "x"],
    );
    assert!(String::from_utf8_lossy(&twice.stderr).contains("decided"));
    let pending: QueuePage =
        serde_json::from_str(&ok(supervisor(&ws_file, SUE, &["queue"]))).unwrap();
    assert_eq!(
        pending
            .cases
            .iter()
            .map(|c| c.record_id)
            .collect::<Vec<_>>(),
        vec![2]
    );

    // The kiosk's next sync applies it as a chained event and the trail still verifies.
    assert_eq!(local_state(&db, 1), ("refer".into(), "pending".into()));
    let report = sync(&db);
    assert_eq!(report["inbox"]["applied"], 1, "{report}");
    assert_eq!(local_state(&db, 1), ("reject".into(), "closed".into()));
    let evs = local_events(&db, "central_decision");
    assert_eq!(evs.len(), 1);
    assert_eq!((evs[0].0.as_str(), evs[0].1), ("central:sue", Some(1)));
    assert!(evs[0].2.contains("\"central_id\":1"), "{}", evs[0].2);
    audit_verify_ok(&db);
    let log = central.rt.block_on(central.central.decisions()).unwrap();
    assert_eq!(log[0].outcome.as_deref(), Some("applied"));
    assert!(log[0].delivered_ms.is_some());
    // The centre holds the kiosk's event too (pushed after the pull).
    let held: i64 = central.rt.block_on(async {
        let c = kyc_central::db::connect(&TestCluster::shared().unwrap().conn_string("queue_flow"))
            .await
            .unwrap();
        c.query_one(
            "SELECT count(*) FROM kiosk_events WHERE kind = 'central_decision' AND kiosk_id = 'kA'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
    });
    assert_eq!(held, 1);

    // A repeated sync applies nothing again.
    assert_eq!(sync(&db)["inbox"]["applied"], 0);

    // A lost acknowledgement: the decision is served again, recognised, not applied twice.
    ok(supervisor(
        &ws_file,
        SUE,
        &[
            "decide",
            "kA:2",
            "--approve",
            "--reason",
            "customer re-checked",
        ],
    ));
    assert_eq!(sync(&db)["inbox"]["applied"], 1);
    central.rt.block_on(async {
        let c = kyc_central::db::connect(&TestCluster::shared().unwrap().conn_string("queue_flow"))
            .await
            .unwrap();
        c.execute(
            "UPDATE central_decisions SET delivered_ms = NULL, outcome = NULL WHERE id = 2",
            &[],
        )
        .await
        .unwrap();
    });
    let report = sync(&db);
    assert_eq!(
        (
            report["inbox"]["applied"].as_i64(),
            report["inbox"]["repeated"].as_i64()
        ),
        (Some(0), Some(1)),
        "{report}"
    );
    assert_eq!(local_events(&db, "central_decision").len(), 2);
    assert_eq!(local_state(&db, 2), ("approve".into(), "closed".into()));
    audit_verify_ok(&db);

    // The central decision log is chained; an edit in the database is found.
    assert!(
        central
            .rt
            .block_on(central.central.verify_decisions())
            .unwrap()
            .is_empty()
    );
    central.rt.block_on(async {
        let c = kyc_central::db::connect(&TestCluster::shared().unwrap().conn_string("queue_flow"))
            .await
            .unwrap();
        c.execute(
            "UPDATE central_decisions SET decision = 'approve' WHERE id = 1",
            &[],
        )
        .await
        .unwrap();
    });
    let problems = central
        .rt
        .block_on(central.central.verify_decisions())
        .unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("decision 1"));
}

#[test]
fn supervisor_requests_are_signed_sealed_and_refused_when_unsigned_replayed_or_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let central = central_with_supervisors("queue_wire");
    let db = new_kiosk(&dir.path().join("kB"));
    // A record with a known holder name and ID number, written through the store's API.
    {
        let mut store = AuditStore::open(AuditConfig::at(&db).with_fast_hashing()).unwrap();
        let agent = store.login("ama", AGENT_PASSWORD).unwrap();
        let jpeg = std::fs::read(data("obama.jpg")).unwrap();
        let selfie = std::fs::read(data("obama2.jpg")).unwrap();
        let result = serde_json::json!({ "fullName": "KWAME QUEUETEST MENSAH", "verified": false });
        let models = serde_json::json!({ "face": "arcface" });
        let template = vec![0.05f32; kyc_core::audit::TEMPLATE_DIM];
        store
            .record_verification(&kyc_core::audit::NewVerification {
                operator: agent.username(),
                customer_type: kyc_core::audit::CustomerType::Individual,
                claimed_id_type: Some("ghana_card"),
                claimed_id_number: Some("GHA-735190264-3"),
                started_ms: kyc_core::audit::now_ms() - 30_000,
                finished_ms: kyc_core::audit::now_ms(),
                indexed: kyc_core::audit::IndexedFields {
                    decision: kyc_core::audit::Decision::Refer,
                    decision_reason: "liveness not proven".into(),
                    document_number: Some("GHA-735190264-3".into()),
                    full_name: Some("KWAME QUEUETEST MENSAH".into()),
                    country: Some("GH".into()),
                    overall_confidence: Some(64.0),
                },
                result: &result,
                models: &models,
                images: &[
                    (kyc_core::audit::ImageKind::DocumentFront, jpeg.as_slice()),
                    (kyc_core::audit::ImageKind::Selfie, selfie.as_slice()),
                ],
                template: Some(&template),
                corrections: &[],
            })
            .unwrap();
        store.logout(agent).unwrap();
    }
    central.enroll(&db, "kB");
    sync(&db);
    let token = central.workstation_token("ws2");
    let ws = Workstation::enroll(&central.url, "ws2", &token, &dir.path().join("ws2")).unwrap();

    // The login body holds the password sealed, not in clear.
    let login = ws.login_body(SUE.0, SUE.1).unwrap();
    assert!(!String::from_utf8_lossy(&login).contains(SUE.1));
    // A wrong password is refused.
    match ws.login(SUE.0, "not-the-password-1") {
        Err(kyc_core::fleet::FleetError::Refused { status: 401, .. }) => {}
        other => panic!("{other:?}"),
    }
    let session = ws.login(SUE.0, SUE.1).unwrap();
    assert_eq!(session.username, "sue");

    // The queue and case bodies are sealed: the name and ID number are not in them, but
    // they open to them on the workstation.
    let queue_body = serde_json::to_vec(&QueueRequest {
        session: session.session.clone(),
        filter: QueueFilter::default(),
        offset: 0,
        limit: 10,
    })
    .unwrap();
    let nonce = kyc_core::fleet::crypto::new_nonce();
    let resp = ws.post_raw(paths::QUEUE, &queue_body, &nonce).unwrap();
    assert_eq!(resp.status, 200);
    let raw = String::from_utf8_lossy(&resp.body).to_string();
    assert!(!raw.contains("liveness not proven"), "{raw}");
    let page: QueuePage = ws.open(&nonce, &resp.body).unwrap();
    assert_eq!(page.cases.len(), 1);
    assert_eq!(page.cases[0].operator.as_deref(), Some("ama"));

    let case_body = serde_json::to_vec(&serde_json::json!({
        "session": session.session, "kioskId": "kB", "recordId": 1
    }))
    .unwrap();
    let nonce2 = kyc_core::fleet::crypto::new_nonce();
    let resp = ws.post_raw(paths::CASE, &case_body, &nonce2).unwrap();
    assert_eq!(resp.status, 200);
    let raw = String::from_utf8_lossy(&resp.body).to_string();
    for secret in ["QUEUETEST", "GHA-735190264", "735190264"] {
        assert!(!raw.contains(secret), "{secret} in the clear");
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let jpeg = std::fs::read(data("obama.jpg")).unwrap();
    assert!(!raw.contains(&b64.encode(&jpeg[..300])[..200]));
    let case: CaseDetail = ws.open(&nonce2, &resp.body).unwrap();
    assert_eq!(
        case.record.full_name.as_deref(),
        Some("KWAME QUEUETEST MENSAH")
    );
    assert_eq!(case.images.len(), 2);
    // It opens only as the answer to the request that carried its nonce.
    assert!(ws.open::<CaseDetail>(&nonce, &resp.body).is_err());

    // Replayed: the same signed request again.
    let replay = ws.post_raw(paths::QUEUE, &queue_body, &nonce).unwrap();
    assert_eq!(replay.status, 401);
    assert!(String::from_utf8_lossy(&replay.body).contains("replayed"));
    // Unsigned.
    let server = http::ServerUrl::parse(&central.url).unwrap();
    let unsigned = http::request(
        &server,
        "POST",
        paths::QUEUE,
        &[],
        &queue_body,
        std::time::Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(unsigned.status, 401);
    assert!(String::from_utf8_lossy(&unsigned.body).contains("unsigned"));
    // Signed for one body, sent with another (a session swapped in).
    let n3 = kyc_core::fleet::crypto::new_nonce();
    let hdrs = ws.signed_headers(paths::QUEUE, &queue_body, kyc_core::audit::now_ms(), &n3);
    let other_body = String::from_utf8(queue_body.clone())
        .unwrap()
        .replace("\"limit\":10", "\"limit\":11");
    let tampered = http::request(
        &server,
        "POST",
        paths::QUEUE,
        &hdrs,
        other_body.as_bytes(),
        std::time::Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(tampered.status, 401);
    assert!(String::from_utf8_lossy(&tampered.body).contains("bad_signature"));
    // A made-up session.
    match ws.queue(
        &kyc_core::fleet::supervisor::SupervisorSession {
            session: "00".repeat(32),
            ..session.clone()
        },
        &QueueFilter::default(),
        0,
        10,
    ) {
        Err(kyc_core::fleet::FleetError::Refused { code, .. }) => assert_eq!(code, "no_session"),
        other => panic!("{other:?}"),
    }
    // A kiosk's key does not sign for a workstation (and the reverse).
    let kiosk_like = Workstation::enroll(
        &central.url,
        "ws3",
        &central.workstation_token("ws3"),
        &dir.path().join("ws3"),
    )
    .unwrap();
    let n4 = kyc_core::fleet::crypto::new_nonce();
    let mut hdrs =
        kiosk_like.signed_headers(paths::QUEUE, &queue_body, kyc_core::audit::now_ms(), &n4);
    hdrs[0].1 = "ws2".into();
    let swapped = http::request(
        &server,
        "POST",
        paths::QUEUE,
        &hdrs,
        &queue_body,
        std::time::Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(swapped.status, 401);
}

#[test]
fn the_fleet_policy_reaches_the_kiosk_governs_its_decision_and_laxer_needs_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let central = central_with_supervisors("queue_policy");
    let admin = central.admin();
    let sue = central
        .rt
        .block_on(central.central.sign_in(SUE.0, SUE.1))
        .unwrap();

    // Laxer than shipped: refused without the confirmation of its exact hash.
    let lax = serde_json::json!({ "decision": { "approveAt": 40.0 } });
    let refused = central
        .rt
        .block_on(central.central.set_policy(&admin, &lax, None))
        .unwrap_err();
    let msg = refused.to_string();
    assert!(matches!(refused, CentralError::Forbidden(_)), "{msg}");
    assert!(
        msg.contains("decision.approveAt") && msg.contains("--confirm"),
        "{msg}"
    );
    let wrong = central.rt.block_on(central.central.set_policy(
        &admin,
        &lax,
        Some(&"0".repeat(64)),
    ));
    assert!(wrong.is_err());
    // Not by a supervisor, and not with an unknown key.
    assert!(
        central
            .rt
            .block_on(central.central.set_policy(
                &sue,
                &serde_json::json!({"decision": {"approveAt": 90.0}}),
                None
            ))
            .is_err()
    );
    let unknown = central
        .rt
        .block_on(central.central.set_policy(
            &admin,
            &serde_json::json!({"decision": {"aproveAt": 90.0}}),
            None,
        ))
        .unwrap_err();
    assert!(
        unknown.to_string().contains("decision.aproveAt"),
        "{unknown}"
    );
    assert!(
        central
            .rt
            .block_on(central.central.policy())
            .unwrap()
            .is_none()
    );

    // The kiosk decides a case as configured (refer), then syncs with a stricter policy set.
    let db = new_kiosk(&dir.path().join("kC"));
    let before: serde_json::Value =
        serde_json::from_str(&ok(verify_record(&db, "obama.jpg", "obama2.jpg", &[]))).unwrap();
    assert_eq!(before["decision"], "refer");
    central.enroll(&db, "kC");
    let strict = serde_json::json!({
        "decision": { "approveAt": 99.5 },
        "matching": { "minimumLevel": 4 }
    });
    let v1 = central
        .rt
        .block_on(central.central.set_policy(&admin, &strict, None))
        .unwrap();
    assert_eq!((v1.version, v1.confirmed_by.clone()), (1, None));
    let report = sync(&db);
    assert_eq!(report["inbox"]["policyVersion"], 1, "{report}");
    assert_eq!(report["inbox"]["policyApplied"], true);
    let applied = local_events(&db, "fleet_settings_applied");
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].0, "central:root-admin");
    assert!(applied[0].2.contains(&v1.policy_hash));
    audit_verify_ok(&db);

    // Offline from now on (the centre is gone): the kiosk keeps deciding with the policy.
    drop(central);
    let after: serde_json::Value =
        serde_json::from_str(&ok(verify_record(&db, "obama.jpg", "obama2.jpg", &[]))).unwrap();
    let governed = |v: &serde_json::Value| {
        v["reasons"].as_array().unwrap().iter().any(|r| {
            r["code"] == "low_overall_confidence" && r["message"].as_str().unwrap().contains("99.5")
        })
    };
    assert!(!governed(&before), "{}", before["reasons"]);
    assert!(governed(&after), "{}", after["reasons"]);
    assert_ne!(after["decision"], "approve");
    // The kiosk administrator's settings file cannot undo it, and a flag may not loosen it.
    std::fs::write(
        db.with_file_name("kiosk-settings.toml"),
        "[decision]\nrejectMatchBelow = 10.0\n[matching]\nminimumLevel = 2\n",
    )
    .unwrap();
    let still: serde_json::Value =
        serde_json::from_str(&ok(verify_record(&db, "obama.jpg", "obama2.jpg", &[]))).unwrap();
    assert!(governed(&still), "{}", still["reasons"]);
    let loosen = verify_record(
        &db,
        "obama.jpg",
        "obama2.jpg",
        &["--minimum-match-level", "3"],
    );
    assert!(!loosen.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&loosen.stdout),
        String::from_utf8_lossy(&loosen.stderr)
    );
    assert!(
        text.contains("flag_loosens_policy") || text.contains("tighten"),
        "{text}"
    );
    audit_verify_ok(&db);
}

#[test]
fn a_laxer_policy_confirmed_centrally_is_chained_and_kiosks_accept_it() {
    let central = central_with_supervisors("queue_policy_lax");
    let admin = central.admin();
    let lax = serde_json::json!({ "decision": { "approveAt": 40.0 } });
    let hash = kyc_core::fleet::supervisor::policy_hash(&lax);
    let v1 = central
        .rt
        .block_on(central.central.set_policy(&admin, &lax, Some(&hash)))
        .unwrap();
    assert_eq!(v1.confirmed_by.as_deref(), Some("root-admin"));
    assert_eq!(v1.unsafe_values[0].key, "decision.approveAt");
    let v2 = central
        .rt
        .block_on(central.central.set_policy(
            &admin,
            &serde_json::json!({"decision": {"approveAt": 80.0}}),
            None,
        ))
        .unwrap();
    assert_eq!((v2.version, v2.prev_hash.clone()), (2, v1.hash.clone()));
    assert!(
        central
            .rt
            .block_on(central.central.verify_policies())
            .unwrap()
            .is_empty()
    );
}
