//! Users, roles, lockout, and the login trail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::audit_support;

use std::time::Duration;

use audit_support::*;
use kyc_core::audit::*;

#[test]
fn first_admin_is_one_time() {
    let (dir, mut store) = open_tmp();
    assert!(!store.has_admin().unwrap());
    store.create_first_admin("root", "root-password-1").unwrap();
    assert!(store.has_admin().unwrap());
    assert!(matches!(
        store.create_first_admin("root2", "another-password"),
        Err(AuditError::AdminExists)
    ));
    assert_eq!(count_events(&dir, "first_admin_created"), 1);
    // The stored hash is argon2id, never the password.
    let hash: String = raw(&dir)
        .query_row(
            "SELECT password_hash FROM users WHERE username = 'root'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("root-password-1"));
}

#[test]
fn weak_passwords_and_bad_names_are_refused() {
    let (_dir, mut store) = open_tmp();
    assert!(matches!(
        store.create_first_admin("root", "short"),
        Err(AuditError::WeakPassword(_))
    ));
    assert!(matches!(
        store.create_first_admin("system:x", "long-enough-pw"),
        Err(AuditError::InvalidInput(_))
    ));
    store.create_first_admin("root", "root-password-1").unwrap();
    let admin = store.login("root", "root-password-1").unwrap();
    store
        .create_user(&admin, "ama", "ama-password-1", Role::Agent)
        .unwrap();
    assert!(matches!(
        store.create_user(&admin, "ama", "ama-password-2", Role::Agent),
        Err(AuditError::UserExists(_))
    ));
}

#[test]
fn login_logout_and_failures_are_chained() {
    let (dir, mut store) = open_tmp();
    let agent = user(&mut store, "ama", Role::Agent);
    assert_eq!(agent.role(), Role::Agent);
    assert_eq!(agent.username(), "ama");
    assert!(matches!(
        store.login("ama", "wrong-password"),
        Err(AuditError::InvalidCredentials)
    ));
    assert!(matches!(
        store.login("nobody", "whatever-pw"),
        Err(AuditError::InvalidCredentials)
    ));
    store.logout(agent).unwrap();
    assert_eq!(count_events(&dir, "login"), 2); // root, then ama
    assert_eq!(count_events(&dir, "login_failed"), 2);
    assert_eq!(count_events(&dir, "logout"), 1);
    let actor: String = raw(&dir)
        .query_row(
            "SELECT actor FROM events WHERE kind = 'login_failed' ORDER BY seq LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(actor, "ama");
    assert!(store.verify().unwrap().is_intact());
}

#[test]
fn lockout_after_repeated_failures_then_unlock() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(&dir);
    c.lockout_after = 3;
    c.lockout_for = Duration::from_millis(400);
    let mut store = AuditStore::open(c).unwrap();
    let _ = user(&mut store, "ama", Role::Agent);
    for _ in 0..3 {
        assert!(matches!(
            store.login("ama", "bad-password"),
            Err(AuditError::InvalidCredentials)
        ));
    }
    // Locked: even the right password is refused.
    match store.login("ama", "password-of-user") {
        Err(AuditError::AccountLocked { username, until_ms }) => {
            assert_eq!(username, "ama");
            assert!(until_ms > now_ms());
        }
        other => panic!("expected lockout, got {other:?}"),
    }
    assert_eq!(count_events(&dir, "login_locked"), 1);
    std::thread::sleep(Duration::from_millis(450));
    let s = store.login("ama", "password-of-user").unwrap();
    assert_eq!(s.username(), "ama");
    let info = store
        .list_users(&store.system_session("test"))
        .unwrap()
        .into_iter()
        .find(|u| u.username == "ama")
        .unwrap();
    assert_eq!(info.failed_attempts, 0);
    assert_eq!(info.locked_until_ms, None);
}

#[test]
fn permission_table() {
    use Permission::*;
    assert!(role_allows(Role::Agent, RecordVerification));
    assert!(!role_allows(Role::Agent, SupervisorReview));
    assert!(!role_allows(Role::Agent, Settings));
    assert!(!role_allows(Role::Agent, ViewBiometrics));
    assert!(!role_allows(Role::Agent, Export));
    assert!(role_allows(Role::Supervisor, SupervisorReview));
    assert!(!role_allows(Role::Supervisor, Settings));
    assert!(!role_allows(Role::Supervisor, ManageUsers));
    assert!(role_allows(Role::Admin, Settings));
    assert!(role_allows(Role::Admin, Erase));
}

#[test]
fn agents_see_only_their_own_and_no_review_or_biometrics() {
    let (_dir, mut store) = open_tmp();
    let ama = user(&mut store, "ama", Role::Agent);
    let kofi = user(&mut store, "kofi", Role::Agent);
    let sup = user(&mut store, "sup", Role::Supervisor);
    let mine = record(
        &mut store,
        Rec {
            operator: "ama",
            ..Rec::default()
        },
    );
    let theirs = record(
        &mut store,
        Rec {
            operator: "kofi",
            ..Rec::default()
        },
    );

    let list = store
        .query(&ama, &RecordFilter::default(), Page::default())
        .unwrap();
    assert_eq!(list.iter().map(|r| r.id).collect::<Vec<_>>(), vec![mine.id]);
    assert!(matches!(
        store.query(
            &ama,
            &RecordFilter {
                operator: Some("kofi".into()),
                ..Default::default()
            },
            Page::default()
        ),
        Err(AuditError::PermissionDenied { .. })
    ));
    assert_eq!(store.get_record(&ama, mine.id).unwrap().summary.id, mine.id);
    assert!(matches!(
        store.get_record(&ama, theirs.id),
        Err(AuditError::PermissionDenied { .. })
    ));
    assert!(matches!(
        store.review_queue(&ama, Page::default()),
        Err(AuditError::PermissionDenied { .. })
    ));
    assert!(matches!(
        store.load_image(&ama, mine.id, ImageKind::Selfie),
        Err(AuditError::PermissionDenied { .. })
    ));
    assert!(matches!(
        store.record_supervisor_action(&ama, mine.id, "approve", Some(Decision::Approve), ""),
        Err(AuditError::PermissionDenied { .. })
    ));
    assert!(matches!(
        store.purge_images(&ama, 0),
        Err(AuditError::PermissionDenied { .. })
    ));
    assert!(matches!(
        store.create_user(&kofi, "eve", "password-123", Role::Admin),
        Err(AuditError::PermissionDenied { .. })
    ));
    // The supervisor sees both and the images.
    assert_eq!(
        store
            .query(&sup, &RecordFilter::default(), Page::default())
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store
            .load_image(&sup, theirs.id, ImageKind::Portrait)
            .unwrap(),
        image("portrait", 1000)
    );
    assert!(matches!(
        store.erase_records(&sup, &[theirs.id], "test"),
        Err(AuditError::PermissionDenied { .. })
    ));
}

#[test]
fn user_rows_edited_outside_the_store_are_refused_and_reported() {
    let (dir, mut store) = open_tmp();
    let ama = user(&mut store, "ama", Role::Agent);
    let ama_id = ama.user_id().unwrap();
    store.logout(ama).unwrap();
    assert!(store.verify().unwrap().is_intact());
    // Privilege escalation by editing the database file.
    raw(&dir)
        .execute("UPDATE users SET role = 'admin' WHERE id = ?1", [ama_id])
        .unwrap();
    assert!(matches!(
        store.login("ama", "password-of-user"),
        Err(AuditError::Corrupt(_))
    ));
    // A user smuggled in with a copied password hash.
    raw(&dir)
        .execute(
            "INSERT INTO users (username, role, password_hash, created_ms)
             SELECT 'eve', 'admin', password_hash, 0 FROM users WHERE username = 'root'",
            [],
        )
        .unwrap();
    let eve_id: i64 = raw(&dir)
        .query_row("SELECT id FROM users WHERE username = 'eve'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(matches!(
        store.login("eve", "root-password-1"),
        Err(AuditError::Corrupt(_))
    ));
    let r = store.verify().unwrap();
    assert!(r.problems.contains(&Problem::RecordEdited {
        table: "users".into(),
        id: ama_id
    }));
    assert!(r.problems.contains(&Problem::RecordUnchained {
        table: "users".into(),
        id: eve_id
    }));
    // The honest admin still logs in.
    assert_eq!(
        store.login("root", "root-password-1").unwrap().role(),
        Role::Admin
    );
}
