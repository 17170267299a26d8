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
/// the fleet file at `fleet_path`.
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
