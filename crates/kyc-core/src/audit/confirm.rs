//! An administrator's confirmation of one configuration, chained, and the look-up that finds
//! it again at start: the event's own MAC is checked against the chain key and its confirmer
//! must still be an active administrator, so a row written into the database by hand, or the
//! confirmation of a since-demoted account, confirms nothing.

use rusqlite::{OptionalExtension, params};

use super::chain;
use super::error::AuditError;
use super::store::AuditStore;
use super::users::{Role, UserSession};

/// Chained event kind of a confirmed configuration (written only through
/// [`AuditStore::confirm_config`]).
pub(crate) const EV_CONFIG_CONFIRMED: &str = "config_override_confirmed";

/// A chained confirmation found for a configuration hash.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigConfirmation {
    /// Sequence number of the event in the chain.
    pub seq: i64,
    /// When it was confirmed, ms since the epoch.
    pub ts_ms: i64,
    /// The administrator who confirmed it.
    pub by: String,
}

impl AuditStore {
    /// Chain `by`'s confirmation of the configuration whose hash is `config_hash`; `details`
    /// (the configuration and its unsafe values) go into the event with it. Returns the event's
    /// sequence number.
    ///
    /// # Errors
    /// [`AuditError::PermissionDenied`] unless `by` is an administrator; the store's refusal.
    pub fn confirm_config(
        &mut self,
        by: &UserSession,
        config_hash: &str,
        details: serde_json::Value,
    ) -> Result<i64, AuditError> {
        if by.role() != Role::Admin {
            return Err(AuditError::PermissionDenied {
                role: by.role().as_str().to_string(),
                action: "confirm a configuration outside the safe range".into(),
            });
        }
        if config_hash.len() != 64 || !config_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AuditError::InvalidInput(format!(
                "{config_hash:?} is not a sha256 hex digest"
            )));
        }
        let payload = serde_json::json!({
            "configHash": config_hash,
            "role": by.role().as_str(),
            "details": details,
        });
        self.append(EV_CONFIG_CONFIRMED, by.username(), None, payload)
    }

    /// The newest chained confirmation of `config_hash` whose MAC holds and whose confirmer is
    /// an active administrator now; `None` when there is none.
    ///
    /// # Errors
    /// The store's keys are unavailable, or the database cannot be read.
    pub fn config_confirmation(
        &self,
        config_hash: &str,
    ) -> Result<Option<ConfigConfirmation>, AuditError> {
        let keys = self.keys()?.clone();
        let mut stmt = self.conn.prepare(
            "SELECT seq, ts_ms, kind, actor, verification_id, payload, prev_hash, hash
             FROM events WHERE kind = ?1 ORDER BY seq DESC",
        )?;
        let rows = stmt.query_map(params![EV_CONFIG_CONFIRMED], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Vec<u8>>(6)?,
                r.get::<_, Vec<u8>>(7)?,
            ))
        })?;
        for row in rows {
            let (seq, ts_ms, kind, actor, vid, payload, prev, hash) = row?;
            let confirmed = serde_json::from_str::<serde_json::Value>(&payload)
                .ok()
                .and_then(|v| v["configHash"].as_str().map(str::to_string));
            if confirmed.as_deref() != Some(config_hash) {
                continue;
            }
            let expected = chain::event_hash(&keys, &prev, ts_ms, &kind, &actor, vid, &payload);
            if expected.as_slice() != hash.as_slice() {
                tracing::warn!(seq, "audit: a configuration confirmation fails its MAC");
                continue;
            }
            // The event links to the chain: its predecessor's hash is what it says it is.
            let linked: Option<Vec<u8>> = self
                .conn
                .query_row(
                    "SELECT hash FROM events WHERE seq = ?1",
                    params![seq - 1],
                    |r| r.get(0),
                )
                .optional()?;
            if seq > 1 && linked.as_deref() != Some(prev.as_slice()) {
                tracing::warn!(seq, "audit: a configuration confirmation is not linked");
                continue;
            }
            let admin: Option<(String, i64)> = self
                .conn
                .query_row(
                    "SELECT role, disabled FROM users WHERE username = ?1",
                    params![actor],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if !matches!(&admin, Some((role, 0)) if role.as_str() == Role::Admin.as_str()) {
                tracing::warn!(
                    seq,
                    "audit: a configuration confirmer is no longer an admin"
                );
                continue;
            }
            return Ok(Some(ConfigConfirmation {
                seq,
                ts_ms,
                by: actor,
            }));
        }
        Ok(None)
    }
}
