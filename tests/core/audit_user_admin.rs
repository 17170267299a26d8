//! User management by administrators: role changes, disable / enable, password reset, unlock,
//! the last-admin and own-account rules, each chained and checked by `verify`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::audit_support;

use std::time::Duration;

use audit_support::*;
use kyc_core::audit::*;

/// The newest event of a kind: (actor, payload).
fn last_event(dir: &tempfile::TempDir, kind: &str) -> (String, serde_json::Value) {
    let (actor, payload): (String, String) = raw(dir)
        .query_row(
            "SELECT actor, payload FROM events WHERE kind = ?1 ORDER BY seq DESC LIMIT 1",
            [kind],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    (actor, serde_json::from_str(&payload).unwrap())
}

fn info(store: &AuditStore, by: &UserSession, name: &str) -> UserInfo {
    store
        .list_users(by)
        .unwrap()
        .into_iter()
        .find(|u| u.username == name)
        .unwrap()
}

fn intact(store: &AuditStore) {
    let r = store.verify().unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

#[test]
fn non_admins_may_not_manage_users() {
    let (dir, mut store) = open_tmp();
    user(&mut store, "ama", Role::Agent);
    let kofi = user(&mut store, "kofi", Role::Supervisor);
    let before = count_events(&dir, "user_role_changed");
    for by in [&kofi, &store.login("ama", "password-of-user").unwrap()] {
        let denied = |r: Result<(), AuditError>| {
            assert!(
                matches!(r, Err(AuditError::PermissionDenied { ref action, .. }) if action == "manage_users"),
                "{r:?}"
            );
        };
        denied(store.set_user_role(by, "ama", Role::Admin));
        denied(store.set_user_disabled(by, "ama", true));
        denied(store.reset_password(by, "ama", "a-new-password"));
        denied(store.unlock_user(by, "ama"));
        assert!(matches!(
            store.list_users(by),
            Err(AuditError::PermissionDenied { .. })
        ));
        assert!(matches!(
            store.create_user(by, "eve", "password-eve", Role::Admin),
            Err(AuditError::PermissionDenied { .. })
        ));
    }
    assert_eq!(count_events(&dir, "user_role_changed"), before);
    let root = store.login("root", "root-password-1").unwrap();
    let ama = info(&store, &root, "ama");
    assert_eq!(ama.role, Role::Agent);
    assert!(!ama.disabled);
    intact(&store);
}

#[test]
fn role_change_is_chained_and_takes_effect_at_next_login() {
    let (dir, mut store) = open_tmp();
    user(&mut store, "ama", Role::Agent);
    let root = store.login("root", "root-password-1").unwrap();
    store.set_user_role(&root, "ama", Role::Supervisor).unwrap();
    let (actor, p) = last_event(&dir, "user_role_changed");
    assert_eq!(actor, "root");
    assert_eq!(p["username"], "ama");
    assert_eq!(p["change"]["before"], "agent");
    assert_eq!(p["change"]["after"], "supervisor");
    assert_eq!(info(&store, &root, "ama").role, Role::Supervisor);
    assert_eq!(
        store.login("ama", "password-of-user").unwrap().role(),
        Role::Supervisor
    );
    // The same role again is refused, with nothing chained.
    assert!(matches!(
        store.set_user_role(&root, "ama", Role::Supervisor),
        Err(AuditError::InvalidInput(_))
    ));
    assert_eq!(count_events(&dir, "user_role_changed"), 1);
    assert!(matches!(
        store.set_user_role(&root, "nobody", Role::Agent),
        Err(AuditError::NotFound(_))
    ));
    intact(&store);
    // Restoring the old role by editing the file is caught: the row no longer matches the newest
    // event for it (an older creation event does not vouch for it any more).
    let id = info(&store, &root, "ama").id;
    raw(&dir)
        .execute("UPDATE users SET role = 'agent' WHERE id = ?1", [id])
        .unwrap();
    assert!(matches!(
        store.login("ama", "password-of-user"),
        Err(AuditError::Corrupt(_))
    ));
    assert!(
        store
            .verify()
            .unwrap()
            .problems
            .contains(&Problem::RecordEdited {
                table: "users".into(),
                id
            })
    );
    // And an administrator's change does not launder the edited row.
    assert!(matches!(
        store.set_user_role(&root, "ama", Role::Admin),
        Err(AuditError::Corrupt(_))
    ));
}

#[test]
fn a_disabled_user_cannot_log_in_until_enabled() {
    let (dir, mut store) = open_tmp();
    user(&mut store, "ama", Role::Agent);
    let root = store.login("root", "root-password-1").unwrap();
    store.set_user_disabled(&root, "ama", true).unwrap();
    let (actor, p) = last_event(&dir, "user_disabled");
    assert_eq!(actor, "root");
    assert_eq!(p["disabled"], true);
    assert!(info(&store, &root, "ama").disabled);
    // The right password: a clear "disabled" error, chained, no failure counted.
    let err = store.login("ama", "password-of-user").unwrap_err();
    assert!(
        matches!(&err, AuditError::AccountDisabled(u) if u == "ama"),
        "{err:?}"
    );
    assert!(err.to_string().contains("disabled"), "{err}");
    let (_, p) = last_event(&dir, "login_failed");
    assert_eq!(p["reason"], "disabled");
    assert_eq!(info(&store, &root, "ama").failed_attempts, 0);
    // A wrong password stays the plain refusal (nothing said about the account).
    assert!(matches!(
        store.login("ama", "wrong-password"),
        Err(AuditError::InvalidCredentials)
    ));
    assert!(matches!(
        store.set_user_disabled(&root, "ama", true),
        Err(AuditError::InvalidInput(_))
    ));
    intact(&store);
    // Re-enabling by editing the file is caught.
    let id = info(&store, &root, "ama").id;
    raw(&dir)
        .execute("UPDATE users SET disabled = 0 WHERE id = ?1", [id])
        .unwrap();
    assert!(matches!(
        store.login("ama", "password-of-user"),
        Err(AuditError::Corrupt(_))
    ));
    assert!(!store.verify().unwrap().is_intact());
    raw(&dir)
        .execute("UPDATE users SET disabled = 1 WHERE id = ?1", [id])
        .unwrap();
    intact(&store);
    store.set_user_disabled(&root, "ama", false).unwrap();
    assert_eq!(count_events(&dir, "user_enabled"), 1);
    assert_eq!(
        store.login("ama", "password-of-user").unwrap().role(),
        Role::Agent
    );
    intact(&store);
}

#[test]
fn password_reset_replaces_the_password_and_clears_the_lock() {
    let (dir, mut store) = open_tmp();
    user(&mut store, "ama", Role::Agent);
    for _ in 0..5 {
        let _ = store.login("ama", "wrong-password");
    }
    assert!(matches!(
        store.login("ama", "password-of-user"),
        Err(AuditError::AccountLocked { .. })
    ));
    let root = store.login("root", "root-password-1").unwrap();
    assert!(info(&store, &root, "ama").locked_at(now_ms()));
    assert!(matches!(
        store.reset_password(&root, "ama", "short"),
        Err(AuditError::WeakPassword(_))
    ));
    store
        .reset_password(&root, "ama", "brand-new-password")
        .unwrap();
    let (actor, p) = last_event(&dir, "user_password_reset");
    assert_eq!(actor, "root");
    assert_eq!(p["change"]["lock_cleared"], true);
    // Neither the password nor its hash is in the event.
    let text = p.to_string();
    assert!(!text.contains("brand-new-password") && !text.contains("argon2"));
    let ama = info(&store, &root, "ama");
    assert!(!ama.locked_at(now_ms()) && ama.failed_attempts == 0);
    assert!(matches!(
        store.login("ama", "password-of-user"),
        Err(AuditError::InvalidCredentials)
    ));
    store.login("ama", "brand-new-password").unwrap();
    intact(&store);
}

#[test]
fn unlock_clears_a_lockout_and_is_chained() {
    let (dir, mut store) = open_tmp();
    assert!(store.config().lockout_for >= Duration::from_secs(60));
    user(&mut store, "ama", Role::Agent);
    for _ in 0..5 {
        let _ = store.login("ama", "wrong-password");
    }
    let root = store.login("root", "root-password-1").unwrap();
    let locked = info(&store, &root, "ama");
    assert!(locked.locked_at(now_ms()), "{locked:?}");
    store.unlock_user(&root, "ama").unwrap();
    let (actor, p) = last_event(&dir, "user_unlocked");
    assert_eq!(actor, "root");
    assert_eq!(
        p["change"]["locked_until_ms"],
        locked.locked_until_ms.unwrap()
    );
    let ama = info(&store, &root, "ama");
    assert_eq!((ama.failed_attempts, ama.locked_until_ms), (0, None));
    store.login("ama", "password-of-user").unwrap();
    intact(&store);
}

#[test]
fn admins_cannot_demote_or_disable_themselves_or_the_last_active_admin() {
    let (dir, mut store) = open_tmp();
    let root = user(&mut store, "root", Role::Admin);
    assert!(matches!(
        store.set_user_role(&root, "root", Role::Agent),
        Err(AuditError::OwnAccount { ref action }) if action == "demote"
    ));
    assert!(matches!(
        store.set_user_disabled(&root, "root", true),
        Err(AuditError::OwnAccount { ref action }) if action == "disable"
    ));
    // The maintenance identity has no own account, but the last-admin rule still holds.
    let system = store.system_session("cli");
    assert!(matches!(
        store.set_user_disabled(&system, "root", true),
        Err(AuditError::LastActiveAdmin { ref username }) if username == "root"
    ));
    assert!(matches!(
        store.set_user_role(&system, "root", Role::Supervisor),
        Err(AuditError::LastActiveAdmin { .. })
    ));
    // With a second admin, one can demote the other — but a disabled admin does not count.
    store
        .create_user(&root, "esi", "password-of-esi", Role::Admin)
        .unwrap();
    store.set_user_disabled(&root, "esi", true).unwrap();
    assert!(matches!(
        store.set_user_disabled(&system, "root", true),
        Err(AuditError::LastActiveAdmin { .. })
    ));
    store.set_user_disabled(&root, "esi", false).unwrap();
    let esi = store.login("esi", "password-of-esi").unwrap();
    store.set_user_role(&esi, "root", Role::Supervisor).unwrap();
    assert_eq!(
        store.login("root", "root-password-1").unwrap().role(),
        Role::Supervisor
    );
    assert!(matches!(
        store.set_user_role(&system, "esi", Role::Agent),
        Err(AuditError::LastActiveAdmin { .. })
    ));
    // Nothing refused was chained: one disable, one enable, one role change.
    assert_eq!(count_events(&dir, "user_disabled"), 1);
    assert_eq!(count_events(&dir, "user_enabled"), 1);
    assert_eq!(count_events(&dir, "user_role_changed"), 1);
    intact(&store);
}

#[test]
fn user_events_cannot_be_forged_through_log_event() {
    let (_dir, mut store) = open_tmp();
    let root = user(&mut store, "root", Role::Admin);
    for kind in [
        "user_role_changed",
        "user_disabled",
        "user_enabled",
        "user_password_reset",
        "user_unlocked",
    ] {
        assert!(matches!(
            store.log_event(&root, kind, serde_json::json!({})),
            Err(AuditError::InvalidInput(_))
        ));
    }
    // A settings change is a free-form event anyone signed in may leave.
    store
        .log_event(&root, "settings_changed", serde_json::json!({"after": {}}))
        .unwrap();
    intact(&store);
}

#[test]
fn rows_created_before_user_management_need_no_migration() {
    // A database whose users were only ever created (the schema has had `disabled` from v1):
    // opening it with this build changes nothing, and the new operations work on old rows.
    let (dir, mut store) = open_tmp();
    user(&mut store, "ama", Role::Agent);
    drop(store);
    let version: i64 = raw(&dir)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let mut store = AuditStore::open(cfg(&dir)).unwrap();
    let root = store.login("root", "root-password-1").unwrap();
    assert!(!info(&store, &root, "ama").disabled);
    store.set_user_disabled(&root, "ama", true).unwrap();
    intact(&store);
}
