//! The central supervisor queue: supervisor workstations (enrolment, signed requests,
//! sessions opened with a password sealed to the central key), the queue across kiosks and
//! branches with its filters, a case's whole record and images (opened with the central key,
//! answered sealed to the workstation), decisions in a hash-chained central log, and each
//! kiosk's inbox (its pending decisions and the fleet policy) with its acknowledgement.
//!
//! The clear columns the queue filters on (operator, branch, decision reason, confidence) are
//! filled from the sealed row when the push stores the record (records stored before that
//! are filled the first time the centre lists or opens a case, [`Central::index_cases`]);
//! everything else about a case stays sealed at rest.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use kyc_core::audit::{CentralDecisionIn, Decision, VerificationCanon, now_ms};
use kyc_core::fleet::crypto::{SignedParts, record_aad, verify_request};
use kyc_core::fleet::supervisor::*;
use kyc_core::fleet::wire::{MAX_CLOCK_SKEW_MS, WireEvent, headers};
use kyc_core::fleet::{FleetError, open_sealed};
use rand_core::{OsRng, RngCore};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_postgres::types::ToSql;

use crate::server::ApiError;
use crate::users::{CentralRole, CentralUser};
use crate::{Central, CentralError};

/// How long a supervisor session lasts.
pub const SESSION_TTL_MS: i64 = 15 * 60 * 1000;
/// How long a workstation enrolment token stays valid.
pub const WS_TOKEN_TTL_MS: i64 = 24 * 3600 * 1000;
/// Largest queue page.
pub const MAX_PAGE: i64 = 200;

const SUMMARY_COLUMNS: &str = "r.kiosk_id, r.record_id, r.branch, r.operator, r.created_ms, \
    r.decision, r.current_decision, r.review_status, r.reason, r.confidence";

fn sha256(b: &[u8]) -> Vec<u8> {
    Sha256::digest(b).to_vec()
}

fn valid_id(what: &str, k: &str) -> Result<(), CentralError> {
    if k.is_empty()
        || k.len() > 64
        || !k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(CentralError::InvalidInput(format!(
            "{what} {k:?}: 1 to 64 of a-z, A-Z, 0-9, '.', '_', '-'"
        )));
    }
    Ok(())
}

fn summary(r: &tokio_postgres::Row) -> CaseSummary {
    CaseSummary {
        kiosk_id: r.get(0),
        record_id: r.get(1),
        branch: r.get(2),
        operator: r.get(3),
        created_ms: r.get(4),
        decision: r.get(5),
        current_decision: r.get(6),
        review_status: r.get(7),
        reason: r.get(8),
        confidence: r.get(9),
    }
}

/// The hash of one central decision, chained to the previous one.
fn decision_hash(prev: &[u8], e: &DecisionEntry) -> Vec<u8> {
    let body = serde_json::json!({
        "id": e.id,
        "kioskId": e.kiosk_id,
        "recordId": e.record_id,
        "decision": e.decision,
        "reason": e.reason,
        "supervisor": e.supervisor,
        "decidedMs": e.decided_ms,
    });
    sha256(format!("kyc-central-decision-v1\n{}\n{body}", hex::encode(prev)).as_bytes())
}

fn decision_from_row(r: &tokio_postgres::Row) -> DecisionEntry {
    let prev: Vec<u8> = r.get(7);
    let hash: Vec<u8> = r.get(8);
    DecisionEntry {
        id: r.get(0),
        kiosk_id: r.get(1),
        record_id: r.get(2),
        decision: r.get(3),
        reason: r.get(4),
        supervisor: r.get(5),
        decided_ms: r.get(6),
        prev_hash: hex::encode(prev),
        hash: hex::encode(hash),
        delivered_ms: r.get(9),
        outcome: r.get(10),
    }
}

const DECISION_COLUMNS: &str = "id, kiosk_id, record_id, decision, reason, supervisor, decided_ms, \
    prev_hash, hash, delivered_ms, outcome";

/// One query's timings in [`Central::bench_queue`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BenchLine {
    /// What was asked.
    pub query: String,
    /// Cases on the page.
    pub rows: usize,
    /// Median, ms.
    pub median_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
}

/// What [`Central::bench_queue`] measured.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueBench {
    /// Records in the table.
    pub records: i64,
    /// Kiosks they came from.
    pub kiosks: i64,
    /// Seconds spent inserting the synthetic records and analysing the table.
    pub load_seconds: f64,
    /// Runs per query.
    pub runs: usize,
    /// Per query.
    pub queries: Vec<BenchLine>,
}

/// How many of the newest candidates a reason search reads in index order before it turns to
/// the trigram index (see [`QueueStep`]).
pub const REASON_SCAN_ROWS: i64 = 1000;
/// The shortest reason substring the queue searches for: the trigram index needs three
/// characters.
pub const MIN_REASON_CHARS: usize = 3;

type SqlArgs = Vec<Box<dyn ToSql + Sync + Send>>;

fn refs(args: &SqlArgs) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// Which query answers a queue page with a reason substring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueStep {
    /// The newest [`REASON_SCAN_ROWS`] candidates, read in the order of a btree index that
    /// holds every other filter in its keys, tested against the reason. Enough when matches are
    /// dense; reads a bounded number of rows when they are not.
    Newest,
    /// Every match: the trigram index on the reason (`records_q_reason`) with the btree
    /// indexes for the other filters (or, without a reason, the ordered btree scan alone).
    All,
}

/// A queue filter checked and turned into SQL. Every filter combination is answered from an
/// index (migration 5): status, kiosk, branch and time range from btree indexes holding them
/// all as keys in time order, the reason substring from a `pg_trgm` GIN index.
#[derive(Debug, Clone)]
pub struct QueueSql {
    status: Option<String>,
    kiosk: Option<String>,
    branch: Option<String>,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    /// The `ILIKE` pattern, escaped.
    pub reason: Option<String>,
}

