//! The whole audit database encrypted at rest (SQLCipher): what the raw file and its WAL show,
//! a wrong key, the key passed as an OS credential, and the one-time encryption of a plaintext
//! store written by an earlier version.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use crate::audit_support;

use audit_support::*;
use kyc_core::audit::*;
use kyc_core::error::exit;
use kyc_kiosk::cli::audit::{AuditCommand, StoreArgs, run_to};

const SQLITE_HEADER: &[u8] = b"SQLite format 3\0";
const NAME: &str = "KWABENA OSEI-TUTU";
const DOC_NO: &str = "G55501234";
const MRZ: &str = "P<GHAOSEI<TUTU<<KWABENA<<<<<<<<<<<<<<<<<<<<<";
const OCR: &str = "REPUBLIC OF GHANA PASSPORT Kwabena Osei-Tutu Kumasi";

/// Record one verification carrying a name, number, MRZ line and OCR text.
fn record_person(store: &mut AuditStore) -> RecordReceipt {
    let result = serde_json::json!({
        "fullName": NAME,
        "documentNumber": DOC_NO,
        "mrz": { "lines": [MRZ, "G55501234GHA9002028M3202024<<<<<<<<<<<<<<04"] },
        "ocr": { "text": OCR },
    });
    let models = serde_json::json!({ "face": "test" });
    let doc = image("secret-document", 3000);
    let t = template(7);
    let now = now_ms();
    store
        .record_verification(&NewVerification {
            operator: "agent1",
            customer_type: CustomerType::Individual,
            claimed_id_type: Some("passport"),
            claimed_id_number: Some(DOC_NO),
            started_ms: now - 20_000,
            finished_ms: now,
            indexed: IndexedFields {
                decision: Decision::Approve,
                decision_reason: "all checks passed".into(),
                document_number: Some(DOC_NO.into()),
                full_name: Some(NAME.into()),
                country: Some("GH".into()),
                overall_confidence: Some(91.0),
            },
            result: &result,
            models: &models,
            images: &[(ImageKind::DocumentFront, doc.as_slice())],
            template: Some(&t),
            corrections: &[],
        })
        .unwrap()
}

/// The text a record holds (readable with the key through SQLCipher alone).
const TEXT: [&str; 4] = [NAME, DOC_NO, MRZ, OCR];
/// Everything that must never show in the raw files: the text and the image bytes (which are
/// sealed a second time inside the database).
const NEEDLES: [&str; 5] = [NAME, DOC_NO, MRZ, OCR, "PLAINTEXT-IMAGE-secret-document"];

