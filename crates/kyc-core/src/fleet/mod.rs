//! Fleet sync, kiosk side and shared rules: the kiosk's enrolment, its signed requests, the
//! sealing of records and biometrics to the central service's public key, the wire types, and
//! the chain checks the central service runs on what it receives (the same code on both sides).
//!
//! The kiosk's chain *is* the outbox: [`client::sync_once`] asks the central service which
//! sequence it has acknowledged and pushes the events after it, in order, each
//! `verification_recorded` event with its record (row, images, template) sealed to the central
//! key. The central service stores by (kiosk, sequence), so a push repeated after a cut is
//! idempotent. The protocol is described in `docs/fleet.md`.

pub mod client;
pub mod crypto;
pub mod cycle;
pub mod dedup;
pub mod http;
mod private;
pub mod supervisor;
pub mod verify;
pub mod wire;

pub use client::{FleetConfig, SyncOptions, SyncReport, enroll, sync_once};
pub use crypto::{CentralSecret, KioskIdentity, open_sealed, seal_to};
pub use cycle::{CycleReport, sync_and_pull};
pub use verify::{ChainBreak, check_link, check_record};

/// Errors of fleet enrolment and sync.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The server URL or an argument is not usable.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The central service could not be reached (connection refused, reset, timed out).
    #[error("central service unreachable: {0}")]
    Unreachable(String),
    /// The central service answered with an error.
    #[error("central service refused ({status} {code}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Stable error code from the body.
        code: String,
        /// Explanation from the body.
        message: String,
    },
    /// The kiosk is quarantined centrally; an administrator must clear it.
    #[error("this kiosk is quarantined by the central service: {0}")]
    Quarantined(String),
    /// The answer could not be understood.
    #[error("bad answer from the central service: {0}")]
    Protocol(String),
    /// A key or sealed blob is malformed or does not authenticate.
    #[error("crypto: {0}")]
    Crypto(String),
    /// The local store failed.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl FleetError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            FleetError::InvalidInput(_) => "fleet_invalid_input",
            FleetError::Unreachable(_) => "fleet_unreachable",
            FleetError::Refused { .. } => "fleet_refused",
            FleetError::Quarantined(_) => "fleet_quarantined",
            FleetError::Protocol(_) => "fleet_protocol",
            FleetError::Crypto(_) => "fleet_crypto",
            FleetError::Audit(_) => "audit_store",
            FleetError::Io { .. } => "io_error",
        }
    }
}
