//! Face alignment: a 5-point similarity transform onto the 112×112 ArcFace template, and the
//! warp that produces the aligned face.

use image::RgbImage;

use crate::imaging::sample_bilinear;

/// Where the five landmarks go in the 112×112 aligned face (the ArcFace template).
pub const TEMPLATE_112: [[f32; 2]; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

/// x' = a·x − b·y + tx,  y' = b·x + a·y + ty  (rotation, uniform scale, translation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// scale·cos(θ)
    pub a: f32,
    /// scale·sin(θ)
    pub b: f32,
    /// Translation x.
    pub tx: f32,
    /// Translation y.
    pub ty: f32,
}

impl Similarity {
    /// Apply to a point.
    #[must_use]
    pub fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        [
            self.a * p[0] - self.b * p[1] + self.tx,
            self.b * p[0] + self.a * p[1] + self.ty,
        ]
    }

    /// The inverse transform, if the scale is not zero.
    #[must_use]
    pub fn inverse(&self) -> Option<Self> {
        let d = self.a * self.a + self.b * self.b;
        if d <= f32::EPSILON {
            return None;
        }
        let (a, b) = (self.a / d, -self.b / d);
        Some(Self {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        })
    }

    /// Uniform scale factor.
    #[must_use]
    pub fn scale(&self) -> f32 {
        self.a.hypot(self.b)
    }
}

/// Least-squares similarity mapping `src` points onto `dst` points (no reflection).
///
/// Returns `None` when the source points coincide (no scale can be found).
#[must_use]
pub fn estimate(src: &[[f32; 2]], dst: &[[f32; 2]]) -> Option<Similarity> {
    let n = src.len().min(dst.len());
    if n < 2 {
        return None;
    }
    let nf = n as f64;
    let mean = |pts: &[[f32; 2]]| {
        let (sx, sy) = pts[..n].iter().fold((0.0f64, 0.0f64), |(x, y), p| {
            (x + f64::from(p[0]), y + f64::from(p[1]))
        });
        (sx / nf, sy / nf)
    };
    let (msx, msy) = mean(src);
    let (mdx, mdy) = mean(dst);
    let (mut num_a, mut num_b, mut den) = (0.0f64, 0.0f64, 0.0f64);
    for i in 0..n {
        let (xs, ys) = (f64::from(src[i][0]) - msx, f64::from(src[i][1]) - msy);
        let (xd, yd) = (f64::from(dst[i][0]) - mdx, f64::from(dst[i][1]) - mdy);
        num_a += xs * xd + ys * yd;
        num_b += xs * yd - ys * xd;
        den += xs * xs + ys * ys;
    }
    if den <= 1e-9 {
        return None;
    }
    let a = num_a / den;
    let b = num_b / den;
    let tx = mdx - (a * msx - b * msy);
    let ty = mdy - (b * msx + a * msy);
    Some(Similarity {
        a: a as f32,
        b: b as f32,
        tx: tx as f32,
        ty: ty as f32,
    })
}

