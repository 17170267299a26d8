//! Fleet-wide duplicate enrolment against a real central service over a real PostgreSQL
//! cluster: verifications recorded by `kyc-kiosk verify --record` from fetched photos at two
//! kiosks, the central flag on the second record and its arrival in the second kiosk's chain
//! after `kyc-kiosk sync`, the online search right after a verification, the offline case
//! ("not checked centrally", the verification still recorded), and the attacks on the search.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use kyc_core::audit::{AuditConfig, AuditStore, TEMPLATE_DIM};
use kyc_core::fleet::dedup::{self, CentralCheck, SearchRequest};
use kyc_core::fleet::{FleetConfig, FleetError, client};

use crate::fleet_common::{
    AGENT_PASSWORD, CentralRun, new_kiosk, ok_with_stderr, read_only, sync, verify_record,
};

/// The flags the central service raised on `kiosk`'s records.
fn central_flags(run: &CentralRun, kiosk: &str) -> Vec<dedup::DuplicateFlag> {
    run.on(run.central.duplicate_flags(kiosk, false)).unwrap()
}

/// `verify --record` of a document and selfie photo: (record id, stderr).
fn record(db: &Path, doc: &str, selfie: &str) -> (i64, String) {
    let (out, err) = ok_with_stderr(verify_record(db, doc, selfie, &[]));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    (v["record"]["id"].as_i64().expect("a record id"), err)
}

fn template_of(db: &Path, id: i64) -> Vec<f32> {
    let rec = read_only(db).outbox_record(id).unwrap();
    dedup::template_from_bytes(rec.template.as_ref().unwrap()).unwrap()
}

#[test]
fn the_same_face_at_two_kiosks_is_flagged_centrally_and_the_flag_reaches_the_second_kiosk() {
    let dir = tempfile::tempdir().unwrap();
    let run = CentralRun::start("dedup_flag");
    let a = new_kiosk(&dir.path().join("ka"));
    let b = new_kiosk(&dir.path().join("kb"));
    let c = new_kiosk(&dir.path().join("kc"));
    for (db, k) in [(&a, "ka"), (&b, "kb"), (&c, "kc")] {
        run.enroll(db, k);
    }

    // Kiosk A enrols Obama first; the centre has nothing yet, so its online search is empty.
    let (ra, err) = record(&a, "obama.jpg", "obama2.jpg");
    assert!(err.contains("no match in the fleet"), "{err}");
    assert_eq!(sync(&a)["records"], 1);
    assert_eq!(run.central.dedup_index().len(), 1);

    // Kiosk B enrols the same person (the same fetched photos): the online search right
    // after the verification names A's record; it is chained on B's record.
    let (rb, err) = record(&b, "obama.jpg", "obama2.jpg");
    assert!(
        err.contains(&format!("same face as record {ra} of kiosk ka")),
        "{err}"
    );
    let (flags, checks) = dedup::central_findings(&read_only(&b), rb).unwrap();
    assert!(flags.is_empty());
    match checks.as_slice() {
        [
            CentralCheck::Checked {
                indexed,
                candidates,
            },
        ] => {
            assert_eq!(*indexed, 1);
            assert_eq!(candidates.len(), 1, "{candidates:?}");
            assert_eq!(
                (candidates[0].kiosk_id.as_str(), candidates[0].record_id),
                ("ka", ra)
            );
            assert!(candidates[0].score > 0.99, "{candidates:?}");
        }
        other => panic!("expected one completed check, got {other:?}"),
    }

    // Kiosk C enrols someone else: no match online, no flag after sync.
    let (rc, _) = record(&c, "biden.jpg", "biden.jpg");
    let (_, checks) = dedup::central_findings(&read_only(&c), rc).unwrap();
    assert_eq!(
        checks,
        vec![CentralCheck::Checked {
            indexed: 1,
            candidates: vec![]
        }]
    );

    // B syncs: the centre flags B's record against A's and the same sync run chains the
    // flag into B's store and pushes it back, which marks it delivered.
    let report = sync(&b);
    assert_eq!(report["flagsChained"], 1, "{report}");
    let flags = central_flags(&run, "kb");
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0].record_id, rb);
    assert_eq!(
        flags[0]
            .candidates
            .iter()
            .map(|m| (m.kiosk_id.as_str(), m.record_id))
            .collect::<Vec<_>>(),
        vec![("ka", ra)]
    );
    assert!(flags[0].candidates[0].score > 0.99);
    let (local_flags, _) = dedup::central_findings(&read_only(&b), rb).unwrap();
    assert_eq!(local_flags, flags);
    let delivered = run
        .rt
        .block_on(run.central.flag_delivered_seq(flags[0].flag_id))
        .unwrap();
    let store = read_only(&b);
    let ev = store
        .events_after(0, 1000)
        .unwrap()
        .into_iter()
        .find(|e| e.kind == dedup::EV_CENTRAL_FLAG)
        .unwrap();
    assert_eq!(delivered, Some(ev.seq));
    assert_eq!(ev.verification_id, Some(rb));
    assert!(store.verify().unwrap().problems.is_empty());
    // Delivered once: the next run offers and chains nothing more.
    assert_eq!(sync(&b)["flagsChained"], 0);

    // A (first) and C (another person) carry no flag.
    sync(&c);
    assert!(central_flags(&run, "ka").is_empty());
    assert!(central_flags(&run, "kc").is_empty());
    assert_eq!(run.central.dedup_index().len(), 3);
    assert!(
        run.rt
            .block_on(run.central.verify_stored())
            .unwrap()
            .is_empty()
    );

    // A restarted service rebuilds the same index from PostgreSQL.
    let n = run.rt.block_on(run.central.rebuild_dedup_index()).unwrap();
    assert_eq!(n, 3);
    let cfg = FleetConfig::load(&FleetConfig::path_for(&c)).unwrap();
    let ans = dedup::search(
        &cfg,
        &template_of(&a, ra),
        None,
        None,
        Duration::from_secs(30),
    )
    .unwrap();
    let found: Vec<_> = ans
        .candidates
        .iter()
        .map(|m| (m.kiosk_id.as_str(), m.record_id))
        .collect();
    assert_eq!(found, vec![("ka", ra), ("kb", rb)], "{ans:?}");
    assert_eq!(ans.indexed, 3);
    assert!((ans.threshold - 0.69).abs() < 1e-6);
}

