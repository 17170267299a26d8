//! The document portrait analysed on a quarter-turned page without turning the page: the same
//! detection, aligned crop and template as analysing the turned image.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use image::{Rgb, RgbImage};
use kyc_core::face::{FaceConfig, FaceEngine, Role};
use kyc_core::imaging::rotate_quarters;
use kyc_core::inference::Runtime;
use kyc_core::timing::Timings;

fn engine() -> FaceEngine {
    let runtime = Runtime::open(&kyc_core::models::models_dir())
        .expect("models: run `python3 packaging/fetch.py models`");
    FaceEngine::load(&runtime, FaceConfig::default(), 2).unwrap()
}

/// A large page (2900×2100, shrunk about 4.5 times for the detector) with the portrait off
/// centre, lying `turns` quarter turns from upright.
fn page_lying(turns: u32) -> RgbImage {
    let face = common::load("pyfeat_portrait_anc.jpg").rgb;
    let mut page = RgbImage::from_pixel(2900, 2100, Rgb([236, 232, 222]));
    image::imageops::replace(&mut page, &face, 400, 300);
    // Turned back by the reader's `turns`, the page reads upright.
    rotate_quarters(&page, (4 - turns) % 4)
}

#[test]
fn turned_portrait_analysis_equals_analysing_the_turned_page() {
    let mut engine = engine();
    for turns in 1..4 {
        let lying = page_lying(turns);
        let upright = rotate_quarters(&lying, turns);
        let want = engine
            .analyze(&upright, Role::Document, &mut Timings::default(), "")
            .unwrap();
        let got = engine
            .analyze_turned(&lying, turns, Role::Document, &mut Timings::default(), "")
            .unwrap();
        assert!(
            want.detection.usable && want.embedding.is_some(),
            "{turns}: {:?}",
            want.detection
        );
        // The face lies where it was pasted on the upright page.
        let f = want.detection.face.as_ref().unwrap();
        assert!(
            f.x >= 400.0 && f.y >= 300.0 && f.x + f.width <= 912.0 && f.y + f.height <= 812.0,
            "{f:?}"
        );
        assert_eq!(got.detection, want.detection, "{turns} turns");
        assert_eq!(got.aligned, want.aligned, "{turns} turns");
        assert_eq!(got.embedding, want.embedding, "{turns} turns");
    }
}