/// Warp `img` by `to_output` (image → output coordinates) into a `size`×`size` image, bilinear.
#[must_use]
pub fn warp(img: &RgbImage, to_output: &Similarity, size: u32) -> RgbImage {
    let Some(inv) = to_output.inverse() else {
        return RgbImage::new(size, size);
    };
    let mut out = RgbImage::new(size, size);
    let (w, h) = (img.width() as f32, img.height() as f32);
    for (x, y, px) in out.enumerate_pixels_mut() {
        let [sx, sy] = inv.apply([x as f32, y as f32]);
        if sx < -1.0 || sy < -1.0 || sx > w || sy > h {
            continue; // outside the photo: black, as OpenCV's warpAffine does
        }
        for c in 0..3 {
            px.0[c] = sample_bilinear(img, sx, sy, c).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// Align a face given its 5 landmarks: the 112×112 crop the embedder expects.
#[must_use]
pub fn align_112(img: &RgbImage, landmarks: &[[f32; 2]; 5]) -> Option<(RgbImage, Similarity)> {
    let t = estimate(landmarks, &TEMPLATE_112)?;
    Some((warp(img, &t, 112), t))
}

/// The pixels [`align_112`] reads for these landmarks in an image of `w`×`h`: the rectangle
/// `(x0, y0, x1, y1)` (end exclusive, clamped to the image) holding every point the 112×112
/// warp samples and its bilinear neighbours; `None` when the landmarks cannot be aligned.
#[must_use]
pub fn sampled_region(landmarks: &[[f32; 2]; 5], w: u32, h: u32) -> Option<(u32, u32, u32, u32)> {
    let inv = estimate(landmarks, &TEMPLATE_112)?.inverse()?;
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for corner in [[0.0, 0.0], [111.0, 0.0], [0.0, 111.0], [111.0, 111.0]] {
        let [x, y] = inv.apply(corner);
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    if !(x0.is_finite() && y0.is_finite() && x1.is_finite() && y1.is_finite()) {
        return None;
    }
    let clamp = |v: f32, n: u32| v.clamp(0.0, n as f32) as u32;
    Some((
        clamp(x0.floor() - 2.0, w),
        clamp(y0.floor() - 2.0, h),
        clamp(x1.ceil() + 3.0, w),
        clamp(y1.ceil() + 3.0, h),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_similarity() {
        let truth = Similarity {
            a: 0.5 * 0.3f32.cos(),
            b: 0.5 * 0.3f32.sin(),
            tx: 10.0,
            ty: -4.0,
        };
        let src = [
            [100.0, 120.0],
            [180.0, 118.0],
            [140.0, 160.0],
            [110.0, 200.0],
            [175.0, 199.0],
        ];
        let dst: Vec<[f32; 2]> = src.iter().map(|&p| truth.apply(p)).collect();
        let est = estimate(&src, &dst).unwrap();
        assert!((est.a - truth.a).abs() < 1e-4 && (est.b - truth.b).abs() < 1e-4);
        assert!((est.tx - truth.tx).abs() < 1e-2 && (est.ty - truth.ty).abs() < 1e-2);
        let inv = est.inverse().unwrap();
        let back = inv.apply(est.apply([33.0, 44.0]));
        assert!((back[0] - 33.0).abs() < 1e-3 && (back[1] - 44.0).abs() < 1e-3);
    }

    #[test]
    fn template_maps_onto_itself() {
        let est = estimate(&TEMPLATE_112, &TEMPLATE_112).unwrap();
        assert!((est.a - 1.0).abs() < 1e-5 && est.b.abs() < 1e-5 && est.tx.abs() < 1e-3);
    }

    #[test]
    fn coincident_points_have_no_transform() {
        assert!(estimate(&[[1.0, 1.0]; 5], &TEMPLATE_112).is_none());
    }

    #[test]
    fn warp_moves_a_marked_pixel_to_its_landmark() {
        // A white dot at the source position of the nose lands at the template nose.
        let mut img = RgbImage::new(400, 400);
        let lm = [
            [150.0, 180.0],
            [250.0, 178.0],
            [200.0, 235.0],
            [160.0, 290.0],
            [240.0, 288.0],
        ];
        for dy in -2..=2i32 {
            for dx in -2..=2i32 {
                img.put_pixel(
                    (200 + dx) as u32,
                    (235 + dy) as u32,
                    image::Rgb([255, 255, 255]),
                );
            }
        }
        let (aligned, _) = align_112(&img, &lm).unwrap();
        let nose = TEMPLATE_112[2];
        let p = aligned.get_pixel(nose[0].round() as u32, nose[1].round() as u32);
        assert!(p.0[0] > 200, "nose pixel {:?}", p.0);
        assert_eq!(aligned.get_pixel(5, 5).0, [0, 0, 0]);
    }
}
