//! `kyc-kiosk liveness` as a process: JSON contract, determinism, usage errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::passport;

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
    // The checks over the whole challenge, each named with its outcome: the real clip passes
    // them all (only the challenge itself failed).
    let checks = v["checks"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().filter_map(|c| c["check"].as_str()).collect();
    assert_eq!(names, ["passive", "movementOrder", "temporal", "frameRate"]);
    assert!(checks.iter().all(|c| c["passed"] == true), "{checks:?}");
    let again = json(&kiosk(&args));
    for key in [
        "challenge",
        "active",
        "passive",
        "selfie",
        "decision",
        "reasons",
        "checks",
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
        "wink",
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

#[test]
fn verify_with_selfie_frames_reports_the_challenge_and_rejects_when_it_is_not_performed() {
    let frames = common::data("frames/single_face");
    let document = passport::passport_file(
        "pyfeat_single_face.jpg",
        2,
        &std::env::temp_dir().join(format!("kyc-liveness-cli-{}", std::process::id())),
    );
    let out = kiosk(&[
        "verify",
        "--document",
        document.to_str().unwrap(),
        "--selfie-frames",
        frames.to_str().unwrap(),
        "--fps",
        "10",
        "--challenge",
        "turnLeft,comeCloser",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    let l = &v["liveness"];
    assert_eq!(l["mode"], "sequence");
    assert_eq!(l["isLive"], false);
    assert_eq!(
        l["challenge"]["steps"],
        serde_json::json!(["turnLeft", "comeCloser"])
    );
    assert_eq!(l["active"]["passed"], false);
    assert_eq!(l["active"]["steps"][0]["status"], "failed");
    assert_eq!(l["passive"]["isLive"], true);
    assert_eq!(l["frames"].as_array().unwrap().len(), 24);
    // The selfie is the chosen frame, and it is the document holder.
    let chosen = l["selfieFrame"]["frameIndex"].as_u64().unwrap();
    assert!(
        v["selfie"]["source"]
            .as_str()
            .unwrap()
            .ends_with(&format!("(frame {chosen})")),
        "{}",
        v["selfie"]
    );
    assert_eq!(v["faceMatch"]["isMatch"], true);
    // Not performed → rejected, with the liveness reason and no "every check passed".
    assert_eq!(v["decision"], "reject");
    assert_eq!(v["verified"], false);
    let codes: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"challenge_incomplete"), "{codes:?}");
    assert!(!codes.contains(&"all_checks_passed"));
}

#[test]
fn verify_with_one_selfie_runs_the_passive_check_alone() {
    let out = kiosk(&[
        "verify",
        "--document",
        passport::passport_file(
            "obama.jpg",
            0,
            &std::env::temp_dir().join(format!("kyc-liveness-cli-{}", std::process::id())),
        )
        .to_str()
        .unwrap(),
        "--selfie",
        common::data("obama2.jpg").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    let l = &v["liveness"];
    assert_eq!(l["mode"], "singleImage");
    assert!(l["active"].is_null());
    assert_eq!(l["passive"]["frames"], 1);
    assert!(l["passive"]["score"].as_f64().unwrap() >= 50.0, "{l}");
    assert_eq!(l["isLive"], true);
    // A still selfie is never approved: referred, and labelled as a still.
    assert_eq!(l["captureSource"], "still");
    assert_eq!(v["decision"], "refer");
    assert!(
        v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "still_selfie"),
        "{v}"
    );
    assert_eq!(l["documentLikeness"]["samePicture"], false);
    assert!(
        v["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "antispoof")
    );
}

#[test]
fn verify_refuses_selfie_and_selfie_frames_together_and_needs_one() {
    let doc = common::data("obama.jpg");
    let d = doc.to_str().unwrap();
    let frames = common::data("frames/single_face");
    let out = kiosk(&[
        "verify",
        "--document",
        d,
        "--selfie",
        d,
        "--selfie-frames",
        frames.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = kiosk(&["verify", "--document", d, "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let out = kiosk(&[
        "verify",
        "--document",
        d,
        "--selfie-frames",
        frames.to_str().unwrap(),
        "--challenge",
        "wink",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["error"]["code"], "invalid_challenge");
}

#[test]
fn kiosk_mode_refuses_a_still_selfie_file() {
    let doc = common::data("obama.jpg");
    let d = doc.to_str().unwrap();
    let selfie = common::data("obama2.jpg");
    let out = kiosk(&[
        "verify",
        "--document",
        d,
        "--selfie",
        selfie.to_str().unwrap(),
        "--kiosk",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["error"]["code"], "kiosk_needs_challenge");
}

#[test]
fn a_timestamps_file_gives_the_measured_frame_rate() {
    // The clip's frames with capture times one second apart: whatever --fps claims, the
    // measured rate (1 fps) is too low and the frameRate check says so.
    let src = common::data("frames/single_face");
    let dir = std::env::temp_dir().join(format!("kyc-liveness-times-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = kyc_kiosk::cli::liveness::frame_files(&src).unwrap();
    let mut times = String::new();
    for (i, f) in files.iter().take(12).enumerate() {
        std::fs::copy(f, dir.join(f.file_name().unwrap())).unwrap();
        times.push_str(&format!("{}\n", i * 1000));
    }
    std::fs::write(dir.join("timestamps.txt"), &times).unwrap();
    let args = [
        "liveness",
        "--frames",
        dir.to_str().unwrap(),
        "--fps",
        "10",
        "--challenge",
        "smile",
        "--json",
    ];
    let v = json(&kiosk(&args));
    let rate = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "frameRate")
        .unwrap()
        .clone();
    assert_eq!(rate["passed"], false, "{rate}");
    assert!(
        (rate["value"].as_f64().unwrap() - 1.0).abs() < 1e-6,
        "{rate}"
    );
    assert_eq!(v["isLive"], false);
    assert_eq!(v["frames"][3]["tMs"], 3000.0);
    // A malformed file is a usage error.
    std::fs::write(dir.join("timestamps.txt"), "0\nsoon\n").unwrap();
    let out = kiosk(&args);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["error"]["code"], "invalid_timestamps");
    std::fs::remove_dir_all(&dir).unwrap();
}
