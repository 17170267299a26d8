//! A card held up to the kiosk camera: synthetic 1280×800 frames of a document photographed on a
//! desk (perspective, roll, sensor noise, JPEG), and the image sequence the document-meter tests
//! and the `document_frames` example play as a frame source.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use image::RgbImage;

use crate::synth::{jpeg, noise, photo};

/// A desk with nothing on it, as the camera sees it (1280×800, a little noise).
pub fn empty_desk() -> RgbImage {
    noise(
        &RgbImage::from_pixel(1280, 800, image::Rgb([70, 62, 55])),
        4.0,
        9,
    )
}

/// The card held up to the camera: `fill` of the frame, rolled by `roll` degrees.
pub fn held(card: &RgbImage, fill: f64, roll: f64) -> RgbImage {
    jpeg(&noise(&photo(card, 8.0, roll, fill), 3.0, 1), 85)
}

/// Write the sequence — an empty desk, the card far away, then the card held still for six
/// frames (rolling by 0.1° at most) — as JPEGs in `dir`; returns the still frames' file names.
pub fn write_document_frames(dir: &Path, card: &RgbImage) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let mut frames = vec![
        ("00_empty.jpg".to_string(), empty_desk()),
        ("01_far.jpg".to_string(), held(card, 0.12, 0.0)),
    ];
    for k in 0..6 {
        frames.push((
            format!("{:02}_held.jpg", k + 2),
            held(card, 0.45, 2.0 + 0.1 * f64::from(k % 2)),
        ));
    }
    let mut still = Vec::new();
    for (name, img) in frames {
        img.save(dir.join(&name)).unwrap();
        if name.contains("held") {
            still.push(name);
        }
    }
    still
}
