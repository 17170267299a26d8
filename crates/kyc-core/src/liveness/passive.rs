//! Passive anti-spoofing: one image and its face box → a live score 0–100.
//!
//! The model (`antispoof`, MiniFASNet-like, 3 classes) takes the face box scaled 2.7× about its
//! centre (shifted to stay inside the image, shrunk when it cannot fit), resized to 128×128,
//! planar **BGR** floats 0..255 without normalisation. Its 3 outputs are logits; the score is the
//! softmax probability of [`LIVE_CLASS`] × 100. Channel order and which class means "live" were
//! measured, not documented: with BGR input class 0 is high on real faces and low on the
//! photo-of-a-photo samples; with RGB input no class separates them (see
//! `src/liveness/ARCHITECTURE-liveness.md`).

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::face::detect::FaceBox;
use crate::imaging;
use crate::inference::{InferenceModel, Tensor};

/// Side of the square network input.
pub const INPUT_SIDE: usize = 128;
/// Factor by which the face box is enlarged about its centre for the crop.
pub const CROP_SCALE: f32 = 2.7;
/// Index of the output class that behaves as "live" on real faces (measured, with BGR input).
pub const LIVE_CLASS: usize = 0;
/// Number of classes the model outputs.
pub const CLASSES: usize = 3;

/// Passive-check settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PassiveConfig {
    /// Aggregated score (0–100) at or above which the sequence counts as live.
    pub threshold: f32,
    /// Fewest scored frames needed for a passive decision.
    pub min_frames: usize,
}

impl Default for PassiveConfig {
    fn default() -> Self {
        Self {
            threshold: 50.0,
            min_frames: 3,
        }
    }
}

/// The crop rectangle `(x, y, w, h)` in image pixels for `face` in a `img_w`×`img_h` image.
///
/// The box is scaled by [`CROP_SCALE`] about its centre — less when the scaled box would not fit
/// in the image — and then shifted (not clipped) to lie inside the image.
#[must_use]
pub fn crop_rect(face: &FaceBox, img_w: u32, img_h: u32) -> (f32, f32, f32, f32) {
    let (iw, ih) = (img_w as f32, img_h as f32);
    let (bw, bh) = (face.width.max(1.0), face.height.max(1.0));
    let scale = CROP_SCALE.min(iw / bw).min(ih / bh);
    let (w, h) = ((bw * scale).min(iw), (bh * scale).min(ih));
    let cx = face.x + face.width / 2.0;
    let cy = face.y + face.height / 2.0;
    let x = (cx - w / 2.0).clamp(0.0, (iw - w).max(0.0));
    let y = (cy - h / 2.0).clamp(0.0, (ih - h).max(0.0));
    (x, y, w, h)
}

/// The network input for `face` in `img`: 1×3×128×128 planar BGR, 0..255.
#[must_use]
pub fn prepare(img: &RgbImage, face: &FaceBox) -> Tensor {
    let (x, y, w, h) = crop_rect(face, img.width(), img.height());
    let cropped = imaging::crop(img, x, y, w, h);
    let data = imaging::resize_to_planar(
        &cropped, INPUT_SIDE, INPUT_SIDE, INPUT_SIDE, INPUT_SIDE, true,
    );
    Tensor::new(vec![1, 3, INPUT_SIDE, INPUT_SIDE], data)
}

/// Softmax of logits (numerically stable).
#[must_use]
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    if sum > 0.0 && sum.is_finite() {
        exps.iter().map(|e| e / sum).collect()
    } else {
        vec![0.0; logits.len()]
    }
}

