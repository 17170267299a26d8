//! Health checks of an installed kiosk (the `doctor` command, later an administrator's System
//! tab): models and runtime, the audit store, free disk, the clock and the configuration in
//! force. Each check returns a [`Check`] with a status, one plain sentence and machine-readable
//! details; nothing here prints, and nothing writes to the store.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};

use crate::audit::{AuditConfig, AuditStore, KeyState, SCHEMA_VERSION};
use crate::config::Config;
use crate::document::mrz::IsoDate;
use crate::inference::Runtime;
use crate::models::{self, Manifest};

/// Seconds since the epoch at which this binary was built (`SOURCE_DATE_EPOCH` when the build
/// sets it, else the build machine's clock); the clock must not be earlier.
pub const BUILD_EPOCH_SECS: &str = env!("KYC_KIOSK_BUILD_EPOCH");

/// Free space in the state folder below which the store cannot be trusted to write (error).
pub const DISK_ERROR_BELOW: u64 = 100 * 1024 * 1024;

/// Free space in the state folder below which the operator is warned.
pub const DISK_WARNING_BELOW: u64 = 1024 * 1024 * 1024;

/// How a check came out; the order is by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing to do.
    Ok,
    /// Works, but someone should look (no camera, no store yet, disk filling).
    Warning,
    /// The kiosk cannot work correctly until this is fixed.
    Error,
}

impl Status {
    /// Upper-case label for plain-text reports.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Stable id: `camera`, `models`, `store`, `disk`, `clock` or `config`.
    pub id: String,
    /// How it came out.
    pub status: Status,
    /// One plain-language sentence for the operator.
    pub summary: String,
    /// Machine-readable facts (a JSON object).
    pub details: Value,
}

impl Check {
    /// A check with its id, status, summary and details.
    #[must_use]
    pub fn new(id: &str, status: Status, summary: impl Into<String>, details: Value) -> Self {
        Self {
            id: id.to_string(),
            status,
            summary: summary.into(),
            details,
        }
    }
}

/// Every check, with the worst status and the build's identity.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The worst status of all checks.
    pub status: Status,
    /// Package version of this binary.
    pub version: String,
    /// Build date (UTC, `YYYY-MM-DD`).
    pub build_date: String,
    /// When the checks ran, ms since the epoch.
    pub checked_at_ms: i64,
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
}

impl Report {
    /// A report over `checks`, its status the worst of theirs.
    #[must_use]
    pub fn new(checks: Vec<Check>) -> Self {
        Self {
            status: checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok),
            version: env!("CARGO_PKG_VERSION").to_string(),
            build_date: date_of_secs(build_epoch_secs()),
            checked_at_ms: crate::record::now_ms(),
            checks,
        }
    }

    /// How many checks came out with `status`.
    #[must_use]
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// The check with `id`, if it ran.
    #[must_use]
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}

/// [`BUILD_EPOCH_SECS`] as a number (0 if the build set something unparsable).
#[must_use]
pub fn build_epoch_secs() -> i64 {
    BUILD_EPOCH_SECS.trim().parse().unwrap_or(0)
}

/// The UTC date of `secs` since the epoch, `YYYY-MM-DD`.
#[must_use]
pub fn date_of_secs(secs: i64) -> String {
    IsoDate::from_days_since_epoch(secs.div_euclid(86_400)).to_string()
}

/// Verify `libonnxruntime` and every model in `dir` by sha256 against the embedded manifest,
/// and create one ONNX Runtime session per model (`threads` intra-op threads each).
#[must_use]
pub fn check_models(dir: &Path, threads: usize) -> Check {
    let manifest = match Manifest::embedded() {
        Ok(m) => m,
        Err(e) => {
            return Check::new("models", Status::Error, e.to_string(), json!({"dir": dir}));
        }
    };
    let runtime = Runtime::open(dir);
    let runtime_json = json!({
        "file": manifest.runtime.file,
        "ok": runtime.is_ok(),
        "error": runtime.as_ref().err().map(ToString::to_string),
    });
    let mut failures = Vec::new();
    if let Err(e) = &runtime {
        failures.push(e.to_string());
    }
    let mut sessions = 0usize;
    let mut list = Vec::new();
    for entry in &manifest.model {
        // With the runtime up, loading verifies the file and creates a session; without it,
        // the files are still verified one by one so the report names every bad one.
        let outcome = match &runtime {
            Ok(rt) => rt.load(&entry.id, threads).map(|_| true),
            Err(_) => models::read_verified(dir, entry).map(|_| false),
        };
        let (ok, session, error) = match outcome {
            Ok(session) => (true, session, None),
            Err(e) => {
                failures.push(e.to_string());
                (false, false, Some(e.to_string()))
            }
        };
        sessions += usize::from(session);
        list.push(json!({
            "id": entry.id,
            "file": entry.file,
            "sha256": entry.sha256,
            "ok": ok,
            "session": session,
            "error": error,
        }));
    }
    let details = json!({
        "dir": dir,
        "runtime": runtime_json,
        "models": list,
        "sessions": sessions,
    });
    match failures.first() {
        None => Check::new(
            "models",
            Status::Ok,
            format!(
                "ONNX Runtime and {} models verified by sha256 in {}; {sessions} sessions created",
                manifest.model.len(),
                dir.display()
            ),
            details,
        ),
        Some(first) => Check::new(
            "models",
            Status::Error,
            if failures.len() == 1 {
                first.clone()
            } else {
                format!("{first} (and {} more problems)", failures.len() - 1)
            },
            details,
        ),
    }
}

