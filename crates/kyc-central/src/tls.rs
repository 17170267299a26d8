//! TLS for the webhook client: `https://` endpoints with rustls (the `ring` provider, TLS 1.2
//! and 1.3), the server's certificate verified against the endpoint's configured CA bundle
//! (a bank's private CA) or, when none is configured, the system roots
//! ([`SYSTEM_BUNDLE`], Debian's `ca-certificates`). The host name is checked. A certificate
//! the client refuses is reported with what is wrong ([`describe`]): expired, not yet valid,
//! unknown issuer, wrong host; it is never accepted.
//!
//! HTTP itself is the project's small client ([`kyc_core::fleet::http::exchange`]) run over
//! the TLS session.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use kyc_core::fleet::http::{self, ServerUrl};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::CentralError;

/// rustls itself, for callers that run a TLS server against this client (tests, tools).
pub use rustls;

/// The system roots read when an endpoint has no CA bundle of its own.
pub const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Largest CA bundle accepted for an endpoint (Debian's whole bundle is about 220 kB).
pub const MAX_BUNDLE_BYTES: usize = 1024 * 1024;

/// Where an endpoint's server certificate must chain to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The endpoint's own CA bundle (PEM text, checked when it was configured).
    Bundle(String),
    /// The system roots ([`SYSTEM_BUNDLE`]).
    System,
}

impl Trust {
    /// How the trust is named in messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Trust::Bundle(_) => "the endpoint's CA bundle",
            Trust::System => "the system roots (/etc/ssl/certs/ca-certificates.crt)",
        }
    }
}

/// The crypto provider: ring.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Parse a PEM CA bundle into trust anchors: at least one certificate, each usable as a
/// trust anchor; a bundle holding a private key is refused (it is a mistake that spreads a
/// key).
///
/// # Errors
/// `InvalidInput` saying what is wrong.
pub fn parse_bundle(pem: &str) -> Result<RootCertStore, CentralError> {
    let bad = |why: String| CentralError::InvalidInput(format!("CA bundle: {why}"));
    if pem.len() > MAX_BUNDLE_BYTES {
        return Err(bad(format!(
            "{} bytes; at most {MAX_BUNDLE_BYTES} are accepted",
            pem.len()
        )));
    }
    if pem.contains("PRIVATE KEY-----") {
        return Err(bad(
            "it holds a private key; give only the CA's certificates".into(),
        ));
    }
    let mut roots = RootCertStore::empty();
    for (i, cert) in CertificateDer::pem_slice_iter(pem.as_bytes()).enumerate() {
        let cert = cert.map_err(|e| bad(format!("certificate {}: not PEM: {e}", i + 1)))?;
        roots
            .add(cert)
            .map_err(|e| bad(format!("certificate {}: not usable as a CA: {e}", i + 1)))?;
    }
    if roots.is_empty() {
        return Err(bad(
            "no \"BEGIN CERTIFICATE\" block found; give the CA's certificate in PEM".into(),
        ));
    }
    Ok(roots)
}

/// The system roots, read once (a missing bundle is retried at the next use).
///
/// # Errors
/// A message naming the file when it is missing or holds no usable certificate.
pub fn system_roots() -> Result<Arc<RootCertStore>, String> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    if let Some(r) = ROOTS.get() {
        return Ok(r.clone());
    }
    let text = std::fs::read_to_string(SYSTEM_BUNDLE).map_err(|e| {
        format!(
            "no CA bundle is configured for this endpoint and the system roots ({SYSTEM_BUNDLE}, \
             Debian's ca-certificates) cannot be read: {e}"
        )
    })?;
    let mut roots = RootCertStore::empty();
    // One unusable certificate in a system bundle does not make the others unusable.
    let (_added, _skipped) = roots.add_parsable_certificates(
        CertificateDer::pem_slice_iter(text.as_bytes()).filter_map(Result::ok),
    );
    if roots.is_empty() {
        return Err(format!("{SYSTEM_BUNDLE} holds no usable certificate"));
    }
    Ok(ROOTS.get_or_init(|| Arc::new(roots)).clone())
}

