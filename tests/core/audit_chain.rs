//! Tamper evidence: every kind of edit to the database file is reported at the right id.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::audit_support;

use audit_support::*;
use kyc_core::audit::*;
use kyc_kiosk::cli::audit::{AuditCommand, StoreArgs, run_to};

/// A store with 12 records (checkpoint every 5 events) and a closed handle.
fn populated() -> (tempfile::TempDir, Vec<i64>) {
    let (dir, mut store) = open_tmp();
    let mut ids = Vec::new();
    for i in 0..12u64 {
        let rc = record(
            &mut store,
            Rec {
                template: Some(template(100 + i)),
                doc: Some(
                    [
                        "A1", "B2", "C3", "D4", "E5", "F6", "G7", "H8", "I9", "J10", "K11", "L12",
                    ][i as usize],
                ),
                ..Rec::default()
            },
        );
        ids.push(rc.id);
    }
    let report = store.verify().unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.events, 12);
    assert_eq!(report.records, 12);
    assert_eq!(report.checkpoints, 2);
    (dir, ids)
}

fn verify(dir: &tempfile::TempDir) -> VerifyReport {
    AuditStore::open(cfg(dir)).unwrap().verify().unwrap()
}

#[test]
fn edited_event_is_reported_by_seq() {
    let (dir, _) = populated();
    raw(&dir)
        .execute("UPDATE events SET actor = 'mallory' WHERE seq = 4", [])
        .unwrap();
    let r = verify(&dir);
    assert_eq!(r.problems, vec![Problem::EventEdited { seq: 4 }]);
}

#[test]
fn edited_record_is_reported_by_id() {
    let (dir, ids) = populated();
    raw(&dir)
        .execute(
            "UPDATE verifications SET full_name = 'Someone Else' WHERE id = ?1",
            [ids[6]],
        )
        .unwrap();
    raw(&dir)
        .execute(
            "UPDATE verifications SET current_decision = 'reject' WHERE id = ?1",
            [ids[2]],
        )
        .unwrap();
    let r = verify(&dir);
    assert_eq!(
        r.problems,
        vec![
            Problem::RecordEdited {
                table: "verifications".into(),
                id: ids[2]
            },
            Problem::RecordEdited {
                table: "verifications".into(),
                id: ids[6]
            },
        ]
    );
}

#[test]
fn deleted_event_is_reported_by_seq() {
    let (dir, _) = populated();
    raw(&dir)
        .execute("DELETE FROM events WHERE seq = 7", [])
        .unwrap();
    let r = verify(&dir);
    assert!(
        r.problems.contains(&Problem::EventsDeleted {
            from_seq: 7,
            to_seq: 7
        }),
        "{:?}",
        r.problems
    );
}

#[test]
fn deleted_record_is_reported_by_id() {
    let (dir, ids) = populated();
    let c = raw(&dir);
    c.execute("DELETE FROM blobs WHERE verification_id = ?1", [ids[3]])
        .unwrap();
    c.execute("DELETE FROM templates WHERE verification_id = ?1", [ids[3]])
        .unwrap();
    c.execute("DELETE FROM verifications WHERE id = ?1", [ids[3]])
        .unwrap();
    drop(c);
    let r = verify(&dir);
    assert!(r.problems.contains(&Problem::RecordDeleted {
        table: "verifications".into(),
        id: ids[3]
    }));
    assert!(r.problems.contains(&Problem::RecordDeleted {
        table: "blobs".into(),
        id: ids[3]
    }));
    assert!(r.problems.contains(&Problem::RecordDeleted {
        table: "templates".into(),
        id: ids[3]
    }));
}

#[test]
fn reordered_events_are_reported() {
    let (dir, _) = populated();
    let c = raw(&dir);
    c.execute_batch(
        "UPDATE events SET seq = -1 WHERE seq = 5;
         UPDATE events SET seq = 5 WHERE seq = 6;
         UPDATE events SET seq = 6 WHERE seq = -1;",
    )
    .unwrap();
    drop(c);
    let r = verify(&dir);
    assert!(
        r.problems.contains(&Problem::EventReordered {
            seq: 5,
            follows_seq: 4
        }) || r
            .problems
            .iter()
            .any(|p| matches!(p, Problem::EventReordered { seq: 5, .. })),
        "{:?}",
        r.problems
    );
    assert!(
        r.problems
            .iter()
            .any(|p| matches!(p, Problem::EventReordered { seq: 6, .. })),
        "{:?}",
        r.problems
    );
    assert!(!r.is_intact());
}

