//! Hand-off and re-admission against a real central service over a real PostgreSQL cluster:
//! signed webhooks received by a local HTTP receiver the test runs (verifying the HMAC,
//! failing on purpose, dead letters and replay), registry checks against a local registry
//! server (matched, not matched, error, time-out, and `not_checked` without an adapter), and
//! a kiosk whose store was rolled back and went on re-admitted from a stated sequence, its old
//! branch kept, then re-enrolled with a new key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use kyc_central::hooks::{self, SignatureError};
use kyc_central::registry::{HttpJsonAdapter, RegistryAdapter, RegistryQuery};
use kyc_central::testpg::TestCluster;
use kyc_central::{CentralError, CentralRole, CentralUser};
use kyc_core::audit::{AuditConfig, AuditStore, Role};
use kyc_core::fleet::{CentralSecret, FleetConfig, open_sealed};
use kyc_core::verdict::Decision;

use crate::fleet_common::{
    AGENT, CENTRAL_ADMIN, CentralRun, HttpRequest, copy_store, enroll_with, new_kiosk_with, ok,
    quick_hook_settings, read_only, read_request, sync_output, verify_record_of, wait_until,
};

const SUPERVISOR: (&str, &str) = ("sam", "super-pass-2");
const SECRET: &[u8] = b"core-banking-shared-secret-0123456789";
const CREDENTIAL: &str = "registry-token-abcdef0123456789";

// ---------------------------------------------------------------- a local HTTP receiver

/// One request a local server received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
    answered: u16,
}

/// A real HTTP/1.1 server on 127.0.0.1 (one thread, one request per connection) that records
/// every request and answers with what `answer` says: (status, body, delay before answering).
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

type Answer = dyn Fn(usize, &[u8]) -> (u16, String, Duration) + Send + Sync;

impl Receiver {
    fn start(path: &str, answer: Arc<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::<Received>::new()));
        let g = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut r = BufReader::new(stream.try_clone().unwrap());
                let Some(HttpRequest {
                    path,
                    headers,
                    body,
                }) = read_request(&mut r)
                else {
                    continue;
                };
                let index = g.lock().unwrap().len();
                let (status, text, delay) = answer(index, &body);
                g.lock().unwrap().push(Received {
                    path,
                    headers,
                    body,
                    answered: status,
                });
                std::thread::sleep(delay);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        Receiver { url, got }
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Wait (up to two minutes) until `n` requests arrived.
    fn wait_for(&self, n: usize) -> Vec<Received> {
        let start = Instant::now();
        while self.got().len() < n {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "only {} of {n} requests arrived",
                self.got().len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.got()
    }
}

fn always(status: u16) -> Arc<Answer> {
    Arc::new(move |_, _| (status, "{}".to_string(), Duration::ZERO))
}

// ---------------------------------------------------------------- the central service

/// A central service over its own database, serving (with its hand-off worker) on a free
/// port, with short back-offs: 3 attempts, 40–80 ms then 80–160 ms apart.
fn central_with_hooks(db: &str) -> CentralRun {
    CentralRun::start_with(db, |c| c.with_hook_settings(quick_hook_settings()))
}

// ---------------------------------------------------------------- the kiosk's records

/// Record one real verification with `kyc-kiosk verify --record`: a synthetic passport page of
/// person `who` carrying `doc_face`'s face, against the selfie `selfie`. Returns its JSON.
fn record(db: &Path, dir: &Path, doc_face: &str, who: usize, selfie: &str) -> serde_json::Value {
    let doc = crate::passport::passport_file(doc_face, who, &dir.join("docs"));
    let out = ok(verify_record_of(
        db,
        &doc,
        selfie,
        &["--id-type", "passport"],
    ));
    serde_json::from_str(out.trim()).unwrap()
}

/// A kiosk store with two recorded verifications of passports: record 1 (his own face, a still
/// selfie: referred, then approved by the kiosk's supervisor) and record 2 (another face:
/// rejected by the pipeline). Made once per test binary, copied by each test.
fn prepared() -> &'static (tempfile::TempDir, Vec<serde_json::Value>) {
    static DIR: OnceLock<(tempfile::TempDir, Vec<serde_json::Value>)> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let db = new_kiosk_with(
            dir.path(),
            &[(SUPERVISOR.0, SUPERVISOR.1, Role::Supervisor)],
        );
        let a = record(&db, dir.path(), "obama.jpg", 0, "obama3.jpg");
        let b = record(&db, dir.path(), "obama.jpg", 1, "biden.jpg");
        {
            let mut store = AuditStore::open(AuditConfig::at(&db).with_fast_hashing()).unwrap();
            let sup = store.login(SUPERVISOR.0, SUPERVISOR.1).unwrap();
            store
                .record_supervisor_action(
                    &sup,
                    1,
                    "approve",
                    Some(Decision::Approve),
                    "document and face checked at the counter",
                )
                .unwrap();
            store.logout(sup).unwrap();
        }
        (dir, vec![a, b])
    })
}

