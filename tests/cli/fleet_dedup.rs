//! Fleet-wide duplicate enrolment against a real central service over a real PostgreSQL
//! cluster: verifications recorded by `kyc-kiosk verify --record` from fetched photos at two
//! kiosks, the central flag on the second record and its arrival in the second kiosk's chain
//! after `kyc-kiosk sync`, the online search right after a verification, the offline case
//! ("not checked centrally", the verification still recorded), and the attacks on the search.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use kyc_central::Central;
use kyc_central::testpg::TestCluster;
use kyc_core::audit::{AuditConfig, AuditStore, Role, TEMPLATE_DIM};
use kyc_core::fleet::dedup::{self, CentralCheck, SearchRequest};
use kyc_core::fleet::http::{self, ServerUrl};
use kyc_core::fleet::{CentralSecret, FleetConfig, FleetError, client};

use crate::common::data;

const AGENT_PASSWORD: &str = "agent-pass-1";
const ADMIN: (&str, &str) = ("dedup-root", "central-admin-pass-7");

struct Run {
    rt: tokio::runtime::Runtime,
    central: Central,
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<()>>,
}

impl Run {
    fn start(db: &str) -> Self {
        let cluster = TestCluster::shared().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let conn = rt.block_on(cluster.create_database(db)).unwrap();
        let central = rt
            .block_on(Central::open(&conn, CentralSecret::generate()))
            .unwrap()
            .with_fast_hashing();
        rt.block_on(central.create_first_admin(ADMIN.0, ADMIN.1))
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let c = Arc::new(central.clone());
        let served = rt.spawn(async move {
            kyc_central::serve(c, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Run {
            rt,
            central,
            url,
            stop: Some(tx),
            served: Some(served),
        }
    }

    /// Stop serving: the port refuses connections from now on.
    fn cut(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.served.take() {
            self.rt.block_on(h).unwrap();
        }
    }

    fn token(&self, kiosk: &str) -> String {
        let admin = self
            .rt
            .block_on(self.central.sign_in(ADMIN.0, ADMIN.1))
            .unwrap();
        self.rt
            .block_on(self.central.create_enrol_token(&admin, kiosk))
            .unwrap()
    }

    fn flags(&self, kiosk: &str) -> Vec<dedup::DuplicateFlag> {
        self.rt
            .block_on(self.central.duplicate_flags(kiosk, false))
            .unwrap()
    }
}

fn kiosk_bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kyc-kiosk"));
    c.env_remove("KYC_KIOSK_MODELS")
        .env_remove("KYC_KIOSK_CONFIG")
        .env_remove("KYC_FLEET_TOKEN");
    c
}

fn ok(out: Output) -> (String, String) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A new kiosk store with an administrator and the agent `ama`.
fn new_kiosk(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let db = dir.join("audit.sqlite3");
    let mut store = AuditStore::open(AuditConfig::at(&db).with_fast_hashing()).unwrap();
    store.create_first_admin("admin", "admin-pass-1").unwrap();
    let admin = store.login("admin", "admin-pass-1").unwrap();
    store
        .create_user(&admin, "ama", AGENT_PASSWORD, Role::Agent)
        .unwrap();
    store.logout(admin).unwrap();
    db
}

fn enroll(run: &Run, db: &Path, kiosk: &str) {
    let token = run.token(kiosk);
    ok(kiosk_bin()
        .args(["fleet", "enroll", "--db"])
        .arg(db)
        .args(["--server", &run.url, "--kiosk-id", kiosk])
        .env("KYC_FLEET_TOKEN", &token)
        .output()
        .unwrap());
}

/// `verify --record` of a document and selfie photo: (record id, stderr).
fn record(db: &Path, doc: &str, selfie: &str) -> (i64, String) {
    let (out, err) = ok(kiosk_bin()
        .args(["verify", "--document"])
        .arg(data(doc))
        .arg("--selfie")
        .arg(data(selfie))
        .args(["--json", "--record", "--db"])
        .arg(db)
        .args(["--operator", "ama", "--settings"])
        .arg(db.with_file_name("kiosk-settings.toml"))
        .env("KYC_KIOSK_PASSWORD", AGENT_PASSWORD)
        .output()
        .unwrap());
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    (v["record"]["id"].as_i64().expect("a record id"), err)
}

fn sync(db: &Path) -> serde_json::Value {
    let (out, _) = ok(kiosk_bin().args(["sync", "--db"]).arg(db).output().unwrap());
    serde_json::from_str(out.trim()).unwrap()
}

fn local(db: &Path) -> AuditStore {
    let mut cfg = AuditConfig::at(db);
    cfg.load_index_at_open = false;
    AuditStore::open_read_only(cfg).unwrap()
}

fn template_of(db: &Path, id: i64) -> Vec<f32> {
    let rec = local(db).outbox_record(id).unwrap();
    dedup::template_from_bytes(rec.template.as_ref().unwrap()).unwrap()
}

#[test]
fn the_same_face_at_two_kiosks_is_flagged_centrally_and_the_flag_reaches_the_second_kiosk() {
    let dir = tempfile::tempdir().unwrap();
    let run = Run::start("dedup_flag");
    let a = new_kiosk(&dir.path().join("ka"));
    let b = new_kiosk(&dir.path().join("kb"));
    let c = new_kiosk(&dir.path().join("kc"));
    for (db, k) in [(&a, "ka"), (&b, "kb"), (&c, "kc")] {
        enroll(&run, db, k);
    }

    // Kiosk A enrols Obama first; the centre has nothing yet, so its online search is empty.
    let (ra, err) = record(&a, "obama.jpg", "obama2.jpg");
    assert!(err.contains("no match in the fleet"), "{err}");
    assert_eq!(sync(&a)["records"], 1);
    assert_eq!(run.central.dedup_index().len(), 1);

    // Kiosk B enrols the same person (the same fetched photos): the online search right
    // after the verification names A's record; it is chained on B's record.
    let (rb, err) = record(&b, "obama.jpg", "obama2.jpg");
    assert!(
        err.contains(&format!("same face as record {ra} of kiosk ka")),
        "{err}"
    );
    let (flags, checks) = dedup::central_findings(&local(&b), rb).unwrap();
    assert!(flags.is_empty());
    match checks.as_slice() {
        [
            CentralCheck::Checked {
                indexed,
                candidates,
            },
        ] => {
            assert_eq!(*indexed, 1);
            assert_eq!(candidates.len(), 1, "{candidates:?}");
            assert_eq!(
                (candidates[0].kiosk_id.as_str(), candidates[0].record_id),
                ("ka", ra)
            );
            assert!(candidates[0].score > 0.99, "{candidates:?}");
        }
        other => panic!("expected one completed check, got {other:?}"),
    }

    // Kiosk C enrols someone else: no match online, no flag after sync.
    let (rc, _) = record(&c, "biden.jpg", "biden.jpg");
    let (_, checks) = dedup::central_findings(&local(&c), rc).unwrap();
    assert_eq!(
        checks,
        vec![CentralCheck::Checked {
            indexed: 1,
            candidates: vec![]
        }]
    );

    // B syncs: the centre flags B's record against A's and the same sync run chains the
    // flag into B's store and pushes it back, which marks it delivered.
    let report = sync(&b);
    assert_eq!(report["flagsChained"], 1, "{report}");
    let flags = run.flags("kb");
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(flags[0].record_id, rb);
    assert_eq!(
        flags[0]
            .candidates
            .iter()
            .map(|m| (m.kiosk_id.as_str(), m.record_id))
            .collect::<Vec<_>>(),
        vec![("ka", ra)]
    );
    assert!(flags[0].candidates[0].score > 0.99);
    let (local_flags, _) = dedup::central_findings(&local(&b), rb).unwrap();
    assert_eq!(local_flags, flags);
    let delivered = run
        .rt
        .block_on(run.central.flag_delivered_seq(flags[0].flag_id))
        .unwrap();
    let store = local(&b);
    let ev = store
        .events_after(0, 1000)
        .unwrap()
        .into_iter()
        .find(|e| e.kind == dedup::EV_CENTRAL_FLAG)
        .unwrap();
    assert_eq!(delivered, Some(ev.seq));
    assert_eq!(ev.verification_id, Some(rb));
    assert!(store.verify().unwrap().problems.is_empty());
    // Delivered once: the next run offers and chains nothing more.
    assert_eq!(sync(&b)["flagsChained"], 0);

    // A (first) and C (another person) carry no flag.
    sync(&c);
    assert!(run.flags("ka").is_empty());
    assert!(run.flags("kc").is_empty());
    assert_eq!(run.central.dedup_index().len(), 3);
    assert!(
        run.rt
            .block_on(run.central.verify_stored())
            .unwrap()
            .is_empty()
    );

    // A restarted service rebuilds the same index from PostgreSQL.
    let n = run.rt.block_on(run.central.rebuild_dedup_index()).unwrap();
    assert_eq!(n, 3);
    let cfg = FleetConfig::load(&FleetConfig::path_for(&c)).unwrap();
    let ans = dedup::search(
        &cfg,
        &template_of(&a, ra),
        None,
        None,
        Duration::from_secs(30),
    )
    .unwrap();
    let found: Vec<_> = ans
        .candidates
        .iter()
        .map(|m| (m.kiosk_id.as_str(), m.record_id))
        .collect();
    assert_eq!(found, vec![("ka", ra), ("kb", rb)], "{ans:?}");
    assert_eq!(ans.indexed, 3);
    assert!((ans.threshold - 0.69).abs() < 1e-6);
}

#[test]
fn offline_the_verification_is_recorded_and_not_checked_centrally() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = Run::start("dedup_offline");
    let db = new_kiosk(&dir.path().join("kd"));
    enroll(&run, &db, "kd");
    run.cut();
    let (id, err) = record(&db, "obama.jpg", "obama3.jpg");
    assert!(err.contains("not checked centrally"), "{err}");
    let store = local(&db);
    assert_eq!(store.record_count().unwrap(), 1);
    let (_, checks) = dedup::central_findings(&store, id).unwrap();
    match checks.as_slice() {
        [CentralCheck::NotChecked { reason }] => {
            assert!(reason.contains("unreachable"), "{reason}")
        }
        other => panic!("expected not checked, got {other:?}"),
    }
    assert!(store.verify().unwrap().problems.is_empty());

    // Nobody forges the centre's word in the kiosk's chain: the kinds are the store's own.
    let mut w = AuditStore::open(AuditConfig::at(&db).with_fast_hashing()).unwrap();
    let s = w.login("ama", AGENT_PASSWORD).unwrap();
    for kind in [dedup::EV_CENTRAL_FLAG, dedup::EV_CENTRAL_CHECK] {
        assert!(
            w.log_event(&s, kind, serde_json::json!({"flagId": 1}))
                .is_err()
        );
    }
}

#[test]
fn the_online_search_refuses_unsigned_misbound_and_quarantined_queries() {
    let dir = tempfile::tempdir().unwrap();
    let run = Run::start("dedup_attacks");
    // Two enrolled kiosks; no verification is needed to attack the search itself.
    let mut cfgs = Vec::new();
    for k in ["ke", "kf"] {
        let db = new_kiosk(&dir.path().join(k));
        enroll(&run, &db, k);
        cfgs.push(FleetConfig::load(&FleetConfig::path_for(&db)).unwrap());
    }
    let t: Vec<f32> = (0..TEMPLATE_DIM).map(|i| (i as f32 * 0.37).sin()).collect();
    // An honest search of an empty fleet answers, with nothing.
    let ans = dedup::search(&cfgs[0], &t, None, None, Duration::from_secs(30)).unwrap();
    assert_eq!((ans.indexed, ans.candidates.len()), (0, 0));

    let server = ServerUrl::parse(&run.url).unwrap();
    let post = |headers: &[(&str, String)], body: &[u8]| {
        let r = http::request(
            &server,
            "POST",
            dedup::SEARCH_PATH,
            headers,
            body,
            Duration::from_secs(30),
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        (r.status, v["error"].as_str().unwrap_or("").to_string())
    };
    // A query sealed by kiosk kf, sent (signed) by ke: it does not open under ke's binding.
    let sealed = kyc_core::fleet::seal_to(
        &cfgs[1].central_public_key,
        &dedup::search_aad("kf"),
        br#"{"template":"","idKey":null,"recordId":null}"#,
    )
    .unwrap();
    use base64::Engine;
    let body = serde_json::to_vec(&SearchRequest {
        kiosk_id: "ke".into(),
        sealed: base64::engine::general_purpose::STANDARD.encode(sealed),
    })
    .unwrap();
    let h = client::signed_headers(&cfgs[0], "POST", dedup::SEARCH_PATH, &body);
    assert_eq!(post(&h, &body), (400, "bad_query".to_string()));
    // Unsigned, and a signed body naming another kiosk.
    assert_eq!(post(&[], &body), (401, "unsigned".to_string()));
    let h = client::signed_headers(&cfgs[1], "POST", dedup::SEARCH_PATH, &body);
    assert_eq!(post(&h, &body), (400, "kiosk_mismatch".to_string()));
    // A template that is not 128 finite values.
    let e = dedup::search(&cfgs[0], &[1.0; 12], None, None, Duration::from_secs(30));
    assert!(matches!(e, Err(FleetError::InvalidInput(_))), "{e:?}");
    let e = dedup::search(
        &cfgs[0],
        &[0.0; TEMPLATE_DIM],
        None,
        None,
        Duration::from_secs(30),
    );
    assert!(
        matches!(&e, Err(FleetError::Refused { status: 400, code, .. }) if code == "bad_query"),
        "{e:?}"
    );
    // A quarantined kiosk gets no answers (a stolen kiosk cannot keep probing faces).
    run.rt
        .block_on(
            run.central
                .quarantine("ke", &kyc_core::fleet::ChainBreak::Fork { seq: 1 }),
        )
        .unwrap();
    let e = dedup::search(&cfgs[0], &t, None, None, Duration::from_secs(30));
    assert!(matches!(e, Err(FleetError::Quarantined(_))), "{e:?}");
}
