//! Users, roles, permissions, login with lockout, and the one-time first-admin step.

use crate::logs::WarnOnErr;
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
    /// Disabled by an administrator: login is refused.
    pub disabled: bool,
}

impl UserInfo {
    /// Whether the lockout is in force at `now_ms`.
    #[must_use]
    pub fn locked_at(&self, now_ms: i64) -> bool {
        self.locked_until_ms.is_some_and(|u| u > now_ms)
    }
}

/// What an administrator changes on a user row (see [`AuditStore::update_user`]).
enum UserChange<'a> {
    Role(Role),
    Disabled(bool),
    Password(&'a str),
    Unlock,
}

/// Shortest password the store accepts, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Bases of the most common passwords (lower case): a password that is one of these, or one
/// of these followed by digits and punctuation ("password123!"), is refused.
const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "qwerty",
    "qwertyuiop",
    "qwertyuiopasdf",
    "asdfghjkl",
    "asdfghjkl;",
    "zxcvbnm",
    "azerty",
    "abc",
    "abcdef",
    "abcdefg",
    "abcdefgh",
    "abcdefghijkl",
    "letmein",
    "welcome",
    "welcomehome",
    "iloveyou",
    "admin",
    "administrator",
    "adminadmin",
    "root",
    "toor",
    "monkey",
    "dragon",
    "football",
    "baseball",
    "sunshine",
    "princess",
    "master",
    "superman",
    "batman",
    "trustno1",
    "starwars",
    "whatever",
    "freedom",
    "shadow",
    "michael",
    "jennifer",
    "charlie",
    "computer",
    "internet",
    "changeme",
    "changeit",
    "secret",
    "default",
    "guest",
    "login",
    "kiosk",
    "user",
    "test",
    "passpass",
    "passwordpassword",
    "mypassword",
    "newpassword",
    "letmeinnow",
    "hello",
    "helloworld",
    "qazwsx",
    "qazwsxedc",
    "1q2w3e4r",
    "1qaz2wsx",
    "q1w2e3r4",
    "zaq12wsx",
    "aa",
    "a",
];

/// Check a new password against the policy: at least [`MIN_PASSWORD_CHARS`] characters, not
/// only whitespace, not a run of one character, not only digits, and not a common password
/// (optionally followed by digits and punctuation).
///
/// # Errors
/// `WeakPassword` naming the rule that failed.
pub fn check_password_policy(password: &str) -> Result<(), AuditError> {
    let weak = |why: &str| Err(AuditError::WeakPassword(why.to_string()));
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return weak(&format!(
            "it must have at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.trim().is_empty() {
        return weak("it is only whitespace");
    }
    let mut chars = password.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return weak("it repeats one character");
    }
    if password
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_whitespace())
    {
        return weak("it is only digits");
    }
    let lower = password.trim().to_lowercase();
    let base = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    let base = base.trim_start_matches(|c: char| c.is_ascii_digit());
    if COMMON_PASSWORDS.contains(&base) || COMMON_PASSWORDS.contains(&lower.as_str()) {
        return weak("it is one of the most common passwords");
    }
    Ok(())
}

