//! The pipelined sync run (the next push built while the current one is sent) against a real
//! central service over a real PostgreSQL cluster: runs cut after a given number of pushes
//! resume with nothing lost, duplicated or out of order, and a run that meets a centre gone
//! mid-run leaves the kiosk where the centre's acknowledgement says. The centre's side of a
//! push cut into chunks: every record stored once in chain order, and a part that does not
//! open in a later chunk refusing the whole push.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use kyc_central::sync::PushChunk;
use kyc_central::testpg::TestCluster;
use kyc_core::audit::{
    AuditConfig, AuditStore, CustomerType, Decision, ImageKind, IndexedFields, NewVerification,
    TEMPLATE_DIM, now_ms,
};
use kyc_core::fleet::client::{self, FleetConfig, SyncOptions};
use kyc_core::fleet::crypto::record_aad;
use kyc_core::fleet::wire::{PushRequest, WireHead};
use kyc_core::fleet::{FleetError, open_sealed};

use crate::fleet_common::{CentralRun, copy_store};

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

/// A centre that opens and stores pushes in chunks of 3 events.
fn chunked_centre(db: &str) -> CentralRun {
    CentralRun::start_with(db, |c| {
        c.with_push_chunk(PushChunk {
            items: 3,
            bytes: usize::MAX,
        })
    })
}

/// A direct connection to the centre's database `db`.
fn pg(centre: &CentralRun, db: &str) -> kyc_central::db::Client {
    let conn = TestCluster::shared().unwrap().conn_string(db);
    centre.on(kyc_central::db::connect(&conn)).unwrap()
}

/// Rows of `kiosk` in each table a push writes: events, records, blobs, indexed templates,
/// queued registry checks.
fn stored_rows(centre: &CentralRun, c: &kyc_central::db::Client, kiosk: &str) -> [i64; 5] {
    let count = |table: &str| -> i64 {
        centre
            .on(c.query_one(
                &format!("SELECT count(*) FROM {table} WHERE kiosk_id = $1"),
                &[&kiosk],
            ))
            .unwrap()
            .get(0)
    };
    [
        count("kiosk_events"),
        count("records"),
        count("record_blobs"),
        count("dedup_templates"),
        count("registry_checks"),
    ]
}

/// Every event from `after` onwards as the kiosk would push it, in one push.
fn whole_push(db: &Path, cfg: &FleetConfig) -> PushRequest {
    let store = read_only(db);
    let items = store
        .events_after(0, usize::MAX)
        .unwrap()
        .iter()
        .map(|e| client::push_item(&store, cfg, e).unwrap().0)
        .collect();
    let (seq, hash) = store.head().unwrap();
    PushRequest {
        kiosk_id: cfg.kiosk_id.clone(),
        head: WireHead {
            seq,
            hash: hex::encode(hash),
        },
        items,
    }
}

/// Positions of the items carrying a record.
fn with_records(req: &PushRequest) -> Vec<usize> {
    (0..req.items.len())
        .filter(|&i| req.items[i].record.is_some())
        .collect()
}

/// One byte flipped in the middle of item `i`'s sealed `kind` part.
fn spoil(req: &mut PushRequest, i: usize, kind: &str) {
    let rec = req.items[i].record.as_mut().unwrap();
    let b = rec.blobs.iter_mut().find(|b| b.kind == kind).unwrap();
    let mid = b.sealed.len() / 2;
    b.sealed[mid] ^= 0x40;
}

#[test]
fn a_push_of_several_chunks_stores_every_record_once_in_chain_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.sqlite3");
    let ids = kiosk_store(&db, 13);
    let centre = chunked_centre("fleet_chunk_order");
    let cfg = enroll(&centre, &db, "kc1");
    let store = read_only(&db);
    let head = store.head().unwrap().0;

    // One push of every event: at least 5 chunks of 3.
    let r = client::sync_once(&store, &cfg, &SyncOptions::default()).unwrap();
    assert_eq!((r.pushes, r.records), (1, 13));
    assert_eq!(
        (r.accepted as i64, r.duplicates, r.ack_seq),
        (head, 0, head)
    );
    let c = pg(&centre, "fleet_chunk_order");
    assert_eq!(stored_rows(&centre, &c, "kc1")[..4], [head, 13, 13 * 4, 13]);

    // Events 1..head once each, records in the order of their events, each record's four
    // parts stored once under its own record and kind (each opens under that binding).
    let seqs: Vec<i64> = centre
        .on(c.query(
            "SELECT seq FROM kiosk_events WHERE kiosk_id = 'kc1' ORDER BY seq",
            &[],
        ))
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(seqs, (1..=head).collect::<Vec<_>>());
    let by_event: Vec<i64> = centre
        .on(c.query(
            "SELECT record_id FROM records WHERE kiosk_id = 'kc1' ORDER BY event_seq",
            &[],
        ))
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(by_event, ids);
    let blobs = centre
        .on(c.query(
            "SELECT record_id, kind, sealed FROM record_blobs WHERE kiosk_id = 'kc1'
             ORDER BY record_id, kind",
            &[],
        ))
        .unwrap();
    let mut kinds = Vec::new();
    for b in &blobs {
        let (id, kind, sealed): (i64, String, Vec<u8>) = (b.get(0), b.get(1), b.get(2));
        let plain = open_sealed(
            centre.central.secret(),
            &record_aad("kc1", id, &kind),
            &sealed,
        );
        assert!(plain.is_ok(), "record {id} {kind} does not open");
        if kind == "template" {
            assert_eq!(plain.unwrap().len(), TEMPLATE_DIM * 4);
        }
        kinds.push((id, kind));
    }
    let want: Vec<(i64, String)> = ids
        .iter()
        .flat_map(|&id| {
            ["document_front", "portrait", "selfie", "template"].map(|k| (id, k.to_string()))
        })
        .collect();
    assert_eq!(kinds, want);
    assert_eq!(centre.central.dedup_index().len(), 13);
    sound(&centre);

    // The same push again: every event skipped as held, nothing stored twice.
    let again = whole_push(&db, &cfg);
    let resp = client::push(&cfg, &again, Duration::from_secs(60)).unwrap();
    assert_eq!(
        (resp.ack_seq, resp.accepted, resp.duplicates),
        (head, 0, head as u64)
    );
    assert_eq!(stored_rows(&centre, &c, "kc1")[..4], [head, 13, 13 * 4, 13]);
}

