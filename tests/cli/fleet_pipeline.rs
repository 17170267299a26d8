//! The pipelined sync run (the next push built while the current one is sent) against a real
//! central service over a real PostgreSQL cluster: runs cut after a given number of pushes
//! resume with nothing lost, duplicated or out of order, and a run that meets a centre gone
//! mid-run leaves the kiosk where the centre's acknowledgement says.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use kyc_core::audit::{
    AuditConfig, AuditStore, CustomerType, Decision, ImageKind, IndexedFields, NewVerification,
    TEMPLATE_DIM, now_ms,
};
use kyc_core::fleet::FleetError;
use kyc_core::fleet::client::{self, FleetConfig, SyncOptions};

use crate::fleet_common::CentralRun;

/// Enrol `kiosk` (store `db`) at the centre through the client's own enrolment.
fn enroll(centre: &CentralRun, db: &Path, kiosk: &str) -> FleetConfig {
    client::enroll(
        &centre.url,
        kiosk,
        &centre.token(kiosk),
        &FleetConfig::path_for(db),
    )
    .unwrap()
}

/// The sequence the centre acknowledged for `kiosk`.
fn ack(centre: &CentralRun, kiosk: &str) -> i64 {
    centre
        .on(centre.central.kiosks())
        .unwrap()
        .into_iter()
        .find(|k| k.kiosk_id == kiosk)
        .map_or(0, |k| k.ack_seq)
}

/// Every stored chain and record checks out, and no alert was raised.
fn sound(centre: &CentralRun) {
    assert!(
        centre
            .on(centre.central.verify_stored())
            .unwrap()
            .is_empty()
    );
    assert!(centre.open_alerts().is_empty());
}

/// A kiosk store with `n` recorded verifications, each with three images (distinct bytes per
/// record) and a template.
fn kiosk_store(db: &Path, n: usize) -> Vec<i64> {
    let mut cfg = AuditConfig::at(db);
    cfg.load_index_at_open = false;
    let mut store = AuditStore::open(cfg).unwrap();
    let result = serde_json::json!({ "documentType": "national_id", "verified": true });
    let models = serde_json::json!({ "face": "sface" });
    let mut ids = Vec::new();
    for i in 0..n {
        let doc: Vec<u8> = (0..40_000u32).map(|b| (b * 7 + i as u32) as u8).collect();
        let portrait: Vec<u8> = (0..9_000u32).map(|b| (b * 13 + i as u32) as u8).collect();
        let selfie: Vec<u8> = (0..25_000u32).map(|b| (b * 3 + i as u32) as u8).collect();
        let images = [
            (ImageKind::DocumentFront, doc.as_slice()),
            (ImageKind::Portrait, portrait.as_slice()),
            (ImageKind::Selfie, selfie.as_slice()),
        ];
        let mut template = vec![0f32; TEMPLATE_DIM];
        template[i % TEMPLATE_DIM] = 1.0;
        let number = format!("GHA-{i:09}-0");
        let now = now_ms();
        let rec = NewVerification {
            operator: "agent1",
            customer_type: CustomerType::Individual,
            claimed_id_type: Some("ghana_card"),
            claimed_id_number: Some(&number),
            started_ms: now - 30_000,
            finished_ms: now,
            indexed: IndexedFields {
                decision: Decision::Approve,
                decision_reason: "pipeline test".into(),
                document_number: Some(number.clone()),
                full_name: Some("AMA MENSAH".into()),
                country: Some("GH".into()),
                overall_confidence: Some(90.0),
            },
            result: &result,
            models: &models,
            images: &images,
            template: Some(&template),
            corrections: &[],
        };
        ids.extend(
            store
                .record_verifications(&[rec])
                .unwrap()
                .iter()
                .map(|r| r.id),
        );
    }
    ids
}

fn read_only(db: &Path) -> AuditStore {
    let mut cfg = AuditConfig::at(db);
    cfg.load_index_at_open = false;
    AuditStore::open_read_only(cfg).unwrap()
}

