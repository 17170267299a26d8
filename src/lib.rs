//! kyc-kiosk core: capture, inference, face, document, liveness, decision and audit.
//!
//! The core knows nothing of the GUI; the `kyc-kiosk` binary and the tests drive it.

pub mod audit;
