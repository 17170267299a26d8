//! Test helper for the crash-safety test: writes verification records to an audit store as
//! fast as it can and prints `ack <id>` once each write is acknowledged (committed).
//!
//! Every fourth record also gets a supervisor action (printed as `act <id>`) when a
//! supervisor `sup` with password `sup-password` exists.
//!
//! Usage: `audit_writer <db-path> [max-records]` (the key file is `<db-path>.key`).

use std::io::Write;
use std::process::ExitCode;

use kyc_core::audit::*;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(db) = args.next() else {
        eprintln!("usage: audit_writer <db-path> [max-records]");
        return ExitCode::from(2);
    };
    let max: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(u64::MAX);
    match run(&db, max) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("audit_writer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(db: &str, max: u64) -> Result<(), AuditError> {
    let mut cfg = AuditConfig::at(db).with_fast_hashing();
    cfg.create_key = false;
    cfg.kiosk_id = "crash-test".into();
    cfg.checkpoint_every = 7;
    let mut store = AuditStore::open(cfg)?;
    let mut rng = Rng(std::process::id() as u64 * 0x9E37_79B9 + now_ms() as u64);
    let out = std::io::stdout();
    let sup = store.login("sup", "sup-password").ok();
    let result = serde_json::json!({ "verified": true, "writer": std::process::id() });
    let models = serde_json::json!({ "face": "test" });
    for i in 0..max {
        let doc: Vec<u8> = (0..30_000).map(|_| rng.next() as u8).collect();
        let portrait: Vec<u8> = (0..8_000).map(|_| rng.next() as u8).collect();
        let selfie: Vec<u8> = (0..20_000).map(|_| rng.next() as u8).collect();
        let images = [
            (ImageKind::DocumentFront, doc.as_slice()),
            (ImageKind::Portrait, portrait.as_slice()),
            (ImageKind::Selfie, selfie.as_slice()),
        ];
        let template: Vec<f32> = (0..TEMPLATE_DIM)
            .map(|_| (rng.next() % 2000) as f32 / 1000.0 - 1.0)
            .collect();
        let number = format!("CT-{}", rng.next() % 1_000_000_000);
        let corrections = [FieldCorrection {
            field: "fullName".into(),
            before: "AMA MENSA".into(),
            after: "AMA MENSAH".into(),
            corrected_by: "crash-agent".into(),
            corrected_ms: now_ms(),
        }];
        let now = now_ms();
        let rec = NewVerification {
            operator: "crash-agent",
            customer_type: CustomerType::Individual,
            claimed_id_type: Some("passport"),
            claimed_id_number: Some(&number),
            started_ms: now - 1000,
            finished_ms: now,
            indexed: IndexedFields {
                decision: Decision::Approve,
                decision_reason: format!("write {i}"),
                document_number: Some(number.clone()),
                full_name: Some("Ama Mensah".into()),
                country: Some("GH".into()),
                overall_confidence: Some(90.0),
            },
            result: &result,
            models: &models,
            images: &images,
            template: Some(&template),
            corrections: if i % 3 == 0 { &corrections } else { &[] },
        };
        let receipt = store.record_verification(&rec)?;
        if !report(&out, "ack", receipt.id) {
            return Ok(());
        }
        if let (Some(sup), true) = (&sup, i % 4 == 3) {
            let aid = store.record_supervisor_action(
                sup,
                receipt.id,
                "reject",
                Some(Decision::Reject),
                "crash test",
            )?;
            if !report(&out, "act", aid) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Print one acknowledgement; false when the parent is gone.
fn report(out: &std::io::Stdout, what: &str, id: i64) -> bool {
    let mut lock = out.lock();
    writeln!(lock, "{what} {id}")
        .and_then(|_| lock.flush())
        .is_ok()
}

/// xorshift64: enough randomness for test payloads, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0 | 1;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}
