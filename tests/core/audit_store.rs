//! Writing, reading back, persistence, protection at rest and key handling.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::audit_support;

use audit_support::*;
use kyc_core::audit::*;

#[test]
fn schema_pragmas_and_version() {
    let (dir, store) = open_tmp();
    drop(store);
    let c = raw(&dir);
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    // Reopening an up-to-date database is a no-op migration.
    let store = AuditStore::open(cfg(&dir)).unwrap();
    assert_eq!(store.record_count().unwrap(), 0);
    assert_eq!(store.integrity_check().unwrap(), vec!["ok".to_string()]);
}

#[test]
fn newer_schema_is_refused() {
    let (dir, store) = open_tmp();
    drop(store);
    raw(&dir)
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let err = AuditStore::open(cfg(&dir)).unwrap_err();
    assert!(matches!(err, AuditError::SchemaTooNew { found, .. } if found == SCHEMA_VERSION + 1));
}

#[test]
fn garbage_file_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.sqlite3");
    std::fs::write(&db, vec![0x42u8; 8192]).unwrap();
    // No key beside it: none is made for a file that already holds something.
    let err = AuditStore::open(cfg(&dir)).unwrap_err();
    assert!(matches!(err, AuditError::KeyMissing(_)), "{err:?}");
    assert!(!cfg(&dir).key_path.exists());
    // With a key: the key does not open it (it is no database).
    AuditKeys::generate().save_new(&cfg(&dir).key_path).unwrap();
    let err = AuditStore::open(cfg(&dir)).unwrap_err();
    assert!(matches!(err, AuditError::WrongKey(_)), "{err:?}");
    assert_eq!(std::fs::read(&db).unwrap(), vec![0x42u8; 8192]);
}

#[test]
fn record_roundtrip_with_images_template_and_corrections() {
    let (dir, mut store) = open_tmp();
    let sup = user(&mut store, "sup", Role::Supervisor);
    let corr = FieldCorrection {
        field: "documentNumber".into(),
        before: "GHA-12345678P-0".into(),
        after: "GHA-123456789-0".into(),
        corrected_by: "agent1".into(),
        corrected_ms: now_ms(),
    };
    let t = template(7);
    let rc = record(
        &mut store,
        Rec {
            template: Some(t.clone()),
            corrections: vec![corr.clone()],
            ..Rec::default()
        },
    );
    assert!(rc.id > 0);
    assert_eq!(rc.current_decision, Decision::Approve);
    assert_eq!(rc.review_status, ReviewStatus::None);

    let d = store.get_record(&sup, rc.id).unwrap();
    assert_eq!(d.summary.operator, "agent1");
    assert_eq!(d.summary.kiosk_id, "kiosk-test");
    assert_eq!(
        d.summary.document_number.as_deref(),
        Some("GHA-123456789-0")
    );
    assert_eq!(d.summary.processing_ms(), 42_000);
    assert_eq!(d.result["fullName"], "Ama Mensah");
    assert_eq!(d.models["face"]["id"], "arcface-r50");
    assert_eq!(d.corrections, vec![corr]);
    assert_eq!(
        d.images,
        vec![
            ImageKind::DocumentFront,
            ImageKind::Portrait,
            ImageKind::Selfie
        ]
    );
    assert!(d.has_template);
    assert_eq!(
        store.load_image(&sup, rc.id, ImageKind::Selfie).unwrap(),
        image("selfie", 1500)
    );
    let back = store.load_template(&sup, rc.id).unwrap();
    let cos: f32 = back.iter().zip(&t).map(|(a, b)| a * b).sum();
    assert!((cos - 1.0).abs() < 1e-5);

    // Nothing of the images is in the database file in clear.
    drop(store);
    let c = raw(&dir);
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    drop(c);
    let bytes = std::fs::read(dir.path().join("audit.sqlite3")).unwrap();
    let needle = b"PLAINTEXT-IMAGE-";
    assert!(!bytes.windows(needle.len()).any(|w| w == needle));
}

#[test]
fn records_survive_reopen_and_index_is_reloaded() {
    let (dir, mut store) = open_tmp();
    let rc = record(
        &mut store,
        Rec {
            template: Some(template(1)),
            ..Rec::default()
        },
    );
    drop(store);
    let store = AuditStore::open(cfg(&dir)).unwrap();
    assert_eq!(store.record_count().unwrap(), 1);
    assert_eq!(store.face_index().len(), 1);
    let dup = store
        .check_duplicates(&noisy(&template(1), 99, 0.3), Some("OTHER-ID"))
        .unwrap();
    assert_eq!(dup.same_face_different_id, vec![rc.id]);
}