fn db_of(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("audit.sqlite3")
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn cli_verify_code(db: &Path) -> Result<i32, AuditError> {
    let mut out = Vec::new();
    run_to(
        AuditCommand::Verify {
            store: StoreArgs {
                db: Some(db.to_path_buf()),
                key: None,
            },
            json: true,
        },
        &mut out,
    )
}

#[test]
fn file_and_wal_show_no_personal_data_and_no_sqlite_header() {
    let (dir, mut store) = open_tmp();
    let sup = user(&mut store, "sup", Role::Supervisor);
    let rc = record_person(&mut store);
    let db = db_of(&dir);
    // The store is still open: the record sits in the WAL, not yet in the database file.
    let wal = std::fs::read(with_suffix(&db, "-wal")).unwrap();
    assert!(
        wal.len() > 4096,
        "the WAL holds the commit ({} bytes)",
        wal.len()
    );
    let main = std::fs::read(&db).unwrap();
    assert!(!main.starts_with(SQLITE_HEADER));
    let keys = AuditKeys::load(&cfg(&dir).key_path).unwrap();
    let readable = decrypted_pages(&db, &keys);
    for needle in TEXT {
        // Someone holding the key reads it (so the check below can fail) …
        assert!(contains(&readable, needle), "{needle} was not stored");
    }
    for needle in NEEDLES {
        // … the raw files do not show it.
        assert!(
            !contains(&raw_bytes(&db), needle),
            "{needle} readable in the raw files"
        );
    }
    // The store itself reads it back.
    let d = store.get_record(&sup, rc.id).unwrap();
    assert_eq!(d.summary.full_name.as_deref(), Some(NAME));
    assert_eq!(d.result["ocr"]["text"], OCR);
    assert!(store.is_encrypted());
    drop(store);
    // Closed (WAL folded into the file): still nothing readable, no header.
    let main = std::fs::read(&db).unwrap();
    assert!(!main.starts_with(SQLITE_HEADER));
    for needle in NEEDLES {
        assert!(
            !contains(&raw_bytes(&db), needle),
            "{needle} in the closed file"
        );
    }
    // A plain SQLite connection without the key reads nothing.
    let plain = rusqlite::Connection::open(&db).unwrap();
    let err = plain
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap_err();
    assert!(err.to_string().contains("not a database"), "{err}");
}

#[test]
fn wrong_key_is_a_specific_error_for_the_kiosk_and_audit_verify() {
    let (dir, mut store) = open_tmp();
    record_person(&mut store);
    drop(store);
    let db = db_of(&dir);
    assert_eq!(cli_verify_code(&db).unwrap(), exit::OK);
    let key = cfg(&dir).key_path;
    let good = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    AuditKeys::generate().save_new(&key).unwrap();
    let err = cli_verify_code(&db).unwrap_err();
    assert!(
        matches!(&err, AuditError::WrongKey(p) if *p == key),
        "{err:?}"
    );
    assert_eq!(kyc_core::error::Error::from(err).exit_code(), exit::STORAGE);
    let err = AuditStore::open(cfg(&dir)).unwrap_err();
    assert!(
        err.to_string().contains("does not open this database"),
        "{err}"
    );
    // The right key opens it again: nothing was changed by the refusals.
    std::fs::remove_file(&key).unwrap();
    std::fs::write(&key, good).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    assert_eq!(cli_verify_code(&db).unwrap(), exit::OK);
}

#[test]
fn key_passed_as_a_credential_is_used_instead_of_the_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials");
    std::fs::create_dir(&creds).unwrap();
    let keys = AuditKeys::generate();
    keys.save_new(&creds.join(STORE_KEY_CREDENTIAL)).unwrap();
    let mut c = cfg(&dir);
    c.credentials_dir = Some(creds.clone());
    assert_eq!(c.key_source(), creds.join(STORE_KEY_CREDENTIAL));
    let mut store = AuditStore::open(c.clone()).unwrap();
    record_person(&mut store);
    drop(store);
    // No key file was made beside the database: the credential is the only key.
    assert!(!c.key_path.exists());
    let db = db_of(&dir);
    assert!(contains(&decrypted_pages(&db, &keys), NAME));
    // Without the credential the store cannot be opened …
    let mut without = cfg(&dir);
    without.credentials_dir = None;
    assert!(matches!(
        AuditStore::open(without.clone()),
        Err(AuditError::KeyMissing(p)) if p == c.key_path
    ));
    assert!(!c.key_path.exists(), "no key made for an existing store");
    // … nor with a credentials folder that lacks it …
    without.credentials_dir = Some(dir.path().join("empty"));
    assert!(AuditStore::open_read_only(without).is_err());
    // … and with it, it opens, reads and verifies.
    let store = AuditStore::open_read_only(c.clone()).unwrap();
    assert!(store.verify().unwrap().is_intact());
    assert_eq!(store.record_count().unwrap(), 1);
    drop(store);
    // A credential others may read is refused like a lax key file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            creds.join(STORE_KEY_CREDENTIAL),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        assert!(matches!(
            AuditStore::open(c),
            Err(AuditError::KeyPermissions { mode: 0o644, .. })
        ));
    }
}

