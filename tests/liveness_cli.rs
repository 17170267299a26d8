//! `kyc-kiosk liveness` as a process: JSON contract, determinism, usage errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Output};

use serde_json::Value;

fn kiosk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kyc-kiosk"))
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn recorded_clip_without_the_movements_is_not_live_and_the_result_is_deterministic() {
    let dir = common::data("frames/single_face");
    let args = [
        "liveness",
        "--frames",
        dir.to_str().unwrap(),
        "--fps",
        "10",
        "--challenge",
        "turnLeft,look_up",
        "--json",
    ];
    let out = kiosk(&args);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["decision"], "notLive");
    assert_eq!(v["isLive"], false);
    assert_eq!(
        v["challenge"]["steps"],
        serde_json::json!(["turnLeft", "lookUp"])
    );
    assert_eq!(v["active"]["passed"], false);
    assert_eq!(v["active"]["state"]["state"], "failed");
    assert_eq!(v["active"]["steps"][0]["status"], "failed");
    assert_eq!(v["passive"]["isLive"], true);
    assert_eq!(v["frameCount"], 24);
    assert!(v["selfie"]["frameIndex"].is_number());
    assert_eq!(v["reasons"][0]["code"], "challenge_incomplete");
    let again = json(&kiosk(&args));
    for key in [
        "challenge",
        "active",
        "passive",
        "selfie",
        "decision",
        "reasons",
    ] {
        assert_eq!(v[key], again[key], "{key} differs between runs");
    }
}

#[test]
fn usage_errors_are_reported() {
    let dir = common::data("frames/single_face");
    let d = dir.to_str().unwrap();
    let out = kiosk(&[
        "liveness",
        "--frames",
        d,
        "--fps",
        "10",
        "--challenge",
        "smile",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["error"]["code"], "invalid_challenge");
    let out = kiosk(&["liveness", "--frames", d, "--fps", "0", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["error"]["code"], "invalid_fps");
    let out = kiosk(&[
        "liveness",
        "--frames",
        "/nonexistent/frames",
        "--fps",
        "10",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json(&out)["error"]["code"], "file_not_found");
}
