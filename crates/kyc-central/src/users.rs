//! Central users: supervisors and administrators, argon2id password hashes, the kiosk's
//! password policy (`kyc_core::audit::check_password_policy`).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::OsRng;

use crate::{Central, CentralError};

/// A central role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CentralRole {
    /// Reviews cases across kiosks.
    Supervisor,
    /// Enrols kiosks, manages users, clears quarantines.
    Administrator,
}

impl CentralRole {
    /// Stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            CentralRole::Supervisor => "supervisor",
            CentralRole::Administrator => "administrator",
        }
    }

    /// Parse the stored text.
    ///
    /// # Errors
    /// `InvalidInput` for another word.
    pub fn parse(s: &str) -> Result<Self, CentralError> {
        match s {
            "supervisor" => Ok(CentralRole::Supervisor),
            "administrator" | "admin" => Ok(CentralRole::Administrator),
            other => Err(CentralError::InvalidInput(format!(
                "role {other:?}: use supervisor or administrator"
            ))),
        }
    }
}

/// A signed-in central user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentralUser {
    /// User name.
    pub username: String,
    /// Role.
    pub role: CentralRole,
}

impl CentralUser {
    /// Refuse unless an administrator.
    ///
    /// # Errors
    /// `Forbidden`.
    pub fn require_admin(&self) -> Result<(), CentralError> {
        if self.role == CentralRole::Administrator {
            Ok(())
        } else {
            Err(CentralError::Forbidden(format!(
                "{} is a {}; an administrator is needed",
                self.username,
                self.role.as_str()
            )))
        }
    }
}

fn valid_username(u: &str) -> Result<(), CentralError> {
    if u.is_empty()
        || u.len() > 64
        || !u
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(CentralError::InvalidInput(format!(
            "user name {u:?}: 1 to 64 of a-z, A-Z, 0-9, '.', '_', '-'"
        )));
    }
    Ok(())
}

impl Central {
    fn argon2(&self) -> Result<Argon2<'static>, CentralError> {
        let params = Params::new(self.argon2_m_kib, 2, 1, None)
            .map_err(|e| CentralError::Setup(format!("argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    fn hash_password(&self, password: &str) -> Result<String, CentralError> {
        kyc_core::audit::check_password_policy(password)
            .map_err(|e| CentralError::WeakPassword(e.to_string()))?;
        let salt = SaltString::generate(&mut OsRng);
        Ok(self
            .argon2()?
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| CentralError::Setup(format!("argon2: {e}")))?
            .to_string())
    }

    async fn insert_user(
        &self,
        username: &str,
        role: CentralRole,
        password: &str,
        only_if_first: bool,
    ) -> Result<(), CentralError> {
        valid_username(username)?;
        let hash = self.hash_password(password)?;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.batch_execute("LOCK TABLE central_users IN EXCLUSIVE MODE")
            .await?;
        if only_if_first {
            let admins: i64 = tx
                .query_one(
                    "SELECT count(*) FROM central_users WHERE role = 'administrator'",
                    &[],
                )
                .await?
                .get(0);
            if admins > 0 {
                return Err(CentralError::Conflict(
                    "an administrator exists already; ask them to create your account".into(),
                ));
            }
        }
        let n = tx
            .execute(
                "INSERT INTO central_users (username, role, password_hash, created_ms)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO NOTHING",
                &[&username, &role.as_str(), &hash, &kyc_core::audit::now_ms()],
            )
            .await?;
        if n == 0 {
            return Err(CentralError::Conflict(format!("user {username} exists")));
        }
        tx.commit().await?;
        tracing::info!(role = role.as_str(), "central: user created");
        Ok(())
    }

    /// Create the first administrator; refused once one exists.
    ///
    /// # Errors
    /// `Conflict`, `WeakPassword`, `InvalidInput`, database errors.
    pub async fn create_first_admin(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(), CentralError> {
        self.insert_user(username, CentralRole::Administrator, password, true)
            .await
    }

    /// An administrator creates a user.
    ///
    /// # Errors
    /// `Forbidden`, `Conflict`, `WeakPassword`, `InvalidInput`, database errors.
    pub async fn create_user(
        &self,
        by: &CentralUser,
        username: &str,
        role: CentralRole,
        password: &str,
    ) -> Result<(), CentralError> {
        by.require_admin()?;
        self.insert_user(username, role, password, false).await
    }

    /// Check a user name and password.
    ///
    /// # Errors
    /// `Unauthorized` (same message for an unknown name and a wrong password), database errors.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> Result<CentralUser, CentralError> {
        let c = self.pool.get().await?;
        let row = c
            .query_opt(
                "SELECT role, password_hash, disabled FROM central_users WHERE username = $1",
                &[&username],
            )
            .await?;
        let refused = || CentralError::Unauthorized("wrong user name or password".into());
        let Some(row) = row else {
            // Spend the same time as a real check so names cannot be probed by timing.
            let _ = self.hash_password("timing-equaliser-Q7");
            return Err(refused());
        };
        let (role, hash, disabled): (String, String, bool) = (row.get(0), row.get(1), row.get(2));
        let parsed = PasswordHash::new(&hash).map_err(|_| refused())?;
        if self
            .argon2()?
            .verify_password(password.as_bytes(), &parsed)
            .is_err()
        {
            return Err(refused());
        }
        if disabled {
            return Err(CentralError::Unauthorized(format!(
                "{username} is disabled"
            )));
        }
        Ok(CentralUser {
            username: username.to_string(),
            role: CentralRole::parse(&role)?,
        })
    }
}
