//! Shared by the fleet tests of the cli and gui binaries: the kiosk binary with a clean
//! environment and a command's output once it succeeded; a kiosk store with its agent `ama`,
//! its recorded verifications, sync and what its database holds; a central service over its
//! own database in the shared PostgreSQL test cluster, served on 127.0.0.1; and the request
//! reader of the tests' local HTTP receivers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kyc_central::hooks::HookSettings;
use kyc_central::testpg::TestCluster;
use kyc_central::{Central, CentralRole, CentralUser};
use kyc_core::audit::{AuditConfig, AuditStore, Role};
use kyc_core::fleet::CentralSecret;

/// The kiosk agent who records the cases: (username, password).
pub const AGENT: (&str, &str) = ("ama", "agent-pass-1");
/// The kiosk agent's password.
pub const AGENT_PASSWORD: &str = AGENT.1;
/// The central service's first administrator: (username, password).
pub const CENTRAL_ADMIN: (&str, &str) = ("root-admin", "central-admin-pass-7");
/// A central supervisor.
pub const SUE: (&str, &str) = ("sue", "supervisor-pass-9");
/// A central supervisor with the same name as the kiosk agent who records the cases.
pub const AMA_CENTRAL: (&str, &str) = ("ama", "central-ama-pass-3");

// ---------------------------------------------------------------- the kiosk binary

/// The `kyc-kiosk` binary without the environment that would change what a test sees.
pub fn kiosk_bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kyc-kiosk"));
    c.env_remove("KYC_KIOSK_MODELS")
        .env_remove("KYC_KIOSK_CONFIG")
        .env_remove("KYC_FLEET_TOKEN")
        .env_remove("KYC_KIOSK_PASSWORD");
    c
}

/// The stdout of a command that must have succeeded (its stderr in the failure message).
pub fn ok(out: Output) -> String {
    ok_with_stderr(out).0
}

