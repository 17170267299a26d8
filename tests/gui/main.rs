//! Integration tests: gui (one test binary; each file below was its own binary before).

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/fleet.rs"]
mod fleet_common;
#[path = "../common/held.rs"]
mod held;
#[path = "../common/kiosk.rs"]
mod kiosk;
#[path = "../common/moves.rs"]
mod moves;
#[path = "../common/passport.rs"]
mod passport;
#[path = "../common/reading.rs"]
mod reading;
#[path = "../common/session.rs"]
mod session;
#[path = "../common/synth.rs"]
mod synth;

mod central_flags;
mod central_queue;
mod document_meter;
mod gui_admin;
mod gui_drop;
mod gui_evidence;
mod gui_flow;
mod gui_layout;
mod gui_liveness_retries;
mod gui_refusal_receipt;
mod gui_setup;
