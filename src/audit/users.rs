//! Users, roles, permissions, login with lockout, and the one-time first-admin step.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::OsRng;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use super::chain::{self, EventIn};
use super::error::AuditError;
use super::store::AuditStore;
use super::types::now_ms;

/// What a user is allowed to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Branch agent: runs verifications, sees their own records.
    Agent,
    /// Supervisor: reviews referred cases, sees every record and biometric images.
    Supervisor,
    /// Administrator: everything, plus users, settings, retention and erasure.
    Admin,
}

impl Role {
    /// Stable text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// Parse the text form.
    pub fn parse(s: &str) -> Result<Self, AuditError> {
        match s {
            "agent" => Ok(Role::Agent),
            "supervisor" => Ok(Role::Supervisor),
            "admin" => Ok(Role::Admin),
            other => Err(AuditError::InvalidInput(format!("unknown role {other:?}"))),
        }
    }
}

/// Actions guarded by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Run and record a verification, correct fields.
    RecordVerification,
    /// See one's own records.
    ViewOwnRecords,
    /// See every operator's records.
    ViewAllRecords,
    /// Decrypt images and templates.
    ViewBiometrics,
    /// Open the supervisor review screen and act on cases.
    SupervisorReview,
    /// Export records and statistics.
    Export,
    /// Change settings.
    Settings,
    /// Create and manage users.
    ManageUsers,
    /// Purge images past retention.
    Purge,
    /// Erase a customer's biometric data.
    Erase,
    /// Run the chain verification.
    VerifyChain,
}

impl Permission {
    /// Stable text form used in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::RecordVerification => "record_verification",
            Permission::ViewOwnRecords => "view_own_records",
            Permission::ViewAllRecords => "view_all_records",
            Permission::ViewBiometrics => "view_biometrics",
            Permission::SupervisorReview => "supervisor_review",
            Permission::Export => "export",
            Permission::Settings => "settings",
            Permission::ManageUsers => "manage_users",
            Permission::Purge => "purge",
            Permission::Erase => "erase",
            Permission::VerifyChain => "verify_chain",
        }
    }
}

/// The permission table: which role may do what.
pub fn role_allows(role: Role, p: Permission) -> bool {
    use Permission::*;
    match role {
        Role::Agent => matches!(p, RecordVerification | ViewOwnRecords),
        Role::Supervisor => matches!(
            p,
            RecordVerification
                | ViewOwnRecords
                | ViewAllRecords
                | ViewBiometrics
                | SupervisorReview
                | Export
                | VerifyChain
        ),
        Role::Admin => true,
    }
}

/// A logged-in user (or the store's own maintenance identity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserSession {
    user_id: Option<i64>,
    username: String,
    role: Role,
    login_ms: i64,
}

impl UserSession {
    /// Username.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Database id of the user (`None` for the maintenance identity).
    pub fn user_id(&self) -> Option<i64> {
        self.user_id
    }

    /// Login time, ms since epoch.
    pub fn login_ms(&self) -> i64 {
        self.login_ms
    }

    /// Whether this session's role allows `p`.
    pub fn allows(&self, p: Permission) -> bool {
        role_allows(self.role, p)
    }

    /// `Ok` when allowed, else `PermissionDenied`.
    pub fn require(&self, p: Permission) -> Result<(), AuditError> {
        if self.allows(p) {
            Ok(())
        } else {
            Err(self.denied(p))
        }
    }

    pub(crate) fn denied(&self, p: Permission) -> AuditError {
        AuditError::PermissionDenied {
            role: self.role.as_str().to_string(),
            action: p.as_str().to_string(),
        }
    }
}

/// A user as listed for administrators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    /// Database id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Consecutive failed logins.
    pub failed_attempts: u32,
    /// Locked until (ms since epoch), if locked.
    pub locked_until_ms: Option<i64>,
}

const MIN_PASSWORD_LEN: usize = 8;

