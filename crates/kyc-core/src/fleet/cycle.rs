//! One sync cycle of an enrolled kiosk, the same for every front end (`kyc-kiosk sync`, the
//! window's background thread, the simulation's headless kiosks): push the trail, pull the
//! inbox (central decisions chained as `central_decision`, a newer fleet policy chained as
//! `fleet_settings_applied`), then push again when the pull wrote anything so the centre holds
//! those events too.

use std::path::Path;

use serde::Serialize;

use super::FleetError;
use super::client::{self, SyncOptions, SyncReport};
use super::supervisor::{self, PullReport};
use crate::audit::AuditConfig;

/// What one cycle did: the pushes (summed over both) and the pull.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CycleReport {
    /// The pushes, summed; `ackSeq` and `localSeq` as at the end.
    #[serde(flatten)]
    pub sync: SyncReport,
    /// What the pull applied.
    pub inbox: PullReport,
}

impl CycleReport {
    /// Whether the pull changed anything in the local store (a decision applied or declined,
    /// a new policy chained).
    #[must_use]
    pub fn pulled_anything(&self) -> bool {
        self.inbox.applied + self.inbox.declined > 0 || self.inbox.policy_applied
    }
}

/// Push, pull, and push again when the pull wrote anything. `server` overrides the URL of
/// the fleet file at `fleet_path`. Cycles of one kiosk run one at a time, across threads and
/// processes ([`CycleLock`]): two pushes racing each other would show the centre a head
/// older than one it already holds, which is how a rolled-back store looks.
///
/// # Errors
/// `Io` when the kiosk is not enrolled; `Unreachable` offline; `Quarantined`; store errors.
/// A failure after the first push leaves what was done in place: the next cycle goes on
/// from there (pushes are idempotent, a decision applied twice is recognised).
pub fn sync_and_pull(
    audit: &AuditConfig,
    fleet_path: &Path,
    server: Option<&str>,
    opts: &SyncOptions,
) -> Result<CycleReport, FleetError> {
    let _one_at_a_time = CycleLock::acquire(fleet_path)?;
    let first = client::sync_store(audit, fleet_path, server, opts)?;
    let inbox = supervisor::pull_store(audit, fleet_path, server, opts.timeout)?;
    let mut report = CycleReport { sync: first, inbox };
    if report.pulled_anything() {
        let again = client::sync_store(audit, fleet_path, server, opts)?;
        let s = &mut report.sync;
        s.pushes += again.pushes;
        s.accepted += again.accepted;
        s.duplicates += again.duplicates;
        s.records += again.records;
        s.flags_chained += again.flags_chained;
        s.ack_seq = again.ack_seq;
        s.local_seq = again.local_seq;
    }
    Ok(report)
}

/// An exclusive lock on `<fleet file>.lock`, held for one cycle and released when dropped
/// (also when the process dies: the operating system drops the lock with the file). A second
/// cycle of the same kiosk (the window's background thread and `kyc-kiosk sync`, say) waits
/// for the first.
#[derive(Debug)]
pub struct CycleLock {
    file: std::fs::File,
}

impl CycleLock {
    /// Wait for and take the lock of the kiosk whose fleet file is `fleet_path`.
    ///
    /// # Errors
    /// `Io` when the lock file cannot be created or locked.
    pub fn acquire(fleet_path: &Path) -> Result<CycleLock, FleetError> {
        let mut name = fleet_path.as_os_str().to_owned();
        name.push(".lock");
        let path = std::path::PathBuf::from(name);
        let io = |source| FleetError::Io {
            path: path.clone(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        file.lock().map_err(io)?;
        Ok(CycleLock { file })
    }
}

impl Drop for CycleLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}
