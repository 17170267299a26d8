//! The attacks of issue 13 on the audit trail, one test each: what an attacker with the kiosk
//! account's files can do to the database, the key and the user rows, and what `audit verify`
//! and the store answer. Each test checks the attack's effect first (so it cannot pass on a
//! no-op), then the verdict.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::audit_support;

use audit_support::*;
use kyc_core::audit::*;
use kyc_core::error::exit;
use kyc_kiosk::cli::audit::{AuditCommand, StoreArgs, run_to};

/// A fresh store with an administrator, an agent and four recorded verifications, closed.
fn recorded_store() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, mut store) = open_tmp();
    let _ = user(&mut store, "ama", Role::Agent);
    for (i, doc) in ["GHA-1", "GHA-2", "GHA-3", "GHA-4"].into_iter().enumerate() {
        record(
            &mut store,
            Rec {
                doc: Some(doc),
                template: Some(template(i as u64 + 1)),
                ..Rec::default()
            },
        );
    }
    assert!(store.verify().unwrap().is_intact());
    drop(store);
    let db = dir.path().join("audit.sqlite3");
    (dir, db)
}

/// Run `audit verify --json` on `db`; (exit code, problem names).
fn cli_verify(db: &std::path::Path) -> (i32, Vec<String>) {
    let mut out = Vec::new();
    let code = run_to(
        AuditCommand::Verify {
            store: StoreArgs {
                db: Some(db.to_path_buf()),
                key: None,
            },
            json: true,
        },
        &mut out,
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let problems = v["chain"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["problem"].as_str().unwrap().to_string())
        .collect();
    (code, problems)
}

fn head_seq(db: &std::path::Path) -> i64 {
    head_seq_keyed(&AuditConfig::at(db))
}

fn head_seq_keyed(c: &AuditConfig) -> i64 {
    AuditStore::raw_connection(c)
        .unwrap()
        .query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn intact_store_verifies_with_exit_0_and_changes_nothing() {
    let (_dir, db) = recorded_store();
    let before = std::fs::read(&db).unwrap();
    let (code, problems) = cli_verify(&db);
    assert_eq!((code, problems), (exit::OK, Vec::<String>::new()));
    // Read-only: not a byte of the database file changed.
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn newest_record_deleted_is_caught_by_the_anchor() {
    let (_dir, db) = recorded_store();
    let head = head_seq(&db);
    let conn = AuditStore::raw_connection(&AuditConfig::at(&db)).unwrap();
    // The attacker removes the newest record and every event it left (no gap in the chain).
    let newest: i64 = conn
        .query_row("SELECT max(id) FROM verifications", [], |r| r.get(0))
        .unwrap();
    let first_seq: i64 = conn
        .query_row(
            "SELECT min(seq) FROM events WHERE verification_id = ?1",
            [newest],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute_batch(&format!(
        "DELETE FROM blobs WHERE verification_id = {newest};
         DELETE FROM templates WHERE verification_id = {newest};
         DELETE FROM corrections WHERE verification_id = {newest};
         DELETE FROM verifications WHERE id = {newest};
         DELETE FROM events WHERE seq >= {first_seq};
         DELETE FROM checkpoints WHERE head_seq >= {first_seq};"
    ))
    .unwrap();
    drop(conn);
    assert!(head_seq(&db) < head);
    let (code, problems) = cli_verify(&db);
    assert_eq!(code, exit::AUDIT_BROKEN);
    assert_eq!(problems, vec!["anchor_ahead".to_string()]);
    // The kiosk refuses to write on top of the cut chain.
    let mut store = AuditStore::open(cfg_at(&db)).unwrap();
    assert!(store.anchor_broken().is_some());
    assert!(matches!(
        try_record(&mut store, Rec::default()),
        Err(AuditError::AnchorMismatch { .. })
    ));
}

fn cfg_at(db: &std::path::Path) -> AuditConfig {
    let mut c = AuditConfig::at(db).with_fast_hashing();
    c.kiosk_id = "kiosk-test".into();
    c.checkpoint_every = 5;
    c
}

#[test]
fn file_replaced_by_its_earlier_copy_is_caught() {
    let (dir, db) = recorded_store();
    let copy = dir.path().join("earlier.sqlite3");
    std::fs::copy(&db, &copy).unwrap();
    {
        let mut store = AuditStore::open(cfg_at(&db)).unwrap();
        record(
            &mut store,
            Rec {
                doc: Some("GHA-5"),
                ..Rec::default()
            },
        );
    }
    let later_head = head_seq(&db);
    std::fs::copy(&copy, &db).unwrap();
    assert!(head_seq(&db) < later_head);
    let (code, problems) = cli_verify(&db);
    assert_eq!(code, exit::AUDIT_BROKEN);
    assert_eq!(problems, vec!["anchor_ahead".to_string()]);
}

#[test]
fn another_store_in_place_of_the_file_is_caught() {
    // Same key, a different history of the same length: the anchored event differs.
    let (dir, db) = recorded_store();
    let head = head_seq(&db);
    let other = tempfile::tempdir().unwrap();
    let mut c = cfg(&other);
    c.key_path = cfg(&dir).key_path;
    c.anchor_path = Some(other.path().join("other.anchor"));
    let mut store = AuditStore::open(c.clone()).unwrap();
    let by = store.system_session("x");
    while head_seq_keyed(&c) < head {
        store.log_event(&by, "note", serde_json::json!({})).unwrap();
    }
    drop(store);
    std::fs::copy(other.path().join("audit.sqlite3"), &db).unwrap();
    let (code, problems) = cli_verify(&db);
    assert_eq!(code, exit::AUDIT_BROKEN);
    assert!(
        problems.contains(&"anchor_mismatch".to_string()),
        "{problems:?}"
    );
}

#[test]
fn truncated_to_zero_bytes_is_caught_and_left_alone() {
    let (dir, db) = recorded_store();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("audit.sqlite3{suffix}")));
    }
    std::fs::File::create(&db).unwrap(); // truncates to 0 bytes
    let (code, problems) = cli_verify(&db);
    assert_eq!(code, exit::AUDIT_BROKEN);
    assert_eq!(
        problems,
        vec!["empty_database".to_string(), "anchor_ahead".to_string()]
    );
    // verify neither created a schema nor repaired anything.
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 0);
}

