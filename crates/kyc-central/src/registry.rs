//! Registry checks: the centre asks an issuing authority's registry (or a service in front of
//! one) whether a case's ID exists and belongs to the person, when an adapter and its
//! credentials are configured for the case's country and ID type.
//!
//! Adapters implement [`RegistryAdapter`]; each configured one is a row of
//! `registry_adapters` (one per country and ID type, its credential sealed to the central
//! key), built by [`adapter_for`]. When a record arrives whose (country, ID type) has an
//! adapter, a check is queued in the same transaction; the worker runs it and attaches the
//! outcome — `matched`, `not_matched` or `error`, with the adapter's name and the time — to the
//! case. A case without a configured adapter says `not_checked`: nothing is ever made up.
//!
//! The one adapter shipped, [`HttpJsonAdapter`] (kind `http-json`), calls an HTTP endpoint
//! with the JSON contract described in `docs/fleet.md` ("Registry checks"), the shape of the
//! reference services' per-country ID lookups: the ID number and the holder's name and date of
//! birth go in; whether the ID was found and whether each field matches come back.

use std::time::Duration;

use kyc_core::audit::{VerificationCanon, now_ms};
use kyc_core::fleet::http;
use kyc_core::fleet::{open_sealed, seal_to};
use serde::{Deserialize, Serialize};
use tokio_postgres::GenericClient;
use zeroize::Zeroizing;

use crate::hooks::{load_row, parse_http_url};
use crate::{Central, CentralError, CentralUser, adminlog};

/// The adapter kinds this build knows.
pub const ADAPTER_KINDS: &[&str] = &["http-json"];
/// Smallest credential accepted.
pub const MIN_CREDENTIAL_BYTES: usize = 16;

/// What is asked of a registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryQuery {
    /// The case (`kiosk/record`), for the registry's own logs.
    pub reference: String,
    /// Country as the kiosk recorded it.
    pub country: String,
    /// ID type.
    pub id_type: String,
    /// The ID number (the number read from the document, else the one the customer claimed).
    pub id_number: String,
    /// Holder's full name as read, when read.
    pub full_name: Option<String>,
    /// Given names, when read.
    pub first_name: Option<String>,
    /// Surname, when read.
    pub last_name: Option<String>,
    /// ISO date of birth, when read.
    pub date_of_birth: Option<String>,
}

/// A registry's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryOutcome {
    /// The ID exists and every field sent matches.
    Matched(String),
    /// The ID does not exist, or a field sent does not match.
    NotMatched(String),
    /// No usable answer (refused credentials, server error, time-out, malformed answer).
    Error(String),
}

impl RegistryOutcome {
    /// Stored state word.
    pub fn state(&self) -> &'static str {
        match self {
            RegistryOutcome::Matched(_) => "matched",
            RegistryOutcome::NotMatched(_) => "not_matched",
            RegistryOutcome::Error(_) => "error",
        }
    }
    /// What was found.
    pub fn detail(&self) -> &str {
        match self {
            RegistryOutcome::Matched(d)
            | RegistryOutcome::NotMatched(d)
            | RegistryOutcome::Error(d) => d,
        }
    }
}

/// A registry adapter: one country and ID type's lookup. `check` blocks (the worker runs it
/// off the async runtime) and must return within its own time-out.
pub trait RegistryAdapter: Send + Sync {
    /// The configured name, attached to the case with the outcome.
    fn name(&self) -> &str;
    /// Ask the registry.
    fn check(&self, query: &RegistryQuery) -> RegistryOutcome;
}

/// The `http-json` adapter: `POST` of a [`RegistryQuery`] as JSON with
/// `Authorization: Bearer <credential>`, answered by a [`HttpJsonAnswer`].
pub struct HttpJsonAdapter {
    name: String,
    url: String,
    credential: Zeroizing<String>,
    timeout: Duration,
}

impl std::fmt::Debug for HttpJsonAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpJsonAdapter")
            .field("name", &self.name)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The answer the `http-json` contract expects (HTTP 200; 404 means not found too).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpJsonAnswer {
    /// `found` or `not_found`.
    pub status: String,
    /// Whether the registry's name matches the name sent (absent/null: not compared).
    #[serde(default)]
    pub full_name_match: Option<bool>,
    /// Whether the registry's date of birth matches (absent/null: not compared).
    #[serde(default)]
    pub date_of_birth_match: Option<bool>,
}

