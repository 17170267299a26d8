//! The store's SQLCipher page format (16 KiB pages, HMAC-SHA256): new stores are written in
//! it, a store of the earlier format (SQLCipher 4's defaults: 4 KiB pages, HMAC-SHA512) is
//! read as it is and moved to it once, keeping every record, event and the anchor; a wrong key
//! or a damaged file is refused as before; an interrupted move is redone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use crate::audit_support;

use audit_support::*;
use kyc_core::audit::*;
use kyc_core::error::exit;
use kyc_kiosk::cli::audit::{AuditCommand, StoreArgs, run_to};
use rusqlite::Connection;

/// The document number of the one record that carries it.
const DOC: &str = "GHA-777000111-5";

fn db_of(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("audit.sqlite3")
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn keys_of(dir: &tempfile::TempDir) -> AuditKeys {
    AuditKeys::load(&cfg(dir).key_path).unwrap()
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

/// A connection keyed as an SQLCipher 4 tool keys one by default: the raw key and nothing else.
fn open_with_sqlcipher4_defaults(db: &Path, keys: &AuditKeys) -> Connection {
    let conn = Connection::open(db).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA key = \"{}\";",
        keys.database_key_literal().as_str()
    ))
    .unwrap();
    conn
}

fn opens_with_sqlcipher4_defaults(db: &Path, keys: &AuditKeys) -> bool {
    open_with_sqlcipher4_defaults(db, keys)
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .is_ok()
}

/// (`cipher_page_size`, `cipher_hmac_algorithm`) of the store, through the store's own keying.
fn format_of(dir: &tempfile::TempDir) -> (i64, String) {
    let conn = raw(dir);
    let page: String = conn
        .query_row("PRAGMA cipher_page_size", [], |r| r.get(0))
        .unwrap();
    let hmac: String = conn
        .query_row("PRAGMA cipher_hmac_algorithm", [], |r| r.get(0))
        .unwrap();
    (page.parse().unwrap(), hmac)
}

/// A store with a supervisor and two verifications (one with its own document number),
/// closed; returns the id of the named one.
fn store_with_records() -> (tempfile::TempDir, i64) {
    let (dir, mut store) = open_tmp();
    let _ = user(&mut store, "sup", Role::Supervisor);
    record(&mut store, Rec::default());
    let rc = record(
        &mut store,
        Rec {
            doc: Some(DOC),
            ..Rec::default()
        },
    );
    assert!(store.verify().unwrap().is_intact());
    drop(store);
    (dir, rc.id)
}

/// Rewrite the store in `dir` in SQLCipher 4's default format, set explicitly (what a store of
/// the earlier version is): same rows, same chain, same key, in WAL mode.
fn make_sqlcipher4_default(dir: &tempfile::TempDir) {
    let db = db_of(dir);
    let old = dir.path().join("old.sqlite3");
    let keys = keys_of(dir);
    {
        let conn = raw(dir);
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        conn.execute(
            "ATTACH DATABASE ?1 AS old KEY ?2",
            [old.to_str().unwrap(), keys.database_key_literal().as_str()],
        )
        .unwrap();
        conn.execute_batch(
            "PRAGMA old.cipher_page_size = 4096; PRAGMA old.cipher_hmac_algorithm = HMAC_SHA512; \
             PRAGMA old.cipher_kdf_algorithm = PBKDF2_HMAC_SHA512;",
        )
        .unwrap();
        conn.query_row("SELECT sqlcipher_export('old')", [], |_| Ok(()))
            .unwrap();
        conn.execute_batch(&format!(
            "PRAGMA old.user_version = {version}; DETACH DATABASE old;"
        ))
        .unwrap();
    }
    let conn = open_with_sqlcipher4_defaults(&old, &keys);
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    drop(conn);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&db, suffix));
    }
    std::fs::rename(&old, &db).unwrap();
    assert!(opens_with_sqlcipher4_defaults(&db, &keys));
    assert_eq!(std::fs::metadata(&db).unwrap().len() % 4096, 0);
}

#[test]
fn a_new_store_is_written_in_16_kib_pages_with_hmac_sha256() {
    let (dir, mut store) = open_tmp();
    record(
        &mut store,
        Rec {
            doc: Some(DOC),
            ..Rec::default()
        },
    );
    drop(store);
    let db = db_of(&dir);
    assert_eq!(format_of(&dir), (16384, "HMAC_SHA256".to_string()));
    // SQLite's own header field, read from the decrypted first page.
    let keys = keys_of(&dir);
    let pages = decrypted_pages(&db, &keys);
    assert_eq!(pages[..2], [0x40, 0x00]);
    assert_eq!(std::fs::metadata(&db).unwrap().len() % 16384, 0);
    // Decrypted by hand in that layout (IV and HMAC-SHA256 in a 48-byte tail), the name is
    // there; SQLCipher 4's defaults do not open the file.
    assert!(contains(&pages, DOC));
    assert!(!contains(&raw_bytes(&db), DOC));
    assert!(!opens_with_sqlcipher4_defaults(&db, &keys));
}