#[test]
fn truncation_after_checkpoint_is_reported() {
    let (dir, _) = populated();
    // Cut the last three events (10 was checkpointed).
    raw(&dir)
        .execute("DELETE FROM events WHERE seq >= 9", [])
        .unwrap();
    let r = verify(&dir);
    assert!(
        r.problems.contains(&Problem::Truncated {
            checkpoint_id: 2,
            expected_head_seq: 10,
            found_head_seq: 8
        }),
        "{:?}",
        r.problems
    );
}

#[test]
fn forged_checkpoint_and_inserted_row_are_reported() {
    let (dir, ids) = populated();
    let c = raw(&dir);
    c.execute("UPDATE checkpoints SET event_count = 99 WHERE id = 1", [])
        .unwrap();
    c.execute(
        "INSERT INTO corrections (verification_id, field, before_value, after_value, corrected_by, corrected_ms)
         VALUES (?1, 'fullName', 'a', 'b', 'mallory', 0)",
        [ids[0]],
    )
    .unwrap();
    let cid = c.last_insert_rowid();
    drop(c);
    let r = verify(&dir);
    assert!(
        r.problems
            .contains(&Problem::CheckpointForged { checkpoint_id: 1 })
    );
    assert!(r.problems.contains(&Problem::RecordUnchained {
        table: "corrections".into(),
        id: cid
    }));
}

#[test]
fn edited_blob_is_reported_and_fails_authentication() {
    let (dir, ids) = populated();
    let c = raw(&dir);
    let mut sealed: Vec<u8> = c
        .query_row(
            "SELECT sealed FROM blobs WHERE verification_id = ?1 AND kind = 'selfie'",
            [ids[5]],
            |r| r.get(0),
        )
        .unwrap();
    sealed[40] ^= 1;
    c.execute(
        "UPDATE blobs SET sealed = ?2 WHERE verification_id = ?1 AND kind = 'selfie'",
        rusqlite::params![ids[5], sealed],
    )
    .unwrap();
    // A change of column type is an edit too, not a reason for verify to fail.
    c.execute(
        "UPDATE verifications SET started_ms = 'yesterday' WHERE id = ?1",
        [ids[7]],
    )
    .unwrap();
    drop(c);
    let mut store = AuditStore::open(cfg(&dir)).unwrap();
    let r = store.verify().unwrap();
    assert_eq!(
        r.problems,
        vec![
            Problem::RecordEdited {
                table: "verifications".into(),
                id: ids[7]
            },
            Problem::RecordEdited {
                table: "blobs".into(),
                id: ids[5]
            },
        ]
    );
    let sup = user(&mut store, "sup", Role::Supervisor);
    assert!(matches!(
        store.load_image(&sup, ids[5], ImageKind::Selfie),
        Err(AuditError::BlobAuthFailed { record_id, .. }) if record_id == ids[5]
    ));
}

#[test]
fn cli_verify_exit_code_follows_the_chain() {
    let (dir, ids) = populated();
    let args = || StoreArgs {
        db: Some(dir.path().join("audit.sqlite3")),
        key: None,
    };
    let mut out = Vec::new();
    let code = run_to(
        AuditCommand::Verify {
            store: args(),
            json: false,
        },
        &mut out,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("chain OK"));
    raw(&dir)
        .execute(
            "UPDATE verifications SET decision = 'approve', document_number = 'X' WHERE id = ?1",
            [ids[1]],
        )
        .unwrap();
    let mut out = Vec::new();
    let code = run_to(
        AuditCommand::Verify {
            store: args(),
            json: true,
        },
        &mut out,
    )
    .unwrap();
    // Broken has its own exit code, distinct from a usage error (2).
    assert_eq!(code, kyc_core::error::exit::AUDIT_BROKEN);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["chain"]["problems"][0]["problem"], "record_edited");
    assert_eq!(v["chain"]["problems"][0]["id"], ids[1]);
}

#[test]
fn cli_verify_on_missing_db_is_an_error_not_a_new_db() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nope.sqlite3");
    let err = run_to(
        AuditCommand::Verify {
            store: StoreArgs {
                db: Some(db.clone()),
                key: None,
            },
            json: false,
        },
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(matches!(err, AuditError::NotFound(_)));
    assert!(!db.exists());
}
