//! Re-admitting a quarantined kiosk, deliberately and on the record.
//!
//! When a push quarantines a kiosk, [`keep_evidence`] keeps what the centre saw: its own head,
//! the head the kiosk reported, the events the refused push carried (without records) and,
//! where it can be told, the highest sequence at which the two chains may still agree
//! (`divergesBy`). An administrator reads it ([`Central::quarantine_case`]) and chooses:
//!
//! - **accept the kiosk's chain from a stated sequence** ([`Central::readmit_accept_chain`]):
//!   the centre's events from that sequence on (and the records they created, with their
//!   sealed images) move to `superseded_*` tables — kept as evidence, never part of the live
//!   chain again — and the kiosk's next push must link to the event just before it;
//! - **re-enrol the kiosk with a new key** ([`Central::readmit_re_enrol`]): the old key is
//!   retired into the readmission row, a new one-time enrolment token is made, and the chain
//!   is rebased as above when a sequence is stated (a wiped kiosk starts again from 1).
//!
//! Both write a `readmissions` row and an entry in the administrators' log with the
//! administrator and the reason, close the open alerts and resolve the evidence. A kiosk
//! whose store was rolled back cannot simply go on: without one of these its next push is
//! refused again (its head is older than the centre's), and with one the branch it lost stays
//! at the centre, listed with the readmission.

use kyc_core::audit::now_ms;
use kyc_core::fleet::ChainBreak;
use kyc_core::fleet::wire::PushRequest;
use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::sync::Alert;
use crate::{Central, CentralError, CentralUser, adminlog};

/// Events of a refused push kept as evidence, at most.
const MAX_EVIDENCE_EVENTS: usize = 500;

/// What the centre saw when it quarantined a kiosk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// Id.
    pub id: i64,
    /// The alert raised with it.
    pub alert_id: Option<i64>,
    /// `fork`, `rollback`, `bad_link`, `gap`, `record_mismatch`, `malformed`.
    pub kind: String,
    /// What was found.
    pub detail: String,
    /// When.
    pub raised_ms: i64,
    /// The centre's head then: sequence.
    pub central_seq: i64,
    /// … and hash (hex).
    pub central_hash: String,
    /// The head the kiosk reported: sequence.
    pub reported_seq: i64,
    /// … and hash (hex).
    pub reported_hash: String,
    /// The highest sequence at which the two chains may still agree plus one: accepting the
    /// kiosk's chain must start at or before it (absent when the break is not a divergence).
    pub diverges_by: Option<i64>,
    /// The refused push's events (JSON array of wire events, at most 500).
    pub pushed_events: serde_json::Value,
    /// The readmission that resolved it.
    pub resolved_by: Option<i64>,
}

/// A re-admission done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Readmission {
    /// Id.
    pub id: i64,
    /// Kiosk.
    pub kiosk_id: String,
    /// `accept_chain` or `re_enrol`.
    pub mode: String,
    /// The first sequence the kiosk's chain replaces (the centre's head + 1 when nothing was
    /// superseded).
    pub from_seq: i64,
    /// The centre's head before.
    pub old_ack_seq: i64,
    /// The highest head the kiosk had reported before.
    pub old_reported: i64,
    /// Events moved to the superseded branch.
    pub events_superseded: i64,
    /// Records moved with them.
    pub records_superseded: i64,
    /// Whether the kiosk's key was retired.
    pub key_retired: bool,
    /// The administrator.
    pub admin: String,
    /// The reason given.
    pub reason: String,
    /// When.
    pub at_ms: i64,
}

/// A quarantine case as an administrator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuarantineCase {
    /// Kiosk.
    pub kiosk_id: String,
    /// Whether quarantined now.
    pub quarantined: bool,
    /// Why.
    pub quarantine_reason: Option<String>,
    /// The centre's head: sequence.
    pub ack_seq: i64,
    /// … and hash (hex).
    pub ack_hash: String,
    /// Highest head the kiosk reported.
    pub reported_seq: i64,
    /// Open alerts.
    pub alerts: Vec<Alert>,
    /// Evidence not yet resolved, oldest first.
    pub evidence: Vec<Evidence>,
    /// Earlier re-admissions, oldest first.
    pub readmissions: Vec<Readmission>,
}

