//! The 468-point face mesh (MediaPipe's face landmark model, converted to ONNX by the fetch step)
//! and the two expression measures the liveness challenge needs from it: how open the eyes are
//! (blink) and how wide the mouth is (smile).
//!
//! Input: the face cut out of the frame as a square 1.5× the detector's box, turned upright by
//! the eye line, resized to 192×192, RGB scaled to 0..1, planar. Output 0: 468 × (x, y, z) in
//! crop pixels; output 1: a face-presence logit.

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::face::detect::FaceBox;
use crate::imaging;
use crate::inference::{InferenceModel, Tensor};

/// Side of the network input.
pub const INPUT_SIDE: usize = 192;
/// Points in the mesh.
pub const POINTS: usize = 468;
/// The crop is this many times the detector box (its larger side).
pub const CROP_SCALE: f32 = 1.5;

// Mesh indices (MediaPipe canonical face mesh). "A" is the eye on the image-left of an upright,
// un-mirrored face (the subject's right eye), "B" the other.
const EYE_A_CORNERS: (usize, usize) = (33, 133);
const EYE_A_LIDS: [(usize, usize); 3] = [(160, 144), (159, 145), (158, 153)];
const EYE_B_CORNERS: (usize, usize) = (362, 263);
const EYE_B_LIDS: [(usize, usize); 3] = [(385, 380), (386, 374), (387, 373)];
const MOUTH_CORNERS: (usize, usize) = (61, 291);
const LIP_CENTRES: (usize, usize) = (13, 14);
const OUTER_EYE_CORNERS: (usize, usize) = (33, 263);

/// Where the crop sits in the frame: centre, side and rotation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropFrame {
    /// Centre x (frame pixels).
    pub cx: f32,
    /// Centre y (frame pixels).
    pub cy: f32,
    /// Side of the square crop (frame pixels).
    pub side: f32,
    /// Rotation of the crop's x axis in the frame (radians; the eye-line angle).
    pub angle: f32,
}

impl CropFrame {
    /// The crop for `face`: centred on its box, 1.5× its larger side, turned by its eye line.
    #[must_use]
    pub fn for_face(face: &FaceBox) -> Self {
        let [ax, ay] = face.landmarks[0];
        let [bx, by] = face.landmarks[1];
        let angle = if (bx - ax).abs() + (by - ay).abs() > 1e-3 {
            (by - ay).atan2(bx - ax)
        } else {
            0.0
        };
        Self {
            cx: face.x + face.width / 2.0,
            cy: face.y + face.height / 2.0,
            side: face.width.max(face.height).max(1.0) * CROP_SCALE,
            angle,
        }
    }

    /// Frame coordinates of crop-input pixel coordinates `(u, v)` (0..192).
    #[must_use]
    pub fn to_frame(&self, u: f32, v: f32) -> [f32; 2] {
        let k = self.side / INPUT_SIDE as f32;
        let (dx, dy) = (
            (u - INPUT_SIDE as f32 / 2.0) * k,
            (v - INPUT_SIDE as f32 / 2.0) * k,
        );
        let (s, c) = self.angle.sin_cos();
        [self.cx + c * dx - s * dy, self.cy + s * dx + c * dy]
    }
}

/// The network input for `frame`: 1×3×192×192, RGB 0..1, planar.
#[must_use]
pub fn prepare(img: &RgbImage, frame: &CropFrame) -> Tensor {
    let n = INPUT_SIDE * INPUT_SIDE;
    let mut data = vec![0.0f32; 3 * n];
    for v in 0..INPUT_SIDE {
        for u in 0..INPUT_SIDE {
            let [x, y] = frame.to_frame(u as f32 + 0.5, v as f32 + 0.5);
            let i = v * INPUT_SIDE + u;
            for c in 0..3 {
                // Sample at pixel centres: bilinear sampling treats integers as centres.
                data[c * n + i] = imaging::sample_bilinear(img, x - 0.5, y - 0.5, c) / 255.0;
            }
        }
    }
    Tensor::new(vec![1, 3, INPUT_SIDE, INPUT_SIDE], data)
}

