//! The fleet against a real central service over a real PostgreSQL cluster (one throwaway
//! cluster per test binary, one database per test): kiosks with verifications recorded by
//! `kyc-kiosk verify --record` enrol with `kyc-kiosk fleet enroll` and push with
//! `kyc-kiosk sync`; then the attacks and faults: a cut push, a rolled-back store, forged
//! events, replayed, stale and unsigned requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use kyc_central::testpg::TestCluster;
use kyc_central::{CentralRole, CentralUser};
use kyc_core::audit::{AuditConfig, AuditStore};
use kyc_core::fleet::client::{self, FleetConfig, SyncOptions};
use kyc_core::fleet::crypto::{record_aad, seal_to};
use kyc_core::fleet::http::{self, ServerUrl};
use kyc_core::fleet::wire::{PushRequest, WireHead, paths};
use kyc_core::fleet::{FleetError, open_sealed};

use crate::fleet_common::{
    AGENT_PASSWORD, CentralRun, copy_store, kiosk_bin, new_kiosk, ok, read_only, sync_output,
    verify_record,
};

fn kiosk_status(central: &CentralRun, kiosk: &str) -> kyc_central::sync::KioskStatus {
    central
        .on(central.central.kiosks())
        .unwrap()
        .into_iter()
        .find(|k| k.kiosk_id == kiosk)
        .unwrap()
}

/// Three kiosk stores (`k1`, `k2`, `k3`), each with two verifications recorded by
/// `kyc-kiosk verify --record` from fetched photos; made once per test binary, copied by
/// each test.
fn prepared_kiosks() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let pairs = [
            ("obama.jpg", "obama2.jpg"),
            ("obama.jpg", "obama3.jpg"),
            ("biden.jpg", "obama2.jpg"),
        ];
        for (i, name) in ["k1", "k2", "k3"].iter().enumerate() {
            let db = new_kiosk(&dir.path().join(name));
            for j in 0..2 {
                let (doc, selfie) = pairs[(i + j) % pairs.len()];
                ok(verify_record(&db, doc, selfie, &[]));
            }
        }
        dir
    })
    .path()
}

/// Copy prepared kiosk `name`'s store (database, key, anchor) into `to`; its database path.
fn copy_kiosk(name: &str, to: &Path) -> PathBuf {
    copy_store(&prepared_kiosks().join(name), to)
}

fn enroll(central: &CentralRun, db: &Path, kiosk: &str) {
    let out = central.enroll(db, kiosk);
    assert!(out.contains(&format!("enrolled as {kiosk}")), "{out}");
}