impl QueueSql {
    /// Check a filter.
    ///
    /// # Errors
    /// `InvalidInput` for an unknown status or a reason substring shorter than
    /// [`MIN_REASON_CHARS`] or longer than 200 characters.
    pub fn new(filter: &QueueFilter) -> Result<Self, CentralError> {
        let status = match filter.status.as_deref().unwrap_or("pending") {
            s @ ("pending" | "closed" | "none") => Some(s.to_string()),
            "all" => None,
            other => {
                return Err(CentralError::InvalidInput(format!(
                    "status {other:?}: pending, closed, none or all"
                )));
            }
        };
        let reason = match filter.reason.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(r) if r.chars().count() > 200 => {
                return Err(CentralError::InvalidInput(
                    "reason filter: at most 200 characters".into(),
                ));
            }
            Some(r) if r.chars().count() < MIN_REASON_CHARS => {
                return Err(CentralError::InvalidInput(format!(
                    "reason filter {r:?}: at least {MIN_REASON_CHARS} characters"
                )));
            }
            Some(r) => Some(format!(
                "%{}%",
                r.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )),
        };
        Ok(QueueSql {
            status,
            kiosk: filter.kiosk.clone(),
            branch: filter.branch.clone(),
            from_ms: filter.from_ms,
            to_ms: filter.to_ms,
            reason,
        })
    }

    /// The SQL and its arguments for one step of a page.
    pub fn sql(&self, step: QueueStep, offset: i64, limit: i64) -> (String, SqlArgs) {
        let mut clauses: Vec<String> = Vec::new();
        let mut args: SqlArgs = Vec::new();
        let mut add = |args: &mut SqlArgs, arg: Box<dyn ToSql + Sync + Send>, clause: &str| {
            args.push(arg);
            clauses.push(clause.replace('?', &format!("${}", args.len())));
        };
        if let Some(s) = &self.status {
            add(&mut args, Box::new(s.clone()), "r.review_status = ?");
        }
        if let Some(k) = &self.kiosk {
            add(&mut args, Box::new(k.clone()), "r.kiosk_id = ?");
        }
        if let Some(b) = &self.branch {
            add(&mut args, Box::new(b.clone()), "r.branch = ?");
        }
        if let Some(f) = self.from_ms {
            add(&mut args, Box::new(f), "r.created_ms >= ?");
        }
        if let Some(t) = self.to_ms {
            add(&mut args, Box::new(t), "r.created_ms < ?");
        }
        let order = "ORDER BY r.created_ms DESC, r.kiosk_id, r.record_id";
        let reason = self.reason.clone().map(|p| {
            args.push(Box::new(p));
            format!("r.reason ILIKE ${}", args.len())
        });
        let page = |args: &mut SqlArgs| {
            args.push(Box::new(limit + 1));
            let lim = args.len();
            args.push(Box::new(offset));
            format!("LIMIT ${lim} OFFSET ${}", args.len())
        };
        let sql = match (step, reason) {
            (QueueStep::Newest, Some(reason)) => {
                let inner = where_sql(&clauses);
                let page = page(&mut args);
                format!(
                    "SELECT {SUMMARY_COLUMNS} FROM (SELECT {SUMMARY_COLUMNS} FROM records r {inner}
                     {order} LIMIT {REASON_SCAN_ROWS}) r WHERE {reason} {order} {page}"
                )
            }
            (_, reason) => {
                clauses.extend(reason);
                let all = where_sql(&clauses);
                let page = page(&mut args);
                format!("SELECT {SUMMARY_COLUMNS} FROM records r {all} {order} {page}")
            }
        };
        (sql, args)
    }
}

fn where_sql(clauses: &[String]) -> String {
    if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    }
}

impl Central {
    /// An administrator makes a one-time enrolment token for a supervisor workstation.
    ///
    /// # Errors
    /// `Forbidden`, `InvalidInput`, `Conflict` when enrolled already.
    pub async fn create_workstation_token(
        &self,
        by: &CentralUser,
        workstation: &str,
    ) -> Result<String, CentralError> {
        by.require_admin()?;
        valid_id("workstation id", workstation)?;
        self.issue_enrolment_token(
            crate::enrol::WORKSTATION_TOKENS,
            by,
            workstation,
            "SELECT 1 FROM workstations WHERE workstation_id = $1",
        )
        .await
    }

    /// A workstation presents its token and two public keys; answers the central key.
    ///
    /// # Errors
    /// 401 for an unknown, used, expired or mismatched token; 400 for bad keys; 409 when
    /// enrolled already.
    pub async fn enroll_workstation(
        &self,
        req: &WorkstationEnrollRequest,
    ) -> Result<WorkstationEnrollResponse, ApiError> {
        valid_id("workstation id", &req.workstation_id)?;
        let key = |h: &str, what: &str| {
            hex::decode(h)
                .ok()
                .filter(|v| v.len() == 32)
                .ok_or_else(|| {
                    ApiError::bad_request("bad_key", &format!("{what} is not 32 bytes of hex"))
                })
        };
        let pk = key(&req.public_key, "publicKey")?;
        let bk = key(&req.box_key, "boxKey")?;
        kyc_core::fleet::crypto::parse_public_key(&pk)
            .map_err(|e| ApiError::bad_request("bad_key", &e.to_string()))?;
        let probe = kyc_core::fleet::CentralSecret::generate();
        let bk32: [u8; 32] = bk.as_slice().try_into().unwrap_or([0u8; 32]);
        if probe.shared_with(&bk32).is_none() {
            return Err(ApiError::bad_request(
                "bad_key",
                "boxKey is a low-order X25519 point",
            ));
        }
        self.enrol_with_token(
            crate::enrol::WORKSTATION_TOKENS,
            &req.token,
            &req.workstation_id,
            "INSERT INTO workstations (workstation_id, public_key, box_key, enrolled_ms)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[&req.workstation_id, &pk, &bk, &now_ms()],
        )
        .await?;
        tracing::info!(workstation = %req.workstation_id, "central: workstation enrolled");
        Ok(WorkstationEnrollResponse {
            workstation_id: req.workstation_id.clone(),
            central_public_key: hex::encode(self.public_key()),
        })
    }