#[test]
fn a_store_in_sqlcipher4_defaults_is_read_as_it_is_and_moved_once_keeping_everything() {
    let (dir, id) = store_with_records();
    let events_before = AuditStore::open_read_only(cfg(&dir))
        .unwrap()
        .verify()
        .unwrap()
        .events;
    make_sqlcipher4_default(&dir);
    let db = db_of(&dir);
    let keys = keys_of(&dir);
    assert!(contains(
        &decrypted_pages_in(&db, &keys, SQLCIPHER4_PAGE, SQLCIPHER4_RESERVE),
        DOC
    ));
    assert_eq!(format_of(&dir), (4096, "HMAC_SHA512".to_string()));
    let anchor = std::fs::read(cfg(&dir).anchor_file()).unwrap();

    // Read-only opens (audit verify, sync) read it in its format and change nothing.
    let bytes_before = std::fs::read(&db).unwrap();
    let ro = AuditStore::open_read_only(cfg(&dir)).unwrap();
    let report = ro.verify().unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.events, events_before);
    assert_eq!(ro.record_count().unwrap(), 2);
    drop(ro);
    assert_eq!(cli_verify_code(&db).unwrap(), exit::OK);
    assert_eq!(std::fs::read(&db).unwrap(), bytes_before);

    // The kiosk's open moves it.
    let mut store = AuditStore::open(cfg(&dir)).unwrap();
    assert_eq!(store.anchor_broken(), None);
    let sup = store.login("sup", "password-of-user").unwrap();
    assert_eq!(store.record_count().unwrap(), 2);
    let d = store.get_record(&sup, id).unwrap();
    assert_eq!(d.summary.document_number.as_deref(), Some(DOC));
    let report = store.verify().unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    // Nothing chained by the move: the login is the one new event.
    assert_eq!(report.events, events_before + 1);
    store.logout(sup).unwrap();
    // It goes on writing in the new format.
    record(&mut store, Rec::default());
    drop(store);
    assert_eq!(format_of(&dir), (16384, "HMAC_SHA256".to_string()));
    assert_eq!(std::fs::metadata(&db).unwrap().len() % 16384, 0);
    assert!(contains(&decrypted_pages(&db, &keys), DOC));
    assert!(!opens_with_sqlcipher4_defaults(&db, &keys));
    for leftover in [
        ".reformatting",
        ".reformatting-journal",
        ".encrypt-lock",
        "-journal",
    ] {
        assert!(
            !with_suffix(&db, leftover).exists(),
            "{leftover} left behind"
        );
    }
    // The same anchor key and chain: the anchor moved forward and still verifies.
    assert_ne!(std::fs::read(cfg(&dir).anchor_file()).unwrap(), anchor);
    assert_eq!(cli_verify_code(&db).unwrap(), exit::OK);
    let store = AuditStore::open(cfg(&dir)).unwrap();
    assert_eq!(store.record_count().unwrap(), 3);
    assert!(store.verify().unwrap().is_intact());
}