fn local_ids(db: &Path) -> Vec<i64> {
    let conn = AuditStore::raw_connection(&AuditConfig::at(db)).unwrap();
    let mut st = conn
        .prepare("SELECT id FROM verifications ORDER BY id")
        .unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn three_kiosks_push_their_recorded_verifications_sealed_and_a_second_run_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let central = CentralRun::start("fleet_three");
    for k in ["k1", "k2", "k3"] {
        let db = copy_kiosk(k, &dir.path().join(k));
        enroll(&central, &db, k);
        let report: serde_json::Value =
            serde_json::from_str(ok(sync_output(&db, None)).trim()).unwrap();
        let store = read_only(&db);
        let (head, _) = store.head().unwrap();
        assert_eq!(report["ackSeq"], head, "{report}");
        assert_eq!(report["accepted"], head, "{report}");
        assert_eq!(report["records"], 2, "{report}");
        let st = kiosk_status(&central, k);
        assert_eq!((st.ack_seq, st.records, st.quarantined), (head, 2, false));
        assert_eq!(central.record_ids(k), local_ids(&db));

        // What rests centrally is sealed to the central key and opens to the kiosk's bytes.
        for id in local_ids(&db) {
            let rec = store.outbox_record(id).unwrap();
            assert!(rec.images.len() >= 2 && rec.template.is_some());
            let rows = central.rt.block_on(async {
                let c = kyc_central::db::connect(
                    &TestCluster::shared().unwrap().conn_string("fleet_three"),
                )
                .await
                .unwrap();
                c.query(
                    "SELECT kind, sealed FROM record_blobs WHERE kiosk_id = $1 AND record_id = $2",
                    &[&k, &id],
                )
                .await
                .unwrap()
            });
            assert_eq!(rows.len(), rec.images.len() + 1);
            for r in rows {
                let (kind, sealed): (String, Vec<u8>) = (r.get(0), r.get(1));
                let plain =
                    open_sealed(central.central.secret(), &record_aad(k, id, &kind), &sealed)
                        .unwrap();
                let want = if kind == "template" {
                    rec.template.as_ref().unwrap().to_vec()
                } else {
                    rec.images
                        .iter()
                        .find(|(ik, _)| ik.as_str() == kind)
                        .unwrap()
                        .1
                        .to_vec()
                };
                assert_eq!(plain.as_slice(), want.as_slice(), "{kind}");
                assert!(
                    !sealed
                        .windows(want.len().min(64))
                        .any(|w| w == &want[..want.len().min(64)])
                );
            }
        }

        // Idempotent: nothing new, nothing stored twice.
        let again: serde_json::Value =
            serde_json::from_str(ok(sync_output(&db, None)).trim()).unwrap();
        assert_eq!(
            (again["accepted"].as_i64(), again["ackSeq"].as_i64()),
            (Some(0), Some(head))
        );
    }
    assert!(
        central
            .rt
            .block_on(central.central.verify_stored())
            .unwrap()
            .is_empty()
    );
    assert!(central.open_alerts().is_empty());
}

