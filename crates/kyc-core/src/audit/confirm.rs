//! An administrator's confirmation of one configuration, chained, and the look-up that finds
//! it again at start: the event's own MAC is checked against the chain key and its confirmer
//! must still be an active administrator, so a row written into the database by hand, or the
//! confirmation of a since-demoted account, confirms nothing.

use rusqlite::{OptionalExtension, params};

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
        self.newest_chained(EV_CONFIG_CONFIRMED, "configuration confirmation", |event| {
            let confirmed = serde_json::from_str::<serde_json::Value>(&event.payload)
                .ok()
                .and_then(|v| v["configHash"].as_str().map(str::to_string));
            if confirmed.as_deref() != Some(config_hash) {
                return Ok(None);
            }
            let admin: Option<(String, i64)> = self
                .conn
                .query_row(
                    "SELECT role, disabled FROM users WHERE username = ?1",
                    params![event.actor],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if !matches!(&admin, Some((role, 0)) if role.as_str() == Role::Admin.as_str()) {
                tracing::warn!(
                    seq = event.seq,
                    "audit: a configuration confirmer is no longer an admin"
                );
                return Ok(None);
            }
            Ok(Some(ConfigConfirmation {
                seq: event.seq,
                ts_ms: event.ts_ms,
                by: event.actor,
            }))
        })
    }
}