/// The row a kiosk stored for record `id`.
fn row(db: &Path, id: i64) -> kyc_core::audit::VerificationCanon {
    read_only(db).outbox_record(id).unwrap().row
}

pub(super) fn copy_kiosk(to: &Path) -> PathBuf {
    copy_store(prepared().0.path(), to)
}

fn head(db: &Path) -> i64 {
    read_only(db).head().unwrap().0
}

fn now_s() -> i64 {
    kyc_core::audit::now_ms() / 1000
}

fn verify(r: &Received, secret: &[u8]) -> Result<(), SignatureError> {
    hooks::verify_signature(
        secret,
        r.headers.get("x-kyc-timestamp").map(String::as_str),
        &r.body,
        r.headers.get("x-kyc-signature").map(String::as_str),
        now_s(),
        hooks::RECOMMENDED_TOLERANCE_S,
    )
}

fn json(r: &Received) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap()
}

// ---------------------------------------------------------------- tests

#[test]
fn a_decided_synced_case_is_handed_off_once_signed_and_tampering_is_detectable() {
    let dir = tempfile::tempdir().unwrap();
    let central = central_with_hooks("hooks_once");
    let admin = central.admin();
    let plain = Receiver::start("/core/kyc-decisions", always(200));
    let personal = Receiver::start("/core/with-personal", always(204));
    let e1 = central
        .on(central
            .central
            .add_webhook(&admin, &plain.url, SECRET, false))
        .unwrap();
    let e2 = central
        .on(central
            .central
            .add_webhook(&admin, &personal.url, SECRET, true))
        .unwrap();
    assert_ne!(e1, e2);
    let listed = central.on(central.central.webhooks(&admin)).unwrap();
    assert_eq!(listed.len(), 2);
    // Bad configuration is refused with what is wrong.
    for (url, secret) in [
        ("https://user:pw@bank.example/hook", SECRET),
        ("ftp://bank/hook", SECRET),
        (plain.url.as_str(), &b"short"[..]),
    ] {
        let e = central
            .on(central.central.add_webhook(&admin, url, secret, false))
            .unwrap_err();
        assert!(matches!(e, CentralError::InvalidInput(_)), "{e}");
    }
    let sup = CentralUser {
        username: "sup".into(),
        role: CentralRole::Supervisor,
    };
    assert!(matches!(
        central.on(central.central.add_webhook(&sup, &plain.url, SECRET, false)),
        Err(CentralError::Forbidden(_))
    ));

    let db = copy_kiosk(&dir.path().join("k"));
    central.enroll(&db, "branch-1");
    ok(sync_output(&db, None));

    // Two decided cases (1 approved by the kiosk's supervisor, 2 rejected by the pipeline),
    // one delivery each per endpoint.
    let got = plain.wait_for(2);
    let got_personal = personal.wait_for(2);
    let results = &prepared().1;
    assert_eq!(results[0]["decision"], "refer", "{}", results[0]["reasons"]);
    assert_eq!(
        results[1]["decision"], "reject",
        "{}",
        results[1]["reasons"]
    );
    let mut by_record: HashMap<i64, serde_json::Value> = HashMap::new();
    for r in &got {
        assert_eq!(r.path, "/core/kyc-decisions");
        assert_eq!(
            verify(r, SECRET),
            Ok(()),
            "signature of {}",
            String::from_utf8_lossy(&r.body)
        );
        let b = json(r);
        assert_eq!(
            r.headers.get("idempotency-key").map(String::as_str),
            b["idempotencyKey"].as_str()
        );
        assert_eq!(
            r.headers.get("x-kyc-attempt").map(String::as_str),
            Some("1")
        );
        assert!(b.get("personal").is_none(), "{b}");
        // No image travels: the body is a few hundred bytes of JSON, no base64 blob.
        assert!(r.body.len() < 1500, "{}", r.body.len());
        by_record.insert(b["recordId"].as_i64().unwrap(), b);
    }
    let approved = &by_record[&1];
    assert_eq!(approved["event"], "case.decided");
    assert_eq!(approved["decision"], "approve");
    assert_eq!(approved["decidedBy"], "kiosk_supervisor");
    assert_eq!(approved["caseReference"], "branch-1/1");
    assert_eq!(approved["kioskId"], "branch-1");
    assert_eq!(approved["documentType"], "passport");
    let row1 = row(&db, 1);
    assert!(row1.country.is_some(), "{row1:?}");
    assert_eq!(
        approved["country"].as_str(),
        row1.country.as_deref(),
        "{approved}"
    );
    assert_eq!(
        approved["matchLevel"], results[0]["faceMatch"]["matchLevel"],
        "{approved}"
    );
    assert!(approved["matchLevel"].as_u64().unwrap() >= 1);
    assert_eq!(approved["registryCheck"], "not_checked");
    let rejected = &by_record[&2];
    assert_eq!(
        (
            rejected["decision"].as_str(),
            rejected["decidedBy"].as_str()
        ),
        (Some("reject"), Some("kiosk"))
    );
    assert_eq!(
        rejected["matchLevel"],
        results[1]["faceMatch"]["matchLevel"]
    );
    // The endpoint configured for personal fields gets them; the other does not.
    for r in &got_personal {
        assert_eq!(verify(r, SECRET), Ok(()));
        let b = json(r);
        let p = &b["personal"];
        let id = b["recordId"].as_i64().unwrap();
        let truth = &results[id as usize - 1];
        let stored = row(&db, id);
        assert!(stored.full_name.is_some());
        assert_eq!(p["fullName"].as_str(), stored.full_name.as_deref(), "{b}");
        assert_eq!(
            p["documentNumber"].as_str(),
            stored.document_number.as_deref()
        );
        assert_eq!(
            p["dateOfBirth"],
            truth["document"]["reading"]["fields"]["dateOfBirth"]["value"]
        );
    }

    // Tampering is detectable: the decision flipped, another secret, a stale replay.
    let r = &got[0];
    let mut flipped = r.clone();
    let text = String::from_utf8(r.body.clone()).unwrap();
    let swapped = if text.contains("\"approve\"") {
        text.replace("\"approve\"", "\"reject\"")
    } else {
        text.replace("\"reject\"", "\"approve\"")
    };
    assert_ne!(swapped, text);
    flipped.body = swapped.into_bytes();
    assert_eq!(verify(&flipped, SECRET), Err(SignatureError::Mismatch));
    assert_eq!(
        verify(r, b"some-other-secret-some-other-secret"),
        Err(SignatureError::Mismatch)
    );
    let mut resigned = r.clone();
    resigned.headers.insert(
        "x-kyc-signature".into(),
        hooks::sign(b"forger-key-forger-key-forger-key", now_s(), &r.body),
    );
    assert_eq!(verify(&resigned, SECRET), Err(SignatureError::Mismatch));
    let ts: i64 = r.headers["x-kyc-timestamp"].parse().unwrap();
    assert!(matches!(
        hooks::verify_signature(
            SECRET,
            Some(&ts.to_string()),
            &r.body,
            r.headers.get("x-kyc-signature").map(String::as_str),
            ts + 301,
            300
        ),
        Err(SignatureError::Stale(301))
    ));

    // Exactly once: syncing again, more worker rounds and learning the same decision again
    // (as a central supervisor's decision would) send nothing more.
    ok(sync_output(&db, None));
    let again = central
        .on(async {
            let c =
                kyc_central::db::connect(&TestCluster::shared().unwrap().conn_string("hooks_once"))
                    .await
                    .unwrap();
            hooks::enqueue_case_decided(
                &c,
                central.central.secret(),
                &hooks::CaseDecided {
                    kiosk_id: "branch-1".into(),
                    record_id: 2,
                    decision: "reject".into(),
                    decided_ms: 0,
                    decided_by: "central_supervisor".into(),
                },
            )
            .await
        })
        .unwrap();
    assert_eq!(again, 0);
    let round = central.on(central.central.deliver_due()).unwrap();
    assert_eq!(round, hooks::DeliveryRound::default());
    assert_eq!(plain.got().len(), 2);
    assert_eq!(personal.got().len(), 2);
    let delivered = central
        .on(central.central.deliveries(&admin, "delivered"))
        .unwrap();
    assert_eq!(delivered.len(), 4);
    let keys: std::collections::HashSet<_> = delivered
        .iter()
        .map(|d| d.idempotency_key.clone())
        .collect();
    assert_eq!(keys.len(), 4);
    // A case that is not decided (referred) is never handed off; an unknown record is refused.
    let refused = central.on(async {
        let c = kyc_central::db::connect(&TestCluster::shared().unwrap().conn_string("hooks_once"))
            .await
            .unwrap();
        let refer = hooks::enqueue_case_decided(
            &c,
            central.central.secret(),
            &hooks::CaseDecided {
                kiosk_id: "branch-1".into(),
                record_id: 1,
                decision: "refer".into(),
                decided_ms: 0,
                decided_by: "central_supervisor".into(),
            },
        )
        .await
        .unwrap();
        let unknown = hooks::enqueue_case_decided(
            &c,
            central.central.secret(),
            &hooks::CaseDecided {
                kiosk_id: "branch-1".into(),
                record_id: 99,
                decision: "approve".into(),
                decided_ms: 0,
                decided_by: "central_supervisor".into(),
            },
        )
        .await;
        (refer, unknown)
    });
    assert_eq!(refused.0, 0);
    assert!(
        matches!(refused.1, Err(CentralError::NotFound(_))),
        "{:?}",
        refused.1
    );
    // What rests in the outbox is sealed: the body opens only with the central key.
    let sealed: Vec<u8> = central.on(async {
        let c = kyc_central::db::connect(&TestCluster::shared().unwrap().conn_string("hooks_once"))
            .await
            .unwrap();
        c.query_one(
            "SELECT sealed_body FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id LIMIT 1",
            &[&e2],
        )
        .await
        .unwrap()
        .get(0)
    });
    let name = results[0]["document"]["reading"]["fields"]["lastName"]["value"]
        .as_str()
        .unwrap();
    assert!(!sealed.windows(name.len()).any(|w| w == name.as_bytes()));
    assert!(open_sealed(&CentralSecret::generate(), b"x", &sealed).is_err());
    assert_eq!(
        central
            .on(central.central.registry_check("branch-1", 1))
            .unwrap()
            .registry_check,
        "not_checked"
    );
}

