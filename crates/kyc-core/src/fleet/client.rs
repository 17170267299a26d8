//! The kiosk's side: enrolment, the fleet file, and one sync run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::FleetError;
use super::crypto::{KioskIdentity, SignedParts, new_nonce, record_aad, seal_to};
use super::http::{self, ServerUrl};
use super::private::{Existing, read_private, write_private};
use super::wire::*;
use crate::audit::{AuditStore, ChainEvent, now_ms};

/// The kiosk's enrolment, kept in a file beside its store (`<db>.fleet`, mode 0600): the
/// central URL, the kiosk id, the kiosk's signing seed and the central public key.
pub struct FleetConfig {
    /// Central service URL.
    pub server: ServerUrl,
    /// This kiosk's id as enrolled.
    pub kiosk_id: String,
    /// The signing key.
    pub identity: KioskIdentity,
    /// The central X25519 public key records are sealed to.
    pub central_public_key: [u8; 32],
}

impl std::fmt::Debug for FleetConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetConfig")
            .field("server", &self.server.to_url())
            .field("kiosk_id", &self.kiosk_id)
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct FleetFile {
    format: String,
    server: String,
    kiosk_id: String,
    signing_seed: String,
    central_public_key: String,
}

const FORMAT: &str = "kyc-kiosk-fleet v1";

impl FleetConfig {
    /// Where the fleet file of the store at `db_path` lives.
    pub fn path_for(db_path: &Path) -> PathBuf {
        let mut p = db_path.as_os_str().to_owned();
        p.push(".fleet");
        PathBuf::from(p)
    }

    /// Read a fleet file; refuses one readable by group or others.
    ///
    /// # Errors
    /// `Io` (missing: the kiosk is not enrolled), `InvalidInput` for a malformed file or
    /// loose permissions.
    pub fn load(path: &Path) -> Result<Self, FleetError> {
        let text = read_private(path, "the kiosk's signing key")?;
        let bad = |why: &str| FleetError::InvalidInput(format!("{}: {why}", path.display()));
        let f: FleetFile = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
        if f.format != FORMAT {
            return Err(bad("not a kiosk fleet file"));
        }
        let seed =
            Zeroizing::new(hex::decode(&f.signing_seed).map_err(|_| bad("bad signing key"))?);
        let central: [u8; 32] = hex::decode(&f.central_public_key)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| bad("bad central public key"))?;
        Ok(FleetConfig {
            server: ServerUrl::parse(&f.server)?,
            kiosk_id: f.kiosk_id,
            identity: KioskIdentity::from_seed(&seed)?,
            central_public_key: central,
        })
    }

    /// Write the fleet file (0600), replacing an older one atomically.
    ///
    /// # Errors
    /// `Io`.
    pub fn save(&self, path: &Path) -> Result<(), FleetError> {
        let f = FleetFile {
            format: FORMAT.into(),
            server: self.server.to_url(),
            kiosk_id: self.kiosk_id.clone(),
            signing_seed: hex::encode(self.identity.seed().as_ref()),
            central_public_key: hex::encode(self.central_public_key),
        };
        let text = Zeroizing::new(
            serde_json::to_string_pretty(&f).map_err(|e| FleetError::Protocol(e.to_string()))?,
        );
        write_private(path, &text, Existing::Replace)
    }
}

fn refused(resp: &http::Response) -> FleetError {
    let body: Option<ErrorBody> = serde_json::from_slice(&resp.body).ok();
    match body {
        Some(b) if b.error == "quarantined" => FleetError::Quarantined(b.message),
        Some(b) => FleetError::Refused {
            status: resp.status,
            code: b.error,
            message: b.message,
        },
        None => FleetError::Refused {
            status: resp.status,
            code: "http".into(),
            message: String::from_utf8_lossy(&resp.body)
                .chars()
                .take(200)
                .collect(),
        },
    }
}

