//! Webhooks to core banking over real TLS, and the rate limit on the online duplicate search,
//! against a real central service over a real PostgreSQL cluster.
//!
//! TLS: the test makes a bank's private CA and server certificates (rcgen, ring), runs TLS
//! receivers (rustls over std sockets) and lets the central worker deliver the decided cases
//! of a synced kiosk: the receiver of the configured CA gets the signed body; receivers whose
//! certificate is of another CA, for another host, expired, or checked against the system
//! roots end as dead letters whose last error names the cause, and never receive a byte of
//! the body.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kyc_central::CentralError;
use kyc_central::hooks;
use kyc_central::ratelimit::SearchLimits;
use kyc_central::tls::rustls;
use kyc_core::audit::TEMPLATE_DIM;
use kyc_core::fleet::dedup::{self, CentralCheck};
use kyc_core::fleet::{FleetConfig, FleetError};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::fleet_common::{
    CentralRun, HttpRequest, new_kiosk, ok, ok_with_stderr, quick_hook_settings, read_only,
    read_request, sync_output, verify_record, wait_until,
};
use crate::fleet_hooks::copy_kiosk;

const SECRET: &[u8] = b"core-banking-tls-shared-secret-0123456789";

// ---------------------------------------------------------------- certificates

struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(p, key),
    }
}

/// A server certificate for `names` by `ca`, valid from 1 January `from` to 1 January `to`.
fn server_cert(ca: &Ca, names: &[&str], from: i32, to: i32) -> rustls::ServerConfig {
    let mut p =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    p.not_before = rcgen::date_time_ymd(from, 1, 1);
    p.not_after = rcgen::date_time_ymd(to, 1, 1);
    let key = KeyPair::generate().unwrap();
    let cert: CertificateDer<'static> = p.signed_by(&key, &ca.issuer).unwrap().der().clone();
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap()
}

// ---------------------------------------------------------------- a TLS receiver

#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A real HTTPS/1.1 server on 127.0.0.1 answering 200 to each request, recording the
/// requests and the connections whose handshake failed.
struct TlsReceiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
    failed_handshakes: Arc<Mutex<u32>>,
}

impl TlsReceiver {
    fn start(config: rustls::ServerConfig) -> Self {
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let failed = Arc::new(Mutex::new(0));
        let (g, f) = (got.clone(), failed.clone());
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(mut tcp) = tcp else { continue };
                let mut conn = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut handshake_ok = true;
                while conn.is_handshaking() {
                    if conn.complete_io(&mut tcp).is_err() {
                        handshake_ok = false;
                        break;
                    }
                }
                if !handshake_ok {
                    *f.lock().unwrap() += 1;
                    continue;
                }
                let mut s = rustls::StreamOwned::new(conn, tcp);
                let mut r = BufReader::new(&mut s);
                let Some(HttpRequest {
                    path,
                    headers,
                    body,
                }) = read_request(&mut r)
                else {
                    continue;
                };
                drop(r);
                g.lock().unwrap().push(Received {
                    path,
                    headers,
                    body,
                });
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                );
                s.conn.send_close_notify();
                let _ = s.flush();
            }
        });
        TlsReceiver {
            port,
            got,
            failed_handshakes: failed,
        }
    }

    fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.port)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn failed(&self) -> u32 {
        *self.failed_handshakes.lock().unwrap()
    }
}

// ---------------------------------------------------------------- the central service

/// A central service over its own database, serving on a free port with its hand-off
/// worker: 3 attempts 40–160 ms apart.
fn served(db: &str, limits: SearchLimits) -> CentralRun {
    CentralRun::start_with(db, |c| {
        c.with_search_limits(limits)
            .with_hook_settings(quick_hook_settings())
    })
}

// ---------------------------------------------------------------- tests