#[test]
fn a_failing_receiver_is_retried_with_one_key_and_dead_letters_are_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let central = central_with_hooks("hooks_retry");
    let admin = central.admin();
    // Fails the first two attempts of each delivery, then accepts.
    let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let s = seen.clone();
    let flaky = Receiver::start(
        "/flaky",
        Arc::new(move |_, body: &[u8]| {
            let key = serde_json::from_slice::<serde_json::Value>(body).unwrap()["idempotencyKey"]
                .as_str()
                .unwrap()
                .to_string();
            let mut s = s.lock().unwrap();
            let n = s.entry(key).or_insert(0);
            *n += 1;
            (if *n <= 2 { 503 } else { 200 }, "{}".into(), Duration::ZERO)
        }),
    );
    // Down until the test says it is back.
    let up = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let u = up.clone();
    let down = Receiver::start(
        "/down",
        Arc::new(move |_, _: &[u8]| {
            let ok = u.load(std::sync::atomic::Ordering::SeqCst);
            (if ok { 200 } else { 500 }, "{}".into(), Duration::ZERO)
        }),
    );
    central
        .on(central
            .central
            .add_webhook(&admin, &flaky.url, SECRET, false))
        .unwrap();
    let down_id = central
        .on(central
            .central
            .add_webhook(&admin, &down.url, SECRET, false))
        .unwrap();
    let db = copy_kiosk(&dir.path().join("k"));
    central.enroll(&db, "branch-2");
    ok(sync_output(&db, None));

    // The flaky endpoint: three attempts per case, one key per case, accepted once.
    let got = flaky.wait_for(6);
    let mut per_key: HashMap<String, Vec<(String, u16)>> = HashMap::new();
    for r in &got {
        assert_eq!(verify(r, SECRET), Ok(()));
        per_key
            .entry(r.headers["idempotency-key"].clone())
            .or_default()
            .push((r.headers["x-kyc-attempt"].clone(), r.answered));
    }
    assert_eq!(per_key.len(), 2, "{per_key:?}");
    for attempts in per_key.values() {
        assert_eq!(
            attempts,
            &vec![("1".into(), 503), ("2".into(), 503), ("3".into(), 200)]
        );
    }
    // The endpoint that stays down: both cases end as dead letters after three attempts.
    wait_until("two dead letters", || {
        central
            .on(central.central.deliveries(&admin, "dead"))
            .unwrap()
            .len()
            == 2
    });
    let dead = central
        .on(central.central.deliveries(&admin, "dead"))
        .unwrap();
    for d in &dead {
        assert_eq!(
            (d.endpoint_id, d.attempts, d.last_status),
            (down_id, 3, Some(500))
        );
        assert!(d.last_error.as_deref().unwrap().contains("500"));
    }
    assert_eq!(down.got().len(), 6);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        down.got().len(),
        6,
        "a dead letter is not retried on its own"
    );
    assert_eq!(flaky.got().len(), 6, "a delivered one is not sent again");

    // Replay needs an administrator and a reason.
    let sup = CentralUser {
        username: "sup".into(),
        role: CentralRole::Supervisor,
    };
    assert!(matches!(
        central.on(central.central.replay_dead_letters(&sup, None, "retry")),
        Err(CentralError::Forbidden(_))
    ));
    assert!(matches!(
        central.on(central
            .central
            .replay_dead_letters(&admin, Some(dead[0].id), "  ")),
        Err(CentralError::InvalidInput(_))
    ));
    assert!(matches!(
        central.on(central
            .central
            .replay_dead_letters(&admin, Some(999_999), "retry")),
        Err(CentralError::NotFound(_))
    ));
    // The endpoint is back: replay one, then the rest; each arrives once with its old key.
    up.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        central
            .on(central.central.replay_dead_letters(
                &admin,
                Some(dead[0].id),
                "core banking back after outage"
            ))
            .unwrap(),
        1
    );
    let got = down.wait_for(7);
    assert_eq!(got[6].headers["idempotency-key"], dead[0].idempotency_key);
    assert_eq!(got[6].headers["x-kyc-attempt"], "1");
    assert_eq!(verify(&got[6], SECRET), Ok(()));
    assert_eq!(
        central
            .on(central
                .central
                .replay_dead_letters(&admin, None, "the rest after the outage"))
            .unwrap(),
        1
    );
    let got = down.wait_for(8);
    assert_eq!(got[7].headers["idempotency-key"], dead[1].idempotency_key);
    wait_until("all delivered", || {
        central
            .on(central.central.deliveries(&admin, "delivered"))
            .unwrap()
            .len()
            == 4
    });
    assert!(
        central
            .on(central.central.deliveries(&admin, "dead"))
            .unwrap()
            .is_empty()
    );
    // Both replays are in the administrators' log, chained, with their reasons.
    let log = central.on(central.central.admin_log(&admin, None)).unwrap();
    let replays: Vec<_> = log
        .iter()
        .filter(|a| a.action == "webhook_replay")
        .collect();
    assert_eq!(replays.len(), 2);
    assert_eq!(replays[0].reason, "core banking back after outage");
    assert_eq!(replays[0].actor, CENTRAL_ADMIN.0);
    assert_eq!(log.iter().filter(|a| a.action == "webhook_add").count(), 2);
    assert!(
        central
            .on(central.central.verify_admin_log())
            .unwrap()
            .is_empty()
    );
    // An entry edited in the database breaks the log's chain.
    central.on(async {
        let c = kyc_central::db::connect(&TestCluster::shared().unwrap().conn_string("hooks_retry"))
            .await
            .unwrap();
        c.execute(
            "UPDATE central_admin_log SET reason = 'nothing to see' WHERE action = 'webhook_replay'",
            &[],
        )
        .await
        .unwrap();
    });
    let problems = central.on(central.central.verify_admin_log()).unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    // Removing the endpoint: nothing pending is left behind it.
    central
        .on(central
            .central
            .remove_webhook(&admin, down_id, "endpoint retired"))
        .unwrap();
    assert_eq!(
        central.on(central.central.webhooks(&admin)).unwrap().len(),
        1
    );
}