/// The client configuration for `trust`: ring, TLS 1.3 and 1.2 only, no client certificate.
///
/// # Errors
/// A message when the roots cannot be loaded.
pub fn client_config(trust: &Trust) -> Result<Arc<ClientConfig>, String> {
    let roots = match trust {
        Trust::Bundle(pem) => Arc::new(parse_bundle(pem).map_err(|e| e.to_string())?),
        Trust::System => system_roots()?,
    };
    let config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// `secs` since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// What a TLS failure means, in words an administrator acts on. Certificate problems start
/// with `TLS: server certificate refused:` and name the cause (`expired`, `not yet valid`,
/// `unknown issuer`, `wrong host`, …).
pub fn describe(e: &rustls::Error, host: &str, trust: &Trust) -> String {
    let refused = "TLS: server certificate refused";
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::Expired => format!("{refused}: expired"),
            CertificateError::ExpiredContext { time, not_after } => format!(
                "{refused}: expired (valid until {}, now {})",
                utc(not_after.as_secs()),
                utc(time.as_secs())
            ),
            CertificateError::NotValidYet => format!("{refused}: not yet valid"),
            CertificateError::NotValidYetContext { time, not_before } => format!(
                "{refused}: not yet valid (valid from {}, now {})",
                utc(not_before.as_secs()),
                utc(time.as_secs())
            ),
            CertificateError::UnknownIssuer => format!(
                "{refused}: unknown issuer (it does not chain to {})",
                trust.describe()
            ),
            CertificateError::NotValidForName => {
                format!("{refused}: wrong host (not valid for {host})")
            }
            CertificateError::NotValidForNameContext { presented, .. } => format!(
                "{refused}: wrong host (not valid for {host}; it names {})",
                if presented.is_empty() {
                    "no host".to_string()
                } else {
                    presented.join(", ")
                }
            ),
            CertificateError::Revoked => format!("{refused}: revoked"),
            CertificateError::BadSignature => format!("{refused}: bad signature"),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                format!("{refused}: not issued for server authentication")
            }
            other => format!("{refused}: {other:?}"),
        },
        rustls::Error::AlertReceived(a) => {
            format!("TLS: the server ended the handshake ({a:?})")
        }
        rustls::Error::PeerIncompatible(p) => format!(
            "TLS: the server offers nothing this client accepts (TLS 1.2 or 1.3 required): {p:?}"
        ),
        other => format!("TLS: handshake failed: {other}"),
    }
}

/// Why an I/O error of a TLS session happened: the rustls error inside it when there is one.
fn io_error(e: &std::io::Error, server: &ServerUrl, trust: &Trust) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => describe(tls, &server.host, trust),
        None => format!(
            "https://{}:{}: no answer: {e}",
            display_host(&server.host),
            server.port
        ),
    }
}