#[test]
fn wrong_key_opens_nothing() {
    let (dir, mut store) = open_tmp();
    record(&mut store, Rec::default());
    drop(store);
    let db = cfg(&dir).db_path;
    let before = std::fs::read(&db).unwrap();
    // Replace the key file with another kiosk's key.
    let key = cfg(&dir).key_path;
    std::fs::remove_file(&key).unwrap();
    AuditKeys::generate().save_new(&key).unwrap();
    assert!(matches!(AuditStore::open(cfg(&dir)), Err(AuditError::WrongKey(p)) if p == key));
    assert!(matches!(
        AuditStore::open_read_only(cfg(&dir)),
        Err(AuditError::WrongKey(p)) if p == key
    ));
    assert!(matches!(
        AuditStore::raw_connection(&cfg(&dir)),
        Err(AuditError::WrongKey(_))
    ));
    let msg = AuditError::WrongKey(key.clone()).to_string();
    assert!(msg.contains("does not open this database"), "{msg}");
    // The failed opens changed nothing.
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn missing_key_is_not_silently_regenerated() {
    let (dir, mut store) = open_tmp();
    record(&mut store, Rec::default());
    drop(store);
    let key = cfg(&dir).key_path;
    std::fs::remove_file(&key).unwrap();
    assert!(matches!(AuditStore::open(cfg(&dir)), Err(AuditError::KeyMissing(p)) if p == key));
    assert!(!key.exists());
    assert!(matches!(
        AuditStore::open_read_only(cfg(&dir)),
        Err(AuditError::KeyMissing(_))
    ));
    assert!(!key.exists());
}

#[test]
fn invalid_input_is_refused_without_writing() {
    let (_dir, mut store) = open_tmp();
    let err = try_record(
        &mut store,
        Rec {
            template: Some(vec![0.5; 12]),
            ..Rec::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, AuditError::InvalidInput(_)));
    let err = try_record(
        &mut store,
        Rec {
            operator: " ",
            ..Rec::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, AuditError::InvalidInput(_)));
    assert_eq!(store.record_count().unwrap(), 0);
}

#[test]
fn query_filters_and_pages() {
    let (_dir, mut store) = open_tmp();
    let sup = user(&mut store, "sup", Role::Supervisor);
    for i in 0..30 {
        record(
            &mut store,
            Rec {
                operator: if i % 3 == 0 { "agent2" } else { "agent1" },
                decision: if i % 5 == 0 {
                    Decision::Reject
                } else {
                    Decision::Approve
                },
                with_images: false,
                ..Rec::default()
            },
        );
    }
    let all = store
        .query(
            &sup,
            &RecordFilter::default(),
            Page {
                offset: 0,
                limit: 50,
            },
        )
        .unwrap();
    assert_eq!(all.len(), 30);
    assert!(all.windows(2).all(|w| w[0].created_ms >= w[1].created_ms));
    let rejects = store
        .query(
            &sup,
            &RecordFilter {
                decision: Some(Decision::Reject),
                ..Default::default()
            },
            Page::default(),
        )
        .unwrap();
    assert_eq!(rejects.len(), 6);
    assert!(
        rejects
            .iter()
            .all(|r| r.current_decision == Decision::Reject)
    );
    let a2 = store
        .query(
            &sup,
            &RecordFilter {
                operator: Some("agent2".into()),
                ..Default::default()
            },
            Page {
                offset: 5,
                limit: 3,
            },
        )
        .unwrap();
    assert_eq!(a2.len(), 3);
    assert!(a2.iter().all(|r| r.operator == "agent2"));
}

#[test]
fn supervisor_action_closes_review() {
    let (_dir, mut store) = open_tmp();
    let sup = user(&mut store, "sup", Role::Supervisor);
    let rc = record(
        &mut store,
        Rec {
            decision: Decision::Refer,
            ..Rec::default()
        },
    );
    assert_eq!(rc.review_status, ReviewStatus::Pending);
    let q = store.review_queue(&sup, Page::default()).unwrap();
    assert_eq!(q.iter().map(|r| r.id).collect::<Vec<_>>(), vec![rc.id]);
    store
        .record_supervisor_action(
            &sup,
            rc.id,
            "approve",
            Some(Decision::Approve),
            "checked by phone",
        )
        .unwrap();
    assert!(
        store
            .review_queue(&sup, Page::default())
            .unwrap()
            .is_empty()
    );
    let d = store.get_record(&sup, rc.id).unwrap();
    assert_eq!(d.summary.current_decision, Decision::Approve);
    assert_eq!(d.summary.decision, Decision::Refer);
    assert_eq!(d.summary.review_status, ReviewStatus::Closed);
    assert_eq!(d.supervisor_actions.len(), 1);
    assert_eq!(d.supervisor_actions[0].note, "checked by phone");
    assert!(store.verify().unwrap().is_intact());
}

#[test]
fn full_disk_is_a_typed_error_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    drop(AuditStore::open(cfg(&dir)).unwrap());
    let pages: i64 = raw(&dir)
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    let mut c = cfg(&dir);
    c.max_db_pages = Some(pages as u64 + 40);
    let mut store = AuditStore::open(c).unwrap();
    let mut acked = 0;
    let mut full = false;
    for _ in 0..500 {
        match try_record(&mut store, Rec::default()) {
            Ok(_) => acked += 1,
            Err(AuditError::DiskFull) => {
                full = true;
                break;
            }
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert!(full, "the size cap was never reached");
    assert!(acked > 0);
    assert_eq!(store.record_count().unwrap(), acked);
    assert_eq!(store.integrity_check().unwrap(), vec!["ok".to_string()]);
    assert!(store.verify().unwrap().is_intact());
}

#[test]
fn damaged_key_file_is_a_specific_error() {
    let (dir, mut store) = open_tmp();
    record(&mut store, Rec::default());
    drop(store);
    // Rewritten in place: the file keeps its 0600 mode.
    std::fs::write(cfg(&dir).key_path, "not a key\n").unwrap();
    assert!(matches!(
        AuditStore::open(cfg(&dir)),
        Err(AuditError::KeyMalformed { .. })
    ));
    // A damaged key next to a new database is an error, not a silent new key.
    let fresh = tempfile::tempdir().unwrap();
    std::fs::write(cfg(&fresh).key_path, "not a key\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(cfg(&fresh).key_path, std::fs::Permissions::from_mode(0o600))
            .unwrap();
    }
    assert!(matches!(
        AuditStore::open(cfg(&fresh)),
        Err(AuditError::KeyMalformed { .. })
    ));
}