/// The audit store's integrity, opened read-only: SQLite's integrity check and the full chain
/// walk. Returns the check and the time of the newest chained event (for [`check_clock`]).
/// A store that does not exist yet is a warning, not an error.
#[must_use]
pub fn check_store(cfg: &AuditConfig) -> (Check, Option<i64>) {
    let db = cfg.db_path.clone();
    if !db.exists() {
        return (
            Check::new(
                "store",
                Status::Warning,
                format!(
                    "no audit store yet at {}: it is created by the first administrator or the first recorded verification",
                    db.display()
                ),
                json!({"db": db, "exists": false}),
            ),
            None,
        );
    }
    let store = match AuditStore::open_read_only(cfg.clone()) {
        Ok(s) => s,
        Err(e) => {
            return (
                Check::new(
                    "store",
                    Status::Error,
                    format!("cannot open the audit store {}: {e}", db.display()),
                    json!({"db": db, "exists": true}),
                ),
                None,
            );
        }
    };
    let newest = store.newest_event_ms().ok().flatten();
    let mut details = json!({
        "db": db,
        "exists": true,
        "key": cfg.key_source(),
        "newestEventMs": newest,
    });
    let error = |summary: String, details: Value| {
        (Check::new("store", Status::Error, summary, details), newest)
    };
    let integrity = match store.integrity_check() {
        Ok(lines) => lines,
        Err(e) => {
            return error(
                format!("integrity check of {} failed: {e}", db.display()),
                details,
            );
        }
    };
    details["integrity"] = json!(integrity);
    if integrity != ["ok"] {
        return error(
            format!(
                "the database {} is damaged: {}",
                db.display(),
                integrity.first().map_or("", String::as_str)
            ),
            details,
        );
    }
    let records = store.record_count().ok();
    details["records"] = json!(records);
    let schema = store.schema_version().unwrap_or(0);
    details["schemaVersion"] = json!(schema);
    if schema < SCHEMA_VERSION {
        return (
            Check::new(
                "store",
                Status::Warning,
                format!(
                    "the audit store is at schema {schema}, this version uses {SCHEMA_VERSION}: the kiosk migrates it when it next opens it; the chain is checked after that"
                ),
                details,
            ),
            newest,
        );
    }
    match store.key_state() {
        KeyState::Ok => {}
        KeyState::Missing(p) => {
            return error(
                format!(
                    "the store's key {} is missing or unreadable by this user: the chain cannot be checked (run doctor as the kiosk's user)",
                    p.display()
                ),
                details,
            );
        }
        KeyState::Wrong(p) => {
            return error(
                format!("the key {} does not belong to this store", p.display()),
                details,
            );
        }
    }
    let report = match store.verify() {
        Ok(r) => r,
        Err(e) => return error(format!("the chain check failed: {e}"), details),
    };
    details["events"] = json!(report.events);
    details["headSeq"] = json!(report.head_seq);
    details["problems"] = json!(report.problems);
    details["encrypted"] = json!(store.is_encrypted());
    if report.is_intact() && !store.is_encrypted() {
        (
            Check::new(
                "store",
                Status::Warning,
                format!(
                    "audit store {} sound but not encrypted yet (an earlier version's store): the kiosk encrypts it when it next opens it",
                    db.display()
                ),
                details,
            ),
            newest,
        )
    } else if report.is_intact() {
        (
            Check::new(
                "store",
                Status::Ok,
                format!(
                    "audit store {} sound: {} records, {} chained events intact",
                    db.display(),
                    records.unwrap_or(0),
                    report.events
                ),
                details,
            ),
            newest,
        )
    } else {
        error(
            format!(
                "the audit chain of {} is broken: {} problems, the first {:?}",
                db.display(),
                report.problems.len(),
                report.problems.first()
            ),
            details,
        )
    }
}