/// One face's mesh in frame coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Mesh {
    /// 468 points (x, y) in frame pixels.
    pub points: Vec<[f32; 2]>,
    /// Each point's depth (the model's z, scaled to frame pixels; smaller is nearer the camera),
    /// empty when not measured.
    pub depth: Vec<f32>,
    /// Face-presence probability 0–1 (sigmoid of the model's logit).
    pub presence: f32,
}

/// Expression measures from a mesh, each normalised by the face's own size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expression {
    /// Eye openness: lid gap over eye width, mean of both eyes (≈ 0.25–0.35 open, < 0.1 shut).
    pub eye_openness: f32,
    /// Mouth width: corner-to-corner distance over the outer eye-corner distance.
    pub mouth_width: f32,
    /// Mouth-corner lift: how far the middle of the lips sits below the line through the mouth
    /// corners, across the face (perpendicular to the eye line), over the eye-corner distance.
    /// Positive when the corners are raised (a smile), negative when they are pulled down.
    pub mouth_lift: f32,
}

fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

impl Mesh {
    fn eye(&self, corners: (usize, usize), lids: &[(usize, usize)]) -> Option<f32> {
        let p = |i: usize| self.points.get(i).copied();
        let width = dist(p(corners.0)?, p(corners.1)?);
        if width < 1e-3 {
            return None;
        }
        let mut gap = 0.0;
        for &(u, l) in lids {
            gap += dist(p(u)?, p(l)?);
        }
        Some(gap / lids.len() as f32 / width)
    }

    /// Eye openness and mouth width; `None` when the mesh is degenerate.
    #[must_use]
    pub fn expression(&self) -> Option<Expression> {
        let a = self.eye(EYE_A_CORNERS, &EYE_A_LIDS)?;
        let b = self.eye(EYE_B_CORNERS, &EYE_B_LIDS)?;
        let p = |i: usize| self.points.get(i).copied();
        let eyes = dist(p(OUTER_EYE_CORNERS.0)?, p(OUTER_EYE_CORNERS.1)?);
        if eyes < 1e-3 {
            return None;
        }
        let (l, r) = (p(MOUTH_CORNERS.0)?, p(MOUTH_CORNERS.1)?);
        let mouth = dist(l, r);
        let (e0, e1) = (p(OUTER_EYE_CORNERS.0)?, p(OUTER_EYE_CORNERS.1)?);
        // Unit vector down the face: the eye line turned by +90° (image y points down).
        let (ex, ey) = ((e1[0] - e0[0]) / eyes, (e1[1] - e0[1]) / eyes);
        let down = [-ey, ex];
        let (u, d) = (p(LIP_CENTRES.0)?, p(LIP_CENTRES.1)?);
        let centre = [(u[0] + d[0]) / 2.0, (u[1] + d[1]) / 2.0];
        let corners = [(l[0] + r[0]) / 2.0, (l[1] + r[1]) / 2.0];
        let lift = (centre[0] - corners[0]) * down[0] + (centre[1] - corners[1]) * down[1];
        Some(Expression {
            eye_openness: (a + b) / 2.0,
            mouth_width: mouth / eyes,
            mouth_lift: lift / eyes,
        })
    }
}

/// The face-mesh model behind the inference seam.
pub struct FaceMesher {
    model: Box<dyn InferenceModel>,
}

impl FaceMesher {
    /// Wrap a loaded face-mesh model.
    #[must_use]
    pub fn new(model: Box<dyn InferenceModel>) -> Self {
        Self { model }
    }