#[test]
fn every_table_emptied_is_caught() {
    let (_dir, db) = recorded_store();
    let conn = AuditStore::raw_connection(&AuditConfig::at(&db)).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(tables.len() >= 8, "{tables:?}");
    conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
    for t in &tables {
        conn.execute(&format!("DELETE FROM {t}"), []).unwrap();
    }
    drop(conn);
    assert_eq!(head_seq(&db), 0);
    let (code, problems) = cli_verify(&db);
    assert_eq!(code, exit::AUDIT_BROKEN);
    assert_eq!(
        problems,
        vec!["metadata_missing".to_string(), "anchor_ahead".to_string()]
    );
}

#[test]
fn deleted_or_forged_anchor_is_caught() {
    let (dir, db) = recorded_store();
    let anchor = cfg(&dir).anchor_file();
    let text = std::fs::read_to_string(&anchor).unwrap();
    // A forged head (the attacker lacks the key, so the MAC cannot follow).
    let lines: Vec<&str> = text.lines().collect();
    let forged = text.replacen(&format!("\n{}\n", lines[2]), "\n3\n", 1);
    assert_ne!(forged, text);
    std::fs::write(&anchor, forged).unwrap();
    assert_eq!(
        cli_verify(&db),
        (exit::AUDIT_BROKEN, vec!["anchor_invalid".into()])
    );
    std::fs::remove_file(&anchor).unwrap();
    assert_eq!(
        cli_verify(&db),
        (exit::AUDIT_BROKEN, vec!["anchor_missing".into()])
    );
    // The kiosk does not quietly start a new anchor over an existing chain.
    let mut store = AuditStore::open(cfg_at(&db)).unwrap();
    assert!(matches!(
        try_record(&mut store, Rec::default()),
        Err(AuditError::AnchorMismatch { .. })
    ));
    assert!(!anchor.exists());
}

#[test]
fn anchor_follows_every_commit() {
    let (dir, mut store) = open_tmp();
    let anchor_file = cfg(&dir).anchor_file();
    let keys = AuditKeys::load(&cfg(&dir).key_path).unwrap();
    let at = |want: i64| match read_anchor(&anchor_file, &keys).unwrap() {
        AnchorRead::Valid(a) => assert_eq!(a.head_seq, want),
        other => panic!("{other:?}"),
    };
    at(0);
    let rc = record(&mut store, Rec::default());
    at(rc.event_seq);
    let _ = user(&mut store, "ama", Role::Agent);
    at(head_seq(&dir.path().join("audit.sqlite3")));
    assert!(store.anchor_error().is_none());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&anchor_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn group_or_world_readable_key_is_refused() {
    let (dir, db) = recorded_store();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = cfg(&dir).key_path;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(matches!(
            AuditStore::open(cfg(&dir)),
            Err(AuditError::KeyPermissions { mode: 0o666, .. })
        ));
        assert!(matches!(
            AuditStore::open_read_only(cfg(&dir)),
            Err(AuditError::KeyPermissions { .. })
        ));
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
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(AuditStore::open(cfg(&dir)).is_ok());
    }
    let _ = db;
}