fn display_host(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// Send one request over TLS to `server` and read the whole answer: connect, complete the
/// handshake (certificate chain checked against `trust`, host name checked), then the HTTP
/// exchange.
///
/// # Errors
/// A message: the roots cannot be loaded, unreachable, the TLS failure ([`describe`]), or an
/// answer that is not HTTP.
pub fn request(
    server: &ServerUrl,
    trust: &Trust,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
    timeout: Duration,
) -> Result<http::Response, String> {
    let config = client_config(trust)?;
    let name = ServerName::try_from(server.host.clone())
        .map_err(|e| format!("host {:?} is not a DNS name or address: {e}", server.host))?;
    let mut conn =
        ClientConnection::new(config, name).map_err(|e| describe(&e, &server.host, trust))?;
    let mut tcp = http::connect(server, timeout).map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)
            .map_err(|e| io_error(&e, server, trust))?;
    }
    let stream = StreamOwned::new(conn, tcp);
    http::exchange(stream, server, method, path, headers, body).map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    use rustls::ServerConfig;
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    use super::*;

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

    /// A server certificate for `names` issued by `ca`, valid from `from` to `to` (years).
    fn leaf(ca: &Ca, names: &[&str], from: i32, to: i32) -> (CertificateDer<'static>, KeyPair) {
        let mut p = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
        p.not_before = rcgen::date_time_ymd(from, 1, 1);
        p.not_after = rcgen::date_time_ymd(to, 1, 1);
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &ca.issuer).unwrap();
        (cert.der().clone(), key)
    }

    /// A TLS server on 127.0.0.1 answering one request with 200 and the request's body.
    fn serve_once(cert: CertificateDer<'static>, key: &KeyPair) -> u16 {
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let conn = rustls::ServerConnection::new(Arc::new(config)).unwrap();
            let mut s = StreamOwned::new(conn, tcp);
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            s.conn.send_close_notify();
            let _ = s.flush();
        });
        port
    }

    fn call(port: u16, host: &str, trust: &Trust) -> Result<http::Response, String> {
        let server = ServerUrl {
            host: host.into(),
            port,
        };
        request(
            &server,
            trust,
            "POST",
            "/hook",
            &[],
            b"{}",
            Duration::from_secs(10),
        )
    }

    #[test]
    fn a_certificate_of_the_configured_ca_for_the_host_is_accepted() {
        let bank = ca("Bank private CA");
        let (cert, key) = leaf(&bank, &["localhost"], 2020, 2100);
        let port = serve_once(cert, &key);
        let r = call(port, "localhost", &Trust::Bundle(bank.pem.clone())).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
    }

    #[test]
    fn refusals_name_the_cause() {
        let bank = ca("Bank private CA");
        let other = ca("Somebody else's CA");
        let trust = Trust::Bundle(bank.pem.clone());
        // Issued by a CA the endpoint does not trust.
        let (cert, key) = leaf(&other, &["localhost"], 2020, 2100);
        let e = call(serve_once(cert, &key), "localhost", &trust).unwrap_err();
        assert!(e.contains("unknown issuer"), "{e}");
        assert!(e.contains("the endpoint's CA bundle"), "{e}");
        // The same certificate against the system roots: still unknown.
        let (cert, key) = leaf(&bank, &["localhost"], 2020, 2100);
        let e = call(serve_once(cert, &key), "localhost", &Trust::System).unwrap_err();
        assert!(e.contains("unknown issuer"), "{e}");
        assert!(e.contains("system roots"), "{e}");
        // Another host's certificate.
        let (cert, key) = leaf(&bank, &["core.bank.example"], 2020, 2100);
        let e = call(serve_once(cert, &key), "localhost", &trust).unwrap_err();
        assert!(e.contains("wrong host"), "{e}");
        assert!(e.contains("core.bank.example"), "{e}");
        // Expired, and not yet valid.
        let (cert, key) = leaf(&bank, &["localhost"], 2019, 2021);
        let e = call(serve_once(cert, &key), "localhost", &trust).unwrap_err();
        assert!(
            e.contains("expired (valid until 2021-01-01 00:00:00 UTC"),
            "{e}"
        );
        let (cert, key) = leaf(&bank, &["localhost"], 2090, 2100);
        let e = call(serve_once(cert, &key), "localhost", &trust).unwrap_err();
        assert!(e.contains("not yet valid"), "{e}");
    }

    #[test]
    fn bundles_are_checked_when_configured() {
        let bank = ca("Bank private CA");
        assert_eq!(parse_bundle(&bank.pem).unwrap().len(), 1);
        let two = format!("{}\n{}", bank.pem, ca("Second").pem);
        assert_eq!(parse_bundle(&two).unwrap().len(), 2);
        for (text, why) in [
            ("", "no \"BEGIN CERTIFICATE\""),
            ("hello", "no \"BEGIN CERTIFICATE\""),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "not usable as a CA",
            ),
        ] {
            let e = parse_bundle(text).unwrap_err().to_string();
            assert!(e.contains(why), "{text:?}: {e}");
        }
        let with_key = format!(
            "{}{}",
            bank.pem,
            KeyPair::generate().unwrap().serialize_pem()
        );
        let e = parse_bundle(&with_key).unwrap_err().to_string();
        assert!(e.contains("private key"), "{e}");
    }

    #[test]
    fn dates_print_in_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_609_459_200), "2021-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400 + 3661), "2000-02-29 01:01:01 UTC");
    }
}