#[test]
fn pipelined_runs_cut_after_n_pushes_resume_with_nothing_lost_or_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.sqlite3");
    let ids = kiosk_store(&db, 13);
    let centre = CentralRun::start("fleet_pipe_cut");
    let cfg = enroll(&centre, &db, "kp1");
    let store = read_only(&db);
    let head = store.head().unwrap().0;
    assert!(head >= 13, "{head}");

    // Cut after 3 pushes of 2 events: the push built meanwhile is never sent.
    let two = |pushes| SyncOptions {
        batch_events: 2,
        max_pushes: Some(pushes),
        ..SyncOptions::default()
    };
    let r = client::sync_once(&store, &cfg, &two(3)).unwrap();
    assert_eq!((r.pushes, r.accepted, r.duplicates), (3, 6, 0));
    assert_eq!(r.ack_seq, 6);
    assert_eq!(ack(&centre, "kp1"), 6);

    // A second cut run goes on exactly where the centre stands.
    let r = client::sync_once(&store, &cfg, &two(2)).unwrap();
    assert_eq!((r.pushes, r.accepted, r.duplicates), (2, 4, 0));
    assert_eq!(ack(&centre, "kp1"), 10);

    // The rest, in pushes of 2 events (several pipelined pushes), to the head.
    let r = client::sync_once(&store, &cfg, &two(usize::MAX)).unwrap();
    assert_eq!(r.accepted as i64, head - 10);
    assert_eq!(r.duplicates, 0);
    assert_eq!((r.ack_seq, r.local_seq), (head, head));
    assert_eq!(ack(&centre, "kp1"), head);
    let mut got = centre.record_ids("kp1");
    got.sort_unstable();
    assert_eq!(got, ids);
    sound(&centre);

    // Nothing new: one push stating the head, nothing stored twice.
    let r = client::sync_once(&store, &cfg, &SyncOptions::default()).unwrap();
    assert_eq!((r.pushes, r.accepted, r.duplicates), (1, 0, 0));
}

#[test]
fn a_push_cut_by_the_byte_limit_still_carries_whole_records_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.sqlite3");
    let ids = kiosk_store(&db, 6);
    let centre = CentralRun::start("fleet_pipe_bytes");
    let cfg = enroll(&centre, &db, "kp2");
    let store = read_only(&db);
    let head = store.head().unwrap().0;
    // Each record seals to about 74 KB: a push closes after its first record.
    let opts = SyncOptions {
        batch_bytes: 1,
        ..SyncOptions::default()
    };
    let r = client::sync_once(&store, &cfg, &opts).unwrap();
    assert_eq!(r.records, 6);
    assert!(r.pushes >= 6, "{}", r.pushes);
    assert_eq!(
        (r.accepted as i64, r.duplicates, r.ack_seq),
        (head, 0, head)
    );
    let mut got = centre.record_ids("kp2");
    got.sort_unstable();
    assert_eq!(got, ids);
    sound(&centre);
}

#[test]
fn a_centre_gone_mid_run_leaves_the_kiosk_at_the_acknowledged_push() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.sqlite3");
    kiosk_store(&db, 6);
    let mut centre = CentralRun::start("fleet_pipe_gone");
    let cfg = enroll(&centre, &db, "kp3");
    let store = read_only(&db);
    let head = store.head().unwrap().0;
    let two = SyncOptions {
        batch_events: 2,
        max_pushes: Some(2),
        ..SyncOptions::default()
    };
    client::sync_once(&store, &cfg, &two).unwrap();
    assert_eq!(ack(&centre, "kp3"), 4);
    centre.cut();
    // The centre is gone: the run fails at its first request and nothing moves.
    let e = client::sync_once(&store, &cfg, &SyncOptions::default()).unwrap_err();
    assert!(matches!(e, FleetError::Unreachable(_)), "{e:?}");
    assert_eq!(ack(&centre, "kp3"), 4);
    assert!(head > 4);
}