/// Keep what the centre saw when `brk` quarantined `kiosk_id` on `req` (own transaction;
/// failures are logged, never hide the quarantine).
pub async fn keep_evidence(central: &Central, kiosk_id: &str, brk: &ChainBreak, req: &PushRequest) {
    if let Err(e) = try_keep_evidence(central, kiosk_id, brk, req).await {
        tracing::warn!(kiosk_id, error = %e, "central: quarantine evidence not kept");
    }
}

async fn try_keep_evidence(
    central: &Central,
    kiosk_id: &str,
    brk: &ChainBreak,
    req: &PushRequest,
) -> Result<(), CentralError> {
    let c = central.pool.get().await?;
    let k = c
        .query_one(
            "SELECT ack_seq, ack_hash FROM kiosks WHERE kiosk_id = $1",
            &[&kiosk_id],
        )
        .await?;
    let (ack, ack_hash): (i64, Vec<u8>) = (k.get(0), k.get(1));
    let held = |seq: i64| {
        let c = &c;
        async move {
            Ok::<_, CentralError>(
                c.query_opt(
                    "SELECT hash FROM kiosk_events WHERE kiosk_id = $1 AND seq = $2",
                    &[&kiosk_id, &seq],
                )
                .await?
                .map(|r| hex::encode(r.get::<_, Vec<u8>>(0))),
            )
        }
    };
    let diverges_by = match brk {
        ChainBreak::Fork { seq } => Some(*seq),
        ChainBreak::Rollback { reported, .. } => {
            // The kiosk's head is a prefix of the centre's chain when its hash is the one held.
            if *reported == 0 || held(*reported).await?.as_deref() == Some(req.head.hash.as_str()) {
                Some(*reported + 1)
            } else {
                Some(*reported)
            }
        }
        // The first event pushed does not link to the centre's head: the kiosk's event at the
        // head differs, so the chains agree at most up to the one before it.
        ChainBreak::BadLink { seq } if *seq == ack + 1 => Some(ack),
        _ => None,
    };
    let events: Vec<_> = req
        .items
        .iter()
        .take(MAX_EVIDENCE_EVENTS)
        .map(|i| &i.event)
        .collect();
    let pushed = serde_json::to_string(&events).map_err(|e| CentralError::Setup(e.to_string()))?;
    c.execute(
        "INSERT INTO quarantine_evidence (kiosk_id, alert_id, kind, detail, raised_ms,
             central_seq, central_hash, reported_seq, reported_hash, diverges_by, pushed_events)
         VALUES ($1, (SELECT max(id) FROM alerts WHERE kiosk_id = $1), $2, $3, $4, $5, $6, $7,
             $8, $9, $10)",
        &[
            &kiosk_id,
            &brk.kind(),
            &brk.to_string(),
            &now_ms(),
            &ack,
            &ack_hash,
            &req.head.seq,
            &req.head.hash,
            &diverges_by,
            &pushed,
        ],
    )
    .await?;
    Ok(())
}

async fn readmissions<C: GenericClient>(
    c: &C,
    kiosk_id: &str,
) -> Result<Vec<Readmission>, CentralError> {
    Ok(c.query(
        "SELECT id, kiosk_id, mode, from_seq, old_ack_seq, old_reported, events_kept,
             records_kept, old_key IS NOT NULL, admin, reason, at_ms
         FROM readmissions WHERE kiosk_id = $1 ORDER BY id",
        &[&kiosk_id],
    )
    .await?
    .iter()
    .map(|r| Readmission {
        id: r.get(0),
        kiosk_id: r.get(1),
        mode: r.get(2),
        from_seq: r.get(3),
        old_ack_seq: r.get(4),
        old_reported: r.get(5),
        events_superseded: r.get(6),
        records_superseded: r.get(7),
        key_retired: r.get(8),
        admin: r.get(9),
        reason: r.get(10),
        at_ms: r.get(11),
    })
    .collect())
}

/// The superseded branch a readmission kept: `(seq, hash hex)` of each event, in order.
pub type SupersededEvents = Vec<(i64, String)>;