/// Median of scores; `None` when there are none.
#[must_use]
pub fn median(scores: &[f32]) -> Option<f32> {
    let mut v: Vec<f32> = scores.iter().copied().filter(|s| s.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Passive decision over several frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PassiveSummary {
    /// Median live score of the scored frames, 0–100 (`None` when no frame was scored).
    pub score: Option<f32>,
    /// Lowest frame score.
    pub min_score: Option<f32>,
    /// Threshold in force.
    pub threshold: f32,
    /// Frames scored.
    pub frames: usize,
    /// Enough frames were scored and the median reached the threshold.
    pub is_live: bool,
}

/// Aggregate per-frame live scores: the median must reach the threshold over enough frames.
#[must_use]
pub fn aggregate(scores: &[f32], cfg: &PassiveConfig) -> PassiveSummary {
    let score = median(scores);
    let min_score = scores.iter().copied().reduce(f32::min);
    PassiveSummary {
        score,
        min_score,
        threshold: cfg.threshold,
        frames: scores.len(),
        is_live: scores.len() >= cfg.min_frames.max(1) && score.is_some_and(|s| s >= cfg.threshold),
    }
}

/// The anti-spoof model behind the inference seam.
pub struct PassiveDetector {
    model: Box<dyn InferenceModel>,
}

impl PassiveDetector {
    /// Wrap a loaded anti-spoof model.
    #[must_use]
    pub fn new(model: Box<dyn InferenceModel>) -> Self {
        Self { model }
    }

    /// Class probabilities for `face` in `img` (softmax of the 3 logits).
    ///
    /// # Errors
    /// When inference fails or does not return 3 values.
    pub fn probabilities(&mut self, img: &RgbImage, face: &FaceBox) -> Result<Vec<f32>> {
        let input = prepare(img, face);
        let outputs = self.model.run(&input)?;
        let logits = outputs
            .into_iter()
            .next()
            .map(|t| t.data)
            .unwrap_or_default();
        if logits.len() != CLASSES {
            return Err(Error::Inference {
                model: self.model.id().to_string(),
                message: format!("expected {CLASSES} logits, got {} values", logits.len()),
            });
        }
        Ok(softmax(&logits))
    }

    /// Live score 0–100 for `face` in `img`.
    ///
    /// # Errors
    /// When inference fails.
    pub fn score(&mut self, img: &RgbImage, face: &FaceBox) -> Result<f32> {
        let p = self.probabilities(img, face)?;
        Ok(p.get(LIVE_CLASS).copied().unwrap_or(0.0) * 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, y: f32, w: f32, h: f32) -> FaceBox {
        FaceBox {
            x,
            y,
            width: w,
            height: h,
            score: 0.9,
            landmarks: [[0.0; 2]; 5],
        }
    }

    struct Fake {
        logits: Vec<f32>,
        seen: Vec<Vec<usize>>,
    }

    impl InferenceModel for Fake {
        fn id(&self) -> &str {
            "antispoof"
        }
        fn run(&mut self, input: &Tensor) -> Result<Vec<Tensor>> {
            self.seen.push(input.shape.clone());
            Ok(vec![Tensor::new(
                vec![1, self.logits.len()],
                self.logits.clone(),
            )])
        }
    }

    #[test]
    fn crop_is_scaled_about_the_centre_when_it_fits() {
        let (x, y, w, h) = crop_rect(&face(300.0, 200.0, 40.0, 50.0), 1000, 800);
        assert!((w - 108.0).abs() < 1e-3 && (h - 135.0).abs() < 1e-3);
        assert!((x + w / 2.0 - 320.0).abs() < 1e-3 && (y + h / 2.0 - 225.0).abs() < 1e-3);
    }

    #[test]
    fn crop_is_shifted_inside_and_shrunk_when_too_big() {
        let (x, y, w, h) = crop_rect(&face(0.0, 10.0, 40.0, 40.0), 640, 480);
        assert_eq!((x, y), (0.0, 0.0));
        assert!((w - 108.0).abs() < 1e-3 && (h - 108.0).abs() < 1e-3);
        let (x, y, w, h) = crop_rect(&face(580.0, 400.0, 60.0, 80.0), 640, 480);
        assert!(x + w <= 640.0 + 1e-3 && y + h <= 480.0 + 1e-3);
        // A face too big for 2.7×: the scale shrinks so the crop fits the image.
        let (x, y, w, h) = crop_rect(&face(100.0, 50.0, 300.0, 400.0), 640, 480);
        assert!(
            (h - 480.0).abs() < 1e-3 && (w - 360.0).abs() < 1e-3,
            "{w} {h}"
        );
        assert!(x >= 0.0 && y >= 0.0 && x + w <= 640.0 + 1e-3);
    }

    #[test]
    fn input_is_planar_bgr_128_without_normalisation() {
        let img = RgbImage::from_pixel(320, 240, image::Rgb([10, 20, 30]));
        let t = prepare(&img, &face(140.0, 100.0, 40.0, 40.0));
        assert_eq!(t.shape, vec![1, 3, 128, 128]);
        let plane = 128 * 128;
        assert!((t.data[0] - 30.0).abs() < 1e-3);
        assert!((t.data[plane] - 20.0).abs() < 1e-3);
        assert!((t.data[2 * plane + 5] - 10.0).abs() < 1e-3);
    }

    #[test]
    fn score_is_softmax_of_the_live_class() {
        let mut d = PassiveDetector::new(Box::new(Fake {
            logits: vec![2.0, 0.0, 0.0],
            seen: Vec::new(),
        }));
        let img = RgbImage::new(100, 100);
        let s = d.score(&img, &face(40.0, 40.0, 20.0, 20.0)).unwrap();
        let e2 = 2f32.exp();
        assert!((s - 100.0 * e2 / (e2 + 2.0)).abs() < 1e-3, "{s}");
    }

    #[test]
    fn wrong_output_size_is_an_error_not_a_panic() {
        let mut d = PassiveDetector::new(Box::new(Fake {
            logits: vec![1.0, 2.0],
            seen: Vec::new(),
        }));
        let img = RgbImage::new(100, 100);
        assert!(d.score(&img, &face(40.0, 40.0, 20.0, 20.0)).is_err());
    }

    #[test]
    fn median_and_aggregate() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        let cfg = PassiveConfig {
            threshold: 50.0,
            min_frames: 3,
        };
        // One bad frame does not decide; the median does.
        let s = aggregate(&[90.0, 10.0, 80.0], &cfg);
        assert!(s.is_live && s.score == Some(80.0) && s.min_score == Some(10.0));
        assert!(!aggregate(&[90.0, 90.0], &cfg).is_live, "too few frames");
        assert!(!aggregate(&[20.0, 60.0, 30.0], &cfg).is_live);
    }
}
