//! Integration tests: core (one test binary; each file below was its own binary before).

#[path = "../audit_support/mod.rs"]
mod audit_support;
#[path = "../common/mod.rs"]
mod common;
#[path = "../common/moves.rs"]
mod moves;
#[path = "../common/passport.rs"]
mod passport;
#[path = "../common/reading.rs"]
mod reading;
#[path = "../common/recapture_sim.rs"]
mod recapture_sim;
#[path = "../common/synth.rs"]
mod synth;

mod audit_attacks;
mod audit_chain;
mod audit_crash;
mod audit_duplicates;
mod audit_encryption;
mod audit_export;
mod audit_page_format;
mod audit_retention;
mod audit_store;
mod audit_user_admin;
mod audit_users;
mod document_barcode;
mod document_inband;
mod document_layouts;
mod document_locate;
mod document_read;
mod document_recapture;
mod document_sides;
mod evidence_jpeg;
mod faces_real;
mod idnumber_checks;
mod image_formats;
mod input_hardening;
mod liveness_real;
mod mrz_codes;
mod mrz_names;
mod mrz_parse;
mod mrz_samples;
mod portrait_turned;
mod runtime_load;
