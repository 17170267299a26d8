//! Shared by the fleet tests of the cli and gui binaries: the kiosk binary with a clean
//! environment, and a command's stdout once it succeeded.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

/// The `kyc-kiosk` binary without the environment that would change what a test sees.
pub fn kiosk_bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kyc-kiosk"));
    c.env_remove("KYC_KIOSK_MODELS")
        .env_remove("KYC_KIOSK_CONFIG")
        .env_remove("KYC_FLEET_TOKEN")
        .env_remove("KYC_KIOSK_PASSWORD");
    c
}

/// The stdout of a command that must have succeeded (its stderr in the failure message).
pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
