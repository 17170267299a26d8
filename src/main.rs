//! The `kyc-kiosk` binary.
fn main() {}