impl Central {
    /// A kiosk's quarantine case: state, open alerts, unresolved evidence, past
    /// re-admissions.
    ///
    /// # Errors
    /// `Forbidden`, `NotFound`.
    pub async fn quarantine_case(
        &self,
        by: &CentralUser,
        kiosk_id: &str,
    ) -> Result<QuarantineCase, CentralError> {
        by.require_admin()?;
        let c = self.pool.get().await?;
        let k = c
            .query_opt(
                "SELECT quarantined, quarantine_reason, ack_seq, ack_hash, reported_seq
                 FROM kiosks WHERE kiosk_id = $1",
                &[&kiosk_id],
            )
            .await?
            .ok_or_else(|| CentralError::NotFound(format!("kiosk {kiosk_id}")))?;
        let alerts = self
            .alerts(true)
            .await?
            .into_iter()
            .filter(|a| a.kiosk_id == kiosk_id)
            .collect();
        let evidence = c
            .query(
                "SELECT id, alert_id, kind, detail, raised_ms, central_seq, central_hash,
                     reported_seq, reported_hash, diverges_by, pushed_events, resolved_by
                 FROM quarantine_evidence WHERE kiosk_id = $1 AND resolved_by IS NULL
                 ORDER BY id",
                &[&kiosk_id],
            )
            .await?
            .iter()
            .map(|r| {
                let h: Vec<u8> = r.get(6);
                let pushed: String = r.get(10);
                Evidence {
                    id: r.get(0),
                    alert_id: r.get(1),
                    kind: r.get(2),
                    detail: r.get(3),
                    raised_ms: r.get(4),
                    central_seq: r.get(5),
                    central_hash: hex::encode(h),
                    reported_seq: r.get(7),
                    reported_hash: r.get(8),
                    diverges_by: r.get(9),
                    pushed_events: serde_json::from_str(&pushed).unwrap_or(serde_json::Value::Null),
                    resolved_by: r.get(11),
                }
            })
            .collect();
        let ack_hash: Vec<u8> = k.get(3);
        Ok(QuarantineCase {
            kiosk_id: kiosk_id.to_string(),
            quarantined: k.get(0),
            quarantine_reason: k.get(1),
            ack_seq: k.get(2),
            ack_hash: hex::encode(ack_hash),
            reported_seq: k.get(4),
            alerts,
            evidence,
            readmissions: readmissions(&*c, kiosk_id).await?,
        })
    }

    /// Accept a quarantined kiosk's chain from `from_seq`: the centre's events from there on
    /// and their records become the superseded branch (kept), the kiosk's next push must link
    /// to event `from_seq − 1`, the quarantine and its alerts are cleared. Logged with `reason`.
    ///
    /// # Errors
    /// `Forbidden`; `InvalidInput` (reason, a sequence out of range or past where the chains
    /// diverge); `NotFound`; `Conflict` when the kiosk is not quarantined.
    pub async fn readmit_accept_chain(
        &self,
        by: &CentralUser,
        kiosk_id: &str,
        from_seq: i64,
        reason: &str,
    ) -> Result<Readmission, CentralError> {
        self.readmit(by, kiosk_id, Some(from_seq), false, reason)
            .await
    }

    /// Re-enrol a kiosk with a new key: its key is retired (kept in the readmission row), a
    /// one-time enrolment token is made (returned with the readmission), and, when `from_seq`
    /// is given, its chain is rebased as in [`Central::readmit_accept_chain`] (1 for a kiosk
    /// whose store starts again empty). Clears a quarantine. Logged with `reason`.
    ///
    /// # Errors
    /// As [`Central::readmit_accept_chain`], without the need to be quarantined.
    pub async fn readmit_re_enrol(
        &self,
        by: &CentralUser,
        kiosk_id: &str,
        from_seq: Option<i64>,
        reason: &str,
    ) -> Result<(Readmission, String), CentralError> {
        let r = self.readmit(by, kiosk_id, from_seq, true, reason).await?;
        let token = self.create_enrol_token(by, kiosk_id).await?;
        Ok((r, token))
    }

