//! The document screen's live quality meter and automatic capture, on synthetic camera frames
//! (a card photographed on a desk) through the real text detector: each capture problem is named,
//! a good still card is accepted, and the kiosk captures it by itself from an image-sequence
//! source — or does not, when the agent turns automatic capture off.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::held;
use crate::kiosk;
use crate::reading;
use crate::session;
use crate::synth;

use std::path::Path;

use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use image::RgbImage;
use kyc_core::Config;
use kyc_core::document::{DocumentReader, ReaderOptions};
use kyc_kiosk::gui::KioskApp;
use kyc_kiosk::gui::capture::SourceSpec;
use kyc_kiosk::gui::meter::{AutoCapture, Hint};
use kyc_kiosk::gui::strings::EN;

use held::{empty_desk, held, write_document_frames};
use kiosk::{click, wait_for};
use reading::face;
use synth::*;

fn meter() -> DocumentReader {
    DocumentReader::load(ReaderOptions {
        portrait: false,
        ..ReaderOptions::default()
    })
    .expect("models: run `python3 packaging/fetch.py models`")
}

fn card() -> RgbImage {
    let fonts = Fonts::load();
    id_card(&fonts, &people()[2], &face(1)).image
}

#[test]
fn the_meter_names_each_capture_problem_and_accepts_a_good_card() {
    let mut m = meter();
    let card = card();

    let good = m.assess(&held(&card, 0.45, 3.0)).unwrap();
    assert!(
        good.quality.acceptable,
        "{:?} boxes {}",
        good.quality, good.text_boxes
    );
    assert!(good.text_boxes >= 8, "{}", good.text_boxes);
    let quad = good.quad.as_ref().expect("the card's edges");
    assert!((quad.fill_percent - 45.0).abs() < 6.0, "{quad:?}");

    let cases: [(&str, RgbImage, &str); 5] = [
        ("empty desk", empty_desk(), "no_document"),
        ("far away", held(&card, 0.12, 3.0), "document_too_small"),
        ("shaken", blur(&held(&card, 0.45, 3.0), 5.0), "blurry"),
        (
            "dim room",
            low_light(&held(&card, 0.45, 3.0), 0.18),
            "too_dark",
        ),
        (
            "lamp reflection",
            glare(&held(&card, 0.45, 3.0), 0.5, 0.55, 0.12),
            "glare",
        ),
    ];
    for (what, frame, reason) in cases {
        let a = m.assess(&frame).unwrap();
        assert!(!a.quality.acceptable, "{what}: {:?}", a.quality);
        assert!(
            a.quality.reasons.iter().any(|r| r.starts_with(reason)),
            "{what}: expected {reason}, got {:?}",
            a.quality.reasons
        );
    }
}

#[test]
fn a_face_in_front_of_the_camera_is_not_a_document() {
    // Every frame of both selfie clips: a person in front of a door or a wall, no document.
    let mut m = meter();
    for clip in ["frames/single_face", "frames/wolfgang"] {
        let dir = common::data(clip);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "png"))
            .collect();
        files.sort();
        assert!(files.len() >= 10, "{clip}");
        for f in files {
            let img = image::open(&f).unwrap().to_rgb8();
            let a = m.assess(&img).unwrap();
            assert!(
                !a.quality.acceptable && a.quality.reasons == ["no_document"],
                "{}: {} boxes, {:?}",
                f.display(),
                a.text_boxes,
                a.quality
            );
        }
    }
}