    /// Authenticate a workstation's signed request (as [`Central::authenticate`] does a
    /// kiosk's). Returns the workstation id, its X25519 key and the request's nonce.
    ///
    /// # Errors
    /// 401 `unsigned`, `stale`, `unknown_workstation`, `bad_signature`, `replayed`.
    pub async fn authenticate_workstation(
        &self,
        method: &str,
        path: &str,
        header: impl Fn(&str) -> Option<String>,
        body: &[u8],
    ) -> Result<(String, [u8; 32], String), ApiError> {
        let need = |h: &str| {
            header(h).ok_or_else(|| {
                ApiError::unauthorized(
                    "unsigned",
                    &format!("missing header {h}: requests must be signed"),
                )
            })
        };
        let ws = need(WORKSTATION_HEADER)?;
        let ts: i64 = need(headers::TIMESTAMP)?
            .parse()
            .map_err(|_| ApiError::unauthorized("unsigned", "timestamp is not a number"))?;
        let nonce = need(headers::NONCE)?;
        let sig = hex::decode(need(headers::SIGNATURE)?)
            .map_err(|_| ApiError::unauthorized("bad_signature", "signature is not hex"))?;
        if nonce.len() < 16 || nonce.len() > 64 || !nonce.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(ApiError::unauthorized(
                "unsigned",
                "nonce must be 16 to 64 hex digits",
            ));
        }
        let now = now_ms();
        if (now - ts).abs() > MAX_CLOCK_SKEW_MS {
            return Err(ApiError::unauthorized(
                "stale",
                "request timestamp is more than 5 minutes from the server's clock",
            ));
        }
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                "SELECT public_key, box_key FROM workstations WHERE workstation_id = $1",
                &[&ws],
            )
            .await
            .map_err(CentralError::from)?;
        let Some(row) = row else {
            return Err(ApiError::unauthorized(
                "unknown_workstation",
                "workstation is not enrolled",
            ));
        };
        let (pk, bk): (Vec<u8>, Vec<u8>) = (row.get(0), row.get(1));
        let signer = workstation_signer(&ws);
        let parts = SignedParts {
            method,
            path,
            kiosk_id: &signer,
            timestamp_ms: ts,
            nonce: &nonce,
            body,
        };
        verify_request(&pk, &parts, &sig).map_err(|_| {
            ApiError::unauthorized("bad_signature", "request signature does not verify")
        })?;
        let fresh = c
            .execute(
                "INSERT INTO request_nonces (kiosk_id, nonce, seen_ms) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&signer, &nonce, &now],
            )
            .await
            .map_err(CentralError::from)?;
        if fresh == 0 {
            tracing::warn!(workstation = %ws, "central: replayed workstation request refused");
            return Err(ApiError::unauthorized(
                "replayed",
                "this request was seen before",
            ));
        }
        let bk: [u8; 32] = bk
            .try_into()
            .map_err(|_| ApiError::unauthorized("unknown_workstation", "bad stored key"))?;
        Ok((ws, bk, nonce))
    }

    /// Open a supervisor session on workstation `ws`: the credentials open with the central
    /// key under the workstation's binding, the password is checked with argon2, and the user
    /// must be a supervisor or an administrator.
    ///
    /// # Errors
    /// 400 for credentials that do not open; 401 for a wrong name or password.
    pub async fn supervisor_login(
        &self,
        ws: &str,
        req: &LoginRequest,
    ) -> Result<SupervisorSession, ApiError> {
        let sealed = B64
            .decode(&req.sealed_credentials)
            .map_err(|_| ApiError::bad_request("bad_credentials", "not base64"))?;
        let plain = open_sealed(&self.secret, &login_aad(ws), &sealed).map_err(|_| {
            ApiError::bad_request(
                "bad_credentials",
                "credentials are not sealed to the central key for this workstation",
            )
        })?;
        let creds: Credentials = serde_json::from_slice(&plain)
            .map_err(|_| ApiError::bad_request("bad_credentials", "not user name and password"))?;
        let user = self.sign_in(&creds.username, &creds.password).await?;
        let mut raw = [0u8; 32];
        OsRng.fill_bytes(&mut raw);
        let token = hex::encode(raw);
        let now = now_ms();
        let c = self.pool.get().await?;
        c.execute(
            "DELETE FROM supervisor_sessions WHERE expires_ms < $1",
            &[&now],
        )
        .await
        .map_err(CentralError::from)?;
        c.execute(
            "INSERT INTO supervisor_sessions (token_sha256, workstation_id, username, role,
                 created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &sha256(token.as_bytes()),
                &ws,
                &user.username,
                &user.role.as_str(),
                &now,
                &(now + SESSION_TTL_MS),
            ],
        )
        .await
        .map_err(CentralError::from)?;
        tracing::info!(workstation = ws, "central: supervisor signed in");
        Ok(SupervisorSession {
            session: token,
            username: user.username,
            role: user.role.as_str().to_string(),
            expires_ms: now + SESSION_TTL_MS,
        })
    }

    /// The user of a live session opened on workstation `ws`.
    ///
    /// # Errors
    /// 401 `no_session` for an unknown, expired or other workstation's session.
    pub async fn session_user(&self, ws: &str, token: &str) -> Result<CentralUser, ApiError> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                "SELECT s.username, s.role FROM supervisor_sessions s
                 JOIN central_users u ON u.username = s.username AND NOT u.disabled
                 WHERE s.token_sha256 = $1 AND s.workstation_id = $2 AND s.expires_ms > $3",
                &[&sha256(token.as_bytes()), &ws, &now_ms()],
            )
            .await
            .map_err(CentralError::from)?;
        let Some(row) = row else {
            return Err(ApiError::unauthorized(
                "no_session",
                "no live session for this workstation: sign in again",
            ));
        };
        let role: String = row.get(1);
        Ok(CentralUser {
            username: row.get(0),
            role: CentralRole::parse(&role)?,
        })
    }

    /// Fill the queue's clear columns of records not indexed yet, from their sealed rows.
    /// A push fills them as it stores each record (the row is opened there once), so this
    /// finds only records stored by an earlier version of the service. Returns how many were
    /// indexed.
    ///
    /// # Errors
    /// Database errors.
    pub async fn index_cases(&self) -> Result<u64, CentralError> {
        let c = self.pool.get().await?;
        let mut total = 0u64;
        loop {
            let rows = c
                .query(
                    "SELECT r.kiosk_id, r.record_id, r.sealed_row, k.branch FROM records r
                     JOIN kiosks k ON k.kiosk_id = r.kiosk_id
                     WHERE NOT r.case_indexed LIMIT 500",
                    &[],
                )
                .await?;
            if rows.is_empty() {
                return Ok(total);
            }
            for r in &rows {
                let (kiosk, id, sealed, branch): (String, i64, Vec<u8>, Option<String>) =
                    (r.get(0), r.get(1), r.get(2), r.get(3));
                let row = open_sealed(&self.secret, &record_aad(&kiosk, id, "row"), &sealed)
                    .ok()
                    .and_then(|p| serde_json::from_slice::<VerificationCanon>(&p).ok());
                if row.is_none() {
                    tracing::warn!(kiosk_id = %kiosk, id, "central: a stored row does not open");
                }
                c.execute(
                    "UPDATE records SET case_indexed = TRUE, operator = $3, reason = $4,
                         confidence = $5, branch = $6
                     WHERE kiosk_id = $1 AND record_id = $2",
                    &[
                        &kiosk,
                        &id,
                        &row.as_ref().map(|r| r.operator.clone()),
                        &row.as_ref().map(|r| r.decision_reason.clone()),
                        &row.as_ref().and_then(|r| r.overall_confidence),
                        &branch,
                    ],
                )
                .await?;
                total += 1;
            }
        }
    }

    /// An administrator names a kiosk's branch (for the queue's branch filter).
    ///
    /// # Errors
    /// `Forbidden`, `InvalidInput`, `NotFound`.
    pub async fn set_branch(
        &self,
        by: &CentralUser,
        kiosk: &str,
        branch: &str,
    ) -> Result<u64, CentralError> {
        by.require_admin()?;
        kyc_core::settings::check_label("branch", branch).map_err(CentralError::InvalidInput)?;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let n = tx
            .execute(
                "UPDATE kiosks SET branch = $2 WHERE kiosk_id = $1",
                &[&kiosk, &branch],
            )
            .await?;
        if n == 0 {
            return Err(CentralError::NotFound(format!("kiosk {kiosk}")));
        }
        let moved = tx
            .execute(
                "UPDATE records SET branch = $2 WHERE kiosk_id = $1",
                &[&kiosk, &branch],
            )
            .await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// A page of the queue, newest first. Status `pending` (the default) lists referred cases
    /// nobody has decided; `closed`, `none` and `all` the others.
    ///
    /// # Errors
    /// `InvalidInput` for a bad filter or page; database errors.
    pub async fn queue(
        &self,
        filter: &QueueFilter,
        offset: i64,
        limit: i64,
    ) -> Result<QueuePage, CentralError> {
        if !(1..=MAX_PAGE).contains(&limit) || !(0..=1_000_000).contains(&offset) {
            return Err(CentralError::InvalidInput(format!(
                "page: limit 1–{MAX_PAGE}, offset 0–1000000"
            )));
        }
        self.index_cases().await?;
        let plan = QueueSql::new(filter)?;
        let c = self.pool.get().await?;
        let mut rows = Vec::new();
        if plan.reason.is_some() {
            // Dense matches: the newest candidates in index order hold the whole page.
            let (sql, args) = plan.sql(QueueStep::Newest, offset, limit);
            rows = c.query(&sql, &refs(&args)).await?;
        }
        if plan.reason.is_none() || rows.len() as i64 <= limit {
            // Sparse (or no) reason matches: the trigram index finds them all.
            let (sql, args) = plan.sql(QueueStep::All, offset, limit);
            rows = c.query(&sql, &refs(&args)).await?;
        }
        let mut cases: Vec<CaseSummary> = rows.iter().map(summary).collect();
        let more = cases.len() as i64 > limit;
        cases.truncate(limit as usize);
        Ok(QueuePage {
            cases,
            offset,
            more,
        })
    }

    /// One case in full: the kiosk's record opened with the central key, its images, the
    /// events the kiosk chained about it, the central decision if any.
    ///
    /// # Errors
    /// `NotFound`; `Setup` when a stored part does not open (it was checked on arrival).
    pub async fn case_detail(&self, kiosk: &str, record: i64) -> Result<CaseDetail, CentralError> {
        self.index_cases().await?;
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                &format!(
                    "SELECT {SUMMARY_COLUMNS}, r.sealed_row FROM records r
                     WHERE r.kiosk_id = $1 AND r.record_id = $2"
                ),
                &[&kiosk, &record],
            )
            .await?
            .ok_or_else(|| CentralError::NotFound(format!("case {kiosk}:{record}")))?;
        let sealed: Vec<u8> = row.get(10);
        let broken = |what: &str| CentralError::Setup(format!("case {kiosk}:{record}: {what}"));
        let plain = open_sealed(&self.secret, &record_aad(kiosk, record, "row"), &sealed)
            .map_err(|_| broken("the stored row does not open"))?;
        let canon: VerificationCanon =
            serde_json::from_slice(&plain).map_err(|_| broken("the stored row is not a record"))?;
        let result = serde_json::from_str(&canon.result_json).unwrap_or(serde_json::Value::Null);
        let duplicates =
            serde_json::from_str(&canon.duplicates_json).unwrap_or(serde_json::Value::Null);
        let mut images = Vec::new();
        for b in c
            .query(
                "SELECT kind, sealed FROM record_blobs WHERE kiosk_id = $1 AND record_id = $2
                 AND kind <> 'template' ORDER BY kind",
                &[&kiosk, &record],
            )
            .await?
        {
            let (kind, sealed): (String, Vec<u8>) = (b.get(0), b.get(1));
            let bytes = open_sealed(&self.secret, &record_aad(kiosk, record, &kind), &sealed)
                .map_err(|_| broken("a stored image does not open"))?;
            images.push(CaseImage {
                kind,
                data: B64.encode(bytes.as_slice()),
            });
        }
        let events = c
            .query(
                "SELECT seq, ts_ms, kind, actor, verification_id, payload, prev_hash, hash
                 FROM kiosk_events WHERE kiosk_id = $1 AND verification_id = $2 ORDER BY seq",
                &[&kiosk, &record],
            )
            .await?
            .iter()
            .map(|e| {
                let (p, h): (Vec<u8>, Vec<u8>) = (e.get(6), e.get(7));
                WireEvent {
                    seq: e.get(0),
                    ts_ms: e.get(1),
                    kind: e.get(2),
                    actor: e.get(3),
                    verification_id: e.get(4),
                    payload: e.get(5),
                    prev_hash: hex::encode(p),
                    hash: hex::encode(h),
                }
            })
            .collect();
        let central_decision = c
            .query_opt(
                &format!(
                    "SELECT {DECISION_COLUMNS} FROM central_decisions
                     WHERE kiosk_id = $1 AND record_id = $2"
                ),
                &[&kiosk, &record],
            )
            .await?
            .map(|r| decision_from_row(&r));
        Ok(CaseDetail {
            summary: summary(&row),
            record: canon,
            result,
            duplicates,
            images,
            events,
            central_decision,
        })
    }

    /// `by` decides a case: approve or reject with a reason, appended to the chained central
    /// decision log, the case closed centrally, the decision queued for its kiosk. Refused for
    /// a case `by` recorded (four-eyes), not pending, or decided already.
    ///
    /// # Errors
    /// 400 bad decision or reason; 403 `own_case`; 404; 409 `not_pending` / `decided`.
    pub async fn decide(
        &self,
        by: &CentralUser,
        kiosk: &str,
        record: i64,
        decision: &str,
        reason: &str,
    ) -> Result<DecisionEntry, ApiError> {
        let decision = match Decision::parse(decision) {
            Ok(d @ (Decision::Approve | Decision::Reject)) => d,
            _ => {
                return Err(ApiError::bad_request(
                    "bad_decision",
                    "a decision is approve or reject",
                ));
            }
        };
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(ApiError::bad_request(
                "bad_reason",
                "a reason is required (at most 500 characters)",
            ));
        }
        self.index_cases().await?;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await.map_err(CentralError::from)?;
        tx.batch_execute("LOCK TABLE central_decisions IN EXCLUSIVE MODE")
            .await
            .map_err(CentralError::from)?;
        let row = tx
            .query_opt(
                "SELECT operator, review_status FROM records
                 WHERE kiosk_id = $1 AND record_id = $2 FOR UPDATE",
                &[&kiosk, &record],
            )
            .await
            .map_err(CentralError::from)?
            .ok_or_else(|| {
                ApiError::from(CentralError::NotFound(format!("case {kiosk}:{record}")))
            })?;
        let (operator, status): (Option<String>, String) = (row.get(0), row.get(1));
        if operator.as_deref() == Some(by.username.as_str()) {
            tracing::warn!(
                kiosk,
                record,
                "central: a supervisor tried to decide their own case"
            );
            return Err(ApiError {
                status: 403,
                code: "own_case".into(),
                message: format!(
                    "{} recorded this case and cannot decide it (four-eyes rule)",
                    by.username
                ),
            });
        }
        let taken = tx
            .query_opt(
                "SELECT id FROM central_decisions WHERE kiosk_id = $1 AND record_id = $2",
                &[&kiosk, &record],
            )
            .await
            .map_err(CentralError::from)?;
        if taken.is_some() {
            return Err(ApiError::conflict(
                "decided",
                "this case was decided centrally already",
            ));
        }
        if status != "pending" {
            return Err(ApiError::conflict(
                "not_pending",
                &format!("this case is not waiting for review (status {status})"),
            ));
        }
        let last = tx
            .query_opt(
                "SELECT id, hash FROM central_decisions ORDER BY id DESC LIMIT 1",
                &[],
            )
            .await
            .map_err(CentralError::from)?;
        let (last_id, prev): (i64, Vec<u8>) = last
            .map(|r| (r.get(0), r.get(1)))
            .unwrap_or((0, vec![0u8; 32]));
        let mut entry = DecisionEntry {
            id: last_id + 1,
            kiosk_id: kiosk.to_string(),
            record_id: record,
            decision: decision.as_str().to_string(),
            reason: reason.to_string(),
            supervisor: by.username.clone(),
            decided_ms: now_ms(),
            prev_hash: hex::encode(&prev),
            hash: String::new(),
            delivered_ms: None,
            outcome: None,
        };
        let hash = decision_hash(&prev, &entry);
        entry.hash = hex::encode(&hash);
        tx.execute(
            "INSERT INTO central_decisions (id, kiosk_id, record_id, decision, reason, supervisor,
                 decided_ms, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &entry.id,
                &kiosk,
                &record,
                &entry.decision,
                &entry.reason,
                &entry.supervisor,
                &entry.decided_ms,
                &prev,
                &hash,
            ],
        )
        .await
        .map_err(CentralError::from)?;
        tx.execute(
            "UPDATE records SET current_decision = $3, review_status = 'closed'
             WHERE kiosk_id = $1 AND record_id = $2",
            &[&kiosk, &record, &entry.decision],
        )
        .await
        .map_err(CentralError::from)?;
        // The hand-off to core banking is queued in the same transaction as the decision.
        crate::hooks::enqueue_case_decided(
            &tx,
            &self.secret,
            &crate::hooks::CaseDecided {
                kiosk_id: kiosk.to_string(),
                record_id: record,
                decision: entry.decision.clone(),
                decided_ms: entry.decided_ms,
                decided_by: "central_supervisor".into(),
            },
        )
        .await?;
        tx.commit().await.map_err(CentralError::from)?;
        tracing::info!(kiosk, record, id = entry.id, "central: case decided");
        Ok(entry)
    }

    /// The central decision log, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn decisions(&self) -> Result<Vec<DecisionEntry>, CentralError> {
        let c = self.pool.get().await?;
        Ok(c.query(
            &format!("SELECT {DECISION_COLUMNS} FROM central_decisions ORDER BY id"),
            &[],
        )
        .await?
        .iter()
        .map(decision_from_row)
        .collect())
    }

    /// Re-check the central decision log: ids from 1 without gaps, each linking to the
    /// previous hash, each hash over its own content. Returns the problems (empty = intact).
    ///
    /// # Errors
    /// Database errors.
    pub async fn verify_decisions(&self) -> Result<Vec<String>, CentralError> {
        let mut problems = Vec::new();
        let mut prev = vec![0u8; 32];
        for (i, e) in self.decisions().await?.iter().enumerate() {
            if e.id != i as i64 + 1 {
                problems.push(format!("decision {}: expected id {}", e.id, i + 1));
            }
            if e.prev_hash != hex::encode(&prev) {
                problems.push(format!(
                    "decision {}: does not link to the previous one",
                    e.id
                ));
            }
            let want = decision_hash(&prev, e);
            if e.hash != hex::encode(&want) {
                problems.push(format!("decision {}: content differs from its hash", e.id));
            }
            prev = hex::decode(&e.hash).unwrap_or_default();
        }
        Ok(problems)
    }

    /// A kiosk's inbox: its decisions not yet acknowledged (oldest first) and the newest fleet
    /// policy.
    ///
    /// # Errors
    /// Database errors.
    pub async fn inbox(&self, kiosk: &str) -> Result<Inbox, CentralError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {DECISION_COLUMNS} FROM central_decisions
                     WHERE kiosk_id = $1 AND delivered_ms IS NULL ORDER BY id"
                ),
                &[&kiosk],
            )
            .await?;
        let mut decisions = Vec::with_capacity(rows.len());
        for r in &rows {
            let e = decision_from_row(r);
            decisions.push(CentralDecisionIn {
                id: e.id,
                record_id: e.record_id,
                decision: Decision::parse(&e.decision)
                    .map_err(|_| CentralError::Setup(format!("decision {}: bad value", e.id)))?,
                reason: e.reason,
                supervisor: e.supervisor,
                decided_ms: e.decided_ms,
                hash: e.hash,
            });
        }
        drop(c);
        let policy = self.policy().await?.map(|p| p.applied());
        Ok(Inbox { decisions, policy })
    }

    /// A kiosk acknowledges decisions (marked delivered with their outcome; an unknown or
    /// another kiosk's id is ignored) and the policy version it has in force.
    ///
    /// # Errors
    /// Database errors.
    pub async fn inbox_ack(&self, kiosk: &str, ack: &InboxAck) -> Result<u64, CentralError> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let now = now_ms();
        let mut n = 0;
        for a in &ack.decisions {
            let outcome: String = a.outcome.chars().take(500).collect();
            n += tx
                .execute(
                    "UPDATE central_decisions SET delivered_ms = $3, outcome = $4
                     WHERE id = $1 AND kiosk_id = $2 AND delivered_ms IS NULL",
                    &[&a.id, &kiosk, &now, &outcome],
                )
                .await?;
        }
        if let Some(v) = ack.policy_version {
            tx.execute(
                "INSERT INTO kiosk_policy (kiosk_id, version, applied_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (kiosk_id) DO UPDATE SET version = EXCLUDED.version,
                     applied_ms = EXCLUDED.applied_ms",
                &[&kiosk, &v, &now],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Seal `value` as JSON from the central key to `peer` under `aad`.
    ///
    /// # Errors
    /// 503 when it cannot be sealed.
    pub fn seal_reply<T: Serialize>(
        &self,
        peer: &[u8; 32],
        aad: &[u8],
        value: &T,
    ) -> Result<SealedReply, ApiError> {
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(value).map_err(|e| CentralError::Setup(e.to_string()))?,
        );
        let sealed = box_seal(&self.secret, peer, aad, &plain)
            .map_err(|e: FleetError| ApiError::bad_request("bad_key", &e.to_string()))?;
        Ok(SealedReply {
            sealed: B64.encode(sealed),
        })
    }

    /// Fill the database with `records` synthetic cases (100 kiosks in 20 branches, five kiosks
    /// a branch; 30 % of the cases referred, one in 13 of those closed, the rest pending; one
    /// referred case in 1009 with a rare reason; the sealed row is a placeholder the listing
    /// never opens), vacuum and analyse the table as autovacuum would, then time the queue's
    /// queries `runs` times each through [`Central::queue`].
    ///
    /// # Errors
    /// Database errors.
    pub async fn bench_queue(&self, records: i64, runs: usize) -> Result<QueueBench, CentralError> {
        let started = std::time::Instant::now();
        let base = now_ms() - records * 1000;
        {
            let c = self.pool.get().await?;
            c.execute(
                "INSERT INTO kiosks (kiosk_id, enrolled_ms, branch)
                 SELECT 'bench-' || lpad(g::text, 3, '0'), $1,
                        'branch-' || lpad((g / 5)::text, 2, '0')
                 FROM generate_series(0, 99) g ON CONFLICT DO NOTHING",
                &[&base],
            )
            .await?;
            let mut from = 1i64;
            while from <= records {
                let to = (from + 99_999).min(records);
                c.execute(
                    "INSERT INTO records (kiosk_id, record_id, event_seq, created_ms, decision,
                         current_decision, review_status, sealed_row, received_ms, case_indexed,
                         operator, branch, reason, confidence)
                     SELECT 'bench-' || lpad((g % 100)::text, 3, '0'), g, g, $3 + g * 1000,
                         d, d, CASE WHEN d = 'refer' AND g % 13 = 0 THEN 'closed'
                                   WHEN d = 'refer' THEN 'pending' ELSE 'none' END,
                         '\\x00'::bytea, $3 + g * 1000, TRUE,
                         'agent-' || (g % 300), 'branch-' || lpad(((g % 100) / 5)::text, 2, '0'),
                         CASE WHEN d = 'refer' AND g % 1009 = 0
                                  THEN 'portrait shows signs of a screen replay'
                              WHEN d = 'refer' AND g % 7 = 0 THEN 'possible duplicate enrolment'
                              WHEN d = 'refer' THEN 'overall confidence below the approval threshold'
                              WHEN d = 'reject' THEN 'face does not match the document'
                              ELSE 'all checks passed' END,
                         (g % 100)::float8
                     FROM (SELECT g, CASE WHEN g % 10 < 3 THEN 'refer'
                                          WHEN g % 10 < 8 THEN 'approve'
                                          ELSE 'reject' END AS d
                           FROM generate_series($1::bigint, $2::bigint) g) s
                     ON CONFLICT DO NOTHING",
                    &[&from, &to, &base],
                )
                .await?;
                from = to + 1;
            }
            c.batch_execute("VACUUM ANALYZE records").await?;
        }
        let load_seconds = started.elapsed().as_secs_f64();
        let c = self.pool.get().await?;
        let total: i64 = c
            .query_one("SELECT count(*) FROM records", &[])
            .await?
            .get(0);
        let kiosks: i64 = c
            .query_one("SELECT count(*) FROM kiosks", &[])
            .await?
            .get(0);
        drop(c);
        let mid = base + records * 500;
        let week = 7 * 24 * 3600 * 1000;
        let f = |k: Option<&str>, b: Option<&str>, s: &str| QueueFilter {
            kiosk: k.map(str::to_string),
            branch: b.map(str::to_string),
            status: Some(s.to_string()),
            ..QueueFilter::default()
        };
        let cases: Vec<(String, QueueFilter, i64)> = vec![
            ("pending, newest 50".into(), f(None, None, "pending"), 0),
            (
                "pending, one kiosk".into(),
                f(Some("bench-042"), None, "pending"),
                0,
            ),
            (
                "pending, one branch".into(),
                f(None, Some("branch-08"), "pending"),
                0,
            ),
            (
                "pending, one week in the middle".into(),
                QueueFilter {
                    from_ms: Some(mid),
                    to_ms: Some(mid + week),
                    ..f(None, None, "pending")
                },
                0,
            ),
            (
                "pending, reason contains 'duplicate'".into(),
                QueueFilter {
                    reason: Some("duplicate".into()),
                    ..f(None, None, "pending")
                },
                0,
            ),
            (
                "pending, reason contains 'screen replay' (rare)".into(),
                QueueFilter {
                    reason: Some("screen replay".into()),
                    ..f(None, None, "pending")
                },
                0,
            ),
            (
                "pending, reason matches nothing".into(),
                QueueFilter {
                    reason: Some("no such reason".into()),
                    ..f(None, None, "pending")
                },
                0,
            ),
            (
                "kiosk + branch + week + reason".into(),
                QueueFilter {
                    from_ms: Some(mid),
                    to_ms: Some(mid + week),
                    reason: Some("duplicate".into()),
                    ..f(Some("bench-042"), Some("branch-08"), "pending")
                },
                0,
            ),
            (
                "branch + week + rare reason".into(),
                QueueFilter {
                    from_ms: Some(mid),
                    to_ms: Some(mid + week),
                    reason: Some("screen replay".into()),
                    ..f(None, Some("branch-08"), "pending")
                },
                0,
            ),
            (
                "kiosk + a branch it is not in".into(),
                f(Some("bench-042"), Some("branch-09"), "pending"),
                0,
            ),
            ("all statuses, page 21".into(), f(None, None, "all"), 1000),
            (
                "all statuses, one kiosk".into(),
                f(Some("bench-042"), None, "all"),
                0,
            ),
            (
                "all statuses, one branch".into(),
                f(None, Some("branch-08"), "all"),
                0,
            ),
            (
                "all statuses, one week".into(),
                QueueFilter {
                    from_ms: Some(mid),
                    to_ms: Some(mid + week),
                    ..f(None, None, "all")
                },
                0,
            ),
            (
                "all statuses, one kiosk + reason".into(),
                QueueFilter {
                    reason: Some("duplicate".into()),
                    ..f(Some("bench-042"), None, "all")
                },
                0,
            ),
            (
                "closed, one branch".into(),
                f(None, Some("branch-08"), "closed"),
                0,
            ),
        ];
        let mut queries = Vec::new();
        for (name, filter, offset) in cases {
            let mut times = Vec::with_capacity(runs);
            let mut rows = 0;
            for _ in 0..runs.max(1) {
                let t = std::time::Instant::now();
                let page = self.queue(&filter, offset, 50).await?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                rows = page.cases.len();
            }
            times.sort_by(f64::total_cmp);
            let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
            queries.push(BenchLine {
                query: name,
                rows,
                median_ms: at(0.5),
                p95_ms: at(0.95),
                max_ms: at(1.0),
            });
        }
        Ok(QueueBench {
            records: total,
            kiosks,
            load_seconds,
            runs: runs.max(1),
            queries,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP handlers (routes in `server.rs`).

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request("bad_json", &format!("body is not the expected JSON: {e}"))
    })
}