    async fn readmit(
        &self,
        by: &CentralUser,
        kiosk_id: &str,
        from_seq: Option<i64>,
        re_enrol: bool,
        reason: &str,
    ) -> Result<Readmission, CentralError> {
        by.require_admin()?;
        let reason = adminlog::require_reason(reason)?;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let k = tx
            .query_opt(
                "SELECT quarantined, ack_seq, ack_hash, reported_seq, public_key FROM kiosks
                 WHERE kiosk_id = $1 FOR UPDATE",
                &[&kiosk_id],
            )
            .await?
            .ok_or_else(|| CentralError::NotFound(format!("kiosk {kiosk_id}")))?;
        let (quarantined, ack, ack_hash, reported, key): (
            bool,
            i64,
            Vec<u8>,
            i64,
            Option<Vec<u8>>,
        ) = (k.get(0), k.get(1), k.get(2), k.get(3), k.get(4));
        if !re_enrol && !quarantined {
            return Err(CentralError::Conflict(format!(
                "kiosk {kiosk_id} is not quarantined; nothing to re-admit"
            )));
        }
        if re_enrol && key.is_none() {
            return Err(CentralError::Conflict(format!(
                "kiosk {kiosk_id} has no key to retire (not enrolled yet)"
            )));
        }
        let from = from_seq.unwrap_or(ack + 1);
        if from < 1 || from > ack + 1 {
            return Err(CentralError::InvalidInput(format!(
                "sequence {from}: the centre holds events 1 to {ack}; give 1 to {}",
                ack + 1
            )));
        }
        let bound: Option<i64> = tx
            .query_one(
                "SELECT min(diverges_by) FROM quarantine_evidence
                 WHERE kiosk_id = $1 AND resolved_by IS NULL",
                &[&kiosk_id],
            )
            .await?
            .get(0);
        if let Some(b) = bound
            && from_seq.is_some()
            && from > b
        {
            return Err(CentralError::InvalidInput(format!(
                "sequence {from}: the kiosk's chain differs from the centre's by event {b} at \
                 the latest; accept it from {b} or earlier"
            )));
        }
        let now = now_ms();
        let id: i64 = tx
            .query_one(
                "INSERT INTO readmissions (kiosk_id, mode, from_seq, old_ack_seq, old_ack_hash,
                     old_reported, old_key, events_kept, records_kept, admin, reason, at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, $8, $9, $10) RETURNING id",
                &[
                    &kiosk_id,
                    &if re_enrol { "re_enrol" } else { "accept_chain" },
                    &from,
                    &ack,
                    &ack_hash,
                    &reported,
                    &if re_enrol { key.clone() } else { None },
                    &by.username,
                    &reason,
                    &now,
                ],
            )
            .await?
            .get(0);
        let (events, records) = supersede(&tx, kiosk_id, from, id).await?;
        tx.execute(
            "UPDATE readmissions SET events_kept = $2, records_kept = $3 WHERE id = $1",
            &[&id, &events, &records],
        )
        .await?;
        let new_hash: Vec<u8> = if from > 1 {
            tx.query_one(
                "SELECT hash FROM kiosk_events WHERE kiosk_id = $1 AND seq = $2",
                &[&kiosk_id, &(from - 1)],
            )
            .await?
            .get(0)
        } else {
            vec![0u8; 32]
        };
        tx.execute(
            "UPDATE kiosks SET quarantined = FALSE, quarantine_reason = NULL, ack_seq = $2,
                 ack_hash = $3, reported_seq = $2 WHERE kiosk_id = $1",
            &[&kiosk_id, &(from - 1), &new_hash],
        )
        .await?;
        if re_enrol {
            tx.execute(
                "UPDATE kiosks SET public_key = NULL, enrolled_ms = NULL WHERE kiosk_id = $1",
                &[&kiosk_id],
            )
            .await?;
        }
        tx.execute(
            "UPDATE alerts SET cleared_ms = $2, cleared_by = $3
             WHERE kiosk_id = $1 AND cleared_ms IS NULL",
            &[&kiosk_id, &now, &by.username],
        )
        .await?;
        tx.execute(
            "UPDATE quarantine_evidence SET resolved_by = $2
             WHERE kiosk_id = $1 AND resolved_by IS NULL",
            &[&kiosk_id, &id],
        )
        .await?;
        let action = if re_enrol {
            "readmit_re_enrol"
        } else {
            "readmit_accept_chain"
        };
        adminlog::append(
            &tx,
            by,
            action,
            &format!("kiosk {kiosk_id}"),
            reason,
            &serde_json::json!({
                "readmission": id, "fromSeq": from, "oldAckSeq": ack, "oldReported": reported,
                "eventsSuperseded": events, "recordsSuperseded": records,
            }),
        )
        .await?;
        tx.commit().await?;
        // The superseded records' templates leave the in-memory duplicate index too.
        if records > 0 {
            self.rebuild_dedup_index().await?;
        }
        tracing::warn!(
            kiosk_id,
            readmission = id,
            from,
            events,
            records,
            action,
            "central: kiosk re-admitted"
        );
        Ok(Readmission {
            id,
            kiosk_id: kiosk_id.to_string(),
            mode: if re_enrol { "re_enrol" } else { "accept_chain" }.into(),
            from_seq: from,
            old_ack_seq: ack,
            old_reported: reported,
            events_superseded: events,
            records_superseded: records,
            key_retired: re_enrol,
            admin: by.username.clone(),
            reason: reason.to_string(),
            at_ms: now,
        })
    }

    /// Clear a quarantine without re-admitting (for a break that was not a divergence, e.g. a
    /// record that failed its check once): the chain stays as it is, so a kiosk whose history
    /// diverged is quarantined again at its next push. Logged with `reason`. Returns the
    /// alerts closed.
    ///
    /// # Errors
    /// `Forbidden`, `InvalidInput` (reason), `NotFound`.
    pub async fn clear_quarantine_logged(
        &self,
        by: &CentralUser,
        kiosk_id: &str,
        reason: &str,
    ) -> Result<u64, CentralError> {
        by.require_admin()?;
        let reason = adminlog::require_reason(reason)?;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        if tx
            .execute(
                "UPDATE kiosks SET quarantined = FALSE, quarantine_reason = NULL
                 WHERE kiosk_id = $1",
                &[&kiosk_id],
            )
            .await?
            == 0
        {
            return Err(CentralError::NotFound(format!("kiosk {kiosk_id}")));
        }
        let n = tx
            .execute(
                "UPDATE alerts SET cleared_ms = $2, cleared_by = $3
                 WHERE kiosk_id = $1 AND cleared_ms IS NULL",
                &[&kiosk_id, &now_ms(), &by.username],
            )
            .await?;
        adminlog::append(
            &tx,
            by,
            "quarantine_clear",
            &format!("kiosk {kiosk_id}"),
            reason,
            &serde_json::json!({ "alertsClosed": n }),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The events a readmission set aside, in order.
    ///
    /// # Errors
    /// `Forbidden`; database errors.
    pub async fn superseded_events(
        &self,
        by: &CentralUser,
        readmission_id: i64,
    ) -> Result<SupersededEvents, CentralError> {
        by.require_admin()?;
        let c = self.pool.get().await?;
        Ok(c.query(
            "SELECT seq, hash FROM superseded_events WHERE readmission_id = $1 ORDER BY seq",
            &[&readmission_id],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), hex::encode(r.get::<_, Vec<u8>>(1))))
        .collect())
    }
}

