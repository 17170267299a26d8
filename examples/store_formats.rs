//! The kiosk store's SQLCipher page formats compared: reading records back as the sync does,
//! appending one audit event, and inserting one verification record, for each page size and
//! HMAC algorithm.
//!
//! `cargo run --release --example store_formats -- [RECORDS] [WRITES] [ROUNDS]`
//!
//! A store is filled by the store's own code (`record_verifications`) with RECORDS records of
//! the sync bench's size (document 258 KiB, portrait 59 KiB, selfie 168 KiB, a template: 487
//! KiB a record, sealed as the kiosk seals them), then copied into every format with
//! `sqlcipher_export` under the store's key. On each copy, one round reads every record back
//! with the queries `outbox_record` runs (the row, its blobs, its template), and WRITES times
//! each: one event copied into the chain table (a login's size) and one record with its three
//! images and template, each in its own `BEGIN IMMEDIATE` transaction with the store's
//! settings (WAL, `synchronous=FULL`, `secure_delete`). Rounds alternate the formats so the
//! machine's load falls on all alike. Prints, per format, the read back in ms per record (CPU
//! of this thread and wall, median over the rounds) and, for the writes, the median wall time
//! and the bytes written per transaction (`/proc/self/io`, WAL frames and fsynced journal).

use std::path::{Path, PathBuf};
use std::time::Instant;

use kyc_core::audit::*;
use rusqlite::{Connection, params};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// A page format: page size and HMAC algorithm (AES-256 throughout).
#[derive(Clone, Copy)]
struct Format {
    page: u32,
    hmac: &'static str,
}

impl Format {
    fn label(&self) -> String {
        format!("{:>2} KiB {}", self.page / 1024, self.hmac)
    }
}

const FORMATS: [Format; 8] = [
    Format {
        page: 4096,
        hmac: "HMAC_SHA512",
    },
    Format {
        page: 4096,
        hmac: "HMAC_SHA256",
    },
    Format {
        page: 16384,
        hmac: "HMAC_SHA512",
    },
    Format {
        page: 16384,
        hmac: "HMAC_SHA256",
    },
    Format {
        page: 32768,
        hmac: "HMAC_SHA512",
    },
    Format {
        page: 32768,
        hmac: "HMAC_SHA256",
    },
    Format {
        page: 65536,
        hmac: "HMAC_SHA512",
    },
    Format {
        page: 65536,
        hmac: "HMAC_SHA256",
    },
];

fn key_pragmas(schema: &str, literal: &str, f: Format) -> String {
    format!(
        "PRAGMA {schema}key = \"{literal}\"; PRAGMA {schema}cipher_page_size = {}; \
         PRAGMA {schema}cipher_hmac_algorithm = {}; \
         PRAGMA {schema}cipher_kdf_algorithm = PBKDF2_HMAC_SHA512;",
        f.page, f.hmac
    )
}

fn open_format(path: &Path, literal: &str, f: Format) -> Res<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(&key_pragmas("", literal, f))?;
    let n: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    if n == 0 {
        return Err(format!("{} holds no schema", path.display()).into());
    }
    // SQLCipher answers `cipher_page_size` as text.
    let page: String = conn.query_row("PRAGMA cipher_page_size", [], |r| r.get(0))?;
    if page != f.page.to_string() {
        return Err(format!("{} has {page}-byte pages, not {}", path.display(), f.page).into());
    }
    Ok(conn)
}

/// CPU seconds of the calling thread (user + system).
fn thread_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of the line; `after` starts at field 3.
    (ticks(11) + ticks(12)) / 100.0
}

