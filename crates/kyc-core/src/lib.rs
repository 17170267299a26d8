//! kyc-kiosk core: capture, inference, face, document, liveness, decision and audit.
//!
//! The core knows nothing of the GUI; the `kyc-kiosk` binary and the tests drive it.
//! See ARCHITECTURE.md for the map and the direction of data flow.

pub mod audit;
pub mod bench;
pub mod config;
pub mod config_guard;
pub mod decision;
pub mod document;
pub mod error;
pub mod face;
pub mod fleet;
pub mod health;
pub mod imaging;
pub mod inference;
pub mod liveness;
pub mod logs;
pub mod models;
pub mod pipeline;
pub mod record;
pub mod result;
pub mod service;
pub mod settings;
pub mod timing;
pub mod verdict;

pub use config::Config;
pub use error::{Error, InputError, Result};
pub use pipeline::{Input, Pipeline};
pub use result::{MatchResult, VerificationResult};