#[test]
fn webhooks_go_over_tls_to_the_banks_ca_only_and_certificate_errors_become_dead_letters() {
    let bank = ca("Bank private CA");
    let stranger = ca("Somebody else's CA");
    // The bank's endpoint, and four an attacker (or a misconfiguration) could put in its way.
    let good = TlsReceiver::start(server_cert(&bank, &["localhost"], 2020, 2100));
    let unknown = TlsReceiver::start(server_cert(&stranger, &["localhost"], 2020, 2100));
    let wrong_host = TlsReceiver::start(server_cert(&bank, &["core.bank.example"], 2020, 2100));
    let expired = TlsReceiver::start(server_cert(&bank, &["localhost"], 2019, 2021));
    let system = TlsReceiver::start(server_cert(&bank, &["localhost"], 2020, 2100));

    let central = served("tls_hooks", SearchLimits::default());
    let admin = central.admin();
    let add = |url: &str, ca: Option<&str>| {
        central.on(central
            .central
            .add_webhook_with_ca(&admin, url, SECRET, false, ca))
    };
    // Configuration mistakes are refused with what is wrong.
    let e = add(
        &good.url("localhost", "/x").replace("https", "http"),
        Some(&bank.pem),
    )
    .unwrap_err();
    assert!(
        matches!(&e, CentralError::InvalidInput(m) if m.contains("CA bundle is given but the URL is http")),
        "{e}"
    );
    let e = add(&good.url("localhost", "/x"), Some("not a certificate")).unwrap_err();
    assert!(
        matches!(&e, CentralError::InvalidInput(m) if m.contains("BEGIN CERTIFICATE")),
        "{e}"
    );

    let ok_id = add(&good.url("localhost", "/core/kyc"), Some(&bank.pem)).unwrap();
    let mut refused = HashMap::new();
    for (r, ca, why) in [
        (
            &unknown,
            Some(&bank.pem),
            "unknown issuer (it does not chain to the endpoint's CA bundle)",
        ),
        (
            &wrong_host,
            Some(&bank.pem),
            "wrong host (not valid for localhost; it names DnsName(\"core.bank.example\"))",
        ),
        (
            &expired,
            Some(&bank.pem),
            "expired (valid until 2021-01-01 00:00:00 UTC",
        ),
        (
            &system,
            None,
            "unknown issuer (it does not chain to the system roots",
        ),
    ] {
        let id = add(&r.url("localhost", "/core/kyc"), ca.map(String::as_str)).unwrap();
        refused.insert(id, why);
    }
    let listed = central.on(central.central.webhooks(&admin)).unwrap();
    let kinds: Vec<&str> = listed.iter().map(|w| w.tls.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ca-bundle",
            "ca-bundle",
            "ca-bundle",
            "ca-bundle",
            "system-roots"
        ]
    );

    // A kiosk with two decided cases syncs: each endpoint gets one delivery per case.
    let dir = tempfile::tempdir().unwrap();
    let db = copy_kiosk(&dir.path().join("k"));
    central.enroll(&db, "branch-tls");
    ok(sync_output(&db, None));

    wait_until("two deliveries over TLS", || good.got().len() >= 2);
    let now_s = kyc_core::audit::now_ms() / 1000;
    let mut decisions = Vec::new();
    for r in good.got() {
        assert_eq!(r.path, "/core/kyc");
        assert_eq!(
            hooks::verify_signature(
                SECRET,
                r.headers.get("x-kyc-timestamp").map(String::as_str),
                &r.body,
                r.headers.get("x-kyc-signature").map(String::as_str),
                now_s,
                hooks::RECOMMENDED_TOLERANCE_S,
            ),
            Ok(()),
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        let b: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(b["event"], "case.decided");
        assert_eq!(b["kioskId"], "branch-tls");
        assert_eq!(
            r.headers.get("idempotency-key").map(String::as_str),
            b["idempotencyKey"].as_str()
        );
        decisions.push((b["recordId"].as_i64().unwrap(), b["decision"].to_string()));
    }
    decisions.sort();
    assert_eq!(
        decisions,
        [
            (1, "\"approve\"".to_string()),
            (2, "\"reject\"".to_string())
        ]
    );

    // Every refused certificate: three attempts, then a dead letter naming the cause.
    wait_until("eight dead letters", || {
        central
            .on(central.central.deliveries(&admin, "dead"))
            .unwrap()
            .len()
            >= 8
    });
    let dead = central
        .on(central.central.deliveries(&admin, "dead"))
        .unwrap();
    assert_eq!(dead.len(), 8);
    for d in &dead {
        assert_ne!(d.endpoint_id, ok_id);
        let why = refused[&d.endpoint_id];
        let err = d.last_error.as_deref().unwrap_or("");
        assert!(
            err.starts_with("TLS: server certificate refused: ") && err.contains(why),
            "endpoint {}: {err}",
            d.endpoint_id
        );
        assert_eq!((d.attempts, d.last_status), (3, None));
    }
    // The refused servers never saw a request, only failed handshakes.
    for r in [&unknown, &wrong_host, &expired, &system] {
        assert!(r.got().is_empty());
        // Six attempts each; the last may still be in the server thread.
        assert!(r.failed() >= 5, "{}", r.failed());
    }
    let delivered = central
        .on(central.central.deliveries(&admin, "delivered"))
        .unwrap();
    assert_eq!(delivered.len(), 2);
    assert!(delivered.iter().all(|d| d.endpoint_id == ok_id));
}