#[test]
fn offline_the_verification_is_recorded_and_not_checked_centrally() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = CentralRun::start("dedup_offline");
    let db = new_kiosk(&dir.path().join("kd"));
    run.enroll(&db, "kd");
    run.cut();
    let (id, err) = record(&db, "obama.jpg", "obama3.jpg");
    assert!(err.contains("not checked centrally"), "{err}");
    let store = read_only(&db);
    assert_eq!(store.record_count().unwrap(), 1);
    let (_, checks) = dedup::central_findings(&store, id).unwrap();
    match checks.as_slice() {
        [CentralCheck::NotChecked { reason }] => {
            assert!(reason.contains("unreachable"), "{reason}")
        }
        other => panic!("expected not checked, got {other:?}"),
    }
    assert!(store.verify().unwrap().problems.is_empty());

    // Nobody forges the centre's word in the kiosk's chain: the kinds are the store's own.
    let mut w = AuditStore::open(AuditConfig::at(&db).with_fast_hashing()).unwrap();
    let s = w.login("ama", AGENT_PASSWORD).unwrap();
    for kind in [dedup::EV_CENTRAL_FLAG, dedup::EV_CENTRAL_CHECK] {
        assert!(
            w.log_event(&s, kind, serde_json::json!({"flagId": 1}))
                .is_err()
        );
    }
}

#[test]
fn the_online_search_refuses_unsigned_misbound_and_quarantined_queries() {
    let dir = tempfile::tempdir().unwrap();
    let run = CentralRun::start("dedup_attacks");
    // Two enrolled kiosks; no verification is needed to attack the search itself.
    let mut cfgs = Vec::new();
    for k in ["ke", "kf"] {
        let db = new_kiosk(&dir.path().join(k));
        run.enroll(&db, k);
        cfgs.push(FleetConfig::load(&FleetConfig::path_for(&db)).unwrap());
    }
    let t: Vec<f32> = (0..TEMPLATE_DIM).map(|i| (i as f32 * 0.37).sin()).collect();
    // An honest search of an empty fleet answers, with nothing.
    let ans = dedup::search(&cfgs[0], &t, None, None, Duration::from_secs(30)).unwrap();
    assert_eq!((ans.indexed, ans.candidates.len()), (0, 0));

    let post =
        |headers: &[(&str, String)], body: &[u8]| run.post(dedup::SEARCH_PATH, headers, body);
    // A query sealed by kiosk kf, sent (signed) by ke: it does not open under ke's binding.
    let sealed = kyc_core::fleet::seal_to(
        &cfgs[1].central_public_key,
        &dedup::search_aad("kf"),
        br#"{"template":"","idKey":null,"recordId":null}"#,
    )
    .unwrap();
    use base64::Engine;
    let body = serde_json::to_vec(&SearchRequest {
        kiosk_id: "ke".into(),
        sealed: base64::engine::general_purpose::STANDARD.encode(sealed),
    })
    .unwrap();
    let h = client::signed_headers(&cfgs[0], "POST", dedup::SEARCH_PATH, &body);
    assert_eq!(post(&h, &body), (400, "bad_query".to_string()));
    // Unsigned, and a signed body naming another kiosk.
    assert_eq!(post(&[], &body), (401, "unsigned".to_string()));
    let h = client::signed_headers(&cfgs[1], "POST", dedup::SEARCH_PATH, &body);
    assert_eq!(post(&h, &body), (400, "kiosk_mismatch".to_string()));
    // A template that is not 128 finite values.
    let e = dedup::search(&cfgs[0], &[1.0; 12], None, None, Duration::from_secs(30));
    assert!(matches!(e, Err(FleetError::InvalidInput(_))), "{e:?}");
    let e = dedup::search(
        &cfgs[0],
        &[0.0; TEMPLATE_DIM],
        None,
        None,
        Duration::from_secs(30),
    );
    assert!(
        matches!(&e, Err(FleetError::Refused { status: 400, code, .. }) if code == "bad_query"),
        "{e:?}"
    );
    // A quarantined kiosk gets no answers (a stolen kiosk cannot keep probing faces).
    run.rt
        .block_on(
            run.central
                .quarantine("ke", &kyc_core::fleet::ChainBreak::Fork { seq: 1 }),
        )
        .unwrap();
    let e = dedup::search(&cfgs[0], &t, None, None, Duration::from_secs(30));
    assert!(matches!(e, Err(FleetError::Quarantined(_))), "{e:?}");
}