/// Bytes this process has written with write calls so far.
fn written() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn fill(db: &Path, n: usize) -> Res<()> {
    let mut cfg = AuditConfig::at(db);
    cfg.checkpoint_every = 10_000;
    cfg.load_index_at_open = false;
    let mut store = AuditStore::open(cfg)?;
    let mut rng = Rng(0x5eed_1234_9876_abcd);
    let doc = rng.bytes(258 * 1024);
    let portrait = rng.bytes(59 * 1024);
    let selfie = rng.bytes(168 * 1024);
    let images = [
        (ImageKind::DocumentFront, doc.as_slice()),
        (ImageKind::Portrait, portrait.as_slice()),
        (ImageKind::Selfie, selfie.as_slice()),
    ];
    let result = serde_json::json!({ "documentType": "national_id", "fullName": "AMA MENSAH",
        "confidence": { "overall": 88.0 }, "verified": true });
    let models = serde_json::json!({ "face": "sface" });
    let numbers: Vec<String> = (0..n).map(|i| format!("GHA-{i:09}-0")).collect();
    let templates: Vec<[f32; TEMPLATE_DIM]> = (0..n)
        .map(|_| {
            let mut t = [0f32; TEMPLATE_DIM];
            for v in t.iter_mut() {
                *v = (rng.next() % 2000) as f32 / 1000.0 - 1.0;
            }
            t
        })
        .collect();
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let now = now_ms();
        let recs: Vec<NewVerification<'_>> = chunk
            .iter()
            .map(|&i| NewVerification {
                operator: "agent1",
                customer_type: CustomerType::Individual,
                claimed_id_type: Some("ghana_card"),
                claimed_id_number: Some(&numbers[i]),
                started_ms: now - 45_000,
                finished_ms: now,
                indexed: IndexedFields {
                    decision: Decision::Approve,
                    decision_reason: "bench".into(),
                    document_number: Some(numbers[i].clone()),
                    full_name: Some("AMA MENSAH".into()),
                    country: Some("GH".into()),
                    overall_confidence: Some(88.5),
                },
                result: &result,
                models: &models,
                images: &images,
                template: Some(&templates[i]),
                corrections: &[],
            })
            .collect();
        store.record_verifications(&recs)?;
    }
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Copy the store at `src` into `dst` in format `f`.
fn copy_into(src: &Path, dst: &Path, literal: &str, f: Format) -> Res<()> {
    let conn = AuditStore::raw_connection(&AuditConfig::at(src))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let dst_str = dst.to_str().ok_or("path not UTF-8")?;
    conn.execute(
        "ATTACH DATABASE ?1 AS copy KEY ?2",
        params![dst_str, literal],
    )?;
    conn.execute_batch(&format!(
        "PRAGMA copy.cipher_page_size = {}; PRAGMA copy.cipher_hmac_algorithm = {}; \
         PRAGMA copy.cipher_kdf_algorithm = PBKDF2_HMAC_SHA512;",
        f.page, f.hmac
    ))?;
    conn.query_row("SELECT sqlcipher_export('copy')", [], |_| Ok(()))?;
    conn.execute_batch(&format!(
        "PRAGMA copy.user_version = {version}; DETACH DATABASE copy;"
    ))?;
    Ok(())
}