/// The stdout and stderr of a command that must have succeeded.
pub fn ok_with_stderr(out: Output) -> (String, String) {
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

// ---------------------------------------------------------------- a kiosk store

/// A kiosk store in `dir` (its database `audit.sqlite3`) with an administrator, the agent
/// `ama` and `more` users (username, password, role).
pub fn new_kiosk_with(dir: &Path, more: &[(&str, &str, Role)]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let db = dir.join("audit.sqlite3");
    let mut store = AuditStore::open(AuditConfig::at(&db).with_fast_hashing()).unwrap();
    store.create_first_admin("admin", "admin-pass-1").unwrap();
    let admin = store.login("admin", "admin-pass-1").unwrap();
    store
        .create_user(&admin, AGENT.0, AGENT.1, Role::Agent)
        .unwrap();
    for (name, password, role) in more {
        store.create_user(&admin, name, password, *role).unwrap();
    }
    store.logout(admin).unwrap();
    db
}

/// A kiosk store in `dir` with an administrator and the agent `ama`.
pub fn new_kiosk(dir: &Path) -> PathBuf {
    new_kiosk_with(dir, &[])
}

/// Copy the store files (database, key, anchor) of the folder `from` into `to`; the copy's
/// database path.
pub fn copy_store(from: &Path, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        if !p.is_file() {
            continue; // the (empty) open-sessions folder
        }
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
    to.join("audit.sqlite3")
}

/// `kyc-kiosk verify --record` by `ama` of the fetched document photo `doc` against the fetched
/// selfie `selfie`, with the settings file beside the database and `extra` arguments; its
/// output.
pub fn verify_record(db: &Path, doc: &str, selfie: &str, extra: &[&str]) -> Output {
    verify_record_of(db, &crate::common::data(doc), selfie, extra)
}

/// [`verify_record`] of the document image at `doc`.
pub fn verify_record_of(db: &Path, doc: &Path, selfie: &str, extra: &[&str]) -> Output {
    kiosk_bin()
        .args(["verify", "--document"])
        .arg(doc)
        .arg("--selfie")
        .arg(crate::common::data(selfie))
        .args(["--json", "--record", "--db"])
        .arg(db)
        .args(["--operator", AGENT.0, "--settings"])
        .arg(db.with_file_name("kiosk-settings.toml"))
        .args(extra)
        .env("KYC_KIOSK_PASSWORD", AGENT.1)
        .output()
        .unwrap()
}

/// `kyc-kiosk fleet enroll` of the store `db` as `kiosk` at `url` with the one-time `token`,
/// which must succeed; its stdout.
pub fn enroll_with(db: &Path, url: &str, kiosk: &str, token: &str) -> String {
    ok(kiosk_bin()
        .args(["fleet", "enroll", "--db"])
        .arg(db)
        .args(["--server", url, "--kiosk-id", kiosk])
        .env("KYC_FLEET_TOKEN", token)
        .output()
        .unwrap())
}

/// `kyc-kiosk sync` of the store `db`, at the enrolled server or at `server`; its output.
pub fn sync_output(db: &Path, server: Option<&str>) -> Output {
    let mut c = kiosk_bin();
    c.args(["sync", "--db"]).arg(db);
    if let Some(s) = server {
        c.args(["--server", s]);
    }
    c.output().unwrap()
}

/// `kyc-kiosk sync` of the store `db`, which must succeed; its JSON report.
pub fn sync(db: &Path) -> serde_json::Value {
    let out = ok(sync_output(db, None));
    serde_json::from_str(out.trim()).unwrap()
}

/// The store `db` opened read-only, without loading its search index.
pub fn read_only(db: &Path) -> AuditStore {
    let mut cfg = AuditConfig::at(db);
    cfg.load_index_at_open = false;
    AuditStore::open_read_only(cfg).unwrap()
}

/// Record `id`'s (current decision, review status) in the store `db`.
pub fn local_state(db: &Path, id: i64) -> (String, String) {
    let conn = AuditStore::raw_connection(&AuditConfig::at(db)).unwrap();
    conn.query_row(
        "SELECT current_decision, review_status FROM verifications WHERE id = ?1",
        [id],
        |r| Ok((r.get(0).unwrap(), r.get(1).unwrap())),
    )
    .unwrap()
}

/// Every event of `kind` in the store `db`, oldest first: (actor, record id, payload).
pub fn local_events(db: &Path, kind: &str) -> Vec<(String, Option<i64>, String)> {
    let conn = AuditStore::raw_connection(&AuditConfig::at(db)).unwrap();
    let mut st = conn
        .prepare("SELECT actor, verification_id, payload FROM events WHERE kind = ?1 ORDER BY seq")
        .unwrap();
    st.query_map([kind], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// `kyc-kiosk audit verify` of the store `db` must succeed.
pub fn audit_verify_ok(db: &Path) {
    let out = kiosk_bin()
        .args(["audit", "verify", "--db"])
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "audit verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Poll `done` every 50 ms until it holds; fails after two minutes (a guard against a hang,
/// nothing is timed).
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "waited too long for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------- the central service

/// Hand-off settings with short back-offs for tests: 3 attempts, 40–80 ms then 80–160 ms
/// apart, the worker polling every 40 ms.
pub fn quick_hook_settings() -> HookSettings {
    HookSettings {
        backoff_base_ms: 80,
        backoff_max_ms: 160,
        max_attempts: 3,
        poll_ms: 40,
        request_timeout_ms: 5_000,
        lease_ms: 60_000,
    }
}

/// A central service over its own database in the shared test cluster, with its first
/// administrator [`CENTRAL_ADMIN`], served on a free port of 127.0.0.1 (with its hand-off
/// worker) until it is cut or dropped.
pub struct CentralRun {
    pub rt: tokio::runtime::Runtime,
    pub central: Central,
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<()>>,
}

impl CentralRun {
    /// A central service over the new database `db`, with the default settings.
    pub fn start(db: &str) -> Self {
        Self::start_with(db, |c| c)
    }

    /// A central service over the new database `db`, its settings changed by `configure`
    /// (hand-off back-offs, search limits, …) before the first administrator is made.
    pub fn start_with(db: &str, configure: impl FnOnce(Central) -> Central) -> Self {
        let cluster = TestCluster::shared().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let conn = rt.block_on(cluster.create_database(db)).unwrap();
        let central = configure(
            rt.block_on(Central::open(&conn, CentralSecret::generate()))
                .unwrap()
                .with_fast_hashing(),
        );
        rt.block_on(central.create_first_admin(CENTRAL_ADMIN.0, CENTRAL_ADMIN.1))
            .unwrap();
        let mut me = CentralRun {
            rt,
            central,
            url: String::new(),
            stop: None,
            served: None,
        };
        me.serve();
        me
    }

    /// The same service with the central supervisors `users` (username, password) made by
    /// the administrator.
    pub fn with_supervisors(self, users: &[(&str, &str)]) -> Self {
        let admin = self.admin();
        for (u, p) in users {
            self.on(self
                .central
                .create_user(&admin, u, CentralRole::Supervisor, p))
                .unwrap();
        }
        self
    }

    /// (Re)start serving on a new free port.
    pub fn serve(&mut self) {
        let listener = self
            .rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        self.url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let c = Arc::new(self.central.clone());
        self.served = Some(self.rt.spawn(async move {
            kyc_central::serve(c, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        }));
        self.stop = Some(tx);
    }

    /// Stop serving: the listener is closed and the port refuses connections once this
    /// returns.
    pub fn cut(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.served.take() {
            self.rt.block_on(h).unwrap();
        }
    }

    /// Run `f` to its end on the service's runtime.
    pub fn on<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    /// The central user `name` signed in with `password`.
    pub fn user(&self, (name, password): (&str, &str)) -> CentralUser {
        self.on(self.central.sign_in(name, password)).unwrap()
    }

    /// The administrator, signed in.
    pub fn admin(&self) -> CentralUser {
        self.user(CENTRAL_ADMIN)
    }

    /// The record ids the centre holds for `kiosk`, in its order.
    pub fn record_ids(&self, kiosk: &str) -> Vec<i64> {
        self.on(self.central.record_ids())
            .unwrap()
            .into_iter()
            .find(|(k, _)| k == kiosk)
            .map(|(_, ids)| ids)
            .unwrap_or_default()
    }

    /// The open alerts.
    pub fn open_alerts(&self) -> Vec<kyc_central::sync::Alert> {
        self.on(self.central.alerts(true)).unwrap()
    }

    /// A one-time enrolment token for `kiosk`.
    pub fn token(&self, kiosk: &str) -> String {
        self.on(self.central.create_enrol_token(&self.admin(), kiosk))
            .unwrap()
    }

    /// A one-time enrolment token for the supervisor workstation `ws`.
    pub fn workstation_token(&self, ws: &str) -> String {
        self.on(self.central.create_workstation_token(&self.admin(), ws))
            .unwrap()
    }

    /// The administrator places the enrolled `kiosk` in `branch`.
    pub fn set_branch(&self, kiosk: &str, branch: &str) {
        self.on(self.central.set_branch(&self.admin(), kiosk, branch))
            .unwrap();
    }

    /// POST `body` with `headers` to `path` of the service, bypassing the kiosk's client:
    /// (status, the `error` the JSON answer names, empty when none).
    pub fn post(&self, path: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, String) {
        let server = kyc_core::fleet::http::ServerUrl::parse(&self.url).unwrap();
        let r = kyc_core::fleet::http::request(
            &server,
            "POST",
            path,
            headers,
            body,
            Duration::from_secs(30),
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        (r.status, v["error"].as_str().unwrap_or("").to_string())
    }

    /// Enrol the store `db` as `kiosk` with a fresh token (`kyc-kiosk fleet enroll`, which
    /// must succeed); its stdout.
    pub fn enroll(&self, db: &Path, kiosk: &str) -> String {
        enroll_with(db, &self.url, kiosk, &self.token(kiosk))
    }
}

// ---------------------------------------------------------------- local HTTP receivers

/// One HTTP/1.1 request as a local receiver read it.
pub struct HttpRequest {
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// Read one request (request line, headers, a body of `content-length` bytes) from `r`;
/// `None` when the connection closed before its first line.
pub fn read_request(r: &mut impl BufRead) -> Option<HttpRequest> {
    let mut line = String::new();
    if r.read_line(&mut line).unwrap_or(0) == 0 {
        return None;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap();
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let n: usize = headers
        .get("content-length")
        .map_or(0, |v| v.parse().unwrap());
    let mut body = vec![0u8; n];
    r.read_exact(&mut body).unwrap();
    Some(HttpRequest {
        path,
        headers,
        body,
    })
}