    /// The mesh of `face` in `img`.
    ///
    /// # Errors
    /// When inference fails or returns the wrong number of values.
    pub fn mesh(&mut self, img: &RgbImage, face: &FaceBox) -> Result<Mesh> {
        let frame = CropFrame::for_face(face);
        let outputs = self.model.run(&prepare(img, &frame))?;
        let mut it = outputs.into_iter();
        let coords = it.next().map(|t| t.data).unwrap_or_default();
        if coords.len() != POINTS * 3 {
            return Err(Error::Inference {
                model: self.model.id().to_string(),
                message: format!("expected {} mesh values, got {}", POINTS * 3, coords.len()),
            });
        }
        let logit = it
            .next()
            .and_then(|t| t.data.first().copied())
            .unwrap_or(0.0);
        let points = coords
            .chunks_exact(3)
            .map(|p| frame.to_frame(p[0], p[1]))
            .collect();
        let k = frame.side / INPUT_SIDE as f32;
        let depth = coords.chunks_exact(3).map(|p| p[2] * k).collect();
        Ok(Mesh {
            points,
            depth,
            presence: 1.0 / (1.0 + (-logit).exp()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face_at(x: f32, y: f32, w: f32, eyes: ([f32; 2], [f32; 2])) -> FaceBox {
        FaceBox {
            x,
            y,
            width: w,
            height: w,
            score: 0.9,
            landmarks: [eyes.0, eyes.1, [0.0; 2], [0.0; 2], [0.0; 2]],
        }
    }

    #[test]
    fn crop_frame_maps_the_centre_and_corners_back_to_the_frame() {
        let f = face_at(100.0, 50.0, 80.0, ([120.0, 80.0], [160.0, 80.0]));
        let c = CropFrame::for_face(&f);
        assert!((c.side - 120.0).abs() < 1e-4 && c.angle.abs() < 1e-6);
        let centre = c.to_frame(96.0, 96.0);
        assert!((centre[0] - 140.0).abs() < 1e-4 && (centre[1] - 90.0).abs() < 1e-4);
        let corner = c.to_frame(0.0, 0.0);
        assert!((corner[0] - 80.0).abs() < 1e-3 && (corner[1] - 30.0).abs() < 1e-3);
    }

    #[test]
    fn a_tilted_eye_line_rotates_the_crop() {
        // Eyes on a 90° line (face lying on its side): the crop's x axis points down the frame.
        let f = face_at(0.0, 0.0, 96.0, ([48.0, 20.0], [48.0, 60.0]));
        let c = CropFrame::for_face(&f);
        assert!((c.angle - std::f32::consts::FRAC_PI_2).abs() < 1e-5);
        let right_of_centre = c.to_frame(96.0 + 10.0, 96.0);
        assert!((right_of_centre[0] - 48.0).abs() < 1e-3);
        assert!(right_of_centre[1] > 48.0);
    }

    #[test]
    fn prepare_samples_the_rotated_crop() {
        // Left half red, right half blue; an upright crop shows red on its left.
        let img = RgbImage::from_fn(200, 200, |x, _| {
            if x < 100 {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 0, 255])
            }
        });
        let f = face_at(60.0, 60.0, 80.0, ([80.0, 90.0], [120.0, 90.0]));
        let t = prepare(&img, &CropFrame::for_face(&f));
        assert_eq!(t.shape, vec![1, 3, 192, 192]);
        let n = 192 * 192;
        let at = |c: usize, u: usize, v: usize| t.data[c * n + v * 192 + u];
        assert!((at(0, 10, 96) - 1.0).abs() < 1e-4 && at(2, 10, 96) < 1e-4);
        assert!((at(2, 180, 96) - 1.0).abs() < 1e-4 && at(0, 180, 96) < 1e-4);
    }

    #[test]
    fn expression_measures_eyes_and_mouth_relative_to_the_face() {
        let mut points = vec![[0.0f32; 2]; POINTS];
        // Eye A from x 0..30 at y 0, lids 9 apart; eye B from 60..90, lids 3 apart.
        points[33] = [0.0, 0.0];
        points[133] = [30.0, 0.0];
        for (u, l) in EYE_A_LIDS {
            points[u] = [15.0, -4.5];
            points[l] = [15.0, 4.5];
        }
        points[362] = [60.0, 0.0];
        points[263] = [90.0, 0.0];
        for (u, l) in EYE_B_LIDS {
            points[u] = [75.0, -1.5];
            points[l] = [75.0, 1.5];
        }
        points[61] = [20.0, 60.0];
        points[291] = [65.0, 60.0];
        // Lips' middle 9 px below the corners: corners raised by 0.1 eye distances.
        points[13] = [42.5, 66.0];
        points[14] = [42.5, 72.0];
        let e = Mesh {
            points,
            depth: Vec::new(),
            presence: 1.0,
        }
        .expression()
        .unwrap();
        assert!((e.eye_openness - 0.2).abs() < 1e-5, "{e:?}");
        assert!((e.mouth_width - 0.5).abs() < 1e-5, "{e:?}");
        assert!((e.mouth_lift - 0.1).abs() < 1e-5, "{e:?}");
    }
}
