//! Fleet settings: the policy an administrator sets centrally (thresholds, liveness rules,
//! duplicate search; the kiosk's own configuration keys), versioned and hash-chained here.
//! Kiosks pull the newest version on sync and put it over their own settings.
//!
//! A policy laxer than the shipped values (the kiosk's safe ranges,
//! `kyc_core::config_guard`) is set only when the administrator confirms exactly its hash,
//! as a kiosk administrator confirms an unsafe configuration.

use kyc_core::audit::{AppliedPolicy, now_ms};
use kyc_core::config_guard::UnsafeValue;
use kyc_core::fleet::supervisor::{apply_policy, policy_hash, policy_unsafe};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::users::CentralUser;
use crate::{Central, CentralError};

/// One version of the fleet policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyEntry {
    /// Version, from 1.
    pub version: i64,
    /// The policy (configuration sections and keys).
    pub policy: serde_json::Value,
    /// SHA-256 of its canonical JSON.
    pub policy_hash: String,
    /// Its values outside the safe range.
    pub unsafe_values: Vec<UnsafeValue>,
    /// The administrator who confirmed those.
    pub confirmed_by: Option<String>,
    /// Who set it.
    pub set_by: String,
    /// When, ms since epoch.
    pub set_ms: i64,
    /// The previous version's hash (hex).
    pub prev_hash: String,
    /// This version's hash (hex).
    pub hash: String,
}

impl PolicyEntry {
    /// What a kiosk chains when it puts this version in force.
    pub fn applied(&self) -> AppliedPolicy {
        AppliedPolicy {
            version: self.version,
            policy_hash: self.policy_hash.clone(),
            policy: self.policy.clone(),
            confirmed_by: self.confirmed_by.clone(),
            set_by: self.set_by.clone(),
            chain_hash: self.hash.clone(),
        }
    }
}

fn entry_hash(prev: &[u8], e: &PolicyEntry) -> Vec<u8> {
    Sha256::digest(
        format!(
            "kyc-central-policy-v1\n{}\n{}\n{}\n{}\n{}\n{}",
            hex::encode(prev),
            e.version,
            e.policy_hash,
            e.confirmed_by.as_deref().unwrap_or("-"),
            e.set_by,
            e.set_ms
        )
        .as_bytes(),
    )
    .to_vec()
}

fn entry_from_row(r: &tokio_postgres::Row) -> Result<PolicyEntry, CentralError> {
    let (policy, unsafe_values): (String, String) = (r.get(1), r.get(3));
    let (prev, hash): (Vec<u8>, Vec<u8>) = (r.get(7), r.get(8));
    let bad = |e: serde_json::Error| CentralError::Setup(format!("stored fleet policy: {e}"));
    Ok(PolicyEntry {
        version: r.get(0),
        policy: serde_json::from_str(&policy).map_err(bad)?,
        policy_hash: r.get(2),
        unsafe_values: serde_json::from_str::<Vec<serde_json::Value>>(&unsafe_values)
            .map_err(bad)?
            .into_iter()
            .map(|v| UnsafeValue {
                key: v["key"].as_str().unwrap_or_default().to_string(),
                value: v["value"].as_str().unwrap_or_default().to_string(),
                safe: v["safe"].as_str().unwrap_or_default().to_string(),
            })
            .collect(),
        confirmed_by: r.get(4),
        set_by: r.get(5),
        set_ms: r.get(6),
        prev_hash: hex::encode(prev),
        hash: hex::encode(hash),
    })
}

const COLUMNS: &str =
    "version, policy, policy_hash, unsafe_values, confirmed_by, set_by, set_ms, prev_hash, hash";

