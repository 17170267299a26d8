//! Shared fixtures for the audit integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kyc_core::audit::*;
use serde_json::json;

/// A temporary store with fast password hashing.
pub fn open_tmp() -> (tempfile::TempDir, AuditStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = AuditStore::open(cfg(&dir)).unwrap();
    (dir, store)
}

/// The config of the store inside `dir`.
pub fn cfg(dir: &tempfile::TempDir) -> AuditConfig {
    let mut c = AuditConfig::at(dir.path().join("audit.sqlite3")).with_fast_hashing();
    c.kiosk_id = "kiosk-test".into();
    c.checkpoint_every = 5;
    c
}

/// A deterministic pseudo-random unit template.
pub fn template(seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let v: Vec<f32> = (0..TEMPLATE_DIM)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect();
    let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
    v.into_iter().map(|a| a / n).collect()
}

/// `t` plus a little noise (same person, another photo).
pub fn noisy(t: &[f32], seed: u64, amount: f32) -> Vec<f32> {
    let n = template(seed);
    t.iter().zip(n).map(|(a, b)| a + amount * b).collect()
}

/// Fake image bytes that are easy to search for in the raw database.
pub fn image(tag: &str, len: usize) -> Vec<u8> {
    let mut v = format!("PLAINTEXT-IMAGE-{tag}-").into_bytes();
    while v.len() < len {
        v.push((v.len() % 251) as u8);
    }
    v
}

/// Options of a test record.
pub struct Rec<'a> {
    pub operator: &'a str,
    pub doc: Option<&'a str>,
    pub decision: Decision,
    pub template: Option<Vec<f32>>,
    pub with_images: bool,
    pub corrections: Vec<FieldCorrection>,
}

impl Default for Rec<'_> {
    fn default() -> Self {
        Rec {
            operator: "agent1",
            doc: Some("GHA-123456789-0"),
            decision: Decision::Approve,
            template: None,
            with_images: true,
            corrections: Vec::new(),
        }
    }
}

/// Write a record; returns its receipt.
pub fn record(store: &mut AuditStore, r: Rec<'_>) -> RecordReceipt {
    try_record(store, r).unwrap()
}

/// Write a record; returns the store's answer.
pub fn try_record(store: &mut AuditStore, r: Rec<'_>) -> Result<RecordReceipt, AuditError> {
    let result = json!({
        "documentNumber": r.doc,
        "fullName": "Ama Mensah",
        "overallConfidence": 87.5,
        "verified": true,
    });
    let models = json!({ "face": { "id": "arcface-r50", "sha256": "ab12" }, "thresholds": { "match": 0.363 } });
    let doc = image("document", 2000);
    let portrait = image("portrait", 1000);
    let selfie = image("selfie", 1500);
    let images: Vec<(ImageKind, &[u8])> = if r.with_images {
        vec![
            (ImageKind::DocumentFront, &doc),
            (ImageKind::Portrait, &portrait),
            (ImageKind::Selfie, &selfie),
        ]
    } else {
        Vec::new()
    };
    let now = now_ms();
    let rec = NewVerification {
        operator: r.operator,
        customer_type: CustomerType::Individual,
        claimed_id_type: Some("ghana_card"),
        claimed_id_number: r.doc,
        started_ms: now - 42_000,
        finished_ms: now,
        indexed: IndexedFields {
            decision: r.decision,
            decision_reason: "test".into(),
            document_number: r.doc.map(str::to_string),
            full_name: Some("Ama Mensah".into()),
            country: Some("GH".into()),
            overall_confidence: Some(87.5),
        },
        result: &result,
        models: &models,
        images: &images,
        template: r.template.as_deref(),
        corrections: &r.corrections,
    };
    store.record_verification(&rec)
}

/// Log in as a freshly created user of `role`.
pub fn user(store: &mut AuditStore, name: &str, role: Role) -> UserSession {
    if !store.has_admin().unwrap() {
        store.create_first_admin("root", "root-password-1").unwrap();
    }
    let admin = store.login("root", "root-password-1").unwrap();
    if role == Role::Admin && name == "root" {
        return admin;
    }
    store
        .create_user(&admin, name, "password-of-user", role)
        .unwrap();
    store.login(name, "password-of-user").unwrap()
}