/// Free space in `dir`'s file system (its nearest existing ancestor when it does not exist
/// yet): an error below [`DISK_ERROR_BELOW`], a warning below [`DISK_WARNING_BELOW`].
#[must_use]
pub fn check_disk(dir: &Path) -> Check {
    let Some(existing) = dir.ancestors().find(|p| p.exists()) else {
        return Check::new(
            "disk",
            Status::Error,
            format!("no part of {} exists", dir.display()),
            json!({"dir": dir}),
        );
    };
    match free_bytes(existing) {
        Ok(free) => {
            let details = json!({"dir": dir, "measuredAt": existing, "freeBytes": free});
            let mib = free / (1024 * 1024);
            let (status, summary) = if free < DISK_ERROR_BELOW {
                (
                    Status::Error,
                    format!(
                        "only {mib} MiB free for the state folder {}: free some space",
                        dir.display()
                    ),
                )
            } else if free < DISK_WARNING_BELOW {
                (
                    Status::Warning,
                    format!(
                        "{mib} MiB free for the state folder {}: less than 1 GiB left",
                        dir.display()
                    ),
                )
            } else {
                (
                    Status::Ok,
                    format!("{mib} MiB free for the state folder {}", dir.display()),
                )
            };
            Check::new("disk", status, summary, details)
        }
        Err(e) => Check::new(
            "disk",
            Status::Error,
            format!("cannot measure free space at {}: {e}", existing.display()),
            json!({"dir": dir}),
        ),
    }
}

/// Bytes available to an unprivileged writer in the file system holding `path`.
///
/// # Errors
/// When the file system cannot be queried.
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    let st = rustix::fs::statvfs(path).map_err(std::io::Error::from)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Clock sanity: `now_ms` must not be before the build (`build_secs`) nor before the newest
/// chained event (`newest_ms`): records would carry times earlier than their predecessors.
#[must_use]
pub fn check_clock(now_ms: i64, build_secs: i64, newest_ms: Option<i64>) -> Check {
    let details = json!({
        "nowMs": now_ms,
        "now": date_of_secs(now_ms.div_euclid(1000)),
        "buildDate": date_of_secs(build_secs),
        "newestEventMs": newest_ms,
    });
    if now_ms < build_secs.saturating_mul(1000) {
        return Check::new(
            "clock",
            Status::Error,
            format!(
                "the clock says {}, before this build ({}): set the date and time",
                date_of_secs(now_ms.div_euclid(1000)),
                date_of_secs(build_secs)
            ),
            details,
        );
    }
    if let Some(newest) = newest_ms
        && now_ms < newest
    {
        return Check::new(
            "clock",
            Status::Error,
            format!(
                "the clock is {} s behind the newest audit event ({}): set the date and time before recording",
                (newest - now_ms) / 1000,
                date_of_secs(newest.div_euclid(1000))
            ),
            details,
        );
    }
    Check::new(
        "clock",
        Status::Ok,
        format!(
            "clock at {} UTC, after the build date and the newest audit event",
            date_of_secs(now_ms.div_euclid(1000))
        ),
        details,
    )
}

/// The configuration in force: the file it came from (`None`: the defaults) and its values.
#[must_use]
pub fn check_config(path: Option<&Path>, loaded: &crate::Result<Config>) -> Check {
    let shown = path.map(Path::to_path_buf);
    match loaded {
        Ok(config) => {
            let problems = crate::config_guard::unsafe_values(config);
            let from = match &shown {
                Some(p) => format!("configuration from {}", p.display()),
                None => "no configuration file: the built-in defaults are in force".to_string(),
            };
            let (status, summary) = if problems.is_empty() {
                (Status::Ok, from)
            } else {
                (
                    Status::Warning,
                    format!(
                        "{from}: {} value(s) outside the safe range ({}); it runs only once an \
                         administrator confirms it (kyc-kiosk audit confirm-config)",
                        problems.len(),
                        problems
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                )
            };
            Check::new(
                "config",
                status,
                summary,
                json!({
                    "path": shown,
                    "values": values_of(config),
                    "configHash": crate::config_guard::config_hash(config),
                    "unsafe": problems,
                }),
            )
        }
        Err(e) => Check::new(
            "config",
            Status::Error,
            e.to_string(),
            json!({"path": shown}),
        ),
    }
}

/// `config` as JSON, its `f32` values written shortest (0.3, not 0.30000001192092896): through
/// text, since a direct conversion widens them to `f64` first.
fn values_of(config: &Config) -> Value {
    serde_json::to_string(config)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null)
}

