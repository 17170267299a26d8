//! Face image quality: sharpness, brightness, size and head pose from the 5 landmarks.

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::face::detect::FaceBox;
use crate::imaging::luma;

/// Quality of one detected face.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceQuality {
    /// 0–100: variance of the Laplacian on the aligned face, mapped by `100·(1 − e^(−v/K))`.
    pub sharpness: f32,
    /// 0–100: mean luma of the aligned face's central region, as a percentage of white.
    pub brightness: f32,
    /// Face box width in image pixels.
    pub face_width_px: f32,
    /// Face box height in image pixels.
    pub face_height_px: f32,
    /// Distance between the eye centres in image pixels.
    pub inter_eye_px: f32,
    /// Head turn in degrees, estimated from the landmarks (positive: towards image-right).
    pub yaw: f32,
    /// Head tilt up/down in degrees, estimated (positive: looking up).
    pub pitch: f32,
    /// In-plane rotation in degrees (positive: clockwise in the image).
    pub roll: f32,
}

/// Scale of the sharpness mapping: a Laplacian variance of K gives 63.
///
/// Set on real photos: in-focus faces measure 1000–1900 (sharpness 80–96), the same faces
/// blurred with σ = 2 px at 250 px face width measure 220–330 (31–42), σ = 4 px about 50 (8).
pub const SHARPNESS_K: f32 = 600.0;

/// Measure the quality of `face`, using its aligned 112×112 crop for sharpness and brightness
/// (so both are comparable between a small document portrait and a large selfie).
#[must_use]
pub fn measure(face: &FaceBox, aligned: &RgbImage) -> FaceQuality {
    let (yaw, pitch, roll) = pose(&face.landmarks);
    let [le, re, ..] = face.landmarks;
    FaceQuality {
        sharpness: sharpness(aligned),
        brightness: brightness(aligned),
        face_width_px: face.width,
        face_height_px: face.height,
        inter_eye_px: (re[0] - le[0]).hypot(re[1] - le[1]),
        yaw,
        pitch,
        roll,
    }
}

/// Central region of the aligned face (skips warp borders and background).
const REGION: (u32, u32, u32, u32) = (24, 28, 88, 104);

/// 0–100 sharpness from the variance of a 4-neighbour Laplacian over the face's central region.
#[must_use]
pub fn sharpness(aligned: &RgbImage) -> f32 {
    let (x0, y0, x1, y1) = REGION;
    if aligned.width() < x1 + 1 || aligned.height() < y1 + 1 {
        return 0.0;
    }
    let g = |x: u32, y: u32| luma(aligned.get_pixel(x, y).0);
    let mut values = Vec::with_capacity(((x1 - x0) * (y1 - y0)) as usize);
    for y in y0..y1 {
        for x in x0..x1 {
            values.push(g(x - 1, y) + g(x + 1, y) + g(x, y - 1) + g(x, y + 1) - 4.0 * g(x, y));
        }
    }
    let n = values.len() as f32;
    let mean = values.iter().sum::<f32>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    100.0 * (1.0 - (-var / SHARPNESS_K).exp())
}

/// 0–100 brightness: mean luma of the face's central region.
#[must_use]
pub fn brightness(aligned: &RgbImage) -> f32 {
    let (x0, y0, x1, y1) = REGION;
    if aligned.width() < x1 || aligned.height() < y1 {
        return 0.0;
    }
    let mut sum = 0.0;
    for y in y0..y1 {
        for x in x0..x1 {
            sum += luma(aligned.get_pixel(x, y).0);
        }
    }
    sum / ((x1 - x0) * (y1 - y0)) as f32 / 255.0 * 100.0
}

/// Rough yaw, pitch, roll (degrees) from 5 landmarks.
///
/// Roll is the eye line's angle. With roll removed, yaw comes from the nose tip's sideways offset
/// from the eye–mouth midline and pitch from its height between the eye and mouth lines, each
/// against a frontal head model in which the nose tip stands 0.6 inter-eye distances in front of
/// the face plane. Good to a few degrees near frontal, which is what capture guidance needs.
#[must_use]
pub fn pose(lm: &[[f32; 2]; 5]) -> (f32, f32, f32) {
    let [le, re, nose, lm_, rm] = *lm;
    let roll = (re[1] - le[1]).atan2(re[0] - le[0]);
    let (c, s) = (roll.cos(), roll.sin());
    let rot = |p: [f32; 2]| [c * p[0] + s * p[1], -s * p[0] + c * p[1]];
    let (le, re, nose, lm_, rm) = (rot(le), rot(re), rot(nose), rot(lm_), rot(rm));
    let iod = (re[0] - le[0]).abs().max(1e-3);
    let eye_mid = [(le[0] + re[0]) / 2.0, (le[1] + re[1]) / 2.0];
    let mouth_mid = [(lm_[0] + rm[0]) / 2.0, (lm_[1] + rm[1]) / 2.0];
    let depth = 0.6 * iod;
    let mid_x = (eye_mid[0] + mouth_mid[0]) / 2.0;
    let yaw = ((nose[0] - mid_x) / depth).atan();
    // Frontal ratio of (nose − eyes) to (mouth − eyes) heights in the ArcFace template: 0.495.
    let em = (mouth_mid[1] - eye_mid[1]).max(1e-3);
    let ratio = (nose[1] - eye_mid[1]) / em;
    let pitch = ((0.495 - ratio) * em / depth).atan();
    (yaw.to_degrees(), pitch.to_degrees(), roll.to_degrees())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::align::TEMPLATE_112;

    #[test]
    fn frontal_template_has_near_zero_pose() {
        let (yaw, pitch, roll) = pose(&TEMPLATE_112);
        assert!(
            yaw.abs() < 2.0 && pitch.abs() < 2.0 && roll.abs() < 1.0,
            "{yaw} {pitch} {roll}"
        );
    }

    #[test]
    fn rotated_landmarks_give_roll_and_shifted_nose_gives_yaw() {
        let a = 20f32.to_radians();
        let rotated = TEMPLATE_112.map(|p| {
            [
                a.cos() * p[0] - a.sin() * p[1],
                a.sin() * p[0] + a.cos() * p[1],
            ]
        });
        let (yaw, _, roll) = pose(&rotated);
        assert!((roll - 20.0).abs() < 0.5 && yaw.abs() < 2.0, "{roll} {yaw}");
        let mut turned = TEMPLATE_112;
        turned[2][0] += 15.0;
        assert!(pose(&turned).0 > 15.0);
        let mut up = TEMPLATE_112;
        up[2][1] -= 8.0;
        assert!(pose(&up).1 > 8.0);
    }

    #[test]
    fn flat_image_is_not_sharp_and_noise_is() {
        let flat = RgbImage::from_pixel(112, 112, image::Rgb([128, 128, 128]));
        assert!(sharpness(&flat) < 0.01);
        assert!((brightness(&flat) - 50.2).abs() < 0.5);
        let noisy = RgbImage::from_fn(112, 112, |x, y| {
            let v = if (x * 7 + y * 13) % 3 == 0 { 200 } else { 60 };
            image::Rgb([v, v, v])
        });
        assert!(sharpness(&noisy) > 90.0);
    }
}
