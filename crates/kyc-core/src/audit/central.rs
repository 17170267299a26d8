//! What the fleet's central service sends back to this kiosk, written into the store as chained
//! events: a supervisor's decision made centrally (`central_decision`, with a
//! `supervisor_actions` row, so `audit verify` checks it like a decision made here) and the
//! fleet policy in force (`fleet_settings_applied`, whose payload is what the kiosk keeps using
//! while offline).

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use super::chain::{self, EV_CENTRAL_DECISION, EV_FLEET_SETTINGS, EventIn};
use super::error::AuditError;
use super::store::AuditStore;
use super::types::{Decision, ReviewStatus, SupervisorAction, now_ms};

/// Chained when a central decision cannot be applied here (the record is unknown, closed
/// already, or recorded by the deciding supervisor).
pub(crate) const EV_CENTRAL_DECLINED: &str = "central_decision_declined";

/// A decision taken at the central service, as the kiosk applies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CentralDecisionIn {
    /// The decision's id in the central decision log.
    pub id: i64,
    /// The record in this store.
    pub record_id: i64,
    /// `approve` or `reject`.
    pub decision: Decision,
    /// The supervisor's reason.
    pub reason: String,
    /// The central supervisor's user name.
    pub supervisor: String,
    /// When it was decided, ms since epoch.
    pub decided_ms: i64,
    /// Its hash in the central decision log (hex).
    pub hash: String,
}

/// What applying a central decision did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum CentralOutcome {
    /// Applied now, as the chained event `seq`.
    Applied {
        /// Sequence of the `central_decision` event.
        seq: i64,
    },
    /// It had been applied before (a pull repeated after a lost acknowledgement).
    AlreadyApplied,
    /// Not applied, and why (chained as `central_decision_declined`).
    Declined {
        /// Why.
        why: String,
    },
}

impl CentralOutcome {
    /// `applied` or `declined`, as acknowledged to the central service.
    pub fn word(&self) -> &'static str {
        match self {
            CentralOutcome::Applied { .. } | CentralOutcome::AlreadyApplied => "applied",
            CentralOutcome::Declined { .. } => "declined",
        }
    }
}

/// A fleet policy put in force on this kiosk (the newest `fleet_settings_applied` event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedPolicy {
    /// Version at the central service (increasing).
    pub version: i64,
    /// SHA-256 (hex) of the policy's canonical JSON.
    pub policy_hash: String,
    /// The policy: configuration sections and keys it sets.
    pub policy: serde_json::Value,
    /// The central administrator who confirmed it when it is laxer than the shipped values.
    pub confirmed_by: Option<String>,
    /// The central administrator who set it.
    pub set_by: String,
    /// Its hash in the central settings log (hex).
    pub chain_hash: String,
}

fn action_name(central_id: i64) -> String {
    format!("central_decision #{central_id}")
}