#[test]
fn registry_adapter_outcomes_are_attached_to_the_case_and_nothing_is_made_up() {
    let dir = tempfile::tempdir().unwrap();
    let central = central_with_hooks("hooks_registry");
    let admin = central.admin();
    let results = &prepared().1;
    let number = |i: usize| {
        results[i]["document"]["reading"]["fields"]["documentNumber"]["value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let country = row(&prepared().0.path().join("audit.sqlite3"), 1)
        .country
        .unwrap();
    // The registry knows record 1's holder and not record 2's number.
    let (n1, n2) = (number(0), number(1));
    let known = n1.clone();
    let registry = Receiver::start(
        "/v1/lookup/passport",
        Arc::new(move |_, body: &[u8]| {
            let q: serde_json::Value = serde_json::from_slice(body).unwrap();
            let answer = if q["idNumber"] == known.as_str() {
                r#"{"status":"found","fullNameMatch":true,"dateOfBirthMatch":true}"#
            } else {
                r#"{"status":"not_found"}"#
            };
            (200, answer.to_string(), Duration::ZERO)
        }),
    );
    let id = central
        .on(central.central.add_registry_adapter(
            &admin,
            "passport-office",
            "http-json",
            &country,
            "passport",
            &registry.url,
            CREDENTIAL,
            5_000,
        ))
        .unwrap();
    // Record 2's holder may be of another country: its own adapter, the same registry.
    let country2 = row(&prepared().0.path().join("audit.sqlite3"), 2)
        .country
        .unwrap();
    let mut ids = vec![id];
    if country2 != country {
        ids.push(
            central
                .on(central.central.add_registry_adapter(
                    &admin,
                    "passport-office",
                    "http-json",
                    &country2,
                    "passport",
                    &registry.url,
                    CREDENTIAL,
                    5_000,
                ))
                .unwrap(),
        );
    }
    // One adapter per country and ID type; bad settings are refused.
    assert!(matches!(
        central.on(central.central.add_registry_adapter(
            &admin,
            "again",
            "http-json",
            &country,
            "passport",
            &registry.url,
            CREDENTIAL,
            5_000
        )),
        Err(CentralError::Conflict(_))
    ));
    for (kind, url, cred, timeout) in [
        ("soap", registry.url.as_str(), CREDENTIAL, 5_000),
        ("http-json", "https://registry/x", CREDENTIAL, 5_000),
        ("http-json", registry.url.as_str(), "short", 5_000),
        ("http-json", registry.url.as_str(), CREDENTIAL, 0),
    ] {
        let e = central
            .on(central
                .central
                .add_registry_adapter(&admin, "x", kind, "GHA", "passport", url, cred, timeout))
            .unwrap_err();
        assert!(matches!(e, CentralError::InvalidInput(_)), "{e}");
    }

    let db = copy_kiosk(&dir.path().join("k"));
    central.enroll(&db, "branch-3");
    ok(sync_output(&db, None));
    wait_until("both checks answered", || {
        (1..=2).all(|r| {
            central
                .on(central.central.registry_check("branch-3", r))
                .unwrap()
                .registry_check
                != "pending"
        })
    });
    let one = central
        .on(central.central.registry_check("branch-3", 1))
        .unwrap();
    assert_eq!(one.registry_check, "matched", "{one:?}");
    assert_eq!(one.adapter.as_deref(), Some("passport-office"));
    assert!(one.checked_ms.unwrap() > 0);
    let two = central
        .on(central.central.registry_check("branch-3", 2))
        .unwrap();
    assert_eq!(two.registry_check, "not_matched", "{two:?}");
    // What the registry received: the contract's fields, the bearer credential.
    let got = registry.got();
    assert_eq!(got.len(), 2);
    for r in &got {
        assert_eq!(r.path, "/v1/lookup/passport");
        assert_eq!(r.headers["authorization"], format!("Bearer {CREDENTIAL}"));
        let q = json(r);
        assert_eq!(q["idType"], "passport");
        let i = if q["idNumber"] == n1.as_str() { 0 } else { 1 };
        assert_eq!(q["country"], [&country, &country2][i].as_str());
        assert_eq!(q["reference"], format!("branch-3/{}", i + 1));
        assert_eq!(
            q["dateOfBirth"],
            results[i]["document"]["reading"]["fields"]["dateOfBirth"]["value"]
        );
        assert!(q["fullName"].as_str().is_some_and(|n| !n.is_empty()));
        assert!(q.get("selfie").is_none() && r.body.len() < 1000);
    }
    assert!(got.iter().any(|r| json(r)["idNumber"] == n2.as_str()));
    // A record whose (country, ID type) has no adapter, and a record the centre does not hold:
    // not checked, never a made-up result.
    let none = central
        .on(central.central.registry_check("branch-3", 77))
        .unwrap();
    assert_eq!(
        serde_json::to_value(&none).unwrap(),
        serde_json::json!({ "registryCheck": "not_checked" })
    );
    for id in ids {
        central
            .on(central
                .central
                .remove_registry_adapter(&admin, id, "contract ended"))
            .unwrap();
    }
    assert!(
        central
            .on(central.central.registry_adapters(&admin))
            .unwrap()
            .is_empty()
    );
    let dir2 = dir.path().join("k2");
    let db2 = copy_kiosk(&dir2);
    central.enroll(&db2, "branch-4");
    ok(sync_output(&db2, None));
    central.on(central.central.run_registry_checks()).unwrap();
    assert_eq!(
        central
            .on(central.central.registry_check("branch-4", 1))
            .unwrap()
            .registry_check,
        "not_checked"
    );
    assert_eq!(registry.got().len(), 2);

    // The adapter itself against the local server: both outcomes, an error and a time-out.
    let q = |n: &str| RegistryQuery {
        reference: "branch-9/1".into(),
        country: country.clone(),
        id_type: "passport".into(),
        id_number: n.into(),
        full_name: Some("AMA MENSAH".into()),
        first_name: None,
        last_name: None,
        date_of_birth: Some("1990-01-01".into()),
    };
    let adapter =
        |url: &str| HttpJsonAdapter::new("t", url, CREDENTIAL, Duration::from_millis(700)).unwrap();
    let modes = Receiver::start(
        "/lookup",
        Arc::new(|_, body: &[u8]| {
            let q: serde_json::Value = serde_json::from_slice(body).unwrap();
            match q["idNumber"].as_str().unwrap() {
                "MATCH" => (
                    200,
                    r#"{"status":"found","fullNameMatch":true}"#.into(),
                    Duration::ZERO,
                ),
                "OTHER-NAME" => (
                    200,
                    r#"{"status":"found","fullNameMatch":false,"dateOfBirthMatch":true}"#.into(),
                    Duration::ZERO,
                ),
                "UNKNOWN" => (404, "{}".into(), Duration::ZERO),
                "BROKEN" => (500, r#"{"error":"registry down"}"#.into(), Duration::ZERO),
                _ => (200, r#"{"status":"found"}"#.into(), Duration::from_secs(3)),
            }
        }),
    );
    let a = adapter(&modes.url);
    assert_eq!(a.name(), "t");
    assert_eq!(a.check(&q("MATCH")).state(), "matched");
    let other = a.check(&q("OTHER-NAME"));
    assert_eq!(other.state(), "not_matched");
    assert!(other.detail().contains("full name"), "{other:?}");
    assert_eq!(a.check(&q("UNKNOWN")).state(), "not_matched");
    let broken = a.check(&q("BROKEN"));
    assert_eq!(broken.state(), "error");
    assert!(broken.detail().contains("500"), "{broken:?}");
    let slow = a.check(&q("SLOW"));
    assert_eq!(slow.state(), "error", "{slow:?}");
    assert!(slow.detail().contains("no answer"), "{slow:?}");
    let nobody = adapter("http://127.0.0.1:9/lookup").check(&q("MATCH"));
    assert_eq!(nobody.state(), "error");
    assert_eq!(modes.got().len(), 5);
    assert_eq!(
        modes.got()[0].headers["authorization"],
        format!("Bearer {CREDENTIAL}")
    );
}

fn events(db: &Path, n: usize) {
    let mut store = AuditStore::open(AuditConfig::at(db).with_fast_hashing()).unwrap();
    for _ in 0..n {
        let s = store.login(AGENT.0, AGENT.1).unwrap();
        store.logout(s).unwrap();
    }
}

#[test]
fn a_rolled_back_kiosk_is_readmitted_from_a_stated_sequence_keeping_its_old_branch() {
    let dir = tempfile::tempdir().unwrap();
    let central = central_with_hooks("hooks_readmit");
    let admin = central.admin();
    let kdir = dir.path().join("k");
    let db = copy_kiosk(&kdir);
    central.enroll(&db, "branch-5");
    ok(sync_output(&db, None));
    let n1 = head(&db);
    let files = ["audit.sqlite3", "audit.sqlite3.key", "audit.sqlite3.anchor"];
    let snap = dir.path().join("snapshot");
    std::fs::create_dir_all(&snap).unwrap();
    for f in files {
        std::fs::copy(kdir.join(f), snap.join(f)).unwrap();
    }
    // The branch the centre receives: a third verification and sign-ins.
    let third = record(&db, &kdir, "obama2.jpg", 2, "obama.jpg");
    assert_eq!(third["record"]["id"], 3, "{}", third["record"]);
    events(&db, 3);
    ok(sync_output(&db, None));
    let n2 = head(&db);
    let old_hashes: Vec<(i64, String)> = central.on(async {
        let c = kyc_central::db::connect(&TestCluster::shared().unwrap().conn_string("hooks_readmit"))
            .await
            .unwrap();
        c.query(
            "SELECT seq, hash FROM kiosk_events WHERE kiosk_id = 'branch-5' AND seq > $1 ORDER BY seq",
            &[&n1],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), hex::encode(r.get::<_, Vec<u8>>(1))))
        .collect()
    });
    assert_eq!(old_hashes.len() as i64, n2 - n1);
    // The store is put back as it was, and the kiosk goes on: another verification gets
    // record id 3 again, and a sign-in.
    for f in files {
        std::fs::copy(snap.join(f), kdir.join(f)).unwrap();
    }
    let _ = std::fs::remove_file(kdir.join("audit.sqlite3-wal"));
    let _ = std::fs::remove_file(kdir.join("audit.sqlite3-shm"));
    let other = record(&db, &kdir, "obama.jpg", 3, "obama2.jpg");
    assert_eq!(other["record"]["id"], 3);
    events(&db, 1);
    let n3 = head(&db);
    assert!(n1 < n3 && n3 < n2, "{n1} {n3} {n2}");

    let out = sync_output(&db, None);
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let case = central
        .on(central.central.quarantine_case(&admin, "branch-5"))
        .unwrap();
    assert!(case.quarantined);
    assert_eq!(case.alerts.len(), 1);
    assert_eq!(case.evidence.len(), 1);
    let ev = &case.evidence[0];
    assert_eq!(ev.kind, "rollback");
    assert_eq!((ev.central_seq, ev.reported_seq), (n2, n3));
    assert_eq!(ev.alert_id, Some(case.alerts[0].id));
    // The kiosk's head differs from the centre's event at that sequence: they agree at most
    // up to the one before it.
    assert_ne!(ev.reported_hash, old_hashes[(n3 - n1 - 1) as usize].1);
    assert_eq!(ev.diverges_by, Some(n3));

    // Clearing the quarantine alone does not let the kiosk go on unseen.
    central
        .on(central
            .central
            .clear_quarantine_logged(&admin, "branch-5", "looked at it"))
        .unwrap();
    assert_eq!(sync_output(&db, None).status.code(), Some(7));
    let case = central
        .on(central.central.quarantine_case(&admin, "branch-5"))
        .unwrap();
    assert!(case.quarantined);
    assert_eq!(case.evidence.len(), 2);

    // Refused: a supervisor, no reason, a sequence past where the chains diverge, out of range.
    let sup = CentralUser {
        username: "sup".into(),
        role: CentralRole::Supervisor,
    };
    assert!(matches!(
        central.on(central
            .central
            .readmit_accept_chain(&sup, "branch-5", n1 + 1, "r")),
        Err(CentralError::Forbidden(_))
    ));
    assert!(matches!(
        central.on(central
            .central
            .readmit_accept_chain(&admin, "branch-5", n1 + 1, "")),
        Err(CentralError::InvalidInput(_))
    ));
    for bad in [n3 + 1, 0, n2 + 2] {
        let e = central
            .on(central
                .central
                .readmit_accept_chain(&admin, "branch-5", bad, "store restored"))
            .unwrap_err();
        assert!(matches!(e, CentralError::InvalidInput(_)), "{bad}: {e}");
    }
    assert!(matches!(
        central.on(central
            .central
            .readmit_accept_chain(&admin, "nowhere", 1, "x")),
        Err(CentralError::NotFound(_))
    ));

    // Accepted from the first event after the snapshot.
    let r = central
        .on(central.central.readmit_accept_chain(
            &admin,
            "branch-5",
            n1 + 1,
            "disk restored from the backup of the morning; branch kept as evidence",
        ))
        .unwrap();
    assert_eq!(
        (
            r.mode.as_str(),
            r.from_seq,
            r.old_ack_seq,
            r.events_superseded,
            r.records_superseded
        ),
        ("accept_chain", n1 + 1, n2, n2 - n1, 1)
    );
    let report: serde_json::Value =
        serde_json::from_str(ok(sync_output(&db, None)).trim()).unwrap();
    // The re-admitted chain is held to its head; the run may itself chain what the centre
    // offered it (a duplicate flag of the re-sent record, a central decision, the fleet
    // policy), each counted in the report.
    let chained_now = report["flagsChained"].as_i64().unwrap()
        + report["inbox"]["applied"].as_i64().unwrap()
        + report["inbox"]["declined"].as_i64().unwrap()
        + i64::from(report["inbox"]["policyApplied"].as_bool().unwrap());
    assert_eq!(report["ackSeq"], report["localSeq"]);
    assert_eq!(
        report["ackSeq"].as_i64().unwrap(),
        n3 + chained_now,
        "{report}"
    );
    let n3 = report["ackSeq"].as_i64().unwrap();
    let case = central
        .on(central.central.quarantine_case(&admin, "branch-5"))
        .unwrap();
    assert!(!case.quarantined && case.alerts.is_empty() && case.evidence.is_empty());
    assert_eq!(case.readmissions.len(), 1);
    assert_eq!(case.readmissions[0].admin, CENTRAL_ADMIN.0);
    assert!(
        central
            .on(central.central.verify_stored())
            .unwrap()
            .is_empty()
    );
    // The old branch is kept: its events with their hashes, and the record it created, whose
    // sealed row still opens and is not the record now held under the same id.
    assert_eq!(
        central
            .on(central.central.superseded_events(&admin, r.id))
            .unwrap(),
        old_hashes
    );
    let (old_row, new_row) = central.on(async {
        let c = kyc_central::db::connect(&TestCluster::shared().unwrap().conn_string("hooks_readmit"))
            .await
            .unwrap();
        let old: Vec<u8> = c
            .query_one(
                "SELECT sealed_row FROM superseded_records WHERE readmission_id = $1 AND record_id = 3",
                &[&r.id],
            )
            .await
            .unwrap()
            .get(0);
        let blobs: i64 = c
            .query_one(
                "SELECT count(*) FROM superseded_record_blobs WHERE readmission_id = $1",
                &[&r.id],
            )
            .await
            .unwrap()
            .get(0);
        assert!(blobs >= 3, "{blobs}");
        let new: Vec<u8> = c
            .query_one(
                "SELECT sealed_row FROM records WHERE kiosk_id = 'branch-5' AND record_id = 3",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        (old, new)
    });
    let open = |s: &[u8]| -> kyc_core::audit::VerificationCanon {
        let aad = kyc_core::fleet::crypto::record_aad("branch-5", 3, "row");
        serde_json::from_slice(&open_sealed(central.central.secret(), &aad, s).unwrap()).unwrap()
    };
    let (old_row, new_row) = (open(&old_row), open(&new_row));
    assert_ne!(old_row.created_ms, new_row.created_ms);
    assert_eq!(
        old_row.document_number.as_deref(),
        third["document"]["reading"]["fields"]["documentNumber"]["value"].as_str()
    );
    let log = central.on(central.central.admin_log(&admin, None)).unwrap();
    let actions: Vec<_> = log.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["quarantine_clear", "readmit_accept_chain"]);
    assert!(log[1].reason.starts_with("disk restored"));

    // Re-enrolment with a new key: the old key is refused from then on; the kiosk enrols
    // again with the new token and goes on from its chain.
    let (r2, token) = central
        .on(central
            .central
            .readmit_re_enrol(&admin, "branch-5", None, "kiosk key file exposed"))
        .unwrap();
    assert!(r2.key_retired);
    assert_eq!((r2.events_superseded, r2.from_seq), (0, n3 + 1));
    events(&db, 1);
    let out = sync_output(&db, None);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not enrolled"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(FleetConfig::path_for(&db)).unwrap();
    enroll_with(&db, &central.url, "branch-5", &token);
    let report: serde_json::Value =
        serde_json::from_str(ok(sync_output(&db, None)).trim()).unwrap();
    assert_eq!(report["ackSeq"], head(&db));
    assert_eq!(
        central.on(central.central.admin_log(&admin, None)).unwrap()[2].action,
        "readmit_re_enrol"
    );
    assert!(
        central
            .on(central.central.verify_admin_log())
            .unwrap()
            .is_empty()
    );
}