/// Enrol this kiosk: make its key pair, present the one-time token and keep the answer in a
/// fleet file at `fleet_path`. Refuses to replace an existing enrolment.
///
/// # Errors
/// `InvalidInput` when already enrolled; network and refusal errors.
pub fn enroll(
    server: &str,
    kiosk_id: &str,
    token: &str,
    fleet_path: &Path,
) -> Result<FleetConfig, FleetError> {
    if fleet_path.exists() {
        return Err(FleetError::InvalidInput(format!(
            "{} exists: this kiosk is already enrolled",
            fleet_path.display()
        )));
    }
    if kiosk_id.trim().is_empty() || token.trim().is_empty() {
        return Err(FleetError::InvalidInput(
            "kiosk id and token are required".into(),
        ));
    }
    let server = ServerUrl::parse(server)?;
    let identity = KioskIdentity::generate();
    let body = serde_json::to_vec(&EnrollRequest {
        kiosk_id: kiosk_id.to_string(),
        token: token.trim().to_string(),
        public_key: hex::encode(identity.public_key()),
    })
    .map_err(|e| FleetError::Protocol(e.to_string()))?;
    let resp = http::request(
        &server,
        "POST",
        paths::ENROLL,
        &[],
        &body,
        Duration::from_secs(30),
    )?;
    if resp.status != 200 {
        return Err(refused(&resp));
    }
    let ans: EnrollResponse =
        serde_json::from_slice(&resp.body).map_err(|e| FleetError::Protocol(e.to_string()))?;
    let central: [u8; 32] = hex::decode(&ans.central_public_key)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| FleetError::Protocol("central public key is not 32 bytes of hex".into()))?;
    let cfg = FleetConfig {
        server,
        kiosk_id: ans.kiosk_id,
        identity,
        central_public_key: central,
    };
    cfg.save(fleet_path)?;
    Ok(cfg)
}

/// Most events in one push by default.
pub const PUSH_EVENTS: usize = 500;

/// A push is closed once its sealed parts reach this many bytes by default (the central
/// service accepts bodies up to 64 MiB; a record as the kiosk stores it seals to about
/// 0.3 MiB, so a push holds about a hundred of them).
pub const PUSH_BYTES: usize = 32 * 1024 * 1024;

/// Knobs of a sync run.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Most events per push.
    pub batch_events: usize,
    /// A push is closed once its sealed parts reach this many bytes.
    pub batch_bytes: usize,
    /// Network time-out per request.
    pub timeout: Duration,
    /// Stop after this many pushes (`None`: until the server has everything). Used to cut a
    /// run on purpose.
    pub max_pushes: Option<usize>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            batch_events: PUSH_EVENTS,
            batch_bytes: PUSH_BYTES,
            timeout: Duration::from_secs(60),
            max_pushes: None,
        }
    }
}

/// What a sync run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    /// Pushes sent.
    pub pushes: u64,
    /// Events the server newly stored.
    pub accepted: u64,
    /// Events it already had.
    pub duplicates: u64,
    /// Records (with their images) sent.
    pub records: u64,
    /// The server's acknowledged sequence at the end.
    pub ack_seq: i64,
    /// The local head at the end.
    pub local_seq: i64,
    /// Duplicate flags the central service offered in its head answer (chained by
    /// [`sync_store`] with [`super::dedup::deliver_flags`]).
    #[serde(skip)]
    pub offered_flags: Vec<super::dedup::DuplicateFlag>,
    /// Of those, how many were newly chained into the local store.
    pub flags_chained: u64,
}

/// The four signature headers of a request made now with a fresh nonce.
pub fn signed_headers(
    cfg: &FleetConfig,
    method: &str,
    path: &str,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    signed_headers_at(cfg, method, path, body, now_ms(), &new_nonce())
}

/// The four signature headers for a given time and nonce.
pub fn signed_headers_at(
    cfg: &FleetConfig,
    method: &str,
    path: &str,
    body: &[u8],
    ts: i64,
    nonce: &str,
) -> Vec<(&'static str, String)> {
    let sig = cfg.identity.sign_request(&SignedParts {
        method,
        path,
        kiosk_id: &cfg.kiosk_id,
        timestamp_ms: ts,
        nonce,
        body,
    });
    vec![
        (headers::KIOSK, cfg.kiosk_id.clone()),
        (headers::TIMESTAMP, ts.to_string()),
        (headers::NONCE, nonce.to_string()),
        (headers::SIGNATURE, hex::encode(sig)),
    ]
}

