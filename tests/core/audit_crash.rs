//! Crash safety: a writer process is killed with SIGKILL at random points, many times over;
//! afterwards the database is sound, the chain verifies, and every acknowledged record is there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::audit_support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use audit_support::*;
use kyc_core::audit::*;

#[test]
fn sigkilled_writer_never_loses_an_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.sqlite3");
    // Create the database, key and users first, so no kill can land inside key creation.
    {
        let mut store = AuditStore::open(cfg(&dir)).unwrap();
        store.create_first_admin("root", "root-password-1").unwrap();
        let admin = store.login("root", "root-password-1").unwrap();
        store
            .create_user(&admin, "sup", "sup-password", Role::Supervisor)
            .unwrap();
    }

    let mut acked: BTreeSet<i64> = BTreeSet::new();
    let mut acted: BTreeSet<i64> = BTreeSet::new();
    let mut seed = (now_ms() as u64) | 1;
    let rounds = 12;
    for round in 0..rounds {
        let mut child = Command::new(env!("CARGO_BIN_EXE_audit_writer"))
            .arg(&db)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut ids = Vec::new();
            let mut acts = Vec::new();
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                // Only a complete line is an acknowledgement.
                if line.ends_with('\n') {
                    if let Some(id) = line.trim().strip_prefix("ack ") {
                        ids.push(id.parse::<i64>().unwrap());
                    } else if let Some(id) = line.trim().strip_prefix("act ") {
                        acts.push(id.parse::<i64>().unwrap());
                    }
                }
                line.clear();
            }
            (ids, acts)
        });
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = 80 + seed % 500;
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        let (ids, acts) = reader.join().unwrap();
        if status.success() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            panic!("writer exited on its own in round {round}: {err}");
        }
        acked.extend(ids);
        acted.extend(acts);
    }
    assert!(!acked.is_empty(), "no write was acknowledged");

    eprintln!(
        "acknowledged {} records and {} supervisor actions over {rounds} SIGKILLs",
        acked.len(),
        acted.len()
    );
    let store = AuditStore::open(cfg(&dir)).unwrap();
    assert_eq!(store.integrity_check().unwrap(), vec!["ok".to_string()]);
    let report = store.verify().unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    let sup = store.system_session("crash-test");
    for id in &acked {
        let d = store.get_record(&sup, *id).unwrap();
        assert_eq!(d.images.len(), 3, "record {id} lost images");
        assert!(d.has_template);
    }
    // Every acknowledged supervisor action is there and took effect.
    let mut found = 0;
    for id in &acked {
        let d = store.get_record(&sup, *id).unwrap();
        for a in &d.supervisor_actions {
            if acted.contains(&a.id) {
                found += 1;
                assert_eq!(d.summary.current_decision, Decision::Reject);
            }
        }
    }
    assert_eq!(found, acted.len());
    // At most one unacknowledged record per kill (committed but killed before printing).
    let count = store.record_count().unwrap() as usize;
    assert!(
        count >= acked.len() && count <= acked.len() + rounds,
        "{count} vs {}",
        acked.len()
    );
}

#[test]
fn two_writer_processes_at_once_keep_one_valid_chain() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.sqlite3");
    drop(AuditStore::open(cfg(&dir)).unwrap());
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_audit_writer"))
            .arg(&db)
            .arg("25")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (oa, ob) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for o in [&oa, &ob] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 25);
    }
    let store = AuditStore::open(cfg(&dir)).unwrap();
    assert_eq!(store.record_count().unwrap(), 50);
    let r = store.verify().unwrap();
    assert!(r.is_intact(), "{:?}", r.problems);
    // 50 records, 2 x 9 corrections (every third record), 2 failed logins (no user `sup`).
    assert_eq!(r.events, 50 + 18 + 2);
}