#[test]
fn automatic_capture_waits_for_a_good_still_card() {
    let mut m = meter();
    let card = card();
    // The customer brings the card in: nothing, too far, moving, then held still.
    let frames = [
        (empty_desk(), Hint::NoDocument),
        (held(&card, 0.12, 0.0), Hint::MoveCloser),
        // Good, but it moved since the last frame (it came closer).
        (held(&card, 0.45, -8.0), Hint::HoldStill),
        // Turned by 10°: moving again.
        (held(&card, 0.45, 2.0), Hint::HoldStill),
        (
            held(&card, 0.45, 2.2),
            Hint::Steadying { done: 2, needed: 3 },
        ),
        (held(&card, 0.45, 2.1), Hint::Capture),
    ];
    let mut ac = AutoCapture::new();
    for (i, (frame, want)) in frames.iter().enumerate() {
        let a = m.assess(frame).unwrap();
        let got = ac.observe(&a, frame.width(), frame.height());
        assert_eq!(got, *want, "frame {i}: {:?}", a.quality);
    }
}

/// The kiosk on the document screen, its camera the held-card sequence (5 fps).
fn kiosk(dir: &Path) -> (Harness<'static, KioskApp>, Vec<String>) {
    let frames = dir.join("frames");
    let still = write_document_frames(&frames, &card());
    let source = SourceSpec::Frames {
        dir: frames,
        fps: 5.0,
    };
    (
        session::on_document_screen(dir, source, Config::default(), None),
        still,
    )
}

#[test]
fn the_kiosk_captures_a_still_card_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let (mut h, still) = kiosk(dir.path());
    wait_for(&mut h, "automatic capture", |a| {
        a.state
            .session
            .as_ref()
            .is_some_and(|s| s.document.is_some())
    });
    let app = h.state();
    assert!(app.ui.meter.auto_captured);
    assert!(app.ui.meter.assessed >= 3, "{}", app.ui.meter.assessed);
    let doc = app
        .state
        .session
        .as_ref()
        .unwrap()
        .document
        .as_ref()
        .unwrap();
    // The frame kept is one the meter judged good: the card held still, as its file's bytes.
    assert!(still.contains(&doc.name), "{} not in {still:?}", doc.name);
    let bytes = doc.bytes.as_ref().expect("the file's own bytes");
    let on_disk = std::fs::read(dir.path().join("frames").join(&doc.name)).unwrap();
    assert_eq!(bytes.as_slice(), on_disk.as_slice());
    h.step();
    assert!(h.query_by_label(EN.auto_captured).is_some());
    // Retake starts the meter again, and the card is captured again.
    click(&mut h, EN.retake);
    assert!(!h.state().ui.meter.auto_captured);
    wait_for(&mut h, "the second automatic capture", |a| {
        a.state
            .session
            .as_ref()
            .is_some_and(|s| s.document.is_some())
    });
    assert!(h.state().ui.meter.auto_captured);
    // The back side, once asked for, is watched and captured the same way.
    click(&mut h, EN.add_back);
    assert!(h.state().state.session.as_ref().unwrap().back_step);
    wait_for(&mut h, "the back's automatic capture", |a| {
        a.state
            .session
            .as_ref()
            .is_some_and(|s| s.document_back.is_some())
    });
    let app = h.state();
    assert!(app.ui.meter.auto_captured);
    let back = app.state.session.as_ref().unwrap().document_back.as_ref();
    assert!(still.contains(&back.unwrap().name));
}

#[test]
fn with_automatic_capture_off_the_agent_captures() {
    let dir = tempfile::tempdir().unwrap();
    let (mut h, _) = kiosk(dir.path());
    wait_for(&mut h, "a frame", |a| a.ui.frame.is_some());
    h.get_by_role_and_label(Role::CheckBox, EN.auto_capture)
        .click();
    h.step();
    assert!(h.state().ui.meter.manual_only);
    // A whole loop of the sequence (8 frames, good ones among them) is assessed; nothing is kept.
    wait_for(&mut h, "a loop of assessments", |a| {
        a.ui.meter.assessed >= 10
    });
    assert!(
        h.state()
            .state
            .session
            .as_ref()
            .is_some_and(|s| s.document.is_none())
    );
    click(&mut h, EN.capture);
    let app = h.state();
    let s = app.state.session.as_ref().unwrap();
    assert!(s.document.is_some());
    assert!(!app.ui.meter.auto_captured);
}