#[test]
fn a_bad_sealed_part_in_a_later_chunk_refuses_the_whole_push() {
    let dir = tempfile::tempdir().unwrap();
    let made = dir.path().join("made");
    kiosk_store(&made.join("audit.sqlite3"), 13);
    let centre = chunked_centre("fleet_chunk_bad");
    let c = pg(&centre, "fleet_chunk_bad");
    let admin = centre.admin();

    // The last record's selfie spoiled: its chunk comes after earlier chunks were written.
    let db = copy_store(&made, &dir.path().join("kc2"));
    let cfg = enroll(&centre, &db, "kc2");
    let mut req = whole_push(&db, &cfg);
    let recs = with_records(&req);
    let last = *recs.last().unwrap();
    assert!(
        last >= 2 * 3,
        "the spoiled record is in chunk {}",
        last / 3 + 1
    );
    let last_id = req.items[last].record.as_ref().unwrap().id;
    spoil(&mut req, last, "selfie");
    let e = client::push(&cfg, &req, Duration::from_secs(60)).unwrap_err();
    assert!(matches!(e, FleetError::Quarantined(_)), "{e:?}");
    assert_eq!(
        stored_rows(&centre, &c, "kc2"),
        [0; 5],
        "nothing of it is kept"
    );
    let k = centre
        .on(c.query_one(
            "SELECT ack_seq, reported_seq, quarantined, quarantine_reason FROM kiosks
             WHERE kiosk_id = 'kc2'",
            &[],
        ))
        .unwrap();
    let (ack, reported, quarantined, reason): (i64, i64, bool, Option<String>) =
        (k.get(0), k.get(1), k.get(2), k.get(3));
    assert_eq!((ack, reported, quarantined), (0, 0, true));
    let want = format!("record {last_id}");
    let reason = reason.unwrap();
    assert!(
        reason.contains(&want) && reason.contains("selfie does not open"),
        "{reason}"
    );
    let alerts = centre.open_alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (alerts[0].kiosk_id.as_str(), alerts[0].kind.as_str()),
        ("kc2", "record_mismatch")
    );
    assert_eq!(alerts[0].detail, reason);
    // The templates held while the push ran left the index with it.
    assert_eq!(centre.central.dedup_index().len(), 0);

    // Cleared, the kiosk syncs as usual: every record once.
    centre
        .on(centre.central.clear_quarantine(&admin, "kc2"))
        .unwrap();
    let store = read_only(&db);
    let head = store.head().unwrap().0;
    let r = client::sync_once(&store, &cfg, &SyncOptions::default()).unwrap();
    assert_eq!((r.accepted as i64, r.ack_seq, r.records), (head, head, 13));
    assert_eq!(stored_rows(&centre, &c, "kc2")[..4], [head, 13, 13 * 4, 13]);
    sound(&centre);

    // Two faults in one push: the one first in the chain is the one reported, whichever
    // chunk the other is in. A record that does not open, then a broken link further on …
    let db = copy_store(&made, &dir.path().join("kc3"));
    let cfg = enroll(&centre, &db, "kc3");
    let mut req = whole_push(&db, &cfg);
    let recs = with_records(&req);
    spoil(&mut req, recs[4], "template");
    let late = req.items.len() - 1;
    req.items[late].event.prev_hash = "00".repeat(32);
    client::push(&cfg, &req, Duration::from_secs(60)).unwrap_err();
    let alerts = centre.open_alerts();
    assert_eq!(
        (alerts[0].kiosk_id.as_str(), alerts[0].kind.as_str()),
        ("kc3", "record_mismatch"),
        "{}",
        alerts[0].detail
    );
    assert_eq!(stored_rows(&centre, &c, "kc3"), [0; 5]);

    // … and a broken link before a record that does not open.
    let db = copy_store(&made, &dir.path().join("kc4"));
    let cfg = enroll(&centre, &db, "kc4");
    let mut req = whole_push(&db, &cfg);
    let recs = with_records(&req);
    req.items[recs[2]].event.prev_hash = "00".repeat(32);
    spoil(&mut req, *recs.last().unwrap(), "portrait");
    client::push(&cfg, &req, Duration::from_secs(60)).unwrap_err();
    let alerts = centre.open_alerts();
    assert_eq!(
        (alerts[0].kiosk_id.as_str(), alerts[0].kind.as_str()),
        ("kc4", "bad_link"),
        "{}",
        alerts[0].detail
    );
    assert_eq!(stored_rows(&centre, &c, "kc4"), [0; 5]);
    assert_eq!(centre.central.dedup_index().len(), 13);
}
