//! One-time enrolment tokens, the same for kiosks (`enrol_tokens`) and supervisor workstations
//! (`workstation_tokens`): an administrator makes one for a single id, it is kept as its
//! SHA-256, it expires, and the enrolment it allows consumes it in the transaction that records
//! the new key; a second enrolment of the same id is refused.

use kyc_core::audit::now_ms;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use tokio_postgres::types::ToSql;

use crate::server::ApiError;
use crate::{Central, CentralError, CentralUser};

/// Where one kind of enrolment token is kept.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenTable {
    /// The tokens' table.
    pub table: &'static str,
    /// Its column naming the id the token enrols.
    pub id_column: &'static str,
    /// What is enrolled, for messages ("kiosk", "workstation").
    pub what: &'static str,
    /// How long a token stays valid, ms.
    pub ttl_ms: i64,
}

/// Kiosks' tokens.
pub(crate) const KIOSK_TOKENS: TokenTable = TokenTable {
    table: "enrol_tokens",
    id_column: "kiosk_id",
    what: "kiosk",
    ttl_ms: crate::sync::TOKEN_TTL_MS,
};

/// Supervisor workstations' tokens.
pub(crate) const WORKSTATION_TOKENS: TokenTable = TokenTable {
    table: "workstation_tokens",
    id_column: "workstation_id",
    what: "workstation",
    ttl_ms: crate::queue::WS_TOKEN_TTL_MS,
};

fn sha256(b: &[u8]) -> Vec<u8> {
    Sha256::digest(b).to_vec()
}

impl Central {
    /// `by` (an administrator, checked by the caller) makes a token for `id`, unless
    /// `enrolled_sql` (one parameter: the id) finds it enrolled already.
    ///
    /// # Errors
    /// `Conflict` when enrolled already; database errors.
    pub(crate) async fn issue_enrolment_token(
        &self,
        kind: TokenTable,
        by: &CentralUser,
        id: &str,
        enrolled_sql: &str,
    ) -> Result<String, CentralError> {
        let c = self.pool.get().await?;
        if c.query_opt(enrolled_sql, &[&id]).await?.is_some() {
            return Err(CentralError::Conflict(format!(
                "{} {id} is enrolled already",
                kind.what
            )));
        }
        let mut raw = [0u8; 20];
        OsRng.fill_bytes(&mut raw);
        let token = hex::encode(raw);
        let now = now_ms();
        c.execute(
            &format!(
                "INSERT INTO {} (token_sha256, {}, created_by, created_ms, expires_ms)
                 VALUES ($1, $2, $3, $4, $5)",
                kind.table, kind.id_column
            ),
            &[
                &sha256(token.as_bytes()),
                &id,
                &by.username,
                &now,
                &(now + kind.ttl_ms),
            ],
        )
        .await?;
        tracing::info!(what = kind.what, id, "central: enrolment token made");
        Ok(token)
    }

    /// Enrol `id` with `token`: in one transaction the token is checked (known, unused,
    /// unexpired, made for `id`), `insert_sql` records the new key (it must change no row when
    /// `id` is enrolled already) and the token is marked used.
    ///
    /// # Errors
    /// 401 `bad_token` for an unknown, used, expired or mismatched token; 409
    /// `already_enrolled`; database errors.
    pub(crate) async fn enrol_with_token(
        &self,
        kind: TokenTable,
        token: &str,
        id: &str,
        insert_sql: &str,
        insert_args: &[&(dyn ToSql + Sync)],
    ) -> Result<(), ApiError> {
        let digest = sha256(token.as_bytes());
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await.map_err(CentralError::from)?;
        let row = tx
            .query_opt(
                &format!(
                    "SELECT {}, expires_ms, used_ms FROM {} WHERE token_sha256 = $1 FOR UPDATE",
                    kind.id_column, kind.table
                ),
                &[&digest],
            )
            .await
            .map_err(CentralError::from)?;
        let bad = |m: &str| ApiError::unauthorized("bad_token", m);
        let Some(row) = row else {
            return Err(bad("unknown enrolment token"));
        };
        let (owner, expires, used): (String, i64, Option<i64>) =
            (row.get(0), row.get(1), row.get(2));
        if used.is_some() {
            return Err(bad("this enrolment token was used already"));
        }
        if expires < now_ms() {
            return Err(bad("this enrolment token has expired"));
        }
        if owner != id {
            return Err(bad(&format!(
                "this enrolment token is for another {}",
                kind.what
            )));
        }
        let n = tx
            .execute(insert_sql, insert_args)
            .await
            .map_err(CentralError::from)?;
        if n == 0 {
            return Err(ApiError::conflict(
                "already_enrolled",
                &format!("{} is enrolled already", kind.what),
            ));
        }
        tx.execute(
            &format!(
                "UPDATE {} SET used_ms = $2 WHERE token_sha256 = $1",
                kind.table
            ),
            &[&digest, &now_ms()],
        )
        .await
        .map_err(CentralError::from)?;
        tx.commit().await.map_err(CentralError::from)?;
        tracing::info!(what = kind.what, id, "central: enrolled");
        Ok(())
    }
}
