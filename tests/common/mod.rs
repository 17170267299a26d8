//! Shared helpers for integration tests: the fetched real images and a loaded pipeline.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use image::RgbImage;
use kyc_core::imaging::{Decoded, ImageLimits, decode_file};
use kyc_core::{Config, Pipeline};

/// A fetched test image; fails with the fetch command when the test set-up did not run.
pub fn data(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fetched")
        .join(name);
    assert!(
        p.exists(),
        "{} is missing: run `python3 packaging/fetch.py testdata` (the README's test command does)",
        p.display()
    );
    p
}

/// Decode a fetched image.
pub fn load(name: &str) -> Decoded {
    decode_file(&data(name), &ImageLimits::default()).unwrap()
}

/// Wrap pixels as a decoded input.
pub fn decoded(rgb: RgbImage) -> Decoded {
    Decoded {
        rgb,
        format: "png",
        file_bytes: 0,
    }
}

/// A pipeline with the default settings (models from the default folder).
pub fn pipeline() -> Pipeline {
    Pipeline::load(Config::default()).expect("models: run `python3 packaging/fetch.py models`")
}

/// The 25 cells (5×5) of the one-woman expression grid, row by row.
pub fn grid_cells() -> Vec<RgbImage> {
    let grid = load("expressions_grid.jpg").rgb;
    let cell = grid.width() / 5;
    let mut cells = Vec::new();
    for row in 0..5 {
        for col in 0..5 {
            cells.push(
                image::imageops::crop_imm(&grid, col * cell, row * cell, cell, cell).to_image(),
            );
        }
    }
    cells
}

/// Every face of a group photo as its own crop (2× the box, clamped), largest first.
pub fn face_crops(name: &str, pipeline: &mut Pipeline) -> Vec<RgbImage> {
    let img = load(name).rgb;
    let mut faces = pipeline.face_engine().unwrap().detect_all(&img).unwrap();
    faces.sort_by(|a, b| b.area().total_cmp(&a.area()));
    faces
        .iter()
        .map(|f| {
            kyc_core::imaging::crop(
                &img,
                f.x - f.width / 4.0,
                f.y - f.height / 4.0,
                f.width * 1.5,
                f.height * 1.5,
            )
        })
        .collect()
}