#[test]
fn a_push_cut_midway_resumes_with_nothing_lost_or_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    let mut central = CentralRun::start("fleet_cut");
    let db = copy_kiosk("k1", dir.path());
    enroll(&central, &db, "k1");
    let fleet = FleetConfig::path_for(&db);
    let audit = AuditConfig::at(&db);
    let head = read_only(&db).head().unwrap().0;
    assert!(head > 6, "{head}");

    // Cut 1: the run stops after one small push (as if the link dropped right after it).
    let small = SyncOptions {
        batch_events: 3,
        max_pushes: Some(1),
        ..SyncOptions::default()
    };
    let r = client::sync_store(&audit, &fleet, None, &small).unwrap();
    assert_eq!(r.ack_seq, 3);
    assert_eq!(kiosk_status(&central, "k1").ack_seq, 3);

    // Cut 2: the answer to a push is lost after the server stored it: the same push again
    // is skipped event by event, not stored twice.
    let cfg = FleetConfig::load(&fleet).unwrap();
    let store = read_only(&db);
    let items: Vec<_> = store
        .events_after(3, 2)
        .unwrap()
        .iter()
        .map(|e| client::push_item(&store, &cfg, e).unwrap().0)
        .collect();
    let (hs, hh) = store.head().unwrap();
    let req = PushRequest {
        kiosk_id: "k1".into(),
        head: WireHead {
            seq: hs,
            hash: hex::encode(hh),
        },
        items,
    };
    let first = client::push(&cfg, &req, Duration::from_secs(30)).unwrap();
    let second = client::push(&cfg, &req, Duration::from_secs(30)).unwrap();
    assert_eq!((first.accepted, first.duplicates, first.ack_seq), (2, 0, 5));
    assert_eq!(
        (second.accepted, second.duplicates, second.ack_seq),
        (0, 2, 5)
    );

    // Cut 3: the central service goes away; the kiosk's run fails and keeps everything.
    central.cut();
    let out = sync_output(&db, None);
    assert_eq!(
        out.status.code(),
        Some(9),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("unreachable"));

    // Back on another port: the run resumes from what the server acknowledged.
    central.serve();
    let report: serde_json::Value =
        serde_json::from_str(ok(sync_output(&db, Some(&central.url))).trim()).unwrap();
    assert_eq!(report["ackSeq"], head);
    assert_eq!(report["accepted"], head - 5);
    assert_eq!(central.record_ids("k1"), local_ids(&db));
    let st = kiosk_status(&central, "k1");
    assert_eq!((st.ack_seq, st.records), (head, 2));
    assert!(
        central
            .rt
            .block_on(central.central.verify_stored())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_store_rolled_back_with_its_anchor_passes_locally_but_is_quarantined_centrally() {
    let dir = tempfile::tempdir().unwrap();
    let central = CentralRun::start("fleet_rollback");
    let db = copy_kiosk("k2", &dir.path().join("k2"));
    enroll(&central, &db, "k2");
    // The earlier state: database, key and anchor copied aside.
    let snapshot = dir.path().join("snapshot");
    std::fs::create_dir_all(&snapshot).unwrap();
    for f in ["audit.sqlite3", "audit.sqlite3.key", "audit.sqlite3.anchor"] {
        std::fs::copy(dir.path().join("k2").join(f), snapshot.join(f)).unwrap();
    }
    // More happens on the kiosk (sign-ins are chained), then it syncs.
    {
        let mut store = AuditStore::open(AuditConfig::at(&db).with_fast_hashing()).unwrap();
        let s = store.login("ama", AGENT_PASSWORD).unwrap();
        store.logout(s).unwrap();
    }
    ok(sync_output(&db, None));
    let acked = kiosk_status(&central, "k2").ack_seq;
    // Someone puts every local file back as it was: the kiosk's own check cannot tell.
    for f in ["audit.sqlite3", "audit.sqlite3.key", "audit.sqlite3.anchor"] {
        std::fs::copy(snapshot.join(f), dir.path().join("k2").join(f)).unwrap();
    }
    let _ = std::fs::remove_file(dir.path().join("k2/audit.sqlite3-wal"));
    let _ = std::fs::remove_file(dir.path().join("k2/audit.sqlite3-shm"));
    let verify = kiosk_bin()
        .args(["audit", "verify", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    assert!(read_only(&db).head().unwrap().0 < acked);

    // The central service remembers: the next sync quarantines the kiosk.
    let out = sync_output(&db, None);
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("quarantined"));
    let st = kiosk_status(&central, "k2");
    assert!(st.quarantined, "{st:?}");
    assert_eq!(st.ack_seq, acked);
    let alerts = central.open_alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (alerts[0].kiosk_id.as_str(), alerts[0].kind.as_str()),
        ("k2", "rollback")
    );
    // Pushes stay refused until an administrator clears the kiosk.
    assert_eq!(sync_output(&db, None).status.code(), Some(7));
    let user = central.admin();
    let supervisor_refused = central.rt.block_on(central.central.clear_quarantine(
        &CentralUser {
            username: "sup".into(),
            role: CentralRole::Supervisor,
        },
        "k2",
    ));
    assert!(supervisor_refused.is_err());
    assert_eq!(
        central
            .rt
            .block_on(central.central.clear_quarantine(&user, "k2"))
            .unwrap(),
        1
    );
    assert!(!kiosk_status(&central, "k2").quarantined);
    assert!(central.open_alerts().is_empty());
}

/// Sign in a kiosk's own enrolment and build a push of its events after `after`.
fn push_of(db: &Path, after: i64, n: usize) -> (FleetConfig, PushRequest) {
    let cfg = FleetConfig::load(&FleetConfig::path_for(db)).unwrap();
    let store = read_only(db);
    let items = store
        .events_after(after, n)
        .unwrap()
        .iter()
        .map(|e| client::push_item(&store, &cfg, e).unwrap().0)
        .collect();
    let (hs, hh) = store.head().unwrap();
    let req = PushRequest {
        kiosk_id: cfg.kiosk_id.clone(),
        head: WireHead {
            seq: hs,
            hash: hex::encode(hh),
        },
        items,
    };
    (cfg, req)
}

fn refused_code(e: FleetError) -> String {
    match e {
        FleetError::Quarantined(m) => format!("quarantined: {m}"),
        FleetError::Refused { code, .. } => code,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn forged_events_and_records_are_refused_and_quarantine_the_kiosk() {
    let dir = tempfile::tempdir().unwrap();
    let central = CentralRun::start("fleet_forged");
    let user = central.admin();
    let mut kiosks = Vec::new();
    for k in ["k1", "k2", "k3"] {
        let db = copy_kiosk(k, &dir.path().join(k));
        enroll(&central, &db, k);
        kiosks.push(db);
    }

    // 1. A record whose content differs from the row its event chained (name changed).
    let (cfg, mut req) = push_of(&kiosks[0], 0, 1000);
    let pos = req.items.iter().position(|i| i.record.is_some()).unwrap();
    let rec = req.items[pos].record.as_mut().unwrap();
    let store = read_only(&kiosks[0]);
    let mut row = store.outbox_record(rec.id).unwrap().row;
    row.full_name = Some("SOMEONE ELSE".into());
    let sealed = seal_to(
        &cfg.central_public_key,
        &record_aad("k1", rec.id, "row"),
        &serde_json::to_vec(&row).unwrap(),
    )
    .unwrap();
    rec.sealed_row = sealed;
    let e = client::push(&cfg, &req, Duration::from_secs(30)).unwrap_err();
    assert!(refused_code(e).starts_with("quarantined"));
    assert_eq!(
        kiosk_status(&central, "k1").ack_seq,
        0,
        "nothing of the forged push is kept"
    );
    assert_eq!(central.open_alerts()[0].kind, "record_mismatch");
    central
        .rt
        .block_on(central.central.clear_quarantine(&user, "k1"))
        .unwrap();

    // 2. An event that does not link to the previous one (its payload rewritten, hash kept).
    let (cfg, mut req) = push_of(&kiosks[1], 0, 1000);
    req.items[1].event.prev_hash = "00".repeat(32);
    let e = client::push(&cfg, &req, Duration::from_secs(30)).unwrap_err();
    assert!(refused_code(e).starts_with("quarantined"));
    assert_eq!(central.open_alerts()[0].kind, "bad_link");
    central
        .rt
        .block_on(central.central.clear_quarantine(&user, "k2"))
        .unwrap();

    // 3. A gap: events 1-2 pushed, then 5 onwards.
    let (cfg, mut req) = push_of(&kiosks[2], 0, 1000);
    req.items.drain(2..4);
    let e = client::push(&cfg, &req, Duration::from_secs(30)).unwrap_err();
    assert!(refused_code(e).starts_with("quarantined"));
    assert_eq!(central.open_alerts()[0].kind, "gap");
    central
        .rt
        .block_on(central.central.clear_quarantine(&user, "k3"))
        .unwrap();

    // 4. A fork: after an honest sync, event 2 is sent again with another hash.
    ok(sync_output(&kiosks[2], None));
    let (cfg, mut req) = push_of(&kiosks[2], 1, 1);
    req.items[0].event.hash = "ab".repeat(32);
    let e = client::push(&cfg, &req, Duration::from_secs(30)).unwrap_err();
    assert!(refused_code(e).starts_with("quarantined"));
    assert_eq!(central.open_alerts()[0].kind, "fork");

    // 5. A push signed by a key that is not the kiosk's: refused, nothing stored or raised.
    let (mut cfg, req) = push_of(&kiosks[0], 0, 1000);
    cfg.identity = kyc_core::fleet::KioskIdentity::generate();
    let e = client::push(&cfg, &req, Duration::from_secs(30)).unwrap_err();
    assert_eq!(refused_code(e), "bad_signature");
    assert_eq!(kiosk_status(&central, "k1").ack_seq, 0);
    assert_eq!(
        central.open_alerts().len(),
        1,
        "only the fork above is open"
    );

    // The honest kiosks still sync.
    ok(sync_output(&kiosks[0], None));
    ok(sync_output(&kiosks[1], None));
    assert_eq!(central.record_ids("k1"), local_ids(&kiosks[0]));
    assert!(
        central
            .rt
            .block_on(central.central.verify_stored())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn replayed_stale_unsigned_and_altered_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let central = CentralRun::start("fleet_replay");
    let db = copy_kiosk("k3", dir.path());
    enroll(&central, &db, "k3");
    let (cfg, req) = push_of(&db, 0, 2);
    let body = serde_json::to_vec(&req).unwrap();
    let send = |headers: &[(&str, String)], body: &[u8]| central.post(paths::PUSH, headers, body);
    let headers = client::signed_headers(&cfg, "POST", paths::PUSH, &body);
    assert_eq!(send(&headers, &body).0, 200);
    assert_eq!(kiosk_status(&central, "k3").ack_seq, 2);
    // The very same request again (an eavesdropper replays it).
    assert_eq!(send(&headers, &body), (401, "replayed".to_string()));
    // Signed ten minutes ago.
    let old = kyc_core::audit::now_ms() - 10 * 60 * 1000;
    let stale = client::signed_headers_at(
        &cfg,
        "POST",
        paths::PUSH,
        &body,
        old,
        "0123456789abcdef0123",
    );
    assert_eq!(send(&stale, &body), (401, "stale".to_string()));
    // No signature at all.
    assert_eq!(send(&[], &body), (401, "unsigned".to_string()));
    // A valid signature over another body.
    let fresh = client::signed_headers(&cfg, "POST", paths::PUSH, &body);
    let mut altered = body.clone();
    altered.extend_from_slice(b" ");
    assert_eq!(send(&fresh, &altered), (401, "bad_signature".to_string()));
    // An enrolment token works once, for its kiosk only.
    let token = central.token("k9");
    let server = ServerUrl::parse(&central.url).unwrap();
    let enroll_with = |kiosk: &str| {
        let b = serde_json::to_vec(&kyc_core::fleet::wire::EnrollRequest {
            kiosk_id: kiosk.into(),
            token: token.clone(),
            public_key: hex::encode(kyc_core::fleet::KioskIdentity::generate().public_key()),
        })
        .unwrap();
        http::request(
            &server,
            "POST",
            paths::ENROLL,
            &[],
            &b,
            Duration::from_secs(30),
        )
        .unwrap()
        .status
    };
    assert_eq!(enroll_with("k8"), 401);
    assert_eq!(enroll_with("k9"), 200);
    assert_eq!(enroll_with("k9"), 401);
    // Nothing of the refused requests changed the kiosk's state.
    let st = kiosk_status(&central, "k3");
    assert_eq!((st.ack_seq, st.quarantined), (2, false));
    assert!(central.open_alerts().is_empty());
    // Central users follow the kiosk's password rules; only administrators enrol kiosks.
    let weak = central.rt.block_on(central.central.create_user(
        &central.admin(),
        "sup",
        CentralRole::Supervisor,
        "password",
    ));
    assert!(
        matches!(weak, Err(kyc_central::CentralError::WeakPassword(_))),
        "{weak:?}"
    );
    central
        .rt
        .block_on(central.central.create_user(
            &central.admin(),
            "sup",
            CentralRole::Supervisor,
            "supervisor-pass-3",
        ))
        .unwrap();
    let sup = central
        .rt
        .block_on(central.central.sign_in("sup", "supervisor-pass-3"))
        .unwrap();
    assert!(
        central
            .rt
            .block_on(central.central.create_enrol_token(&sup, "k7"))
            .is_err()
    );
    assert!(
        central
            .rt
            .block_on(central.central.sign_in("sup", "wrong-pass-3"))
            .is_err()
    );
}

#[test]
fn the_fleet_simulation_with_faults_loses_nothing_and_detects_the_rollback() {
    let bin = Path::new(env!("CARGO_BIN_EXE_kyc-kiosk")).parent().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("packaging/fleet-sim.sh"))
        .args(["--kiosks", "2", "--records", "4", "--faults"])
        .env("KYC_SIM_BIN", bin)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["kiosks"], 2, "{last}");
    assert!(last["recordsMade"].as_i64().unwrap() >= 8, "{last}");
    assert_eq!(last["recordsCentral"], last["recordsMade"], "{last}");
    assert_eq!(
        (last["lost"].as_i64(), last["duplicated"].as_i64()),
        (Some(0), Some(0)),
        "{last}"
    );
    assert_eq!(last["chainVerified"], true, "{last}");
    assert_eq!(
        (
            last["rollbacksInjected"].as_i64(),
            last["rollbacksDetected"].as_i64()
        ),
        (Some(1), Some(1)),
        "{last}"
    );
}

#[test]
fn a_binary_push_of_real_images_round_trips_and_bad_bodies_lose_nothing() {
    use kyc_core::fleet::wire::encode_push;
    let dir = tempfile::tempdir().unwrap();
    let central = CentralRun::start("fleet_binary");
    let user = central.admin();
    let db = copy_kiosk("k1", dir.path());
    enroll(&central, &db, "k1");
    let (cfg, req) = push_of(&db, 0, 1000);
    assert!(req.items.iter().any(|i| i.record.is_some()));
    let body = encode_push(&req).unwrap();
    let send = |b: &[u8]| {
        let r = client::send_push_body(&cfg, b, Duration::from_secs(60)).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        (
            r.status,
            v["error"].as_str().unwrap_or("").to_string(),
            v["message"].as_str().unwrap_or("").to_string(),
        )
    };
    // Cut short, padded, garbled header: refused with why, nothing stored, no quarantine.
    let (status, code, message) = send(&body[..body.len() - 10]);
    assert_eq!((status, code.as_str()), (400, "bad_push"), "{message}");
    assert!(message.contains("cut short"), "{message}");
    let mut padded = body.clone();
    padded.extend_from_slice(b"xyz");
    let (status, code, message) = send(&padded);
    assert_eq!((status, code.as_str()), (400, "bad_push"));
    assert!(message.contains("3 bytes after its last part"), "{message}");
    let mut garbled = body.clone();
    garbled[12] = b'#';
    let (status, code, message) = send(&garbled);
    assert_eq!((status, code.as_str()), (400, "bad_push"));
    assert!(message.contains("header"), "{message}");
    // Larger than the service accepts (64 MiB).
    let mut huge = body.clone();
    huge.resize(65 * 1024 * 1024, 0);
    // The service answers 413 from the announced length, or closes the connection while the
    // kiosk is still sending: either way the kiosk keeps its events.
    match client::send_push_body(&cfg, &huge, Duration::from_secs(60)) {
        Ok(r) => assert_eq!(r.status, 413),
        Err(FleetError::Unreachable(_)) => {}
        Err(e) => panic!("unexpected {e:?}"),
    }
    assert_eq!(kiosk_status(&central, "k1").ack_seq, 0);
    assert!(!kiosk_status(&central, "k1").quarantined);
    assert!(central.open_alerts().is_empty());

    // One byte of a sealed image flipped, the body signed as it is (the kiosk's key is used):
    // the blob does not open, so the push is refused and the kiosk quarantined.
    let mut tampered = body.clone();
    let last = tampered.len() - 20;
    tampered[last] ^= 0x01;
    let (status, code, _) = send(&tampered);
    assert_eq!((status, code.as_str()), (409, "quarantined"));
    assert_eq!(central.open_alerts()[0].kind, "record_mismatch");
    assert_eq!(
        kiosk_status(&central, "k1").ack_seq,
        0,
        "nothing of it is kept"
    );
    central
        .rt
        .block_on(central.central.clear_quarantine(&user, "k1"))
        .unwrap();

    // The kiosk resends later: everything arrives, and the images the centre opens are the
    // bytes the kiosk sealed.
    ok(sync_output(&db, None));
    assert_eq!(central.record_ids("k1"), local_ids(&db));
    assert_eq!(
        central.rt.block_on(central.central.index_cases()).unwrap(),
        0,
        "the push filled the queue's columns: nothing is left to open again"
    );
    let store = read_only(&db);
    for id in local_ids(&db) {
        let kiosk = store.outbox_record(id).unwrap();
        let held = central
            .rt
            .block_on(central.central.case_detail("k1", id))
            .unwrap();
        assert_eq!(held.images.len(), kiosk.images.len());
        assert!(!kiosk.images.is_empty());
        for (kind, bytes) in &kiosk.images {
            let img = held
                .images
                .iter()
                .find(|i| i.kind == kind.as_str())
                .unwrap();
            let opened = base64::engine::general_purpose::STANDARD
                .decode(&img.data)
                .unwrap();
            assert_eq!(opened, bytes.to_vec(), "record {id} {kind:?}");
            assert!(kyc_core::record::is_jpeg(&opened), "record {id} {kind:?}");
        }
        assert_eq!(held.summary.operator.as_deref(), Some("ama"));
    }
    assert!(
        central
            .rt
            .block_on(central.central.verify_stored())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn syncs_running_while_the_kiosk_writes_and_beside_each_other_never_look_like_a_rollback() {
    // A kiosk's window syncs in the background while the agent works, and an operator may run
    // `kyc-kiosk sync` at the same time. Neither may make the kiosk's own honest chain look
    // rolled back or forked to the centre.
    let dir = tempfile::tempdir().unwrap();
    let central = CentralRun::start("fleet_concurrent");
    let db = copy_kiosk("k3", &dir.path().join("k3"));
    enroll(&central, &db, "k3");
    let fleet = FleetConfig::path_for(&db);
    let audit = AuditConfig::at(&db);
    let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = {
        let (db, writing) = (db.clone(), Arc::clone(&writing));
        std::thread::spawn(move || {
            let mut store = AuditStore::open(AuditConfig::at(&db).with_fast_hashing()).unwrap();
            let s = store.login("ama", AGENT_PASSWORD).unwrap();
            for i in 0..150 {
                store
                    .log_event(&s, "agent_note", serde_json::json!({ "n": i }))
                    .unwrap();
                std::thread::sleep(Duration::from_millis(2));
            }
            store.logout(s).unwrap();
            writing.store(false, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let syncers: Vec<_> = (0..2)
        .map(|_| {
            let (audit, fleet, writing) = (audit.clone(), fleet.clone(), Arc::clone(&writing));
            std::thread::spawn(move || {
                let opts = SyncOptions {
                    batch_events: 7,
                    ..SyncOptions::default()
                };
                let mut cycles = 0;
                while writing.load(std::sync::atomic::Ordering::SeqCst) {
                    if let Err(e) = kyc_core::fleet::sync_and_pull(&audit, &fleet, None, &opts) {
                        panic!("cycle {cycles}: {e}");
                    }
                    cycles += 1;
                }
                cycles
            })
        })
        .collect();
    writer.join().unwrap();
    for s in syncers {
        assert!(s.join().unwrap() > 0);
    }
    let last =
        kyc_core::fleet::sync_and_pull(&audit, &fleet, None, &SyncOptions::default()).unwrap();
    let head = read_only(&db).head().unwrap().0;
    assert_eq!((last.sync.ack_seq, last.sync.local_seq), (head, head));
    let status = kiosk_status(&central, "k3");
    assert!(!status.quarantined, "{status:?}");
    assert_eq!(status.ack_seq, head);
    assert!(
        central.open_alerts().is_empty(),
        "{:?}",
        central.open_alerts()
    );
}