/// Read every record back as `outbox_record` does; returns (CPU s, wall s, bytes read).
fn read_back(path: &Path, literal: &str, f: Format, n: i64) -> Res<(f64, f64, u64)> {
    let conn = open_format(path, literal, f)?;
    let cpu0 = thread_cpu();
    let t0 = Instant::now();
    let mut bytes = 0u64;
    for id in 1..=n {
        let row: (String, String, String) = conn.query_row(
            "SELECT result_json, models_json, current_decision FROM verifications WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        bytes += (row.0.len() + row.1.len() + row.2.len()) as u64;
        let mut st = conn.prepare_cached(
            "SELECT kind, sealed FROM blobs WHERE verification_id = ?1 ORDER BY kind",
        )?;
        let mut rows = st.query([id])?;
        while let Some(r) = rows.next()? {
            let sealed: Vec<u8> = r.get(1)?;
            bytes += sealed.len() as u64;
        }
        let t: Vec<u8> = conn.query_row(
            "SELECT sealed FROM templates WHERE verification_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        bytes += t.len() as u64;
    }
    Ok((thread_cpu() - cpu0, t0.elapsed().as_secs_f64(), bytes))
}

/// Time `writes` event appends and `writes` record inserts on the copy at `path`; returns the
/// medians (event wall s, event bytes, record wall s, record bytes).
fn small_writes(path: &Path, literal: &str, f: Format, writes: usize) -> Res<[f64; 4]> {
    let conn = open_format(path, literal, f)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if mode != "wal" {
        return Err(format!("journal mode {mode}").into());
    }
    conn.execute_batch(
        "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;",
    )?;
    let cols: Vec<String> = {
        let mut st = conn.prepare("SELECT name FROM pragma_table_info('verifications')")?;
        st.query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|c| c != "id")
            .collect()
    };
    let cols = cols.join(", ");
    let (mut ev_t, mut ev_b, mut rec_t, mut rec_b) = (vec![], vec![], vec![], vec![]);
    for i in 0..writes {
        let src = 1 + i as i64;
        let (w0, t0) = (written(), Instant::now());
        conn.execute_batch("BEGIN IMMEDIATE")?;
        conn.execute(
            "INSERT INTO events (ts_ms, kind, actor, verification_id, payload, prev_hash, hash) \
             SELECT ts_ms, kind, actor, verification_id, payload, prev_hash, hash FROM events \
             WHERE verification_id = ?1",
            [src],
        )?;
        conn.execute_batch("COMMIT")?;
        ev_t.push(t0.elapsed().as_secs_f64());
        ev_b.push((written() - w0) as f64);

        let (w0, t0) = (written(), Instant::now());
        conn.execute_batch("BEGIN IMMEDIATE")?;
        conn.execute(
            &format!(
                "INSERT INTO verifications ({cols}) SELECT {cols} FROM verifications WHERE id = ?1"
            ),
            [src],
        )?;
        let new = conn.last_insert_rowid();
        conn.execute(
            "INSERT INTO blobs (verification_id, kind, sealed) SELECT ?1, kind, sealed FROM blobs \
             WHERE verification_id = ?2",
            [new, src],
        )?;
        conn.execute(
            "INSERT INTO templates (verification_id, id_key, sealed) SELECT ?1, id_key, sealed \
             FROM templates WHERE verification_id = ?2",
            [new, src],
        )?;
        conn.execute(
            "INSERT INTO events (ts_ms, kind, actor, verification_id, payload, prev_hash, hash) \
             SELECT ts_ms, kind, actor, ?1, payload, prev_hash, hash FROM events \
             WHERE verification_id = ?2",
            [new, src],
        )?;
        conn.execute_batch("COMMIT")?;
        rec_t.push(t0.elapsed().as_secs_f64());
        rec_b.push((written() - w0) as f64);
    }
    Ok([median(ev_t), median(ev_b), median(rec_t), median(rec_b)])
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: usize| args.get(i).and_then(|v| v.parse().ok()).unwrap_or(d);
    let (n, writes, rounds) = (arg(0, 200), arg(1, 40), arg(2, 3));
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("store.sqlite3");
    let t0 = Instant::now();
    fill(&src, n)?;
    println!(
        "store filled: {n} records in {:.1?}, {:.1} MiB",
        t0.elapsed(),
        std::fs::metadata(&src)?.len() as f64 / 1048576.0
    );
    let keys = AuditKeys::load(&AuditConfig::at(&src).key_path)?;
    let literal = keys.database_key_literal();
    let copies: Vec<PathBuf> = FORMATS
        .iter()
        .map(|f| {
            dir.path()
                .join(format!("copy-{}-{}.sqlite3", f.page, f.hmac))
        })
        .collect();
    for (f, p) in FORMATS.iter().zip(&copies) {
        copy_into(&src, p, &literal, *f)?;
    }
    let mut cpu = vec![vec![]; FORMATS.len()];
    let mut wall = vec![vec![]; FORMATS.len()];
    let mut expected = None;
    for _ in 0..rounds {
        for (i, (f, p)) in FORMATS.iter().zip(&copies).enumerate() {
            let (c, w, bytes) = read_back(p, &literal, *f, n as i64)?;
            if *expected.get_or_insert(bytes) != bytes {
                return Err(format!("{} read {bytes} bytes back", f.label()).into());
            }
            cpu[i].push(c * 1000.0 / n as f64);
            wall[i].push(w * 1000.0 / n as f64);
        }
    }
    let writes_of: Vec<[f64; 4]> = FORMATS
        .iter()
        .zip(&copies)
        .map(|(f, p)| small_writes(p, &literal, *f, writes))
        .collect::<Res<_>>()?;
    println!(
        "format            | read back ms/record: CPU, wall | event append: wall ms, KiB written | record insert: wall ms, KiB written | file MiB"
    );
    for (i, f) in FORMATS.iter().enumerate() {
        let w = writes_of[i];
        println!(
            "{} | {:.2}, {:.2} | {:.2}, {:.1} | {:.2}, {:.1} | {:.1}",
            f.label(),
            median(cpu[i].clone()),
            median(wall[i].clone()),
            w[0] * 1000.0,
            w[1] / 1024.0,
            w[2] * 1000.0,
            w[3] / 1024.0,
            std::fs::metadata(&copies[i])?.len() as f64 / 1048576.0
        );
    }
    Ok(())
}