#[test]
fn create_admin_after_demoting_the_admin_in_sqlite_is_refused() {
    let (dir, mut store) = open_tmp();
    store.create_first_admin("root", "root-password-1").unwrap();
    drop(store);
    let conn = raw(&dir);
    conn.execute(
        "UPDATE users SET role = 'agent' WHERE username = 'root'",
        [],
    )
    .unwrap();
    assert_eq!(
        conn.query_row("SELECT count(*) FROM users WHERE role = 'admin'", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap(),
        0
    );
    // Even with the row gone altogether: the chain remembers a user was created.
    conn.execute("DELETE FROM users", []).unwrap();
    drop(conn);
    let mut store = AuditStore::open(cfg(&dir)).unwrap();
    assert!(matches!(
        store.create_first_admin("mallory", "mallory-password-1"),
        Err(AuditError::AdminExists)
    ));
    assert_eq!(count_events(&dir, "first_admin_created"), 1);
}

#[test]
fn edited_lockout_row_does_not_unlock() {
    let (dir, mut store) = open_tmp();
    let _ = user(&mut store, "ama", Role::Agent);
    for _ in 0..5 {
        assert!(matches!(
            store.login("ama", "wrong-password"),
            Err(AuditError::InvalidCredentials)
        ));
    }
    assert!(matches!(
        store.login("ama", "password-of-user"),
        Err(AuditError::AccountLocked { .. })
    ));
    let conn = raw(&dir);
    let n = conn
        .execute(
            "UPDATE users SET failed_attempts = 0, locked_until_ms = NULL WHERE username = 'ama'",
            [],
        )
        .unwrap();
    assert_eq!(n, 1);
    drop(conn);
    assert!(matches!(
        store.login("ama", "password-of-user"),
        Err(AuditError::AccountLocked { .. })
    ));
    // An edited lockout event is not believed either: the login is refused as tampering.
    let conn = raw(&dir);
    conn.execute(
        "UPDATE events SET payload = json_set(payload, '$.locked_until_ms', 0)
         WHERE seq = (SELECT max(seq) FROM events WHERE kind = 'login_failed')",
        [],
    )
    .unwrap();
    drop(conn);
    assert!(matches!(
        store.login("ama", "password-of-user"),
        Err(AuditError::Corrupt(_))
    ));
}

#[test]
fn unknown_names_lock_like_known_ones() {
    let (dir, mut store) = open_tmp();
    let _ = user(&mut store, "ama", Role::Agent);
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..6 {
        known.push(
            store
                .login("ama", "wrong-password")
                .unwrap_err()
                .to_string(),
        );
        unknown.push(
            store
                .login("nobody", "wrong-password")
                .unwrap_err()
                .to_string(),
        );
    }
    // Same errors, attempt by attempt (the name aside).
    let anon = |v: &[String], name: &str| -> Vec<String> {
        v.iter().map(|e| e.replace(name, "NAME")).collect()
    };
    let (k, u) = (anon(&known, "ama"), anon(&unknown, "nobody"));
    assert_eq!(k[..5], u[..5]);
    assert!(k[5].starts_with("account NAME is locked until"), "{}", k[5]);
    assert!(u[5].starts_with("account NAME is locked until"), "{}", u[5]);
    let locked: i64 = raw(&dir)
        .query_row(
            "SELECT count(*) FROM events WHERE kind = 'login_locked' AND actor = 'nobody'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(locked, 1);
    assert!(store.verify().unwrap().is_intact());
}

#[test]
fn weak_passwords_are_refused() {
    for weak in [
        "short",
        "            ",
        "\t\t\t\t\t\t\t\t\t\t\t\t",
        "password",
        "password1234",
        "Password123!",
        "123456789012",
        "qwertyuiop12",
        "aaaaaaaaaaaa",
        "iloveyou2024",
    ] {
        assert!(
            matches!(
                check_password_policy(weak),
                Err(AuditError::WeakPassword(_))
            ),
            "{weak:?} accepted"
        );
    }
    for fine in ["root-password-1", "correct horse battery", "ama-kiosk-7731"] {
        check_password_policy(fine).unwrap();
    }
    let (_dir, mut store) = open_tmp();
    assert!(matches!(
        store.create_first_admin("root", "        "),
        Err(AuditError::WeakPassword(_))
    ));
    assert!(matches!(
        store.create_first_admin("root", "password"),
        Err(AuditError::WeakPassword(_))
    ));
}

#[test]
fn failed_creation_leaves_no_empty_database_behind() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"x").unwrap();
    let db = dir.path().join("audit.sqlite3");
    let mut c = AuditConfig::at(&db).with_fast_hashing();
    // The key cannot be written (its folder is a file): the new store fails to open.
    c.key_path = blocker.join("audit.key");
    assert!(AuditStore::open(c).is_err());
    assert!(!db.exists(), "a half-made database was left behind");
}