/// Turn the encrypted store in `dir` into the plaintext file an earlier version wrote: a plain
/// SQLite connection (no key) through the same schema, holding the same rows and chain.
fn make_plaintext(dir: &tempfile::TempDir) {
    let db = db_of(dir);
    let plain = dir.path().join("plain.sqlite3");
    {
        let conn = AuditStore::raw_connection(&cfg(dir)).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        conn.execute(
            "ATTACH DATABASE ?1 AS plain KEY ''",
            [plain.to_str().unwrap()],
        )
        .unwrap();
        conn.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))
            .unwrap();
        conn.execute_batch(&format!(
            "PRAGMA plain.user_version = {version}; DETACH DATABASE plain;"
        ))
        .unwrap();
    }
    // The earlier version's store was in WAL mode.
    let conn = rusqlite::Connection::open(&plain).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    drop(conn);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&db, suffix));
    }
    std::fs::rename(&plain, &db).unwrap();
    let bytes = std::fs::read(&db).unwrap();
    assert!(bytes.starts_with(SQLITE_HEADER));
    assert!(
        contains(&bytes, "verification_recorded") && contains(&bytes, "GHA-123456789-0"),
        "the plaintext store shows its records"
    );
}

/// A store with users and two recorded verifications (one with the person's data), closed.
fn store_with_records() -> (tempfile::TempDir, i64) {
    let (dir, mut store) = open_tmp();
    let _ = user(&mut store, "sup", Role::Supervisor);
    record(&mut store, Rec::default());
    let rc = record_person(&mut store);
    assert!(store.verify().unwrap().is_intact());
    drop(store);
    (dir, rc.id)
}

#[test]
fn plaintext_store_of_the_earlier_layout_is_encrypted_once_keeping_records_chain_and_anchor() {
    let (dir, id) = store_with_records();
    make_plaintext(&dir);
    let db = db_of(&dir);
    for needle in TEXT {
        assert!(
            contains(&raw_bytes(&db), needle),
            "{needle} not in the plaintext store"
        );
    }
    let anchor_before = std::fs::read(cfg(&dir).anchor_file()).unwrap();
    // Read-only checks work on it as it is and change nothing.
    let ro = AuditStore::open_read_only(cfg(&dir)).unwrap();
    assert!(!ro.is_encrypted());
    assert!(ro.verify().unwrap().is_intact());
    let events_before = ro.verify().unwrap().events;
    drop(ro);
    assert!(std::fs::read(&db).unwrap().starts_with(SQLITE_HEADER));

    // The kiosk's next open encrypts it.
    let mut store = AuditStore::open(cfg(&dir)).unwrap();
    assert!(store.is_encrypted());
    assert_eq!(store.anchor_broken(), None);
    let sup = store.login("sup", "password-of-user").unwrap();
    assert_eq!(store.record_count().unwrap(), 2);
    let d = store.get_record(&sup, id).unwrap();
    assert_eq!(d.summary.full_name.as_deref(), Some(NAME));
    assert_eq!(d.result["mrz"]["lines"][0], MRZ);
    let img = store
        .load_image(&sup, id, ImageKind::DocumentFront)
        .unwrap();
    assert_eq!(img, image("secret-document", 3000));
    let report = store.verify().unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    // The encryption is chained once (the login adds one more event).
    assert_eq!(report.events, events_before + 2);
    store.logout(sup).unwrap();
    drop(store);
    assert_eq!(count_events(&dir, "store_encrypted"), 1);
    let (actor, payload): (String, String) = raw(&dir)
        .query_row(
            "SELECT actor, payload FROM events WHERE kind = 'store_encrypted'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(actor, "system:encryption");
    let payload: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload["from"], "plaintext");
    assert_eq!(payload["head_seq_before"], events_before);
    // The anchor moved forward from where it was, under the same key.
    assert_ne!(
        std::fs::read(cfg(&dir).anchor_file()).unwrap(),
        anchor_before
    );
    // Nothing plain is left: no header, no personal data, no leftover copy or lock.
    let bytes = std::fs::read(&db).unwrap();
    assert!(!bytes.starts_with(SQLITE_HEADER));
    for needle in NEEDLES {
        assert!(
            !contains(&raw_bytes(&db), needle),
            "{needle} after encryption"
        );
    }
    for leftover in [".encrypting", ".encrypt-lock", "-journal"] {
        assert!(
            !with_suffix(&db, leftover).exists(),
            "{leftover} left behind"
        );
    }
    // Encrypted straight into the store's page format (16 KiB pages, HMAC-SHA256).
    let conn = raw(&dir);
    let page: String = conn
        .query_row("PRAGMA cipher_page_size", [], |r| r.get(0))
        .unwrap();
    let hmac: String = conn
        .query_row("PRAGMA cipher_hmac_algorithm", [], |r| r.get(0))
        .unwrap();
    drop(conn);
    assert_eq!((page.as_str(), hmac.as_str()), ("16384", "HMAC_SHA256"));
    assert_eq!(bytes.len() % 16384, 0);
    // A second open does not encrypt (or chain) again; audit verify is clean.
    drop(AuditStore::open(cfg(&dir)).unwrap());
    assert_eq!(count_events(&dir, "store_encrypted"), 1);
    assert_eq!(cli_verify_code(&db).unwrap(), exit::OK);
}

