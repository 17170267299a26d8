//! Credentials on the command line: every command that reads or changes records logs a user
//! in first (chained as `login`, with failures and lockouts as in the kiosk), so the actor of
//! what follows is a person, not the account that happens to hold the files.
//!
//! Two ways in: on a terminal the name (unless `--operator` gives it) and the password are
//! asked for, the password without echo; for automation `--operator NAME` with the password in
//! `KYC_KIOSK_PASSWORD`. Without either the command stops with `CredentialsRequired` before it
//! reads a record.

use std::io::{BufRead, IsTerminal, Write};

use kyc_core::audit::{AuditError, AuditStore, UserSession};
use zeroize::Zeroizing;

/// Environment variable holding the password that goes with `--operator` (automation).
pub const PASSWORD_ENV: &str = "KYC_KIOSK_PASSWORD";

/// Who runs a command that reads or changes records.
#[derive(Clone, Default, clap::Args)]
pub struct AuthArgs {
    /// Log in as this user; the password comes from KYC_KIOSK_PASSWORD, else it is asked for
    /// on the terminal (without it, and off a terminal, the command is refused).
    #[arg(long = "operator", value_name = "NAME")]
    pub operator: Option<String>,
    /// The password, when the caller already has it (programs and tests calling
    /// `cli::audit::run_to`); never taken from the command line.
    #[arg(skip)]
    pub password: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for AuthArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthArgs")
            .field("operator", &self.operator)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .finish()
    }
}

impl AuthArgs {
    /// Credentials given in full (name and password), e.g. by a test or another program.
    pub fn with_password(operator: &str, password: &str) -> Self {
        AuthArgs {
            operator: Some(operator.to_string()),
            password: Some(Zeroizing::new(password.to_string())),
        }
    }

    /// Log in as [`authenticate`] does, using the password held here first.
    ///
    /// # Errors
    /// As [`authenticate`].
    pub fn login(&self, store: &mut AuditStore) -> Result<UserSession, AuditError> {
        match (&self.operator, &self.password) {
            (Some(name), Some(password)) => store.login(name.trim(), password),
            _ => authenticate(store, self.operator.as_deref()),
        }
    }
}

/// Log a user in for one command: `operator` with the password from [`PASSWORD_ENV`], or asked
/// on the terminal (name too when `operator` is `None`).
///
/// # Errors
/// `CredentialsRequired` when no credentials can be had (no terminal, no variable), then the
/// store's login errors (`InvalidCredentials`, `AccountLocked`, `AccountDisabled`, …).
pub fn authenticate(
    store: &mut AuditStore,
    operator: Option<&str>,
) -> Result<UserSession, AuditError> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let name = match operator.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None if interactive => ask_line("user name: ")?,
        None => return Err(AuditError::CredentialsRequired),
    };
    let password = match std::env::var(PASSWORD_ENV) {
        Ok(p) => Zeroizing::new(p),
        Err(_) if interactive => Zeroizing::new(
            rpassword::prompt_password(format!("password for {name}: "))
                .map_err(|e| AuditError::io("terminal", e))?,
        ),
        Err(_) => return Err(AuditError::CredentialsRequired),
    };
    store.login(&name, &password)
}

fn ask_line(prompt: &str) -> Result<String, AuditError> {
    let mut err = std::io::stderr().lock();
    write!(err, "{prompt}")
        .and_then(|_| err.flush())
        .map_err(|e| AuditError::io("terminal", e))?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| AuditError::io("standard input", e))?;
    let name = line.trim().to_string();
    if name.is_empty() {
        return Err(AuditError::CredentialsRequired);
    }
    Ok(name)
}
