//! Integration tests: cli (one test binary; each file below was its own binary before).

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/fleet.rs"]
mod fleet_common;
#[path = "../common/passport.rs"]
mod passport;
#[path = "../common/synth.rs"]
mod synth;

mod cli;
mod config_guard_cli;
mod doctor_cli;
mod document_cli;
mod fleet_cli;
mod fleet_dedup;
mod fleet_hooks;
mod fleet_pipeline;
mod fleet_pull;
mod fleet_queue;
mod fleet_tls;
mod liveness_cli;
mod logs_cli;
mod memory_cli;
mod settings_governs_cli;
