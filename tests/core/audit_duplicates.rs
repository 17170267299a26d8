//! 1:N duplicate-enrolment detection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::audit_support;

use audit_support::*;
use kyc_core::audit::*;

#[test]
fn same_face_different_id_is_flagged_and_sent_to_review() {
    let (_dir, mut store) = open_tmp();
    let face = template(11);
    let first = record(
        &mut store,
        Rec {
            template: Some(face.clone()),
            doc: Some("GHA-111"),
            ..Rec::default()
        },
    );
    assert!(!first.duplicates.flagged());
    let second = record(
        &mut store,
        Rec {
            template: Some(noisy(&face, 3, 0.35)),
            doc: Some("GHA-222"),
            ..Rec::default()
        },
    );
    assert!(second.duplicates.flagged());
    assert_eq!(second.duplicates.same_face_different_id, vec![first.id]);
    assert!(second.duplicates.same_id_different_face.is_empty());
    assert_eq!(second.duplicates.matches[0].verification_id, first.id);
    assert!(second.duplicates.matches[0].score > 0.8);
    assert!(!second.duplicates.matches[0].same_id_number);
    // The agent chose approve; the flag turns it into a referral.
    assert_eq!(second.current_decision, Decision::Refer);
    assert_eq!(second.review_status, ReviewStatus::Pending);
    let sup = user(&mut store, "sup", Role::Supervisor);
    let d = store.get_record(&sup, second.id).unwrap();
    assert_eq!(d.duplicates, second.duplicates);
    assert_eq!(d.summary.decision, Decision::Approve);
    assert_eq!(d.summary.current_decision, Decision::Refer);
}

#[test]
fn same_id_different_face_is_flagged() {
    let (_dir, mut store) = open_tmp();
    let first = record(
        &mut store,
        Rec {
            template: Some(template(21)),
            doc: Some("NIN 123 456"),
            ..Rec::default()
        },
    );
    let second = record(
        &mut store,
        Rec {
            template: Some(template(22)),
            doc: Some("nin-123456"),
            ..Rec::default()
        },
    );
    assert_eq!(second.duplicates.same_id_different_face, vec![first.id]);
    assert!(second.duplicates.same_face_different_id.is_empty());
    assert_eq!(second.review_status, ReviewStatus::Pending);
}

#[test]
fn returning_customer_with_same_id_is_not_flagged() {
    let (_dir, mut store) = open_tmp();
    let face = template(31);
    let first = record(
        &mut store,
        Rec {
            template: Some(face.clone()),
            doc: Some("P1234567"),
            ..Rec::default()
        },
    );
    let again = record(
        &mut store,
        Rec {
            template: Some(noisy(&face, 9, 0.3)),
            doc: Some("P1234567"),
            ..Rec::default()
        },
    );
    assert!(!again.duplicates.flagged());
    assert_eq!(again.duplicates.matches.len(), 1);
    assert_eq!(again.duplicates.matches[0].verification_id, first.id);
    assert!(again.duplicates.matches[0].same_id_number);
    assert_eq!(again.current_decision, Decision::Approve);
    assert_eq!(again.review_status, ReviewStatus::None);
}

#[test]
fn strangers_do_not_match_at_the_default_threshold() {
    let (_dir, mut store) = open_tmp();
    for i in 0..200u64 {
        let doc = format!("ID{i}");
        record(
            &mut store,
            Rec {
                template: Some(template(1000 + i)),
                doc: Some(&doc),
                with_images: false,
                ..Rec::default()
            },
        );
    }
    let r = store
        .check_duplicates(&template(5000), Some("NEW-1"))
        .unwrap();
    assert!(r.matches.is_empty(), "{:?}", r.matches);
    assert!(!r.flagged());
    // A probe only search finds the enrolled face and writes nothing.
    let before = store.record_count().unwrap();
    let r = store
        .check_duplicates(&noisy(&template(1100), 1, 0.3), Some("ID100"))
        .unwrap();
    assert_eq!(r.matches.len(), 1);
    assert!(r.matches[0].same_id_number);
    assert_eq!(store.record_count().unwrap(), before);
}

#[test]
fn best_matches_come_first_and_are_capped() {
    let mut ix = FaceIndex::new();
    let base = template(77);
    for i in 0..30i64 {
        ix.insert(i, None, &noisy(&base, 500 + i as u64, 0.05 * i as f32))
            .unwrap();
    }
    let hits = ix.search(&base, DEFAULT_DUPLICATE_THRESHOLD, 5).unwrap();
    assert_eq!(hits.len(), 5);
    assert_eq!(
        hits.iter().map(|h| h.0).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    assert!(hits.windows(2).all(|w| w[0].1 >= w[1].1));
}