#[test]
fn plaintext_store_with_another_stores_key_is_left_untouched() {
    let (dir, _) = store_with_records();
    make_plaintext(&dir);
    let db = db_of(&dir);
    let before = std::fs::read(&db).unwrap();
    let key = cfg(&dir).key_path;
    std::fs::remove_file(&key).unwrap();
    AuditKeys::generate().save_new(&key).unwrap();
    assert!(matches!(
        AuditStore::open(cfg(&dir)),
        Err(AuditError::WrongKey(p)) if p == key
    ));
    assert_eq!(std::fs::read(&db).unwrap(), before);
    assert!(!with_suffix(&db, ".encrypting").exists());
}

#[test]
fn interrupted_encryption_is_redone_from_the_intact_plaintext() {
    let (dir, id) = store_with_records();
    make_plaintext(&dir);
    let db = db_of(&dir);
    // A crash mid-export left a half-written copy beside the untouched plaintext store.
    std::fs::write(with_suffix(&db, ".encrypting"), vec![0x5au8; 10_000]).unwrap();
    let mut store = AuditStore::open(cfg(&dir)).unwrap();
    let sup = store.login("sup", "password-of-user").unwrap();
    assert_eq!(
        store
            .get_record(&sup, id)
            .unwrap()
            .summary
            .full_name
            .as_deref(),
        Some(NAME)
    );
    assert!(store.verify().unwrap().is_intact());
    drop(store);
    assert!(!with_suffix(&db, ".encrypting").exists());
    assert!(!std::fs::read(&db).unwrap().starts_with(SQLITE_HEADER));
}

#[test]
fn an_older_plaintext_copy_put_back_is_still_caught_after_encryption() {
    let (dir, mut store) = open_tmp();
    let _ = user(&mut store, "sup", Role::Supervisor);
    record(&mut store, Rec::default());
    drop(store);
    // The attacker keeps a plaintext copy of the store as it is now …
    make_plaintext(&dir);
    let db = db_of(&dir);
    let old = std::fs::read(&db).unwrap();
    // … the kiosk encrypts it and records a customer …
    let mut store = AuditStore::open(cfg(&dir)).unwrap();
    record_person(&mut store);
    drop(store);
    // … and the attacker puts the older plaintext copy back.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&db, suffix));
    }
    std::fs::write(&db, &old).unwrap();
    let store = AuditStore::open(cfg(&dir)).unwrap();
    let why = store.anchor_broken().unwrap().to_string();
    assert!(why.contains("ends at event"), "{why}");
    drop(store);
    // Encrypted, but the rolled-back trail is refused: no `store_encrypted` chained on it.
    assert!(!std::fs::read(&db).unwrap().starts_with(SQLITE_HEADER));
    assert_eq!(count_events(&dir, "store_encrypted"), 0);
    assert_eq!(cli_verify_code(&db).unwrap(), exit::AUDIT_BROKEN);
}
