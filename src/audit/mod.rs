//! Tamper-evident audit store: every verification, correction, decision, login and
//! maintenance action, in SQLite, chained by keyed hashes, with biometric blobs encrypted at
//! rest, role-based access, retention, erasure, 1:N duplicate search and exports.
//!
//! Start with [`AuditStore::open`], write with [`AuditStore::record_verification`], check with
//! [`AuditStore::verify`]; the `kyc-kiosk audit …` commands are in [`cli`].

mod chain;
pub mod cli;
mod crypto;
mod error;
mod export;
mod schema;
mod search;
mod store;
mod types;
mod users;

pub use chain::{Problem, VerifyReport};
pub use crypto::{AuditKeys, KeyState};
pub use error::AuditError;
pub use export::{ExportFormat, Stats, TimeSummary};
pub use schema::SCHEMA_VERSION;
pub use search::{DEFAULT_DUPLICATE_THRESHOLD, FaceIndex, TEMPLATE_DIM};
pub use store::{AuditConfig, AuditStore, ErasureReport, PurgeReport};
pub use types::*;
pub use users::{Permission, Role, UserInfo, UserSession, role_allows};
