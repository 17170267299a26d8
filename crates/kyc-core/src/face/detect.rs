//! Face detection with YuNet: pre-processing at any image size, output decoding, NMS.

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::imaging;
use crate::inference::{InferenceModel, Tensor};

/// A detected face in original-image pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceBox {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
    /// Detector score 0..1.
    pub score: f32,
    /// Eye (image-left), eye (image-right), nose tip, mouth corner (image-left), mouth corner
    /// (image-right).
    pub landmarks: [[f32; 2]; 5],
}

impl FaceBox {
    /// Area in pixels².
    #[must_use]
    pub fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }

    /// Intersection over union with another box.
    #[must_use]
    pub fn iou(&self, other: &Self) -> f32 {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = (self.x + self.width).min(other.x + other.width);
        let y1 = (self.y + self.height).min(other.y + other.height);
        let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }
}

/// Detector settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DetectorConfig {
    /// Images are shrunk so their long side is at most this many pixels before detection
    /// (YuNet misses large faces in full-size photos; 640 is its training scale).
    pub max_side: u32,
    /// Minimum score to keep a face.
    pub score_threshold: f32,
    /// IoU above which the weaker of two overlapping boxes is suppressed.
    pub nms_iou: f32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            max_side: 640,
            score_threshold: 0.7,
            nms_iou: 0.3,
        }
    }
}

/// The network input for an image: a padded BGR tensor and the factors back to image pixels.
#[derive(Debug, Clone)]
pub struct PreparedInput {
    /// 1×3×H×W, H and W multiples of 32.
    pub tensor: Tensor,
    /// Image pixels per network pixel, horizontally.
    pub scale_x: f32,
    /// Image pixels per network pixel, vertically.
    pub scale_y: f32,
}

/// Shrink to `max_side`, pad to multiples of 32, BGR planes with values 0..255.
#[must_use]
pub fn prepare(img: &RgbImage, max_side: u32) -> PreparedInput {
    prepare_turned(img, 0, max_side)
}

/// [`prepare`] of `img` turned by `quarters` clockwise quarter turns (as
/// [`imaging::rotate_quarters`] turns it), the same tensor without turning the whole image.
#[must_use]
pub fn prepare_turned(img: &RgbImage, quarters: u32, max_side: u32) -> PreparedInput {
    let (w, h) = if quarters % 2 == 1 {
        (img.height().max(1), img.width().max(1))
    } else {
        (img.width().max(1), img.height().max(1))
    };
    let long = w.max(h) as f32;
    let s = (max_side as f32 / long).min(1.0);
    let dw = ((w as f32 * s).round() as usize).max(1);
    let dh = ((h as f32 * s).round() as usize).max(1);
    let pw = dw.div_ceil(32) * 32;
    let ph = dh.div_ceil(32) * 32;
    let data = imaging::resize_to_planar_turned(img, quarters, dw, dh, pw, ph, true);
    PreparedInput {
        tensor: Tensor::new(vec![1, 3, ph, pw], data),
        scale_x: w as f32 / dw as f32,
        scale_y: h as f32 / dh as f32,
    }
}

const STRIDES: [usize; 3] = [8, 16, 32];

/// Decode YuNet's 12 outputs (cls, obj, bbox, kps for strides 8/16/32, in that order) into
/// boxes in image pixels, then apply NMS.
///
/// # Errors
/// When the outputs do not have the shapes YuNet produces for this input size.
pub fn decode(
    outputs: &[Tensor],
    input: &PreparedInput,
    cfg: &DetectorConfig,
) -> Result<Vec<FaceBox>> {
    let bad = |message: String| Error::Inference {
        model: "face_detector".to_string(),
        message,
    };
    if outputs.len() != 12 {
        return Err(bad(format!("expected 12 outputs, got {}", outputs.len())));
    }
    let (ph, pw) = (input.tensor.shape[2], input.tensor.shape[3]);
    let mut faces = Vec::new();
    for (i, &stride) in STRIDES.iter().enumerate() {
        let cols = pw / stride;
        let rows = ph / stride;
        let cells = cols * rows;
        let (cls, obj, bbox, kps) = (
            &outputs[i],
            &outputs[3 + i],
            &outputs[6 + i],
            &outputs[9 + i],
        );
        if cls.data.len() != cells
            || obj.data.len() != cells
            || bbox.data.len() != cells * 4
            || kps.data.len() != cells * 10
        {
            return Err(bad(format!(
                "stride {stride}: output sizes do not match a {pw}x{ph} input"
            )));
        }
        let s = stride as f32;
        for idx in 0..cells {
            let score = (cls.data[idx].clamp(0.0, 1.0) * obj.data[idx].clamp(0.0, 1.0)).sqrt();
            if score < cfg.score_threshold {
                continue;
            }
            let col = (idx % cols) as f32;
            let row = (idx / cols) as f32;
            let b = &bbox.data[idx * 4..idx * 4 + 4];
            let cx = (col + b[0]) * s;
            let cy = (row + b[1]) * s;
            let bw = b[2].exp() * s;
            let bh = b[3].exp() * s;
            let k = &kps.data[idx * 10..idx * 10 + 10];
            let mut landmarks = [[0.0f32; 2]; 5];
            for (j, lm) in landmarks.iter_mut().enumerate() {
                *lm = [
                    (col + k[2 * j]) * s * input.scale_x,
                    (row + k[2 * j + 1]) * s * input.scale_y,
                ];
            }
            faces.push(FaceBox {
                x: (cx - bw / 2.0) * input.scale_x,
                y: (cy - bh / 2.0) * input.scale_y,
                width: bw * input.scale_x,
                height: bh * input.scale_y,
                score,
                landmarks,
            });
        }
    }
    Ok(nms(faces, cfg.nms_iou))
}