/// Send a signed request.
fn signed(
    cfg: &FleetConfig,
    method: &str,
    path: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<http::Response, FleetError> {
    let headers = signed_headers(cfg, method, path, body);
    http::request(&cfg.server, method, path, &headers, body, timeout)
}

/// Send a signed binary push body ([`encode_push`]'s output, or any bytes a test wants to try).
///
/// # Errors
/// Network errors.
pub fn send_push_body(
    cfg: &FleetConfig,
    body: &[u8],
    timeout: Duration,
) -> Result<http::Response, FleetError> {
    let mut headers = signed_headers(cfg, "POST", paths::PUSH, body);
    headers.push(("content-type", PUSH_CONTENT_TYPE.to_string()));
    http::request(&cfg.server, "POST", paths::PUSH, &headers, body, timeout)
}

/// Ask what the central service holds for this kiosk.
///
/// # Errors
/// Network, refusal and protocol errors.
pub fn fetch_head(cfg: &FleetConfig, timeout: Duration) -> Result<HeadResponse, FleetError> {
    let resp = signed(cfg, "GET", paths::HEAD, b"", timeout)?;
    if resp.status != 200 {
        return Err(refused(&resp));
    }
    serde_json::from_slice(&resp.body).map_err(|e| FleetError::Protocol(e.to_string()))
}

/// Build the push item of one event: the event and, for a record's creation, the record
/// sealed to the central key. Returns the item and its sealed size.
pub fn push_item(
    store: &AuditStore,
    cfg: &FleetConfig,
    ev: &ChainEvent,
) -> Result<(PushItem, usize), FleetError> {
    let event = WireEvent::from(ev);
    let record = match (ev.kind.as_str(), ev.verification_id) {
        ("verification_recorded", Some(id)) => seal_record(store, cfg, &event, id)?,
        _ => None,
    };
    let size = record
        .as_ref()
        .map(|r| r.sealed_row.len() + r.blobs.iter().map(|b| b.sealed.len()).sum::<usize>())
        .unwrap_or(0)
        + event.payload.len();
    Ok((PushItem { event, record }, size))
}

fn seal_record(
    store: &AuditStore,
    cfg: &FleetConfig,
    event: &WireEvent,
    id: i64,
) -> Result<Option<WireRecord>, FleetError> {
    let rec = match store.outbox_record(id) {
        Ok(r) => r,
        // Erased rows are still there; a missing row is the local chain's problem and
        // `audit verify` reports it. The event travels alone.
        Err(crate::audit::AuditError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    // A row changed since its creation event (erasure clears personal columns) no longer
    // matches the digest the event carries: send the event without it.
    if super::verify::check_record(event, &rec.row).is_err() {
        return Ok(None);
    }
    let central = &cfg.central_public_key;
    let kiosk = &cfg.kiosk_id;
    let row = Zeroizing::new(
        serde_json::to_vec(&rec.row).map_err(|e| FleetError::Protocol(e.to_string()))?,
    );
    let sealed_row = seal_to(central, &record_aad(kiosk, id, "row"), &row)?;
    let mut blobs = Vec::with_capacity(rec.images.len() + 1);
    for (kind, bytes) in &rec.images {
        let sealed = seal_to(central, &record_aad(kiosk, id, kind.as_str()), bytes)?;
        blobs.push(WireBlob {
            kind: kind.as_str().to_string(),
            sealed,
        });
    }
    if let Some(t) = &rec.template {
        let sealed = seal_to(central, &record_aad(kiosk, id, "template"), t)?;
        blobs.push(WireBlob {
            kind: "template".into(),
            sealed,
        });
    }
    Ok(Some(WireRecord {
        id,
        sealed_row,
        current_decision: rec.current_decision,
        review_status: rec.review_status,
        blobs,
    }))
}

/// Push one prepared request; the answer or the refusal.
pub fn push(
    cfg: &FleetConfig,
    req: &PushRequest,
    timeout: Duration,
) -> Result<PushResponse, FleetError> {
    let body = encode_push(req)?;
    let resp = send_push_body(cfg, &body, timeout)?;
    if resp.status != 200 {
        return Err(refused(&resp));
    }
    serde_json::from_slice(&resp.body).map_err(|e| FleetError::Protocol(e.to_string()))
}

/// A push built and framed, waiting to be sent.
struct Prepared {
    /// The binary body ([`encode_push`]).
    body: Vec<u8>,
    /// The head it states.
    head_seq: i64,
    /// Its last event's sequence (the cursor it started from when it carries none).
    last_seq: i64,
    /// Whether it carries no event.
    empty: bool,
    /// Records (with their images) it carries.
    records: u64,
}

/// How one pipelined stretch of pushes ended.
enum Stretch {
    /// The server holds the local head, or the push limit was reached.
    Done,
    /// The server acknowledged less than a push carried: go on from its acknowledgement.
    Resume,
}

/// One sync run: ask the server's acknowledged sequence, then push the events after it in
/// order, in batches, until the server holds the local head. Every push carries the local head,
/// so even a run with nothing new tells the server where the kiosk's chain stands. Safe to cut
/// at any point: the next run starts from what the server acknowledged.
///
/// Building a push (reading records back, sealing them for the centre, framing) and sending it
/// overlap: this thread builds the next push while a second thread sends the current one and
/// waits for the centre to store it. At most one built push waits; a push is sent only once
/// the centre has acknowledged every event of the one before, so pushes arrive strictly in
/// order and a failed push stops the run before anything after it is sent.
///
/// # Errors
/// `Quarantined` when the server refuses this kiosk; network and store errors.
pub fn sync_once(
    store: &AuditStore,
    cfg: &FleetConfig,
    opts: &SyncOptions,
) -> Result<SyncReport, FleetError> {
    let head = fetch_head(cfg, opts.timeout)?;
    if head.quarantined {
        return Err(FleetError::Quarantined(head.reason.unwrap_or_default()));
    }
    let mut report = SyncReport {
        ack_seq: head.ack_seq,
        offered_flags: head.duplicate_flags,
        ..SyncReport::default()
    };
    loop {
        let from = report.ack_seq;
        match push_stretch(store, cfg, opts, &mut report)? {
            Stretch::Done => return Ok(report),
            // Going on from an acknowledgement that did not move would repeat forever.
            Stretch::Resume if report.ack_seq <= from => {
                return Err(FleetError::Protocol(format!(
                    "the central service acknowledged sequence {} after a push that carried \
                     events past it",
                    report.ack_seq
                )));
            }
            Stretch::Resume => {}
        }
    }
}

/// Pushes from `report.ack_seq` on, built here and sent by a second thread.
fn push_stretch(
    store: &AuditStore,
    cfg: &FleetConfig,
    opts: &SyncOptions,
    report: &mut SyncReport,
) -> Result<Stretch, FleetError> {
    // A rendezvous channel: the next push is built while the current one is sent, and waits
    // (one push at most) until the sender is free.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Prepared>(0);
    let start = report.ack_seq;
    let pushes_before = report.pushes;
    std::thread::scope(|scope| {
        let sender = std::thread::Builder::new()
            .name("kyc-sync-send".into())
            .spawn_scoped(scope, || send_pushes(cfg, opts, rx, pushes_before))
            .map_err(|e| FleetError::Io {
                path: PathBuf::from("kyc-sync-send thread"),
                source: e,
            })?;
        let budget = opts
            .max_pushes
            .map(|m| m.saturating_sub(pushes_before as usize));
        let built = build_pushes(
            store,
            cfg,
            opts.batch_events,
            opts.batch_bytes,
            budget,
            start,
            &tx,
        );
        // Closing the channel ends the sender once it has sent what it already holds.
        drop(tx);
        let sent = sender
            .join()
            .map_err(|_| FleetError::Protocol("the push sender thread panicked".into()))?;
        let sent = sent?;
        built?;
        report.pushes += sent.pushes;
        report.accepted += sent.accepted;
        report.duplicates += sent.duplicates;
        report.records += sent.records;
        if let Some(ack) = sent.ack_seq {
            report.ack_seq = ack;
        }
        if sent.local_seq > 0 {
            report.local_seq = sent.local_seq;
        }
        Ok(sent.ending)
    })
}

/// Build pushes after `start` in order and hand each to the sender; stops after the push that
/// reaches the local head, after an empty one, or when the sender has stopped.
fn build_pushes(
    store: &AuditStore,
    cfg: &FleetConfig,
    batch_events: usize,
    batch_bytes: usize,
    budget: Option<usize>,
    start: i64,
    tx: &std::sync::mpsc::SyncSender<Prepared>,
) -> Result<(), FleetError> {
    let mut cursor = start;
    let mut built = 0usize;
    loop {
        if budget.is_some_and(|m| built >= m) {
            return Ok(());
        }
        let (local_seq, local_hash) = store.head()?;
        let mut events = store.events_after(cursor, batch_events.max(1))?;
        // The kiosk may chain more while this run reads (the window records while its
        // background cycle pushes): a push never carries events past the head it states, or
        // the centre would see a head older than what it just received.
        events.retain(|e| e.seq <= local_seq);
        let mut items = Vec::with_capacity(events.len());
        let mut bytes = 0usize;
        let mut records = 0u64;
        for ev in &events {
            let (item, size) = push_item(store, cfg, ev)?;
            records += u64::from(item.record.is_some());
            items.push(item);
            bytes += size;
            if bytes >= batch_bytes {
                break;
            }
        }
        let empty = items.is_empty();
        let last_seq = items.last().map_or(cursor, |i| i.event.seq);
        let body = encode_push(&PushRequest {
            kiosk_id: cfg.kiosk_id.clone(),
            head: WireHead {
                seq: local_seq,
                hash: hex::encode(&local_hash),
            },
            items,
        })?;
        let push = Prepared {
            body,
            head_seq: local_seq,
            last_seq,
            empty,
            records,
        };
        if tx.send(push).is_err() {
            // The sender stopped (an error, or the centre acknowledged less): it says why.
            return Ok(());
        }
        built += 1;
        if empty || last_seq >= local_seq {
            return Ok(());
        }
        cursor = last_seq;
    }
}

/// What the sender thread did.
struct Sent {
    pushes: u64,
    accepted: u64,
    duplicates: u64,
    records: u64,
    ack_seq: Option<i64>,
    local_seq: i64,
    ending: Stretch,
}

/// Send each push as it comes, in order; stop at the first failure, or when the centre
/// acknowledged less than a push carried (the next push would leave a gap).
fn send_pushes(
    cfg: &FleetConfig,
    opts: &SyncOptions,
    rx: std::sync::mpsc::Receiver<Prepared>,
    pushes_before: u64,
) -> Result<Sent, FleetError> {
    let mut sent = Sent {
        pushes: 0,
        accepted: 0,
        duplicates: 0,
        records: 0,
        ack_seq: None,
        local_seq: 0,
        ending: Stretch::Done,
    };
    for push in rx {
        let resp = send_push_body(cfg, &push.body, opts.timeout)?;
        if resp.status != 200 {
            return Err(refused(&resp));
        }
        let ans: PushResponse =
            serde_json::from_slice(&resp.body).map_err(|e| FleetError::Protocol(e.to_string()))?;
        sent.pushes += 1;
        sent.accepted += ans.accepted;
        sent.duplicates += ans.duplicates;
        sent.records += push.records;
        sent.ack_seq = Some(ans.ack_seq);
        sent.local_seq = push.head_seq;
        if push.empty || ans.ack_seq >= push.head_seq {
            break;
        }
        if opts
            .max_pushes
            .is_some_and(|m| (pushes_before + sent.pushes) as usize >= m)
        {
            break;
        }
        if ans.ack_seq < push.last_seq {
            sent.ending = Stretch::Resume;
            break;
        }
    }
    Ok(sent)
}

/// Open the store at `audit` read-only and run [`sync_once`] with the fleet file at
/// `fleet_path` (the server URL may be overridden, e.g. after the central service moved).
///
/// # Errors
/// As [`sync_once`]; `Io` when the kiosk is not enrolled.
pub fn sync_store(
    audit: &crate::audit::AuditConfig,
    fleet_path: &Path,
    server: Option<&str>,
    opts: &SyncOptions,
) -> Result<SyncReport, FleetError> {
    let mut cfg = FleetConfig::load(fleet_path)?;
    if let Some(s) = server {
        cfg.server = ServerUrl::parse(s)?;
    }
    let mut audit = audit.clone();
    audit.load_index_at_open = false;
    let store = AuditStore::open_read_only(audit.clone())?;
    let mut report = sync_once(&store, &cfg, opts)?;
    drop(store);
    if report.records > 0 {
        // The records just pushed may have raised flags: ask once more.
        let head = fetch_head(&cfg, opts.timeout)?;
        for f in head.duplicate_flags {
            if !report.offered_flags.iter().any(|o| o.flag_id == f.flag_id) {
                report.offered_flags.push(f);
            }
        }
    }
    if report.offered_flags.is_empty() {
        return Ok(report);
    }
    // Duplicate flags raised centrally are chained on the kiosk (the one write of a sync
    // run), then pushed back at once so the centre knows they arrived.
    let chained = {
        let mut writable = AuditStore::open(audit.clone())?;
        super::dedup::deliver_flags(&mut writable, &report.offered_flags)?
    };
    report.flags_chained = chained;
    if chained == 0 {
        return Ok(report);
    }
    let store = AuditStore::open_read_only(audit)?;
    let again = sync_once(&store, &cfg, opts)?;
    report.pushes += again.pushes;
    report.accepted += again.accepted;
    report.duplicates += again.duplicates;
    report.records += again.records;
    report.ack_seq = again.ack_seq;
    report.local_seq = again.local_seq;
    Ok(report)
}

/// A background sync thread: runs one cycle ([`super::cycle::sync_and_pull`]: push, pull
/// central decisions and the fleet policy, push again) every `every` until stopped. A failed
/// run (central unreachable, kiosk quarantined) is logged and retried at the next tick; the
/// kiosk keeps working offline meanwhile.
pub struct BackgroundSync {
    stop: std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for BackgroundSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackgroundSync").finish_non_exhaustive()
    }
}

impl BackgroundSync {
    /// Start the thread (`kyc-sync`). `on_run` sees each run's outcome.
    ///
    /// # Errors
    /// `Io` when the thread cannot be started.
    pub fn spawn(
        audit: crate::audit::AuditConfig,
        fleet_path: PathBuf,
        every: Duration,
        opts: SyncOptions,
        mut on_run: impl FnMut(&Result<super::cycle::CycleReport, FleetError>) + Send + 'static,
    ) -> Result<Self, FleetError> {
        let stop = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("kyc-sync".into())
            .spawn(move || {
                loop {
                    let r = super::cycle::sync_and_pull(&audit, &fleet_path, None, &opts);
                    match &r {
                        Ok(rep) => tracing::info!(
                            accepted = rep.sync.accepted,
                            ack_seq = rep.sync.ack_seq,
                            decisions = rep.inbox.applied,
                            policy = rep.inbox.policy_version,
                            "fleet: sync run done"
                        ),
                        Err(e) => {
                            tracing::warn!(code = e.code(), error = %e, "fleet: sync run failed")
                        }
                    }
                    on_run(&r);
                    let (lock, cv) = &*flag;
                    let Ok(guard) = lock.lock() else { return };
                    let Ok((guard, _)) = cv.wait_timeout_while(guard, every, |stopped| !*stopped)
                    else {
                        return;
                    };
                    if *guard {
                        return;
                    }
                }
            })
            .map_err(|e| FleetError::Io {
                path: PathBuf::from("kyc-sync thread"),
                source: e,
            })?;
        Ok(BackgroundSync {
            stop,
            handle: Some(handle),
        })
    }

    /// Ask the thread to stop and wait for the run in progress to end.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        let (lock, cv) = &*self.stop;
        if let Ok(mut g) = lock.lock() {
            *g = true;
        }
        cv.notify_all();
        if let Some(h) = self.handle.take() {
            crate::logs::join_or_warn(h, "kyc-sync");
        }
    }
}

impl Drop for BackgroundSync {
    fn drop(&mut self) {
        self.stop_inner();
    }
}
