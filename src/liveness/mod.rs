//! Liveness: passive anti-spoofing on camera frames and an active challenge the customer performs.

pub mod challenge;
pub mod passive;