#[test]
fn commits_left_in_the_wal_of_an_old_format_store_are_kept_by_the_move() {
    let (dir, _) = store_with_records();
    make_sqlcipher4_default(&dir);
    let db = db_of(&dir);
    let keys = keys_of(&dir);
    // A kiosk of the earlier version commits and stops before any checkpoint: the commit is in
    // the WAL only. (Copied aside while open, since closing folds it into the file.)
    let conn = open_with_sqlcipher4_defaults(&db, &keys);
    conn.execute_batch(
        "PRAGMA wal_autocheckpoint = 0; \
         INSERT INTO meta (key, value) VALUES ('left_in_wal', 'committed');",
    )
    .unwrap();
    let wal = std::fs::read(with_suffix(&db, "-wal")).unwrap();
    assert!(wal.len() > 4096);
    let file = std::fs::read(&db).unwrap();
    drop(conn);
    std::fs::write(&db, file).unwrap();
    std::fs::write(with_suffix(&db, "-wal"), wal).unwrap();
    let _ = std::fs::remove_file(with_suffix(&db, "-shm"));

    let store = AuditStore::open(cfg(&dir)).unwrap();
    assert!(store.verify().unwrap().is_intact());
    drop(store);
    assert_eq!(format_of(&dir), (16384, "HMAC_SHA256".to_string()));
    let kept: String = raw(&dir)
        .query_row(
            "SELECT value FROM meta WHERE key = 'left_in_wal'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, "committed");
}

#[test]
fn an_interrupted_move_is_cleaned_up_and_redone_from_the_whole_old_file() {
    let (dir, id) = store_with_records();
    make_sqlcipher4_default(&dir);
    let db = db_of(&dir);
    // A crash mid-export left a partial copy (and its journal) beside the untouched store.
    std::fs::write(with_suffix(&db, ".reformatting"), vec![0xa5u8; 20_000]).unwrap();
    std::fs::write(with_suffix(&db, ".reformatting-journal"), vec![0u8; 512]).unwrap();
    let mut store = AuditStore::open(cfg(&dir)).unwrap();
    let sup = store.login("sup", "password-of-user").unwrap();
    assert_eq!(
        store
            .get_record(&sup, id)
            .unwrap()
            .summary
            .document_number
            .as_deref(),
        Some(DOC)
    );
    assert!(store.verify().unwrap().is_intact());
    drop(store);
    assert_eq!(format_of(&dir), (16384, "HMAC_SHA256".to_string()));
    assert!(!with_suffix(&db, ".reformatting").exists());
    assert!(!with_suffix(&db, ".reformatting-journal").exists());
}

#[test]
fn an_old_format_store_another_process_holds_open_is_used_as_it_is_and_moved_later() {
    let (dir, _) = store_with_records();
    make_sqlcipher4_default(&dir);
    let db = db_of(&dir);
    let keys = keys_of(&dir);
    // Another reader (a `kyc-kiosk sync` of the earlier version) has the store open.
    let other = open_with_sqlcipher4_defaults(&db, &keys);
    other.busy_timeout(std::time::Duration::ZERO).unwrap();
    let n: i64 = other
        .query_row("SELECT count(*) FROM verifications", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
    let mut c = cfg(&dir);
    c.busy_timeout = std::time::Duration::from_millis(200);
    let mut store = AuditStore::open(c.clone()).unwrap();
    record(&mut store, Rec::default());
    assert!(store.verify().unwrap().is_intact());
    drop(store);
    assert_eq!(format_of(&dir), (4096, "HMAC_SHA512".to_string()));
    assert!(!with_suffix(&db, ".reformatting").exists());
    // The other reader still reads, and sees the new record.
    let n: i64 = other
        .query_row("SELECT count(*) FROM verifications", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
    drop(other);
    let store = AuditStore::open(c).unwrap();
    assert_eq!(store.record_count().unwrap(), 3);
    assert!(store.verify().unwrap().is_intact());
    drop(store);
    assert_eq!(format_of(&dir), (16384, "HMAC_SHA256".to_string()));
}

#[test]
fn a_wrong_key_or_a_damaged_file_is_refused_as_before_in_either_format() {
    for old_format in [false, true] {
        let (dir, _) = store_with_records();
        if old_format {
            make_sqlcipher4_default(&dir);
        }
        let db = db_of(&dir);
        let before = std::fs::read(&db).unwrap();
        let key = cfg(&dir).key_path;
        let good = std::fs::read(&key).unwrap();
        std::fs::remove_file(&key).unwrap();
        AuditKeys::generate().save_new(&key).unwrap();
        for err in [
            AuditStore::open(cfg(&dir)).unwrap_err(),
            AuditStore::open_read_only(cfg(&dir)).unwrap_err(),
            AuditStore::raw_connection(&cfg(&dir)).unwrap_err(),
        ] {
            assert!(
                matches!(&err, AuditError::WrongKey(p) if *p == key),
                "old format {old_format}: {err:?}"
            );
            assert!(
                err.to_string().contains("does not open this database"),
                "{err}"
            );
        }
        // Nothing changed, nothing left beside it.
        assert_eq!(std::fs::read(&db).unwrap(), before);
        assert!(!with_suffix(&db, ".reformatting").exists());
        std::fs::remove_file(&key).unwrap();
        std::fs::write(&key, &good).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        // A damaged first page: the key opens it in neither format.
        let mut damaged = before.clone();
        for b in &mut damaged[100..140] {
            *b ^= 0xff;
        }
        std::fs::write(&db, &damaged).unwrap();
        let err = AuditStore::open(cfg(&dir)).unwrap_err();
        assert!(
            matches!(&err, AuditError::WrongKey(p) if *p == key),
            "old format {old_format}: {err:?}"
        );
        assert_eq!(std::fs::read(&db).unwrap(), damaged);
        // Put back whole, it opens with the right key.
        std::fs::write(&db, &before).unwrap();
        let store = AuditStore::open(cfg(&dir)).unwrap();
        assert_eq!(store.record_count().unwrap(), 2);
        drop(store);
        assert_eq!(format_of(&dir), (16384, "HMAC_SHA256".to_string()));
    }
}