impl AuditStore {
    /// An admin identity for scheduled maintenance run by the kiosk itself (retention purge at
    /// start-up); its actions are chained under `system:<purpose>`. The `audit` commands that
    /// read or change records log a real user in instead.
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
        check_password_policy(password)?;
        self.hash_unchecked(password)
    }

    /// Hash without the policy (the unknown-user path spends the same work as a real check).
    fn hash_unchecked(&self, password: &str) -> Result<String, AuditError> {
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
    /// once any user exists or the chain records any user event. Run it from `kyc-kiosk audit create-admin` at install time.
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
        let keys = self.write_keys()?;
        let every = self.cfg.checkpoint_every;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if first_admin {
            // Only on a store that never had a user: neither a row nor any user event in the
            // chain (demoting the admin in SQLite does not reopen the first-admin step).
            let kinds = chain::USER_STATE_KINDS
                .iter()
                .map(|k| format!("'{k}'"))
                .collect::<Vec<_>>()
                .join(", ");
            let exists: bool = tx.query_row(
                &format!(
                    "SELECT EXISTS(SELECT 1 FROM users)
                         OR EXISTS(SELECT 1 FROM events WHERE kind IN ({kinds}))"
                ),
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
        self.committed();
        Ok(id)
    }

    /// Check a password. Every attempt is chained (`login`, `login_failed`, `login_locked`);
    /// after `lockout_after` failures in a row the name is locked for `lockout_for`. The
    /// lockout state is read from the chain (the newest authentic event carrying it), not from
    /// the user row, so editing the row does not unlock anyone; unknown names are counted and
    /// locked exactly like known ones and get the same errors, after the same password work.
    pub fn login(&mut self, username: &str, password: &str) -> Result<UserSession, AuditError> {
        let now = now_ms();
        let keys = self.write_keys()?;
        let row: Option<(i64, String, String, bool)> = self
            .conn
            .query_row(
                "SELECT id, role, password_hash, disabled FROM users WHERE username = ?1",
                [username],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let (failed, locked_until) = chain::chained_lockout(&self.conn, &keys, username)?;
        if let Some(until) = locked_until
            && until > now
        {
            self.append(
                "login_locked",
                username,
                None,
                serde_json::json!({ "user_id": row.as_ref().map(|r| r.0), "locked_until_ms": until }),
            )?;
            return Err(AuditError::AccountLocked {
                username: username.to_string(),
                until_ms: until,
            });
        }
        let (id, ok, disabled, role) = match row {
            None => {
                // Spend the same work as a real check so names cannot be probed by timing.
                self.hash_unchecked(password)
                    .warn_on_err("hashing the timing-decoy password");
                (None, false, false, String::new())
            }
            Some((id, role, hash, disabled)) => {
                // A user row edited behind the store's back (role raised, hash swapped) is refused.
                if !chain::user_row_is_chained(
                    &self.conn, &keys, id, username, &role, &hash, disabled,
                )? {
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
                let ok = PasswordHash::new(&hash).ok().is_some_and(|h| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &h)
                        .is_ok()
                });
                (Some(id), ok, disabled, role)
            }
        };
        if ok && disabled {
            // The right password for a disabled account: say so (and count no failure).
            self.append(
                "login_failed",
                username,
                None,
                serde_json::json!({ "user_id": id, "reason": "disabled" }),
            )?;
            return Err(AuditError::AccountDisabled(username.to_string()));
        }
        let every = self.cfg.checkpoint_every;
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
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(id) = id {
                // The row mirrors the chained state for the users list; it is never trusted.
                tx.execute(
                    "UPDATE users SET failed_attempts = ?2, locked_until_ms = ?3 WHERE id = ?1",
                    params![id, if lock.is_some() { 0 } else { failed }, lock],
                )?;
            }
            chain::append_event(
                &tx,
                &keys,
                every,
                EventIn {
                    kind: "login_failed",
                    actor: username,
                    verification_id: None,
                    payload: serde_json::json!({
                        "user_id": id,
                        "reason": if id.is_some() { "bad_password" } else { "unknown_user" },
                        "lock_user": username, "failed_attempts": failed, "locked_until_ms": lock,
                    }),
                },
            )?;
            tx.commit()?;
            self.committed();
            return Err(AuditError::InvalidCredentials);
        }
        let (Some(id), role) = (id, Role::parse(&role)?) else {
            return Err(AuditError::InvalidCredentials);
        };
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
                payload: serde_json::json!({
                    "user_id": id, "role": role.as_str(),
                    "lock_user": username, "failed_attempts": 0, "locked_until_ms": null,
                }),
            },
        )?;
        tx.commit()?;
        self.committed();
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
            "SELECT id, username, role, failed_attempts, locked_until_ms, disabled
             FROM users ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, u32>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, bool>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, username, role, failed_attempts, locked_until_ms, disabled) = row?;
            out.push(UserInfo {
                id,
                username,
                role: Role::parse(&role)?,
                failed_attempts,
                locked_until_ms,
                disabled,
            });
        }
        Ok(out)
    }

    /// Change a user's role (needs `ManageUsers`); chained as `user_role_changed`. An admin
    /// cannot demote themselves, nor the last active administrator.
    ///
    /// # Errors
    /// `PermissionDenied`, `NotFound`, `OwnAccount`, `LastActiveAdmin`, `InvalidInput` (the
    /// user already has that role), `Corrupt` (the row does not match the chain).
    pub fn set_user_role(
        &mut self,
        by: &UserSession,
        username: &str,
        role: Role,
    ) -> Result<(), AuditError> {
        self.update_user(by, username, UserChange::Role(role))
    }

    /// Disable (`true`) or enable (`false`) a user (needs `ManageUsers`); chained as
    /// `user_disabled` / `user_enabled`. A disabled user's login is refused with
    /// `AccountDisabled`. An admin cannot disable themselves, nor the last active administrator.
    ///
    /// # Errors
    /// As [`AuditStore::set_user_role`]; `InvalidInput` when the user already is in that state.
    pub fn set_user_disabled(
        &mut self,
        by: &UserSession,
        username: &str,
        disabled: bool,
    ) -> Result<(), AuditError> {
        self.update_user(by, username, UserChange::Disabled(disabled))
    }

    /// Give a user a new password (needs `ManageUsers`; same rules as at creation); the lockout
    /// is cleared too. Chained as `user_password_reset` (the payload holds the new row's digest,
    /// never the password or its hash).
    ///
    /// # Errors
    /// `PermissionDenied`, `NotFound`, `InvalidInput` (too short), `Corrupt`.
    pub fn reset_password(
        &mut self,
        by: &UserSession,
        username: &str,
        new_password: &str,
    ) -> Result<(), AuditError> {
        self.update_user(by, username, UserChange::Password(new_password))
    }

    /// Clear a user's failed logins and lockout (needs `ManageUsers`); chained as
    /// `user_unlocked` with the failed count and lock it cleared.
    ///
    /// # Errors
    /// `PermissionDenied`, `NotFound`, `Corrupt`.
    pub fn unlock_user(&mut self, by: &UserSession, username: &str) -> Result<(), AuditError> {
        self.update_user(by, username, UserChange::Unlock)
    }

    /// One administrator change to a user row and its chained event, in one transaction.
    fn update_user(
        &mut self,
        by: &UserSession,
        username: &str,
        change: UserChange<'_>,
    ) -> Result<(), AuditError> {
        by.require(Permission::ManageUsers)?;
        // Hash outside the transaction (argon2 takes tens of ms).
        let new_hash = match &change {
            UserChange::Password(p) => Some(self.hash_password(p)?),
            _ => None,
        };
        let keys = self.write_keys()?;
        let every = self.cfg.checkpoint_every;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(i64, String, String, bool, u32, Option<i64>)> = tx
            .query_row(
                "SELECT id, role, password_hash, disabled, failed_attempts, locked_until_ms
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
        let Some((id, role_text, hash, disabled, failed, locked_until)) = row else {
            return Err(AuditError::NotFound(format!("user {username}")));
        };
        // Never re-chain a row that was edited behind the store's back.
        if !chain::user_row_is_chained(&tx, &keys, id, username, &role_text, &hash, disabled)? {
            return Err(AuditError::Corrupt(format!(
                "user {username} does not match the audit chain (edited outside the kiosk)"
            )));
        }
        let role = Role::parse(&role_text)?;
        let own = by.user_id == Some(id);
        let (new_role, new_disabled) = match &change {
            UserChange::Role(r) => (*r, disabled),
            UserChange::Disabled(d) => (role, *d),
            UserChange::Password(_) | UserChange::Unlock => (role, disabled),
        };
        match &change {
            UserChange::Role(r) if *r == role => {
                return Err(AuditError::InvalidInput(format!(
                    "{username} already has the role {}",
                    role.as_str()
                )));
            }
            UserChange::Disabled(d) if *d == disabled => {
                return Err(AuditError::InvalidInput(format!(
                    "{username} is already {}",
                    if disabled { "disabled" } else { "enabled" }
                )));
            }
            _ => {}
        }
        let was_active_admin = role == Role::Admin && !disabled;
        let stays_active_admin = new_role == Role::Admin && !new_disabled;
        if was_active_admin && !stays_active_admin {
            if own {
                return Err(AuditError::OwnAccount {
                    action: if new_disabled { "disable" } else { "demote" }.into(),
                });
            }
            let others: i64 = tx.query_row(
                "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id != ?1",
                [id],
                |r| r.get(0),
            )?;
            if others == 0 {
                return Err(AuditError::LastActiveAdmin {
                    username: username.to_string(),
                });
            }
        }
        let hash = new_hash.unwrap_or(hash);
        let clears_lock = matches!(change, UserChange::Password(_) | UserChange::Unlock);
        tx.execute(
            "UPDATE users SET role = ?2, password_hash = ?3, disabled = ?4,
                 failed_attempts = CASE WHEN ?5 THEN 0 ELSE failed_attempts END,
                 locked_until_ms = CASE WHEN ?5 THEN NULL ELSE locked_until_ms END
             WHERE id = ?1",
            params![id, new_role.as_str(), hash, new_disabled, clears_lock],
        )?;
        let row_sha256 = chain::user_digest(id, username, new_role.as_str(), &hash)?;
        let (kind, detail) = match &change {
            UserChange::Role(_) => (
                chain::EV_USER_ROLE,
                serde_json::json!({ "before": role.as_str(), "after": new_role.as_str() }),
            ),
            UserChange::Disabled(true) => (chain::EV_USER_DISABLED, serde_json::json!({})),
            UserChange::Disabled(false) => (chain::EV_USER_ENABLED, serde_json::json!({})),
            UserChange::Password(_) => (
                chain::EV_USER_PASSWORD,
                serde_json::json!({ "lock_cleared": locked_until.is_some() || failed > 0 }),
            ),
            UserChange::Unlock => (
                chain::EV_USER_UNLOCKED,
                serde_json::json!({ "failed_attempts": failed, "locked_until_ms": locked_until }),
            ),
        };
        chain::append_event(
            &tx,
            &keys,
            every,
            EventIn {
                kind,
                actor: by.username(),
                verification_id: None,
                payload: if clears_lock {
                    serde_json::json!({
                        "id": id, "user_id": id, "username": username, "role": new_role.as_str(),
                        "disabled": new_disabled, "row_sha256": row_sha256, "change": detail,
                        "lock_user": username, "failed_attempts": 0, "locked_until_ms": null,
                    })
                } else {
                    serde_json::json!({
                        "id": id, "user_id": id, "username": username, "role": new_role.as_str(),
                        "disabled": new_disabled, "row_sha256": row_sha256, "change": detail,
                    })
                },
            },
        )?;
        tx.commit()?;
        self.committed();
        Ok(())
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