impl AuditStore {
    /// Apply a supervisor's decision taken centrally, once: a `supervisor_actions` row by
    /// `central:<supervisor>` and a chained `central_decision` event, closing the review. A
    /// decision applied before is not applied again; one that cannot be applied (record
    /// unknown or no longer pending, or recorded by the same person who decided it) is chained
    /// as `central_decision_declined` and changes nothing.
    ///
    /// # Errors
    /// `InvalidInput` for a decision other than approve or reject; the store's refusal.
    pub fn apply_central_decision(
        &mut self,
        d: &CentralDecisionIn,
    ) -> Result<CentralOutcome, AuditError> {
        if !matches!(d.decision, Decision::Approve | Decision::Reject) {
            return Err(AuditError::InvalidInput(format!(
                "a central decision is approve or reject, not {}",
                d.decision.as_str()
            )));
        }
        if d.supervisor.trim().is_empty() || d.reason.trim().is_empty() {
            return Err(AuditError::InvalidInput(
                "a central decision names its supervisor and reason".into(),
            ));
        }
        let action = action_name(d.id);
        let keys = self.write_keys()?;
        let every = self.cfg.checkpoint_every;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let done = tx
            .query_row(
                "SELECT 1 FROM supervisor_actions WHERE action = ?1",
                [&action],
                |_| Ok(()),
            )
            .optional()?
            .is_some()
            || tx
                .query_row(
                    "SELECT 1 FROM events WHERE kind = ?1 AND verification_id = ?2
                     AND payload LIKE ?3",
                    params![
                        EV_CENTRAL_DECLINED,
                        d.record_id,
                        format!("%\"centralId\":{},%", d.id)
                    ],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
        if done {
            return Ok(CentralOutcome::AlreadyApplied);
        }
        let actor = format!("central:{}", d.supervisor);
        let row: Option<(String, String)> = tx
            .query_row(
                "SELECT operator, review_status FROM verifications WHERE id = ?1",
                [d.record_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let declined = match &row {
            None => Some(format!("record {} is not in this store", d.record_id)),
            Some((op, _)) if op == &d.supervisor => Some(format!(
                "{} recorded this case and cannot decide it (four-eyes rule)",
                d.supervisor
            )),
            Some((_, rev)) if rev != ReviewStatus::Pending.as_str() => Some(format!(
                "the case is no longer pending here (review status {rev})"
            )),
            Some(_) => None,
        };
        if let Some(why) = declined {
            chain::append_event(
                &tx,
                &keys,
                every,
                EventIn {
                    kind: EV_CENTRAL_DECLINED,
                    actor: &actor,
                    verification_id: row.is_some().then_some(d.record_id),
                    payload: serde_json::json!({
                        "centralId": d.id,
                        "recordId": d.record_id,
                        "decision": d.decision.as_str(),
                        "why": why,
                        "centralHash": d.hash,
                    }),
                },
            )?;
            tx.commit()?;
            self.committed();
            tracing::warn!(central_id = d.id, %why, "audit: central decision declined");
            return Ok(CentralOutcome::Declined { why });
        }
        let acted_ms = now_ms();
        tx.execute(
            "INSERT INTO supervisor_actions (verification_id, supervisor, action, decision, note, acted_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                d.record_id,
                actor,
                action,
                d.decision.as_str(),
                d.reason,
                acted_ms
            ],
        )?;
        let aid = tx.last_insert_rowid();
        let closed = ReviewStatus::Closed.as_str();
        tx.execute(
            "UPDATE verifications SET current_decision = ?1, review_status = ?2 WHERE id = ?3",
            params![d.decision.as_str(), closed, d.record_id],
        )?;
        let sa = SupervisorAction {
            id: aid,
            verification_id: d.record_id,
            supervisor: actor.clone(),
            action,
            decision: Some(d.decision),
            note: d.reason.clone(),
            acted_ms,
        };
        let seq = chain::append_event(
            &tx,
            &keys,
            every,
            EventIn {
                kind: EV_CENTRAL_DECISION,
                actor: &actor,
                verification_id: Some(d.record_id),
                payload: serde_json::json!({
                    "id": aid,
                    "row_sha256": chain::digest(&sa)?,
                    "current_decision": d.decision.as_str(),
                    "review_status": closed,
                    "central_id": d.id,
                    "central_hash": d.hash,
                    "decided_ms": d.decided_ms,
                }),
            },
        )?;
        tx.commit()?;
        self.committed();
        tracing::info!(central_id = d.id, seq, "audit: central decision applied");
        Ok(CentralOutcome::Applied { seq })
    }

    /// Chain a fleet policy as `fleet_settings_applied` by `central:<set_by>`, unless a policy
    /// of this version or newer is in force already. Returns the event's sequence, or `None`
    /// when nothing was written.
    ///
    /// # Errors
    /// The store's refusal.
    pub fn apply_fleet_policy(&mut self, p: &AppliedPolicy) -> Result<Option<i64>, AuditError> {
        if let Some(cur) = self.fleet_policy()?
            && cur.version >= p.version
        {
            return Ok(None);
        }
        let payload = serde_json::to_value(p)?;
        let actor = format!("central:{}", p.set_by);
        Ok(Some(self.append(
            EV_FLEET_SETTINGS,
            &actor,
            None,
            payload,
        )?))
    }

    /// The fleet policy in force: the newest `fleet_settings_applied` event whose MAC holds and
    /// which links to its predecessor (a row written into the database by hand counts for
    /// nothing). `None` when the kiosk never received one.
    ///
    /// # Errors
    /// The store's keys are unavailable, or the database cannot be read.
    pub fn fleet_policy(&self) -> Result<Option<AppliedPolicy>, AuditError> {
        if self.schema_missing {
            return Ok(None);
        }
        self.newest_chained(EV_FLEET_SETTINGS, "fleet policy event", |event| {
            match serde_json::from_str::<AppliedPolicy>(&event.payload) {
                Ok(p) => Ok(Some(p)),
                Err(e) => {
                    tracing::warn!(seq = event.seq, error = %e, "audit: unreadable fleet policy event");
                    Ok(None)
                }
            }
        })
    }
}
