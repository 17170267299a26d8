//! Face embedding with SFace: aligned 112×112 RGB face → L2-normalised 128-d template.

use image::RgbImage;

use crate::error::{Error, Result};
use crate::inference::{InferenceModel, Tensor};

/// Length of a face template.
pub const EMBEDDING_DIM: usize = 128;

/// SFace behind the inference seam.
pub struct FaceEmbedder {
    model: Box<dyn InferenceModel>,
}

impl FaceEmbedder {
    /// Wrap a loaded SFace model.
    #[must_use]
    pub fn new(model: Box<dyn InferenceModel>) -> Self {
        Self { model }
    }

    /// The L2-normalised template of an aligned face.
    ///
    /// # Errors
    /// When inference fails or returns something other than a 128-d vector.
    pub fn embed(&mut self, aligned: &RgbImage) -> Result<Vec<f32>> {
        let input = Tensor::new(vec![1, 3, 112, 112], to_planar_rgb(aligned));
        let outputs = self.model.run(&input)?;
        let raw = outputs
            .into_iter()
            .next()
            .map(|t| t.data)
            .unwrap_or_default();
        if raw.len() != EMBEDDING_DIM {
            return Err(Error::Inference {
                model: self.model.id().to_string(),
                message: format!(
                    "expected a {EMBEDDING_DIM}-d embedding, got {} values",
                    raw.len()
                ),
            });
        }
        Ok(l2_normalise(raw))
    }
}

/// Planar RGB floats 0..255 (SFace normalises inside its graph).
#[must_use]
pub fn to_planar_rgb(img: &RgbImage) -> Vec<f32> {
    let plane = (img.width() * img.height()) as usize;
    let mut out = vec![0.0f32; plane * 3];
    for (i, px) in img.pixels().enumerate() {
        out[i] = f32::from(px.0[0]);
        out[plane + i] = f32::from(px.0[1]);
        out[2 * plane + i] = f32::from(px.0[2]);
    }
    out
}

/// Scale a vector to unit length (a zero vector stays zero).
#[must_use]
pub fn l2_normalise(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// Cosine similarity of two templates (dot product of unit vectors), in −1..1.
#[must_use]
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        (dot / (na * nb)).clamp(-1.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_parallel_orthogonal_and_opposite() {
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
        assert!((cosine(&[1.0, 0.0], &[-1.0, 0.0]) + 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn planar_layout_is_rgb() {
        let img = RgbImage::from_pixel(2, 1, image::Rgb([10, 20, 30]));
        assert_eq!(
            to_planar_rgb(&img),
            vec![10.0, 10.0, 20.0, 20.0, 30.0, 30.0]
        );
    }

    struct WrongSize;
    impl InferenceModel for WrongSize {
        fn id(&self) -> &str {
            "fake"
        }
        fn run(&mut self, _: &Tensor) -> Result<Vec<Tensor>> {
            Ok(vec![Tensor::new(vec![1, 3], vec![1.0, 2.0, 3.0])])
        }
    }

    #[test]
    fn wrong_embedding_size_is_an_error() {
        let mut e = FaceEmbedder::new(Box::new(WrongSize));
        assert!(e.embed(&RgbImage::new(112, 112)).is_err());
    }
}