fn header_fn(headers: &HeaderMap) -> impl Fn(&str) -> Option<String> + '_ {
    |h| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

fn path_of(uri: &Uri) -> &str {
    uri.path_and_query()
        .map(|p| p.as_str())
        .unwrap_or(uri.path())
}

/// `POST /v1/supervisor/enroll`.
pub(crate) async fn ws_enroll(
    State(c): State<Arc<Central>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: WorkstationEnrollRequest = parse(&body)?;
    Ok(axum::Json(c.enroll_workstation(&req).await?).into_response())
}

/// The supervisor endpoints: authenticate the workstation, act, answer sealed to it.
pub(crate) async fn supervisor(
    State(c): State<Arc<Central>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let path = path_of(&uri).to_string();
    let (ws, box_key, nonce) = c
        .authenticate_workstation(method.as_str(), &path, header_fn(&headers), &body)
        .await?;
    let aad = reply_aad(&workstation_signer(&ws), &nonce);
    let reply = match path.as_str() {
        paths::LOGIN => {
            let req: LoginRequest = parse(&body)?;
            c.seal_reply(&box_key, &aad, &c.supervisor_login(&ws, &req).await?)?
        }
        paths::QUEUE => {
            let req: QueueRequest = parse(&body)?;
            c.session_user(&ws, &req.session).await?;
            let page = c.queue(&req.filter, req.offset, req.limit).await?;
            c.seal_reply(&box_key, &aad, &page)?
        }
        paths::CASE => {
            let req: CaseRequest = parse(&body)?;
            c.session_user(&ws, &req.session).await?;
            let case = c.case_detail(&req.kiosk_id, req.record_id).await?;
            c.seal_reply(&box_key, &aad, &case)?
        }
        paths::DECIDE => {
            let req: DecideRequest = parse(&body)?;
            let user = c.session_user(&ws, &req.session).await?;
            let entry = c
                .decide(
                    &user,
                    &req.kiosk_id,
                    req.record_id,
                    &req.decision,
                    &req.reason,
                )
                .await?;
            c.seal_reply(&box_key, &aad, &entry)?
        }
        _ => {
            return Err(ApiError::from(CentralError::NotFound(path)));
        }
    };
    Ok(axum::Json(reply).into_response())
}

