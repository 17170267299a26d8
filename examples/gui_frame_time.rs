//! Headless UI frame time while the pipeline is busy: drives the kiosk with egui_kittest (no
//! window, no GPU) to the selfie screen, then runs verifications back to back and times every
//! UI frame painted while the worker is processing. Reports p50/p95/max of
//! (a) `KioskApp::frame` (our widget code) and (b) a whole harness step (egui's frame end,
//! tessellation-free AccessKit update included — an upper bound on the UI thread's work).
//!
//! Then it starts a liveness challenge on the same source and times the UI frames painted while
//! the liveness thread analyses frames (until the challenge's step times out), and for 10 s
//! on the document screen while the document meter assesses the source's frames.
//!
//! `cargo run --release --example gui_frame_time [-- <verifications>]` (models must be fetched).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "../tests/common/kiosk.rs"]
mod kiosk;
#[path = "../tests/common/session.rs"]
mod session;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use kyc_core::audit::Role as UserRole;
use kyc_kiosk::gui::capture::SourceSpec;
use kyc_kiosk::gui::state::{Screen, StoreStatus};
use kyc_kiosk::gui::strings::EN;
use kyc_kiosk::gui::{AppOptions, FrameTimes, KioskApp};

use kiosk::{click, type_into_role as type_into, wait_for};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fetched")
        .join(name)
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let audit = session::store_with_users(dir.path(), &[("ama", "agent-pass-1", UserRole::Agent)]);
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    std::fs::copy(data("obama2.jpg"), frames.join("f0.jpg")).unwrap();
    std::fs::copy(data("obama3.jpg"), frames.join("f1.jpg")).unwrap();
    let opts = AppOptions {
        source: Some(SourceSpec::Frames {
            dir: frames,
            fps: 30.0,
        }),
        idle_timeout: Duration::from_secs(3600),
        ..AppOptions::new(kyc_core::Config::default(), audit)
    };
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(|ui, app: &mut KioskApp| app.frame(ui), KioskApp::new(opts));
    wait_for(&mut h, "the kiosk", |a| {
        matches!(a.state.store, StoreStatus::Ready { .. })
            && matches!(
                a.state.models,
                kyc_kiosk::gui::state::ModelStatus::Ready { .. }
            )
    });
    type_into(&mut h, Role::TextInput, EN.username, "ama");
    type_into(&mut h, Role::PasswordInput, EN.password, "agent-pass-1");
    click(&mut h, EN.log_in);
    wait_for(&mut h, "the kiosk", |a| a.state.user.is_some());
    h.state_mut().state.start.country = "GH".into();
    h.step();
    click(&mut h, EN.start_verification);
    h.state_mut().ui.document_path = data("obama.jpg").display().to_string();
    h.step();
    click(&mut h, EN.import);
    wait_for(&mut h, "the kiosk", |a| {
        a.state
            .session
            .as_ref()
            .is_some_and(|s| s.document.is_some())
    });
    click(&mut h, EN.next);
    click(&mut h, EN.consent_agree);
    wait_for(&mut h, "the kiosk", |a| a.ui.frame.is_some());
    // The selfie is an imported still (the live source's challenge is timed by gui_flow).
    h.state_mut().ui.selfie_path = data("obama2.jpg").display().to_string();
    h.step();
    click(&mut h, EN.import);
    wait_for(&mut h, "the kiosk", |a| {
        a.state.session.as_ref().is_some_and(|s| s.selfie.is_some())
    });

    let mut step_times = FrameTimes::default();
    let mut busy_frames_before = 0usize;
    let mut pipeline_ms = Vec::new();
    for _ in 0..runs {
        h.state_mut().state.screen = Screen::Selfie;
        h.step();
        click(&mut h, EN.verify);
        let frame_count_before = h.state().frame_times.len();
        busy_frames_before += frame_count_before;
        loop {
            let t = Instant::now();
            h.step();
            let busy = h
                .state()
                .state
                .session
                .as_ref()
                .is_some_and(|s| s.stage.is_some());
            if !busy {
                break;
            }
            step_times.push(t.elapsed().as_secs_f64() * 1000.0);
            // A 60 Hz display's pace.
            std::thread::sleep(Duration::from_millis(16));
        }
        let s = h.state().state.session.as_ref().unwrap();
        pipeline_ms.push(s.result.as_ref().map_or(f64::NAN, |r| r.pipeline_ms));
    }
    let _ = busy_frames_before;

    // The liveness challenge: UI frames painted while the liveness thread analyses the source's
    // frames (the still photos do not perform the steps, so it runs until its step times out).
    h.state_mut().state.screen = Screen::Selfie;
    h.step();
    wait_for(&mut h, "the kiosk", |a| {
        matches!(
            a.state.liveness_models,
            kyc_kiosk::gui::state::ModelStatus::Ready { .. }
        )
    });
    click(&mut h, EN.start_challenge);
    let mut challenge_steps = FrameTimes::default();
    let started = Instant::now();
    while h.state().state.challenge_running() {
        let t = Instant::now();
        h.step();
        challenge_steps.push(t.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(16));
    }
    let challenge_s = started.elapsed().as_secs_f64();
    let analysed = h
        .state()
        .state
        .session
        .as_ref()
        .and_then(|s| s.challenge.as_ref())
        .map_or(0, |c| c.frames);

    // The document screen waiting for a document: UI frames painted while the meter thread
    // assesses the 30-fps source (at most 6 a second).
    {
        let app = h.state_mut();
        app.state.screen = Screen::Document;
        if let Some(s) = app.state.session.as_mut() {
            s.document = None;
            s.document_preview = None;
        }
        app.ui.meter.manual_only = true;
    }
    h.step();
    let (assessed_before, ms_before) = (h.state().ui.meter.assessed, h.state().ui.meter.assess_ms);
    let mut meter_steps = FrameTimes::default();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        let t = Instant::now();
        h.step();
        meter_steps.push(t.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(16));
    }
    let meter_s = started.elapsed().as_secs_f64();
    let assessed = h.state().ui.meter.assessed - assessed_before;
    let assess_ms = (h.state().ui.meter.assess_ms - ms_before) / assessed.max(1) as f64;

    let ft = &h.state().frame_times;
    pipeline_ms.sort_by(f64::total_cmp);
    println!("verifications: {runs}");
    println!(
        "pipeline time after the last capture (ms): median {:.0}, max {:.0}",
        pipeline_ms[pipeline_ms.len() / 2],
        pipeline_ms[pipeline_ms.len() - 1]
    );
    println!(
        "harness step while busy ({} frames): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        step_times.len(),
        step_times.quantile(0.5).unwrap_or(f64::NAN),
        step_times.quantile(0.95).unwrap_or(f64::NAN),
        step_times.quantile(1.0).unwrap_or(f64::NAN)
    );
    println!(
        "harness step while the challenge runs ({} frames, {analysed} source frames analysed in \
         {challenge_s:.1} s = {:.1} fps): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        challenge_steps.len(),
        analysed as f64 / challenge_s,
        challenge_steps.quantile(0.5).unwrap_or(f64::NAN),
        challenge_steps.quantile(0.95).unwrap_or(f64::NAN),
        challenge_steps.quantile(1.0).unwrap_or(f64::NAN)
    );
    println!(
        "harness step while the document meter runs ({} frames, {assessed} assessments in \
         {meter_s:.1} s = {:.1}/s, mean {assess_ms:.0} ms each): p50 {:.2} ms, p95 {:.2} ms, \
         max {:.2} ms",
        meter_steps.len(),
        assessed as f64 / meter_s,
        meter_steps.quantile(0.5).unwrap_or(f64::NAN),
        meter_steps.quantile(0.95).unwrap_or(f64::NAN),
        meter_steps.quantile(1.0).unwrap_or(f64::NAN)
    );
    println!(
        "KioskApp::frame, all frames ({}): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        ft.len(),
        ft.quantile(0.5).unwrap_or(f64::NAN),
        ft.quantile(0.95).unwrap_or(f64::NAN),
        ft.quantile(1.0).unwrap_or(f64::NAN)
    );
}