/// Greedy non-maximum suppression: keep the best-scoring box, drop those overlapping it.
#[must_use]
pub fn nms(mut faces: Vec<FaceBox>, iou_threshold: f32) -> Vec<FaceBox> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<FaceBox> = Vec::with_capacity(faces.len().min(64));
    for face in faces {
        if kept.iter().all(|k| k.iou(&face) <= iou_threshold) {
            kept.push(face);
        }
    }
    kept
}

/// YuNet behind the inference seam.
pub struct FaceDetector {
    model: Box<dyn InferenceModel>,
    /// Settings in force.
    pub config: DetectorConfig,
}

impl FaceDetector {
    /// Wrap a loaded YuNet model.
    #[must_use]
    pub fn new(model: Box<dyn InferenceModel>, config: DetectorConfig) -> Self {
        Self { model, config }
    }

    /// All faces in the image, best first.
    ///
    /// # Errors
    /// When inference fails.
    pub fn detect(&mut self, img: &RgbImage) -> Result<Vec<FaceBox>> {
        let input = prepare(img, self.config.max_side);
        self.detect_prepared(&input)
    }

    /// Run on an input already made by [`prepare`] (lets callers time the two apart).
    ///
    /// # Errors
    /// When inference fails.
    pub fn detect_prepared(&mut self, input: &PreparedInput) -> Result<Vec<FaceBox>> {
        let outputs = self.model.run(&input.tensor)?;
        decode(&outputs, input, &self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, y: f32, w: f32, score: f32) -> FaceBox {
        FaceBox {
            x,
            y,
            width: w,
            height: w,
            score,
            landmarks: [[0.0; 2]; 5],
        }
    }

    #[test]
    fn nms_keeps_best_of_overlapping_and_all_separate() {
        let faces = vec![
            face(0.0, 0.0, 100.0, 0.8),
            face(5.0, 5.0, 100.0, 0.95),
            face(300.0, 0.0, 50.0, 0.7),
        ];
        let kept = nms(faces, 0.3);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.95);
        assert_eq!(kept[1].x, 300.0);
    }

    #[test]
    fn iou_of_identical_and_disjoint() {
        let a = face(0.0, 0.0, 10.0, 1.0);
        assert!((a.iou(&a) - 1.0).abs() < 1e-6);
        assert_eq!(a.iou(&face(20.0, 20.0, 10.0, 1.0)), 0.0);
    }

    #[test]
    fn prepare_pads_to_multiples_of_32_and_keeps_scale() {
        let img = RgbImage::new(1280, 960);
        let p = prepare(&img, 640);
        assert_eq!(p.tensor.shape, vec![1, 3, 480, 640]);
        assert!((p.scale_x - 2.0).abs() < 1e-6 && (p.scale_y - 2.0).abs() < 1e-6);
        let small = prepare(&RgbImage::new(100, 70), 640);
        assert_eq!(small.tensor.shape, vec![1, 3, 96, 128]);
        assert_eq!(small.scale_x, 1.0);
    }

    /// A fake YuNet that puts one confident face in one stride-16 cell.
    struct FakeYunet;
    impl InferenceModel for FakeYunet {
        fn id(&self) -> &str {
            "fake"
        }
        fn run(&mut self, input: &Tensor) -> Result<Vec<Tensor>> {
            let (h, w) = (input.shape[2], input.shape[3]);
            let mut out = Vec::new();
            let cells: Vec<usize> = STRIDES.iter().map(|s| (h / s) * (w / s)).collect();
            for (kind, width) in [(0, 1), (1, 1), (2, 4), (3, 10)] {
                for (i, &n) in cells.iter().enumerate() {
                    let mut data = vec![0.0; n * width];
                    if i == 1 {
                        // cell (col 3, row 2) of stride 16
                        let idx = 2 * (w / 16) + 3;
                        match kind {
                            0 | 1 => data[idx] = 0.9,
                            2 => data[idx * 4..idx * 4 + 4].copy_from_slice(&[
                                0.5,
                                0.5,
                                2f32.ln(),
                                2f32.ln(),
                            ]),
                            _ => data[idx * 10..idx * 10 + 10].copy_from_slice(&[
                                0.2, 0.3, 0.8, 0.3, 0.5, 0.5, 0.3, 0.7, 0.7, 0.7,
                            ]),
                        }
                    }
                    out.push(Tensor::new(vec![1, n, width], data));
                }
            }
            Ok(out)
        }
    }

    #[test]
    fn decodes_a_cell_into_image_coordinates() {
        // 256x256 image shrunk to 128 for detection: network pixels are 2 image pixels.
        let mut det = FaceDetector::new(
            Box::new(FakeYunet),
            DetectorConfig {
                max_side: 128,
                ..Default::default()
            },
        );
        let faces = det.detect(&RgbImage::new(256, 256)).unwrap();
        assert_eq!(faces.len(), 1);
        let f = &faces[0];
        assert!((f.score - 0.9).abs() < 1e-6);
        // centre (3.5*16, 2.5*16) = (56, 40) net px; size 32 net px; ×2 to image px.
        assert!(
            (f.x - (56.0 - 16.0) * 2.0).abs() < 1e-3 && (f.y - (40.0 - 16.0) * 2.0).abs() < 1e-3
        );
        assert!((f.width - 64.0).abs() < 1e-3);
        assert!((f.landmarks[0][0] - (3.2 * 16.0 * 2.0)).abs() < 1e-3);
        assert!((f.landmarks[2][1] - (2.5 * 16.0 * 2.0)).abs() < 1e-3);
    }

    #[test]
    fn wrong_output_count_is_an_error() {
        let input = prepare(&RgbImage::new(64, 64), 640);
        assert!(decode(&[], &input, &DetectorConfig::default()).is_err());
    }
}