#[test]
fn a_burst_of_online_searches_is_refused_with_429_alerted_and_the_verification_still_records() {
    let dir = tempfile::tempdir().unwrap();
    // One search a minute, three at once, an alert at the second refusal.
    let central = served(
        "tls_rate",
        SearchLimits {
            per_minute: 1,
            burst: 3,
            alert_after: 2,
            alert_window_ms: 600_000,
        },
    );
    let mut cfgs = Vec::new();
    let mut dbs = Vec::new();
    for k in ["kr", "ks"] {
        let db = new_kiosk(&dir.path().join(k));
        central.enroll(&db, k);
        cfgs.push(FleetConfig::load(&FleetConfig::path_for(&db)).unwrap());
        dbs.push(db);
    }
    let t: Vec<f32> = (0..TEMPLATE_DIM).map(|i| (i as f32 * 0.37).sin()).collect();
    let search = |cfg: &FleetConfig| dedup::search(cfg, &t, None, None, Duration::from_secs(30));
    // Within the burst: answered.
    for i in 0..3 {
        let ans = search(&cfgs[0]).unwrap_or_else(|e| panic!("search {i}: {e}"));
        assert_eq!(ans.candidates.len(), 0);
    }
    let alerts = |central: &CentralRun| -> Vec<kyc_central::sync::Alert> {
        central
            .on(central.central.alerts(true))
            .unwrap()
            .into_iter()
            .filter(|a| a.kind == kyc_central::ratelimit::ALERT_KIND)
            .collect()
    };
    // Over it: 429 with a clear message; the first refusal is only logged.
    match search(&cfgs[0]) {
        Err(FleetError::Refused {
            status: 429,
            code,
            message,
        }) => {
            assert_eq!(code, "rate_limited");
            assert!(
                message.contains("at most 1 a minute, 3 at once"),
                "{message}"
            );
            assert!(message.contains("not checked centrally"), "{message}");
        }
        other => panic!("expected 429, got {other:?}"),
    }
    assert!(alerts(&central).is_empty());
    // Refused again: one alert for the kiosk, and only one however long it goes on.
    for _ in 0..3 {
        assert!(matches!(
            search(&cfgs[0]),
            Err(FleetError::Refused { status: 429, .. })
        ));
    }
    let raised = alerts(&central);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].kiosk_id, "kr");
    assert!(
        raised[0].detail.contains("refused within 10 minutes"),
        "{}",
        raised[0].detail
    );
    // The other kiosk has its own bucket; nothing was quarantined.
    assert!(search(&cfgs[1]).is_ok());
    assert!(
        central
            .on(central.central.alerts(true))
            .unwrap()
            .iter()
            .all(|a| a.kind == kyc_central::ratelimit::ALERT_KIND)
    );

    // The limited kiosk's next verification is recorded, "not checked centrally".
    let out = verify_record(&dbs[0], "obama.jpg", "obama3.jpg", &[]);
    let (stdout, err) = ok_with_stderr(out);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let id = v["record"]["id"].as_i64().expect("a record id");
    assert!(err.contains("not checked centrally"), "{err}");
    let store = read_only(&dbs[0]);
    assert_eq!(store.record_count().unwrap(), 1);
    let (_, checks) = dedup::central_findings(&store, id).unwrap();
    match checks.as_slice() {
        [CentralCheck::NotChecked { reason }] => {
            assert!(reason.contains("429 rate_limited"), "{reason}")
        }
        other => panic!("expected not checked, got {other:?}"),
    }
    assert!(store.verify().unwrap().problems.is_empty());
}