impl HttpJsonAdapter {
    /// An adapter calling `url` (http://) with `credential`.
    ///
    /// # Errors
    /// `InvalidInput` for the URL.
    pub fn new(
        name: &str,
        url: &str,
        credential: &str,
        timeout: Duration,
    ) -> Result<Self, CentralError> {
        parse_http_url(url)?;
        Ok(HttpJsonAdapter {
            name: name.to_string(),
            url: url.to_string(),
            credential: Zeroizing::new(credential.to_string()),
            timeout,
        })
    }
}

/// Judge an `http-json` answer.
pub fn judge_answer(status: u16, body: &[u8]) -> RegistryOutcome {
    if status == 404 {
        return RegistryOutcome::NotMatched("the registry has no such ID (404)".into());
    }
    if status != 200 {
        return RegistryOutcome::Error(format!("the registry answered HTTP {status}"));
    }
    let a: HttpJsonAnswer = match serde_json::from_slice(body) {
        Ok(a) => a,
        Err(e) => return RegistryOutcome::Error(format!("malformed answer: {e}")),
    };
    match a.status.as_str() {
        "not_found" => RegistryOutcome::NotMatched("the registry has no such ID".into()),
        "found" => {
            let mut differs = Vec::new();
            if a.full_name_match == Some(false) {
                differs.push("full name");
            }
            if a.date_of_birth_match == Some(false) {
                differs.push("date of birth");
            }
            let compared: Vec<&str> = [
                ("full name", a.full_name_match),
                ("date of birth", a.date_of_birth_match),
            ]
            .iter()
            .filter(|(_, m)| m.is_some())
            .map(|(n, _)| *n)
            .collect();
            if differs.is_empty() {
                RegistryOutcome::Matched(if compared.is_empty() {
                    "ID found (no field compared)".into()
                } else {
                    format!("ID found; {} match", compared.join(" and "))
                })
            } else {
                RegistryOutcome::NotMatched(format!(
                    "ID found but the {} differ(s)",
                    differs.join(" and ")
                ))
            }
        }
        other => RegistryOutcome::Error(format!("unknown status {other:?} in the answer")),
    }
}

impl RegistryAdapter for HttpJsonAdapter {
    fn name(&self) -> &str {
        &self.name
    }

    fn check(&self, query: &RegistryQuery) -> RegistryOutcome {
        let (server, path) = match parse_http_url(&self.url) {
            Ok(p) => p,
            Err(e) => return RegistryOutcome::Error(e.to_string()),
        };
        let body = match serde_json::to_vec(query) {
            Ok(b) => b,
            Err(e) => return RegistryOutcome::Error(e.to_string()),
        };
        let headers = [
            (
                "Authorization",
                format!("Bearer {}", self.credential.as_str()),
            ),
            ("Accept", "application/json".to_string()),
        ];
        match http::request(&server, "POST", &path, &headers, &body, self.timeout) {
            Ok(r) => judge_answer(r.status, &r.body),
            Err(e) => RegistryOutcome::Error(format!("no answer: {e}")),
        }
    }
}

/// A configured adapter (its credential is never shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdapterConfig {
    /// Id.
    pub id: i64,
    /// Name shown with each outcome.
    pub name: String,
    /// Kind (`http-json`).
    pub kind: String,
    /// Country (as the kiosk records it, upper case).
    pub country: String,
    /// ID type (lower case).
    pub id_type: String,
    /// Endpoint.
    pub url: String,
    /// Time-out per request, ms.
    pub timeout_ms: i64,
    /// Who configured it.
    pub created_by: String,
}

/// A case's registry check, as attached to the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryCheck {
    /// `not_checked`, `pending`, `matched`, `not_matched` or `error`.
    pub registry_check: String,
    /// The adapter's name (absent when not checked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
    /// When the answer came, ms since epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_ms: Option<i64>,
    /// What was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

fn credential_aad(id: i64) -> Vec<u8> {
    format!("kyc-central:registry-credential:{id}").into_bytes()
}

/// Build the adapter a configuration row describes.
///
/// # Errors
/// `InvalidInput` for an unknown kind or a bad URL.
pub fn adapter_for(
    kind: &str,
    name: &str,
    url: &str,
    credential: &str,
    timeout: Duration,
) -> Result<Box<dyn RegistryAdapter>, CentralError> {
    match kind {
        "http-json" => Ok(Box::new(HttpJsonAdapter::new(
            name, url, credential, timeout,
        )?)),
        other => Err(CentralError::InvalidInput(format!(
            "registry adapter kind {other:?}: this build knows {}",
            ADAPTER_KINDS.join(", ")
        ))),
    }
}