/// The state folder: where the audit database lives.
#[must_use]
pub fn state_dir(cfg: &AuditConfig) -> PathBuf {
    cfg.db_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn clock_before_build_or_behind_newest_event_is_an_error() {
        let build = 1_790_000_000; // 2026-09-21
        let now = build * 1000 + 5_000;
        let ok = check_clock(now, build, Some(now - 1));
        assert_eq!(ok.status, Status::Ok, "{}", ok.summary);
        let early = check_clock(build * 1000 - 1, build, None);
        assert_eq!(early.status, Status::Error);
        assert!(
            early.summary.contains("before this build (2026-09-21)"),
            "{}",
            early.summary
        );
        let behind = check_clock(now, build, Some(now + 120_000));
        assert_eq!(behind.status, Status::Error);
        assert!(
            behind.summary.contains("120 s behind"),
            "{}",
            behind.summary
        );
        assert_eq!(date_of_secs(0), "1970-01-01");
        assert!(build_epoch_secs() > 1_700_000_000);
    }

    #[test]
    fn report_status_is_the_worst_check() {
        let r = Report::new(vec![
            Check::new("a", Status::Ok, "", Value::Null),
            Check::new("b", Status::Warning, "", Value::Null),
        ]);
        assert_eq!(r.status, Status::Warning);
        assert_eq!(r.count(Status::Warning), 1);
        let r = Report::new(vec![
            Check::new("a", Status::Error, "", Value::Null),
            Check::new("b", Status::Warning, "", Value::Null),
        ]);
        assert_eq!(r.status, Status::Error);
        assert_eq!(Report::new(Vec::new()).status, Status::Ok);
    }

    #[test]
    fn disk_is_measured_at_the_nearest_existing_folder() {
        let dir = tempfile::tempdir().unwrap();
        let c = check_disk(&dir.path().join("not/yet/there"));
        assert_ne!(c.details["freeBytes"].as_u64(), None);
        assert_eq!(c.details["measuredAt"], json!(dir.path()));
        assert!(c.details["freeBytes"].as_u64().unwrap() > 0);
    }

    #[test]
    fn store_missing_is_a_warning_sound_is_ok_and_an_edited_event_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = AuditConfig::at(dir.path().join("audit.sqlite3")).with_fast_hashing();
        let (missing, newest) = check_store(&cfg);
        assert_eq!(missing.status, Status::Warning);
        assert_eq!(missing.details["exists"], json!(false));
        assert_eq!(newest, None);
        assert!(!cfg.db_path.exists(), "a check must not create the store");

        let mut store = AuditStore::open(cfg.clone()).unwrap();
        store.create_first_admin("admin", "admin-pass-1").unwrap();
        drop(store);
        let (sound, newest) = check_store(&cfg);
        assert_eq!(sound.status, Status::Ok, "{}", sound.summary);
        assert!(sound.details["events"].as_u64().unwrap() >= 1);
        assert_eq!(sound.details["records"], json!(0));
        assert!(newest.unwrap() > 1_700_000_000_000);

        let conn = crate::audit::AuditStore::raw_connection(&cfg).unwrap();
        conn.execute("UPDATE events SET actor = 'intruder' WHERE seq = 1", [])
            .unwrap();
        drop(conn);
        let (broken, _) = check_store(&cfg);
        assert_eq!(broken.status, Status::Error);
        assert!(broken.summary.contains("broken"), "{}", broken.summary);
        assert_eq!(
            broken.details["problems"][0]["problem"],
            json!("event_edited")
        );

        // Without its key the chain cannot be checked: an error that says so.
        let no_key = AuditConfig {
            key_path: dir.path().join("elsewhere.key"),
            ..cfg
        };
        let (keyless, _) = check_store(&no_key);
        assert_eq!(keyless.status, Status::Error);
        assert!(keyless.summary.contains("missing"), "{}", keyless.summary);
    }

    #[test]
    fn config_check_names_the_file_and_its_values() {
        let path = Path::new("/etc/kyc-kiosk/config.toml");
        let c = check_config(Some(path), &Ok(Config::default()));
        assert_eq!(c.status, Status::Ok);
        assert_eq!(c.details["path"], json!(path));
        assert_eq!(c.details["values"]["threads"], json!(2));
        assert_eq!(
            c.details["values"]["face"]["detector"]["nmsIou"],
            json!(0.3)
        );
        let bad = check_config(
            Some(path),
            &Config::from_toml("threads = 0").map_err(|reason| crate::Error::Config {
                path: path.to_path_buf(),
                reason,
            }),
        );
        assert_eq!(bad.status, Status::Error);
        assert!(bad.summary.contains("threads"), "{}", bad.summary);
    }
}
