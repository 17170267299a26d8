//! Command-line front ends of the core's capabilities (clap arguments, printing, exit codes).

pub mod audit;
pub mod auth;
pub mod doctor;
pub mod document;
pub mod fleet;
pub mod liveness;
pub mod supervisor;