fn case_keys(row: &VerificationCanon) -> Option<(String, String)> {
    let result: serde_json::Value = serde_json::from_str(&row.result_json).ok()?;
    let id_type = row.claimed_id_type.clone().or_else(|| {
        result
            .pointer("/document/reading/fields/documentType/value")
            .and_then(|v| v.as_str())
            .map(str::to_string)
    })?;
    Some((row.country.clone()?.to_uppercase(), id_type.to_lowercase()))
}

fn field(result: &serde_json::Value, name: &str) -> Option<String> {
    result
        .pointer(&format!("/document/reading/fields/{name}/value"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// The query for a stored case, or why there is none.
fn query_for(kiosk_id: &str, row: &VerificationCanon) -> Result<RegistryQuery, String> {
    let (country, id_type) = case_keys(row).ok_or("the case has no country or ID type")?;
    let id_number = row
        .document_number
        .clone()
        .or_else(|| row.claimed_id_number.clone())
        .ok_or("the case has no ID number")?;
    let result: serde_json::Value =
        serde_json::from_str(&row.result_json).unwrap_or(serde_json::Value::Null);
    Ok(RegistryQuery {
        reference: format!("{kiosk_id}/{}", row.id),
        country,
        id_type,
        id_number,
        full_name: row.full_name.clone(),
        first_name: field(&result, "firstName"),
        last_name: field(&result, "lastName"),
        date_of_birth: field(&result, "dateOfBirth"),
    })
}

/// Queue a check for a record that just arrived, inside the caller's transaction, when an
/// adapter is configured for its country and ID type. Returns whether one was queued.
///
/// # Errors
/// Database errors.
pub async fn enqueue_check<C: GenericClient>(
    c: &C,
    kiosk_id: &str,
    row: &VerificationCanon,
) -> Result<bool, CentralError> {
    let Some((country, id_type)) = case_keys(row) else {
        return Ok(false);
    };
    let Some(adapter) = c
        .query_opt(
            "SELECT id FROM registry_adapters
             WHERE country = $1 AND id_type = $2 AND removed_ms IS NULL",
            &[&country, &id_type],
        )
        .await?
    else {
        return Ok(false);
    };
    let id: i64 = adapter.get(0);
    let now = now_ms();
    let n = c
        .execute(
            "INSERT INTO registry_checks (kiosk_id, record_id, adapter_id, state, queued_ms,
                 not_before_ms) VALUES ($1, $2, $3, 'pending', $4, $4)
             ON CONFLICT (kiosk_id, record_id) DO NOTHING",
            &[&kiosk_id, &row.id, &id, &now],
        )
        .await?;
    Ok(n > 0)
}

/// The state word of a case's check (`not_checked` when none was queued).
///
/// # Errors
/// Database errors.
pub async fn check_state<C: GenericClient>(
    c: &C,
    kiosk_id: &str,
    record_id: i64,
) -> Result<String, CentralError> {
    Ok(c.query_opt(
        "SELECT state FROM registry_checks WHERE kiosk_id = $1 AND record_id = $2",
        &[&kiosk_id, &record_id],
    )
    .await?
    .map_or_else(|| "not_checked".to_string(), |r| r.get(0)))
}

impl Central {
    /// An administrator configures an adapter for `country` and `id_type` (one at a time per
    /// pair); returns its id. Logged.
    ///
    /// # Errors
    /// `Forbidden`; `InvalidInput` (kind, URL, name, credential shorter than
    /// [`MIN_CREDENTIAL_BYTES`]); `Conflict` when the pair has one already.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_registry_adapter(
        &self,
        by: &CentralUser,
        name: &str,
        kind: &str,
        country: &str,
        id_type: &str,
        url: &str,
        credential: &str,
        timeout_ms: i64,
    ) -> Result<i64, CentralError> {
        by.require_admin()?;
        let bad = |m: String| Err(CentralError::InvalidInput(m));
        if name.trim().is_empty() || name.len() > 64 {
            return bad("the adapter's name must be 1 to 64 characters".into());
        }
        if country.is_empty()
            || country.len() > 3
            || !country.chars().all(|c| c.is_ascii_alphabetic())
        {
            return bad(format!(
                "country {country:?}: the 2- or 3-letter code the kiosk records"
            ));
        }
        if id_type.is_empty()
            || id_type.len() > 40
            || !id_type
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return bad(format!("ID type {id_type:?}: e.g. passport, national_id"));
        }
        if !(100..=120_000).contains(&timeout_ms) {
            return bad("the time-out must be 100 to 120000 ms".into());
        }
        if credential.len() < MIN_CREDENTIAL_BYTES || credential.contains(['\r', '\n']) {
            return bad(format!(
                "the credential must be one line of at least {MIN_CREDENTIAL_BYTES} bytes"
            ));
        }
        adapter_for(
            kind,
            name,
            url,
            credential,
            Duration::from_millis(timeout_ms as u64),
        )?;
        let (country, id_type) = (country.to_uppercase(), id_type.to_lowercase());
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let taken = tx
            .query_opt(
                "SELECT id FROM registry_adapters
                 WHERE country = $1 AND id_type = $2 AND removed_ms IS NULL",
                &[&country, &id_type],
            )
            .await?;
        if let Some(r) = taken {
            return Err(CentralError::Conflict(format!(
                "{country} {id_type} has adapter {} already; remove it first",
                r.get::<_, i64>(0)
            )));
        }
        let id: i64 = tx
            .query_one("SELECT nextval('registry_adapters_id')", &[])
            .await?
            .get(0);
        let sealed = seal_to(
            &self.public_key(),
            &credential_aad(id),
            credential.as_bytes(),
        )
        .map_err(|e| CentralError::Setup(format!("sealing: {e}")))?;
        tx.execute(
            "INSERT INTO registry_adapters (id, name, kind, country, id_type, url,
                 sealed_credential, timeout_ms, created_by, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &id,
                &name,
                &kind,
                &country,
                &id_type,
                &url,
                &sealed,
                &timeout_ms,
                &by.username,
                &now_ms(),
            ],
        )
        .await?;
        adminlog::append(
            &tx,
            by,
            "registry_add",
            &format!("registry adapter {id}"),
            "",
            &serde_json::json!({
                "name": name, "kind": kind, "country": country, "idType": id_type, "url": url,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Adapters in use.
    ///
    /// # Errors
    /// `Forbidden`; database errors.
    pub async fn registry_adapters(
        &self,
        by: &CentralUser,
    ) -> Result<Vec<AdapterConfig>, CentralError> {
        by.require_admin()?;
        let c = self.pool.get().await?;
        Ok(c.query(
            "SELECT id, name, kind, country, id_type, url, timeout_ms, created_by
             FROM registry_adapters WHERE removed_ms IS NULL ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| AdapterConfig {
            id: r.get(0),
            name: r.get(1),
            kind: r.get(2),
            country: r.get(3),
            id_type: r.get(4),
            url: r.get(5),
            timeout_ms: r.get(6),
            created_by: r.get(7),
        })
        .collect())
    }

    /// An administrator removes an adapter: no new checks are queued for it; its pending
    /// checks end as `error` ("adapter removed"). Logged.
    ///
    /// # Errors
    /// `Forbidden`, `NotFound`, `InvalidInput` (reason).
    pub async fn remove_registry_adapter(
        &self,
        by: &CentralUser,
        id: i64,
        reason: &str,
    ) -> Result<(), CentralError> {
        by.require_admin()?;
        let reason = adminlog::require_reason(reason)?;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let now = now_ms();
        if tx
            .execute(
                "UPDATE registry_adapters SET removed_ms = $2, removed_by = $3
                 WHERE id = $1 AND removed_ms IS NULL",
                &[&id, &now, &by.username],
            )
            .await?
            == 0
        {
            return Err(CentralError::NotFound(format!("registry adapter {id}")));
        }
        tx.execute(
            "UPDATE registry_checks SET state = 'error', detail = 'adapter removed',
                 checked_ms = $2 WHERE adapter_id = $1 AND state = 'pending'",
            &[&id, &now],
        )
        .await?;
        adminlog::append(
            &tx,
            by,
            "registry_remove",
            &format!("registry adapter {id}"),
            reason,
            &serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A case's registry check (`not_checked` when no adapter was configured for it).
    ///
    /// # Errors
    /// Database errors.
    pub async fn registry_check(
        &self,
        kiosk_id: &str,
        record_id: i64,
    ) -> Result<RegistryCheck, CentralError> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                "SELECT r.state, a.name, r.checked_ms, r.detail FROM registry_checks r
                 JOIN registry_adapters a ON a.id = r.adapter_id
                 WHERE r.kiosk_id = $1 AND r.record_id = $2",
                &[&kiosk_id, &record_id],
            )
            .await?;
        Ok(match row {
            Some(r) => RegistryCheck {
                registry_check: r.get(0),
                adapter: Some(r.get(1)),
                checked_ms: r.get(2),
                detail: r.get(3),
            },
            None => RegistryCheck {
                registry_check: "not_checked".into(),
                adapter: None,
                checked_ms: None,
                detail: None,
            },
        })
    }

    /// Run the pending registry checks (at most 8 per call, each claimed for a minute so
    /// another worker leaves it). Returns how many were answered.
    ///
    /// # Errors
    /// Database errors.
    pub async fn run_registry_checks(&self) -> Result<usize, CentralError> {
        let now = now_ms();
        let claimed = {
            let mut c = self.pool.get().await?;
            let tx = c.transaction().await?;
            let rows = tx
                .query(
                    "SELECT r.kiosk_id, r.record_id, a.id, a.kind, a.name, a.url,
                         a.sealed_credential, a.timeout_ms
                     FROM registry_checks r JOIN registry_adapters a ON a.id = r.adapter_id
                     WHERE r.state = 'pending' AND r.not_before_ms <= $1
                     ORDER BY r.queued_ms LIMIT 8 FOR UPDATE OF r SKIP LOCKED",
                    &[&now],
                )
                .await?;
            for r in &rows {
                tx.execute(
                    "UPDATE registry_checks SET attempts = attempts + 1, not_before_ms = $3
                     WHERE kiosk_id = $1 AND record_id = $2",
                    &[&r.get::<_, String>(0), &r.get::<_, i64>(1), &(now + 60_000)],
                )
                .await?;
            }
            tx.commit().await?;
            rows
        };
        let mut answered = 0;
        for r in claimed {
            let (kiosk, record, adapter_id, kind, name, url, sealed, timeout_ms): (
                String,
                i64,
                i64,
                String,
                String,
                String,
                Vec<u8>,
                i64,
            ) = (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
                r.get(7),
            );
            let outcome = {
                let c = self.pool.get().await?;
                let row = load_row(&*c, &self.secret, &kiosk, record).await;
                drop(c);
                let credential = open_sealed(&self.secret, &credential_aad(adapter_id), &sealed)
                    .ok()
                    .and_then(|p| String::from_utf8(p.to_vec()).ok())
                    .map(Zeroizing::new);
                match (row, credential) {
                    (Ok(row), Some(cred)) => match query_for(&kiosk, &row) {
                        Ok(q) => match adapter_for(
                            &kind,
                            &name,
                            &url,
                            &cred,
                            Duration::from_millis(timeout_ms.max(1) as u64),
                        ) {
                            Ok(a) => tokio::task::spawn_blocking(move || a.check(&q))
                                .await
                                .unwrap_or_else(|e| {
                                    RegistryOutcome::Error(format!("check task failed: {e}"))
                                }),
                            Err(e) => RegistryOutcome::Error(e.to_string()),
                        },
                        Err(why) => RegistryOutcome::Error(why),
                    },
                    (Err(e), _) => RegistryOutcome::Error(e.to_string()),
                    (_, None) => RegistryOutcome::Error(
                        "the credential does not open with the central key".into(),
                    ),
                }
            };
            let c = self.pool.get().await?;
            c.execute(
                "UPDATE registry_checks SET state = $3, detail = $4, checked_ms = $5
                 WHERE kiosk_id = $1 AND record_id = $2",
                &[
                    &kiosk,
                    &record,
                    &outcome.state(),
                    &outcome.detail(),
                    &now_ms(),
                ],
            )
            .await?;
            tracing::info!(kiosk_id = %kiosk, record_id = record, adapter = %name, outcome = outcome.state(), "central: registry check");
            answered += 1;
        }
        Ok(answered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_judged_by_the_contract() {
        let j = |s: u16, b: &str| judge_answer(s, b.as_bytes());
        assert_eq!(
            j(
                200,
                r#"{"status":"found","fullNameMatch":true,"dateOfBirthMatch":true}"#
            )
            .state(),
            "matched"
        );
        assert_eq!(j(200, r#"{"status":"found"}"#).state(), "matched");
        let name_differs = j(200, r#"{"status":"found","fullNameMatch":false}"#);
        assert_eq!(name_differs.state(), "not_matched");
        assert!(name_differs.detail().contains("full name"));
        assert_eq!(j(200, r#"{"status":"not_found"}"#).state(), "not_matched");
        assert_eq!(j(404, "").state(), "not_matched");
        assert_eq!(j(401, r#"{"status":"found"}"#).state(), "error");
        assert_eq!(j(500, "").state(), "error");
        assert_eq!(j(200, "not json").state(), "error");
        assert_eq!(j(200, r#"{"status":"maybe"}"#).state(), "error");
    }
}