impl AuditStore {
    /// An admin identity for scheduled maintenance run by the kiosk itself or the `audit` CLI
    /// (retention purge at start-up, command-line erasure); its actions are chained under
    /// `system:<purpose>`. The CLI relies on OS file permissions of the database and key file.
    pub fn system_session(&self, purpose: &str) -> UserSession {
        UserSession {
            user_id: None,
            username: format!("system:{purpose}"),
            role: Role::Admin,
            login_ms: now_ms(),
        }
    }

    fn hasher(&self) -> Result<Argon2<'static>, AuditError> {
        let params = Params::new(self.cfg.argon2_m_kib, self.cfg.argon2_t, 1, None)
            .map_err(|e| AuditError::PasswordHash(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    fn hash_password(&self, password: &str) -> Result<String, AuditError> {
        if password.chars().count() < MIN_PASSWORD_LEN {
            return Err(AuditError::InvalidInput(format!(
                "password must have at least {MIN_PASSWORD_LEN} characters"
            )));
        }
        let salt = SaltString::generate(&mut OsRng);
        Ok(self
            .hasher()?
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| AuditError::PasswordHash(e.to_string()))?
            .to_string())
    }

    /// Whether any administrator exists.
    pub fn has_admin(&self) -> Result<bool, AuditError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM users WHERE role = 'admin')",
            [],
            |r| r.get(0),
        )?)
    }

    /// One-time installation step: create the first administrator. Refuses with `AdminExists`
    /// once any admin exists. Run it from `kyc-kiosk audit create-admin` at install time.
    pub fn create_first_admin(
        &mut self,
        username: &str,
        password: &str,
    ) -> Result<i64, AuditError> {
        let hash = self.hash_password(password)?;
        let username = valid_username(username)?;
        self.insert_user(&username, Role::Admin, &hash, "system:install", true)
    }

    /// Create a user (needs `ManageUsers`).
    pub fn create_user(
        &mut self,
        by: &UserSession,
        username: &str,
        password: &str,
        role: Role,
    ) -> Result<i64, AuditError> {
        by.require(Permission::ManageUsers)?;
        let hash = self.hash_password(password)?;
        let username = valid_username(username)?;
        self.insert_user(&username, role, &hash, &by.username.clone(), false)
    }

    fn insert_user(
        &mut self,
        username: &str,
        role: Role,
        hash: &str,
        actor: &str,
        first_admin: bool,
    ) -> Result<i64, AuditError> {
        let keys = self.keys()?.clone();
        let every = self.cfg.checkpoint_every;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if first_admin {
            let exists: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM users WHERE role = 'admin')",
                [],
                |r| r.get(0),
            )?;
            if exists {
                return Err(AuditError::AdminExists);
            }
        }
        let taken: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM users WHERE username = ?1)",
            [username],
            |r| r.get(0),
        )?;
        if taken {
            return Err(AuditError::UserExists(username.to_string()));
        }
        tx.execute(
            "INSERT INTO users (username, role, password_hash, created_ms) VALUES (?1, ?2, ?3, ?4)",
            params![username, role.as_str(), hash, now_ms()],
        )?;
        let id = tx.last_insert_rowid();
        chain::append_event(
            &tx,
            &keys,
            every,
            EventIn {
                kind: if first_admin {
                    "first_admin_created"
                } else {
                    "user_created"
                },
                actor,
                verification_id: None,
                payload: serde_json::json!({
                    "id": id, "user_id": id, "username": username, "role": role.as_str(),
                    "row_sha256": chain::user_digest(id, username, role.as_str(), hash)?,
                }),
            },
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Check a password. Every attempt is chained (`login`, `login_failed`, `login_locked`);
    /// after `lockout_after` failures in a row the account is locked for `lockout_for`.
    pub fn login(&mut self, username: &str, password: &str) -> Result<UserSession, AuditError> {
        let now = now_ms();
        let row: Option<(i64, String, String, u32, Option<i64>, bool)> = self
            .conn
            .query_row(
                "SELECT id, role, password_hash, failed_attempts, locked_until_ms, disabled
                 FROM users WHERE username = ?1",
                [username],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, role, hash, failed, locked_until, disabled)) = row else {
            // Spend about the same time as a real check so names cannot be probed by timing.
            let _ = self.hash_password("not-a-real-password");
            self.append(
                "login_failed",
                username,
                None,
                serde_json::json!({ "reason": "unknown_user" }),
            )?;
            return Err(AuditError::InvalidCredentials);
        };
        if let Some(until) = locked_until
            && until > now
        {
            self.append(
                "login_locked",
                username,
                None,
                serde_json::json!({ "user_id": id, "locked_until_ms": until }),
            )?;
            return Err(AuditError::AccountLocked {
                username: username.to_string(),
                until_ms: until,
            });
        }
        // A user row edited behind the store's back (role raised, hash swapped) is refused.
        if !chain::user_row_is_chained(&self.conn, self.keys()?, id, username, &role, &hash)? {
            self.append(
                "login_failed",
                username,
                None,
                serde_json::json!({ "user_id": id, "reason": "user_record_tampered" }),
            )?;
            return Err(AuditError::Corrupt(format!(
                "user {username} does not match the audit chain (edited outside the kiosk)"
            )));
        }
        let ok = !disabled
            && PasswordHash::new(&hash).ok().is_some_and(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            });
        if !ok {
            let failed = if locked_until.is_some_and(|u| u <= now) {
                1 // the previous lock expired: start counting again
            } else {
                failed + 1
            };
            let lock = if failed >= self.cfg.lockout_after {
                Some(now + self.cfg.lockout_for.as_millis() as i64)
            } else {
                None
            };
            let keys = self.keys()?.clone();
            let every = self.cfg.checkpoint_every;
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "UPDATE users SET failed_attempts = ?2, locked_until_ms = ?3 WHERE id = ?1",
                params![id, if lock.is_some() { 0 } else { failed }, lock],
            )?;
            chain::append_event(
                &tx,
                &keys,
                every,
                EventIn {
                    kind: "login_failed",
                    actor: username,
                    verification_id: None,
                    payload: serde_json::json!({
                        "user_id": id, "reason": if disabled { "disabled" } else { "bad_password" },
                        "failed_attempts": failed, "locked_until_ms": lock,
                    }),
                },
            )?;
            tx.commit()?;
            return Err(AuditError::InvalidCredentials);
        }
        let role = Role::parse(&role)?;
        let keys = self.keys()?.clone();
        let every = self.cfg.checkpoint_every;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE users SET failed_attempts = 0, locked_until_ms = NULL WHERE id = ?1",
            [id],
        )?;
        chain::append_event(
            &tx,
            &keys,
            every,
            EventIn {
                kind: "login",
                actor: username,
                verification_id: None,
                payload: serde_json::json!({ "user_id": id, "role": role.as_str() }),
            },
        )?;
        tx.commit()?;
        Ok(UserSession {
            user_id: Some(id),
            username: username.to_string(),
            role,
            login_ms: now,
        })
    }

    /// End a session; chained as `logout`.
    pub fn logout(&mut self, session: UserSession) -> Result<(), AuditError> {
        self.append(
            "logout",
            &session.username,
            None,
            serde_json::json!({ "user_id": session.user_id, "since_ms": session.login_ms }),
        )?;
        Ok(())
    }

    /// List users (needs `ManageUsers`).
    pub fn list_users(&self, by: &UserSession) -> Result<Vec<UserInfo>, AuditError> {
        by.require(Permission::ManageUsers)?;
        let mut stmt = self.conn.prepare(
            "SELECT id, username, role, failed_attempts, locked_until_ms FROM users ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, u32>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, username, role, failed_attempts, locked_until_ms) = row?;
            out.push(UserInfo {
                id,
                username,
                role: Role::parse(&role)?,
                failed_attempts,
                locked_until_ms,
            });
        }
        Ok(out)
    }
}

fn valid_username(u: &str) -> Result<String, AuditError> {
    let u = u.trim();
    if u.is_empty()
        || u.len() > 64
        || u.starts_with("system:")
        || !u
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(AuditError::InvalidInput(format!(
            "invalid username {u:?} (letters, digits, . _ - @; at most 64)"
        )));
    }
    Ok(u.to_string())
}
