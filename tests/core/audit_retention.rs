//! Retention purge and customer erasure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::audit_support;

use audit_support::*;
use kyc_core::audit::*;

#[test]
fn purge_removes_old_images_keeps_decisions_and_templates() {
    let (dir, mut store) = open_tmp();
    let sup = user(&mut store, "sup", Role::Supervisor);
    let old = record(
        &mut store,
        Rec {
            template: Some(template(1)),
            ..Rec::default()
        },
    );
    std::thread::sleep(std::time::Duration::from_millis(5));
    let cutoff = now_ms();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let new = record(
        &mut store,
        Rec {
            template: Some(template(2)),
            doc: Some("B2"),
            ..Rec::default()
        },
    );

    let admin = store.system_session("retention");
    let r = store.purge_images_before(&admin, cutoff).unwrap();
    assert_eq!(r.records, 1);
    assert_eq!(r.blobs, 3);

    let d = store.get_record(&sup, old.id).unwrap();
    assert!(d.images.is_empty());
    assert!(d.has_template);
    assert!(d.summary.images_purged_ms.is_some());
    assert_eq!(d.summary.decision, Decision::Approve);
    assert!(matches!(
        store.load_image(&sup, old.id, ImageKind::Selfie),
        Err(AuditError::NotFound(_))
    ));
    assert_eq!(
        store.load_template(&sup, old.id).unwrap().len(),
        TEMPLATE_DIM
    );
    assert_eq!(store.get_record(&sup, new.id).unwrap().images.len(), 3);
    assert_eq!(count_events(&dir, "images_purged"), 1);
    // Purged images are explained by the purge event: the chain still verifies.
    let v = store.verify().unwrap();
    assert!(v.is_intact(), "{:?}", v.problems);
    // The same deletion done behind the store's back is reported.
    raw(&dir)
        .execute("DELETE FROM blobs WHERE verification_id = ?1", [new.id])
        .unwrap();
    let v = store.verify().unwrap();
    assert!(v.problems.contains(&Problem::RecordDeleted {
        table: "blobs".into(),
        id: new.id
    }));
}

#[test]
fn purge_by_days_keeps_recent_records() {
    let (_dir, mut store) = open_tmp();
    let sup = user(&mut store, "sup", Role::Supervisor);
    let rc = record(&mut store, Rec::default());
    let admin = store.system_session("retention");
    let r = store.purge_images(&admin, 30).unwrap();
    assert_eq!((r.records, r.blobs), (0, 0));
    assert_eq!(store.get_record(&sup, rc.id).unwrap().images.len(), 3);
}

#[test]
fn erasure_removes_biometrics_and_leaves_a_tombstone() {
    let (dir, mut store) = open_tmp();
    let sup = user(&mut store, "sup", Role::Supervisor);
    let face = template(42);
    let a = record(
        &mut store,
        Rec {
            template: Some(face.clone()),
            doc: Some("GHA-000111222-3"),
            ..Rec::default()
        },
    );
    let b = record(
        &mut store,
        Rec {
            template: Some(noisy(&face, 5, 0.2)),
            doc: Some("GHA 000111222 3"),
            ..Rec::default()
        },
    );
    let other = record(
        &mut store,
        Rec {
            template: Some(template(43)),
            doc: Some("GHA-999"),
            ..Rec::default()
        },
    );
    assert_eq!(store.face_index().len(), 3);

    let admin = store.system_session("dpo");
    let r = store
        .erase_customer(&admin, "gha-000111222-3", "customer request #17")
        .unwrap();
    assert_eq!(r.verification_ids, vec![a.id, b.id]);
    assert_eq!(r.blobs, 6);
    assert_eq!(r.templates, 2);

    for id in [a.id, b.id] {
        let d = store.get_record(&sup, id).unwrap();
        assert!(d.images.is_empty());
        assert!(!d.has_template);
        assert!(d.summary.erased_ms.is_some());
        // The decision stays.
        assert_eq!(d.summary.decision, Decision::Approve);
        assert!(matches!(
            store.load_template(&sup, id),
            Err(AuditError::NotFound(_))
        ));
    }
    assert!(store.get_record(&sup, other.id).unwrap().has_template);
    // The erased face no longer matches anyone.
    assert_eq!(store.face_index().len(), 1);
    assert!(
        store
            .check_duplicates(&face, None)
            .unwrap()
            .matches
            .is_empty()
    );

    // Tombstone: chained, with a keyed tag rather than the ID number.
    let payload: String = raw(&dir)
        .query_row(
            "SELECT payload FROM events WHERE kind = 'customer_erased'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(v["verification_ids"], serde_json::json!([a.id, b.id]));
    assert_eq!(v["reason"], "customer request #17");
    assert!(!payload.contains("000111222"));
    assert!(v["id_tag"].as_str().unwrap().len() >= 16);
    let rep = store.verify().unwrap();
    assert!(rep.is_intact(), "{:?}", rep.problems);

    // Erased templates stay gone after reopening (the index is rebuilt from the database).
    drop(store);
    let store = AuditStore::open(cfg(&dir)).unwrap();
    assert_eq!(store.face_index().len(), 1);
}

#[test]
fn erasing_an_unknown_customer_is_not_found() {
    let (_dir, mut store) = open_tmp();
    let admin = store.system_session("dpo");
    assert!(matches!(
        store.erase_customer(&admin, "NOPE-1", "x"),
        Err(AuditError::NotFound(_))
    ));
}

#[test]
fn deleting_images_keeps_the_template_and_the_chain() {
    let (dir, mut store) = open_tmp();
    let sup = user(&mut store, "sup", Role::Supervisor);
    let face = template(61);
    let rc = record(
        &mut store,
        Rec {
            template: Some(face.clone()),
            doc: Some("K-61"),
            ..Rec::default()
        },
    );
    let admin = store.system_session("dpo");
    assert_eq!(
        store
            .delete_images(&admin, &[rc.id], "image no longer needed")
            .unwrap(),
        3
    );
    let d = store.get_record(&sup, rc.id).unwrap();
    assert!(d.images.is_empty());
    assert!(d.has_template);
    // The template still finds the customer.
    let dup = store.check_duplicates(&face, Some("OTHER")).unwrap();
    assert_eq!(dup.same_face_different_id, vec![rc.id]);
    assert_eq!(count_events(&dir, "images_deleted"), 1);
    let v = store.verify().unwrap();
    assert!(v.is_intact(), "{:?}", v.problems);
    assert!(matches!(
        store.delete_images(&sup, &[rc.id], "x"),
        Err(AuditError::PermissionDenied { .. })
    ));
}