/// `POST /v1/sync/inbox`: a kiosk's pending decisions and the fleet policy, sealed to the
/// one-time key in its signed request.
pub(crate) async fn inbox(
    State(c): State<Arc<Central>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kiosk = c
        .authenticate(method.as_str(), path_of(&uri), header_fn(&headers), &body)
        .await?;
    let nonce = headers
        .get(headers::NONCE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let head = c.head(&kiosk).await?;
    if head.quarantined {
        return Err(ApiError::quarantined(&head.reason.unwrap_or_default()));
    }
    let req: InboxRequest = parse(&body)?;
    let key: [u8; 32] = hex::decode(&req.reply_key)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| ApiError::bad_request("bad_key", "replyKey is not 32 bytes of hex"))?;
    let inbox = c.inbox(&kiosk).await?;
    Ok(axum::Json(c.seal_reply(&key, &reply_aad(&kiosk, &nonce), &inbox)?).into_response())
}

/// `POST /v1/sync/inbox/ack`.
pub(crate) async fn inbox_ack(
    State(c): State<Arc<Central>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kiosk = c
        .authenticate(method.as_str(), path_of(&uri), header_fn(&headers), &body)
        .await?;
    let req: InboxAck = parse(&body)?;
    let n = c.inbox_ack(&kiosk, &req).await?;
    Ok(axum::Json(serde_json::json!({ "delivered": n })).into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn reason(r: &str) -> QueueFilter {
        QueueFilter {
            reason: Some(r.into()),
            ..QueueFilter::default()
        }
    }

    #[test]
    fn a_reason_too_short_for_the_trigram_index_is_refused() {
        for short in ["a", "ab", " ab "] {
            let e = QueueSql::new(&reason(short)).unwrap_err().to_string();
            assert!(e.contains("at least 3 characters"), "{short:?}: {e}");
        }
        assert!(QueueSql::new(&reason("abc")).is_ok());
        // Blank means no reason filter at all.
        assert!(QueueSql::new(&reason("   ")).unwrap().reason.is_none());
        let long = "x".repeat(201);
        assert!(QueueSql::new(&reason(&long)).is_err());
    }

    #[test]
    fn reason_wildcards_are_matched_literally() {
        let q = QueueSql::new(&reason(r"50%_off\now")).unwrap();
        assert_eq!(q.reason.as_deref(), Some(r"%50\%\_off\\now%"));
    }

    #[test]
    fn an_unknown_status_is_refused() {
        let f = QueueFilter {
            status: Some("open".into()),
            ..QueueFilter::default()
        };
        assert!(
            QueueSql::new(&f)
                .unwrap_err()
                .to_string()
                .contains("status")
        );
    }

    #[test]
    fn the_newest_step_reads_a_bounded_number_of_candidates_in_order() {
        let f = QueueFilter {
            kiosk: Some("k1".into()),
            branch: Some("b1".into()),
            status: Some("pending".into()),
            from_ms: Some(1),
            to_ms: Some(2),
            reason: Some("duplicate".into()),
        };
        let q = QueueSql::new(&f).unwrap();
        let (newest, args) = q.sql(QueueStep::Newest, 0, 50);
        // Every filter but the reason inside, the reason outside, then limit and offset.
        assert_eq!(args.len(), 8);
        let inner_end = newest.find(") r WHERE").unwrap();
        let inner = &newest[..inner_end];
        for c in [
            "r.review_status = $1",
            "r.kiosk_id = $2",
            "r.branch = $3",
            "r.created_ms >= $4",
            "r.created_ms < $5",
        ] {
            assert!(inner.contains(c), "{c} in {inner}");
        }
        assert!(inner.contains(&format!("LIMIT {REASON_SCAN_ROWS}")));
        assert!(!inner.contains("ILIKE"));
        assert!(newest[inner_end..].contains("r.reason ILIKE $6"));
        assert!(newest.ends_with("LIMIT $7 OFFSET $8"));
        let (all, args) = q.sql(QueueStep::All, 0, 50);
        assert_eq!(args.len(), 8);
        assert!(!all.contains("LIMIT 1000"));
        assert!(all.contains("r.reason ILIKE $6"));
    }
}