#[test]
fn erasure_leaves_no_personal_data_in_the_file() {
    let (dir, mut store) = open_tmp();
    let admin = user(&mut store, "root", Role::Admin);
    let keep = record(&mut store, Rec::default());
    let mrz = "P<GHANKRUMAHOSEI<<KWAME<<<<<<<<<<<<<<<<<<<<<";
    let result = serde_json::json!({
        "fullName": "KWAME NKRUMAHOSEI",
        "documentNumber": "G987654321",
        "mrz": { "lines": [mrz, "G987654321GHA8001014M3001012<<<<<<<<<<<<<<02"] },
        "ocr": { "text": "REPUBLIC OF GHANA Kwame Nkrumahosei born 01.01.1980" },
    });
    let models = serde_json::json!({ "face": "test" });
    let template = template(42);
    let corrections = [FieldCorrection {
        field: "lastName".into(),
        before: "NKRUMAH0SEI".into(),
        after: "NKRUMAHOSEI".into(),
        corrected_by: "root".into(),
        corrected_ms: now_ms(),
    }];
    let doc = image("erase-me", 3000);
    let now = now_ms();
    let rc = store
        .record_verification(&NewVerification {
            operator: "root",
            customer_type: CustomerType::Individual,
            claimed_id_type: Some("passport"),
            claimed_id_number: Some("G987654321"),
            started_ms: now - 30_000,
            finished_ms: now,
            indexed: IndexedFields {
                decision: Decision::Approve,
                decision_reason: "all checks passed".into(),
                document_number: Some("G987654321".into()),
                full_name: Some("KWAME NKRUMAHOSEI".into()),
                country: Some("GH".into()),
                overall_confidence: Some(90.0),
            },
            result: &result,
            models: &models,
            images: &[(ImageKind::DocumentFront, doc.as_slice())],
            template: Some(&template),
            corrections: &corrections,
        })
        .unwrap();
    drop(store);
    let db = dir.path().join("audit.sqlite3");
    // The file is encrypted: its raw bytes never show the data. What counts is what someone
    // holding the key reads from every page of the file and WAL, free pages included.
    let keys = AuditKeys::load(&cfg(&dir).key_path).unwrap();
    let file_has = |needle: &str| -> bool {
        assert!(!contains(&raw_bytes(&db), needle), "{needle} in plain text");
        contains(&decrypted_pages(&db, &keys), needle)
    };
    // The personal data is in the file before erasure (so the check below can fail) …
    for needle in ["NKRUMAH", "Nkrumah", "G987654321", "born 01.01.1980"] {
        assert!(file_has(needle), "{needle} not stored in the first place");
    }
    let mut store = AuditStore::open(cfg(&dir)).unwrap();
    let r = store
        .erase_customer(&admin, "G987654321", "customer request")
        .unwrap();
    assert_eq!(r.verification_ids, vec![rc.id]);
    assert_eq!((r.blobs, r.templates), (1, 1));
    assert!(store.verify().unwrap().is_intact());
    let detail = store.get_record(&admin, rc.id).unwrap();
    assert_eq!(detail.result["erased"], true);
    assert_eq!(detail.summary.full_name, None);
    assert_eq!(detail.summary.document_number, None);
    assert_eq!(detail.corrections[0].before, "");
    assert_eq!(detail.summary.decision, Decision::Approve);
    // The other customer's record is untouched.
    let other = store.get_record(&admin, keep.id).unwrap();
    assert_eq!(other.summary.full_name.as_deref(), Some("Ama Mensah"));
    drop(store);
    // … and gone from every byte of the file afterwards.
    for needle in [
        "NKRUMAH",
        "Nkrumah",
        "G987654321",
        "born 01.01.1980",
        "P<GHA",
    ] {
        assert!(!file_has(needle), "{needle} still in the database file");
    }
    assert_eq!(count_events(&dir, "customer_erased"), 1);
    let (code, problems) = cli_verify(&db);
    assert_eq!((code, problems), (exit::OK, Vec::<String>::new()));
}
