//! kyc-kiosk: the kiosk window and the command line over `kyc_core`.
//!
//! The core (`crates/kyc-core`) knows nothing of this crate; see ARCHITECTURE.md for the map.

pub mod cli;
pub mod gui;
pub mod logging;
pub mod memory;