impl Central {
    /// An administrator sets a new fleet policy version. Values laxer than shipped need
    /// `confirm` to be the policy's hash (as printed by the refusal).
    ///
    /// # Errors
    /// `Forbidden` (not an administrator, or laxer values unconfirmed), `InvalidInput` (an
    /// unknown key, a bad value), database errors.
    pub async fn set_policy(
        &self,
        by: &CentralUser,
        policy: &serde_json::Value,
        confirm: Option<&str>,
    ) -> Result<PolicyEntry, CentralError> {
        by.require_admin()?;
        apply_policy(policy, &kyc_core::config::Config::default())
            .map_err(CentralError::InvalidInput)?;
        // Canonical form: keys sorted (serde_json's map), no whitespace.
        let policy: serde_json::Value = serde_json::from_str(&policy.to_string())
            .map_err(|e| CentralError::InvalidInput(e.to_string()))?;
        let hash = policy_hash(&policy);
        let lax = policy_unsafe(&policy).map_err(CentralError::InvalidInput)?;
        let confirmed_by = if lax.is_empty() {
            None
        } else if confirm == Some(hash.as_str()) {
            Some(by.username.clone())
        } else {
            let list = lax
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            return Err(CentralError::Forbidden(format!(
                "values outside the safe range: {list}. This policy (sha256 {hash}) is set only \
                 when an administrator confirms it: add --confirm {hash}"
            )));
        };
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.batch_execute("LOCK TABLE fleet_policies IN EXCLUSIVE MODE")
            .await?;
        let last = tx
            .query_opt(
                "SELECT version, hash FROM fleet_policies ORDER BY version DESC LIMIT 1",
                &[],
            )
            .await?;
        let (last_version, prev): (i64, Vec<u8>) = last
            .map(|r| (r.get(0), r.get(1)))
            .unwrap_or((0, vec![0u8; 32]));
        let mut entry = PolicyEntry {
            version: last_version + 1,
            policy,
            policy_hash: hash,
            unsafe_values: lax,
            confirmed_by,
            set_by: by.username.clone(),
            set_ms: now_ms(),
            prev_hash: hex::encode(&prev),
            hash: String::new(),
        };
        let h = entry_hash(&prev, &entry);
        entry.hash = hex::encode(&h);
        let unsafe_json = serde_json::to_string(&entry.unsafe_values)
            .map_err(|e| CentralError::Setup(e.to_string()))?;
        tx.execute(
            "INSERT INTO fleet_policies (version, policy, policy_hash, unsafe_values,
                 confirmed_by, set_by, set_ms, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &entry.version,
                &entry.policy.to_string(),
                &entry.policy_hash,
                &unsafe_json,
                &entry.confirmed_by,
                &entry.set_by,
                &entry.set_ms,
                &prev,
                &h,
            ],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version = entry.version, "central: fleet policy set");
        Ok(entry)
    }

    /// The newest fleet policy (`None`: none was ever set).
    ///
    /// # Errors
    /// Database errors.
    pub async fn policy(&self) -> Result<Option<PolicyEntry>, CentralError> {
        let c = self.pool.get().await?;
        c.query_opt(
            &format!("SELECT {COLUMNS} FROM fleet_policies ORDER BY version DESC LIMIT 1"),
            &[],
        )
        .await?
        .map(|r| entry_from_row(&r))
        .transpose()
    }

    /// Every version, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn policy_log(&self) -> Result<Vec<PolicyEntry>, CentralError> {
        let c = self.pool.get().await?;
        c.query(
            &format!("SELECT {COLUMNS} FROM fleet_policies ORDER BY version"),
            &[],
        )
        .await?
        .iter()
        .map(entry_from_row)
        .collect()
    }

    /// Re-check the policy log's chain: versions from 1 without gaps, each linking to the
    /// previous hash, each hash over its content, each policy hashing to its stated hash.
    ///
    /// # Errors
    /// Database errors.
    pub async fn verify_policies(&self) -> Result<Vec<String>, CentralError> {
        let mut problems = Vec::new();
        let mut prev = vec![0u8; 32];
        for (i, e) in self.policy_log().await?.iter().enumerate() {
            if e.version != i as i64 + 1 {
                problems.push(format!("policy {}: expected version {}", e.version, i + 1));
            }
            if e.prev_hash != hex::encode(&prev) {
                problems.push(format!(
                    "policy {}: does not link to the previous one",
                    e.version
                ));
            }
            if e.hash != hex::encode(entry_hash(&prev, e))
                || policy_hash(&e.policy) != e.policy_hash
            {
                problems.push(format!(
                    "policy {}: content differs from its hash",
                    e.version
                ));
            }
            prev = hex::decode(&e.hash).unwrap_or_default();
        }
        Ok(problems)
    }

    /// Which policy version each kiosk last reported in force: `(kiosk, version, when)`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn kiosk_policies(&self) -> Result<Vec<(String, i64, i64)>, CentralError> {
        let c = self.pool.get().await?;
        Ok(c.query(
            "SELECT kiosk_id, version, applied_ms FROM kiosk_policy ORDER BY kiosk_id",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
    }
}