/// A second connection straight to the database file, as an attacker holding the key file
/// would use (the file is encrypted: without the key nothing in it can be read).
pub fn raw(dir: &tempfile::TempDir) -> rusqlite::Connection {
    AuditStore::raw_connection(&cfg(dir)).unwrap()
}

/// Count events of a kind.
pub fn count_events(dir: &tempfile::TempDir, kind: &str) -> i64 {
    raw(dir)
        .query_row("SELECT count(*) FROM events WHERE kind = ?1", [kind], |r| {
            r.get(0)
        })
        .unwrap()
}

/// Page size and reserved tail (16-byte IV + 32-byte HMAC-SHA256) of the store's SQLCipher
/// page format.
pub const STORE_PAGE: usize = 16384;
pub const STORE_RESERVE: usize = 48;
/// The same for SQLCipher 4's defaults, the earlier format (HMAC-SHA512: 64 bytes).
pub const SQLCIPHER4_PAGE: usize = 4096;
pub const SQLCIPHER4_RESERVE: usize = 80;

/// Every page of the SQLCipher database `db` and of its WAL, decrypted with `keys`
/// (AES-256-CBC under the raw database key, the page's IV in its reserved tail), free pages
/// included: all someone holding the key could read from the disk. Panics when the first
/// page does not decrypt to an SQLite page header (a wrong key or another format).
pub fn decrypted_pages(db: &std::path::Path, keys: &AuditKeys) -> Vec<u8> {
    decrypted_pages_in(db, keys, STORE_PAGE, STORE_RESERVE)
}

/// [`decrypted_pages`] for a file of `page`-byte pages with a `reserve`-byte tail each.
pub fn decrypted_pages_in(
    db: &std::path::Path,
    keys: &AuditKeys,
    page_size: usize,
    reserve: usize,
) -> Vec<u8> {
    use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::NoPadding};
    type Dec = cbc::Decryptor<aes::Aes256>;
    let literal = keys.database_key_literal();
    let hex = &literal[2..66];
    let key: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let decrypt = |page_no: u32, page: &[u8]| -> Vec<u8> {
        let start = if page_no == 1 { 16 } else { 0 };
        let end = page_size - reserve;
        let iv = &page[end..end + 16];
        let mut buf = page[start..end].to_vec();
        Dec::new_from_slices(&key, iv)
            .unwrap()
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .unwrap();
        buf
    };
    // Bytes 16..18 of an SQLite header: the page size, big-endian (65536 is written as 1).
    let size_field = if page_size == 65536 {
        [0, 1]
    } else {
        (page_size as u16).to_be_bytes()
    };
    let bytes = std::fs::read(db).unwrap();
    let mut out = Vec::with_capacity(bytes.len());
    for (i, page) in bytes.chunks_exact(page_size).enumerate() {
        let plain = decrypt(i as u32 + 1, page);
        if i == 0 {
            assert_eq!(plain[..2], size_field, "page 1 did not decrypt");
            // Byte 20 of the header: the bytes SQLite leaves at the end of each page, at least
            // the IV and HMAC (keying reserves SQLCipher 4's 80 first, and SQLite never lowers
            // a page's reserve: with HMAC-SHA256 the last 32 of them stay unused).
            assert!(usize::from(plain[4]) >= reserve, "reserve {}", plain[4]);
        }
        out.extend(plain);
    }
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(wal) = std::fs::read(std::path::PathBuf::from(wal))
        && wal.len() > 32
    {
        for frame in wal[32..].chunks_exact(24 + page_size) {
            let page_no = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
            out.extend(decrypt(page_no, &frame[24..]));
        }
    }
    out
}

/// Raw bytes of the database file and its WAL (and shared-memory index), as read from disk.
pub fn raw_bytes(db: &std::path::Path) -> Vec<u8> {
    let mut bytes = std::fs::read(db).unwrap();
    for suffix in ["-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        if let Ok(more) = std::fs::read(std::path::PathBuf::from(p)) {
            bytes.extend(more);
        }
    }
    bytes
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}