/// Move the kiosk's events from `from` on, and the records they created (with blobs and
/// registry checks), into the superseded tables under readmission `id`. Returns
/// (events, records) moved.
async fn supersede<C: GenericClient>(
    c: &C,
    kiosk_id: &str,
    from: i64,
    id: i64,
) -> Result<(i64, i64), CentralError> {
    // A central decision is a link of the centre's own chained decision log and cannot be
    // moved aside; a branch holding one is not superseded (re-enrol the kiosk instead).
    let decided: i64 = c
        .query_one(
            "SELECT count(*) FROM central_decisions d JOIN records r
                 ON d.kiosk_id = r.kiosk_id AND d.record_id = r.record_id
             WHERE r.kiosk_id = $1 AND r.event_seq >= $2",
            &[&kiosk_id, &from],
        )
        .await?
        .get(0);
    if decided > 0 {
        return Err(CentralError::Conflict(format!(
            "{decided} case(s) from sequence {from} on were decided centrally; their decisions              are chained in the central decision log and cannot be superseded"
        )));
    }
    let records = c
        .execute(
            "INSERT INTO superseded_records (readmission_id, kiosk_id, record_id, event_seq,
                 created_ms, decision, current_decision, review_status, sealed_row, received_ms,
                 registry_check)
             SELECT $3, r.kiosk_id, r.record_id, r.event_seq, r.created_ms, r.decision,
                 r.current_decision, r.review_status, r.sealed_row, r.received_ms,
                 (SELECT row_to_json(x)::TEXT FROM registry_checks x
                  WHERE x.kiosk_id = r.kiosk_id AND x.record_id = r.record_id)
             FROM records r WHERE r.kiosk_id = $1 AND r.event_seq >= $2",
            &[&kiosk_id, &from, &id],
        )
        .await? as i64;
    c.execute(
        "INSERT INTO superseded_record_blobs (readmission_id, kiosk_id, record_id, kind, sealed)
         SELECT $3, b.kiosk_id, b.record_id, b.kind, b.sealed FROM record_blobs b
         JOIN records r ON r.kiosk_id = b.kiosk_id AND r.record_id = b.record_id
         WHERE r.kiosk_id = $1 AND r.event_seq >= $2",
        &[&kiosk_id, &from, &id],
    )
    .await?;
    let gone = "r.kiosk_id = $1 AND r.event_seq >= $2";
    c.execute(
        &format!(
            "DELETE FROM record_blobs b USING records r WHERE b.kiosk_id = r.kiosk_id
             AND b.record_id = r.record_id AND {gone}"
        ),
        &[&kiosk_id, &from],
    )
    .await?;
    // Duplicate flags and index rows of the superseded records go with them (the flags'
    // matches first); the sealed templates themselves are kept with the blobs above.
    c.execute(
        &format!(
            "DELETE FROM dedup_matches m USING dedup_flags f, records r
             WHERE m.flag_id = f.id AND f.kiosk_id = r.kiosk_id AND f.record_id = r.record_id
             AND {gone}"
        ),
        &[&kiosk_id, &from],
    )
    .await?;
    for table in ["dedup_flags", "dedup_templates"] {
        c.execute(
            &format!(
                "DELETE FROM {table} x USING records r WHERE x.kiosk_id = r.kiosk_id
                 AND x.record_id = r.record_id AND {gone}"
            ),
            &[&kiosk_id, &from],
        )
        .await?;
    }
    c.execute(
        &format!(
            "DELETE FROM registry_checks x USING records r WHERE x.kiosk_id = r.kiosk_id
             AND x.record_id = r.record_id AND {gone}"
        ),
        &[&kiosk_id, &from],
    )
    .await?;
    // Hand-offs of superseded cases not yet sent are not sent (kept as dead letters).
    c.execute(
        &format!(
            "UPDATE webhook_deliveries d SET state = 'dead', dead_ms = $3,
                 last_error = 'case superseded by a re-admission'
             FROM records r WHERE d.kiosk_id = r.kiosk_id AND d.record_id = r.record_id
                 AND d.state = 'pending' AND {gone}"
        ),
        &[&kiosk_id, &from, &now_ms()],
    )
    .await?;
    c.execute(
        "DELETE FROM records WHERE kiosk_id = $1 AND event_seq >= $2",
        &[&kiosk_id, &from],
    )
    .await?;
    let events = c
        .execute(
            "INSERT INTO superseded_events (readmission_id, kiosk_id, seq, ts_ms, kind, actor,
                 verification_id, payload, prev_hash, hash, received_ms)
             SELECT $3, kiosk_id, seq, ts_ms, kind, actor, verification_id, payload, prev_hash,
                 hash, received_ms FROM kiosk_events WHERE kiosk_id = $1 AND seq >= $2",
            &[&kiosk_id, &from, &id],
        )
        .await? as i64;
    c.execute(
        "DELETE FROM kiosk_events WHERE kiosk_id = $1 AND seq >= $2",
        &[&kiosk_id, &from],
    )
    .await?;
    Ok((events, records))
}
