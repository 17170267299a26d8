//! The chained log of central administrators' actions: webhook endpoints added and removed,
//! dead letters replayed, registry adapters configured, kiosks re-admitted. Each entry names
//! the administrator, the target and the reason, and carries
//! `hash = SHA-256(prev_hash ‖ canonical JSON of the entry)`, so an entry edited or removed in
//! the database breaks every hash after it ([`verify_admin_log`]).

use kyc_core::audit::now_ms;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_postgres::GenericClient;

use crate::{Central, CentralError, CentralUser};

/// Serialises writers of the log (a transaction-scoped advisory lock).
const LOG_LOCK: i64 = 0x006b_7963_5f6c_6f67; // "kyc_log"

/// One logged action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminAction {
    /// Position in the log, from 1.
    pub seq: i64,
    /// When, ms since epoch.
    pub ts_ms: i64,
    /// The administrator.
    pub actor: String,
    /// What (`webhook_add`, `webhook_remove`, `webhook_replay`, `registry_add`,
    /// `registry_remove`, `readmit_accept_chain`, `readmit_re_enrol`, `quarantine_clear`).
    pub action: String,
    /// What it was done to (an endpoint, a delivery, a kiosk).
    pub target: String,
    /// The reason the administrator gave (may be empty for configuration changes).
    pub reason: String,
    /// Details, JSON text.
    pub detail: String,
    /// Hash of the previous entry (hex; zeros for the first).
    pub prev_hash: String,
    /// This entry's hash (hex).
    pub hash: String,
}

#[derive(Serialize)]
struct Canon<'a> {
    seq: i64,
    ts_ms: i64,
    actor: &'a str,
    action: &'a str,
    target: &'a str,
    reason: &'a str,
    detail: &'a str,
}

fn entry_hash(prev: &[u8], c: &Canon<'_>) -> Result<Vec<u8>, CentralError> {
    let json = serde_json::to_vec(c).map_err(|e| CentralError::Setup(e.to_string()))?;
    let mut h = Sha256::new();
    h.update(prev);
    h.update(&json);
    Ok(h.finalize().to_vec())
}

/// Append an action to the log inside the caller's transaction (`c` should be one, so the
/// action and its entry commit together). Returns the entry's sequence.
///
/// # Errors
/// Database errors.
pub async fn append<C: GenericClient>(
    c: &C,
    by: &CentralUser,
    action: &str,
    target: &str,
    reason: &str,
    detail: &serde_json::Value,
) -> Result<i64, CentralError> {
    c.execute("SELECT pg_advisory_xact_lock($1)", &[&LOG_LOCK])
        .await?;
    let last = c
        .query_opt(
            "SELECT seq, hash FROM central_admin_log ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await?;
    let (seq, prev): (i64, Vec<u8>) = match last {
        Some(r) => (r.get::<_, i64>(0) + 1, r.get(1)),
        None => (1, vec![0u8; 32]),
    };
    let detail = detail.to_string();
    let ts = now_ms();
    let canon = Canon {
        seq,
        ts_ms: ts,
        actor: &by.username,
        action,
        target,
        reason,
        detail: &detail,
    };
    let hash = entry_hash(&prev, &canon)?;
    c.execute(
        "INSERT INTO central_admin_log (seq, ts_ms, actor, action, target, reason, detail,
             prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &seq,
            &ts,
            &by.username,
            &action,
            &target,
            &reason,
            &detail,
            &prev,
            &hash,
        ],
    )
    .await?;
    tracing::info!(actor = %by.username, action, target, "central: administrator action");
    Ok(seq)
}

/// A reason an administrator must give: not blank, at most 500 characters, one line.
///
/// # Errors
/// `InvalidInput` naming what is wrong.
pub fn require_reason(reason: &str) -> Result<&str, CentralError> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(CentralError::InvalidInput(
            "a reason is required (--reason \"…\"); it is kept in the administrators' log".into(),
        ));
    }
    if r.chars().count() > 500 || r.contains(['\n', '\r']) {
        return Err(CentralError::InvalidInput(
            "the reason must be one line of at most 500 characters".into(),
        ));
    }
    Ok(r)
}

impl Central {
    /// The administrators' log, oldest first (`limit` newest entries when given).
    ///
    /// # Errors
    /// `Forbidden` for a supervisor; database errors.
    pub async fn admin_log(
        &self,
        by: &CentralUser,
        limit: Option<i64>,
    ) -> Result<Vec<AdminAction>, CentralError> {
        by.require_admin()?;
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT seq, ts_ms, actor, action, target, reason, detail, prev_hash, hash
                 FROM (SELECT * FROM central_admin_log ORDER BY seq DESC LIMIT $1) l
                 ORDER BY seq",
                &[&limit.unwrap_or(i64::MAX)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let prev: Vec<u8> = r.get(7);
                let hash: Vec<u8> = r.get(8);
                AdminAction {
                    seq: r.get(0),
                    ts_ms: r.get(1),
                    actor: r.get(2),
                    action: r.get(3),
                    target: r.get(4),
                    reason: r.get(5),
                    detail: r.get(6),
                    prev_hash: hex::encode(prev),
                    hash: hex::encode(hash),
                }
            })
            .collect())
    }

    /// Re-check the whole administrators' log; returns the problems found (empty = intact).
    ///
    /// # Errors
    /// Database errors.
    pub async fn verify_admin_log(&self) -> Result<Vec<String>, CentralError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT seq, ts_ms, actor, action, target, reason, detail, prev_hash, hash
                 FROM central_admin_log ORDER BY seq",
                &[],
            )
            .await?;
        let mut problems = Vec::new();
        let mut prev = vec![0u8; 32];
        let mut expected = 1i64;
        for r in &rows {
            let seq: i64 = r.get(0);
            let (actor, action, target, reason, detail): (String, String, String, String, String) =
                (r.get(2), r.get(3), r.get(4), r.get(5), r.get(6));
            let stored_prev: Vec<u8> = r.get(7);
            let stored: Vec<u8> = r.get(8);
            if seq != expected {
                problems.push(format!(
                    "administrators' log: entry {expected} missing (next is {seq})"
                ));
            }
            let canon = Canon {
                seq,
                ts_ms: r.get(1),
                actor: &actor,
                action: &action,
                target: &target,
                reason: &reason,
                detail: &detail,
            };
            if stored_prev != prev || entry_hash(&prev, &canon)? != stored {
                problems.push(format!(
                    "administrators' log: entry {seq} does not match its hash"
                ));
            }
            prev = stored;
            expected = seq + 1;
        }
        Ok(problems)
    }
}
