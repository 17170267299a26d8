//! Checks over the whole challenge, run once the footage ends: a still photo (printed, on a
//! screen, or warped to fake the movements) must not pass however well it answers each step.
//!
//! - **3D consistency** of each head movement, from the 468-point face mesh of the frame where a
//!   step started and the frame where it was completed: a flat picture moved in front of the
//!   camera maps its landmarks by a homography (small residual, [`homography_residual`]); a real
//!   head's parallax does not. A picture warped about the nose to fake a turn leaves the head's
//!   outline (hair, ears, jaw) where it was, where a turning head moves it
//!   ([`outline_motion`]). (The mesh's own depth does not tell such a warp from a turn: the mesh
//!   model follows the warp and fits a rigid head to it as well as to a real turn.)
//! - **Static background**: the camera is fixed, so away from the customer the frame does not
//!   change between a step's start and its completion; a zoomed or shifted copy of a whole still
//!   moves everything ([`background_change`]).
//! - **Temporal**: consecutive frames identical or nearly so (a still fed as video) and the frame
//!   rate as measured from capture times.
//!
//! Everything here is pure arithmetic on values the session collected; nothing runs a model.

use serde::{Deserialize, Serialize};

use image::RgbImage;

use super::challenge::{Step, StepOutcome, StepStatus};

/// Thresholds of the whole-challenge checks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckConfig {
    /// Consecutive frames whose mean absolute difference (grey levels, on a thumbnail) is below
    /// this are "near-identical".
    pub identical_diff: f32,
    /// More than this share of consecutive frame pairs near-identical fails `temporal`.
    pub max_identical_share: f32,
    /// Lowest frame rate (frames per second, from the capture times) accepted.
    pub min_fps: f32,
    /// A head turn or look-up whose homography residual (over the inter-ocular distance) stays
    /// below this moved as a plane: `planarMotion` fails.
    pub min_parallax: f32,
    /// A head turn or look-up whose outline moved less than this share of its middle (see
    /// [`outline_motion`]) is a picture warped about the nose: `outlineMotion` fails.
    pub min_outline_motion: f32,
    /// Median background change (grey levels) between a step's start and its completion above
    /// which the whole frame moved: `staticBackground` fails.
    pub max_background_change: f32,
}

impl Default for CheckConfig {
    fn default() -> Self {
        Self {
            identical_diff: 0.4,
            max_identical_share: 0.2,
            min_fps: 4.0,
            min_parallax: 0.02,
            min_outline_motion: 0.65,
            max_background_change: 6.0,
        }
    }
}

/// One whole-challenge check's outcome, for the result and the audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Check name: `passive`, `movementOrder`, `temporal`, `frameRate`, `planarMotion`,
    /// `outlineMotion`, `staticBackground`.
    pub check: String,
    /// The check passed (or had nothing to measure and is not required).
    pub passed: bool,
    /// The measured value the decision was taken on, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f32>,
    /// The limit it was compared with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<f32>,
    /// What was measured, in words.
    pub detail: String,
}

impl Check {
    fn new(
        check: &str,
        passed: bool,
        value: Option<f32>,
        limit: Option<f32>,
        detail: String,
    ) -> Self {
        Self {
            check: check.to_string(),
            passed,
            value,
            limit,
            detail,
        }
    }
}

/// A small grey copy of a frame (box-averaged), enough to compare frames cheaply.
#[derive(Debug, Clone, PartialEq)]
pub struct Thumb {
    /// Width in thumbnail pixels.
    pub width: usize,
    /// Height in thumbnail pixels.
    pub height: usize,
    /// Frame pixels per thumbnail pixel.
    pub scale: f32,
    /// Grey levels 0–255, row-major.
    pub pixels: Vec<f32>,
}

/// Box-average `img` down by an integer factor to about 160 pixels wide, in grey.
#[must_use]
pub fn thumbnail(img: &RgbImage) -> Thumb {
    let f = (img.width() / 160).max(1) as usize;
    let (w, h) = (img.width() as usize / f, img.height() as usize / f);
    let mut pixels = vec![0.0f32; w * h];
    let norm = 1.0 / (f * f) as f32;
    for (x, y, p) in img.enumerate_pixels() {
        let (tx, ty) = (x as usize / f, y as usize / f);
        if tx < w && ty < h {
            let g = 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]);
            pixels[ty * w + tx] += g * norm;
        }
    }
    Thumb {
        width: w,
        height: h,
        scale: f as f32,
        pixels,
    }
}

/// Mean absolute grey difference of two thumbnails (`None` when their sizes differ).
#[must_use]
pub fn frame_difference(a: &Thumb, b: &Thumb) -> Option<f32> {
    if a.width != b.width || a.height != b.height || a.pixels.is_empty() {
        return None;
    }
    let sum: f32 = a
        .pixels
        .iter()
        .zip(&b.pixels)
        .map(|(p, q)| (p - q).abs())
        .sum();
    Some(sum / a.pixels.len() as f32)
}

/// A rectangle in frame pixels `(x, y, width, height)`.
pub type Rect = (f32, f32, f32, f32);

/// How much the background changed between two thumbnails: the median, over 8×8 blocks that lie
/// outside both `people` rectangles (frame pixels), of each block's mean absolute difference.
/// `None` when the sizes differ or no block is left.
#[must_use]
pub fn background_change(a: &Thumb, b: &Thumb, people: &[Rect]) -> Option<f32> {
    if a.width != b.width || a.height != b.height {
        return None;
    }
    const B: usize = 8;
    let mut blocks = Vec::new();
    for by in 0..a.height / B {
        for bx in 0..a.width / B {
            let (x0, y0) = ((bx * B) as f32 * a.scale, (by * B) as f32 * a.scale);
            let side = B as f32 * a.scale;
            let covered = people
                .iter()
                .any(|&(x, y, w, h)| x0 < x + w && x0 + side > x && y0 < y + h && y0 + side > y);
            if covered {
                continue;
            }
            let mut sum = 0.0;
            for y in by * B..(by + 1) * B {
                for x in bx * B..(bx + 1) * B {
                    let i = y * a.width + x;
                    sum += (a.pixels[i] - b.pixels[i]).abs();
                }
            }
            blocks.push(sum / (B * B) as f32);
        }
    }
    super::passive::median(&blocks)
}

/// How much the head's outline moved compared with its middle, between two thumbnails: the mean
/// absolute difference over a ring around the face (0.55–0.9 face widths from the centre of
/// `face`, frame pixels: hair, ears, jaw line) over the mean absolute difference inside 0.3 face
/// widths (nose, eyes). A head turning moves its outline with it; a picture warped about the
/// nose leaves the outline where it was. `None` when either region is empty or the middle did
/// not change.
#[must_use]
pub fn outline_motion(a: &Thumb, b: &Thumb, face: &Rect) -> Option<f32> {
    if a.width != b.width || a.height != b.height {
        return None;
    }
    let (x, y, w, h) = *face;
    let (cx, cy) = ((x + w / 2.0) / a.scale, (y + h / 2.0) / a.scale);
    let fw = w / a.scale;
    let (mut ring, mut nr, mut mid, mut nm) = (0.0f32, 0usize, 0.0f32, 0usize);
    for ty in 0..a.height {
        for tx in 0..a.width {
            let r = (tx as f32 + 0.5 - cx).hypot(ty as f32 + 0.5 - cy) / fw.max(1.0);
            let i = ty * a.width + tx;
            let d = (a.pixels[i] - b.pixels[i]).abs();
            if (0.55..0.9).contains(&r) {
                ring += d;
                nr += 1;
            } else if r < 0.3 {
                mid += d;
                nm += 1;
            }
        }
    }
    if nr == 0 || nm == 0 || mid <= 0.0 {
        return None;
    }
    Some((ring / nr as f32) / (mid / nm as f32))
}

/// Where a person may be in the frame given their face box: the face widened, and everything
/// below it (neck, shoulders, body) across three face widths.
#[must_use]
pub fn person_region(face: &Rect) -> [Rect; 2] {
    let (x, y, w, h) = *face;
    [
        (x - 0.5 * w, y - 0.6 * h, 2.0 * w, 2.2 * h),
        (x - w, y + 0.5 * h, 3.0 * w, f32::MAX / 4.0),
    ]
}

/// Solve the square system `a · x = b` (row-major `n`×`n`) by Gaussian elimination with partial
/// pivoting; `None` when it is singular.
fn solve(mut a: Vec<f64>, mut b: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    for col in 0..n {
        let pivot =
            (col..n).max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))?;
        if a[pivot * n + col].abs() < 1e-12 {
            return None;
        }
        if pivot != col {
            for k in 0..n {
                a.swap(pivot * n + k, col * n + k);
            }
            b.swap(pivot, col);
        }
        for row in col + 1..n {
            let f = a[row * n + col] / a[col * n + col];
            for k in col..n {
                a[row * n + k] -= f * a[col * n + k];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row * n + k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row * n + row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Least squares over rows `(features, target)`: the coefficients minimising the squared error.
fn least_squares(rows: &[(Vec<f64>, f64)], n: usize) -> Option<Vec<f64>> {
    let mut ata = vec![0.0; n * n];
    let mut atb = vec![0.0; n];
    for (f, t) in rows {
        for i in 0..n {
            atb[i] += f[i] * t;
            for j in 0..n {
                ata[i * n + j] += f[i] * f[j];
            }
        }
    }
    solve(ata, atb, n)
}

/// Centre and mean distance from the centre of a point set (for normalising).
fn centre_and_spread(points: &[[f32; 2]]) -> ([f64; 2], f64) {
    let n = points.len().max(1) as f64;
    let cx = points.iter().map(|p| f64::from(p[0])).sum::<f64>() / n;
    let cy = points.iter().map(|p| f64::from(p[1])).sum::<f64>() / n;
    let d = points
        .iter()
        .map(|p| (f64::from(p[0]) - cx).hypot(f64::from(p[1]) - cy))
        .sum::<f64>()
        / n;
    ([cx, cy], d.max(1e-9))
}

/// RMS residual (in `dst`'s pixels) of the best homography taking `src` onto `dst` (normalised
/// coordinates, h₃₃ = 1, linear least squares). `None` with fewer than 5 points or a degenerate
/// set.
#[must_use]
pub fn homography_residual(src: &[[f32; 2]], dst: &[[f32; 2]]) -> Option<f32> {
    if src.len() != dst.len() || src.len() < 5 {
        return None;
    }
    let (cs, ss) = centre_and_spread(src);
    let (cd, sd) = centre_and_spread(dst);
    let norm = |p: &[f32; 2], c: [f64; 2], s: f64| {
        ((f64::from(p[0]) - c[0]) / s, (f64::from(p[1]) - c[1]) / s)
    };
    let mut rows = Vec::with_capacity(2 * src.len());
    for (p, q) in src.iter().zip(dst) {
        let (x, y) = norm(p, cs, ss);
        let (u, v) = norm(q, cd, sd);
        rows.push((vec![x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y], u));
        rows.push((vec![0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y], v));
    }
    let h = least_squares(&rows, 8)?;
    let mut sum = 0.0;
    for (p, q) in src.iter().zip(dst) {
        let (x, y) = norm(p, cs, ss);
        let (u, v) = norm(q, cd, sd);
        let w = h[6] * x + h[7] * y + 1.0;
        if w.abs() < 1e-9 {
            return None;
        }
        let pu = (h[0] * x + h[1] * y + h[2]) / w;
        let pv = (h[3] * x + h[4] * y + h[5]) / w;
        sum += (pu - u).powi(2) + (pv - v).powi(2);
    }
    Some(((sum / src.len() as f64).sqrt() * sd) as f32)
}

/// What the session kept of one frame for these checks.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameSample {
    /// Capture time (ms).
    pub t_ms: f64,
    /// Grey thumbnail of the whole frame.
    pub thumb: Thumb,
    /// The subject's face box `(x, y, w, h)`, when one face was in view.
    pub face: Option<Rect>,
    /// The subject's mesh points and their depths, when measured.
    pub mesh: Option<(Vec<[f32; 2]>, Vec<f32>)>,
}

fn inter_ocular(points: &[[f32; 2]]) -> Option<f32> {
    let (a, b) = (points.get(33)?, points.get(263)?);
    let d = (a[0] - b[0]).hypot(a[1] - b[1]);
    (d > 1.0).then_some(d)
}

/// The frame captured at `t` (the latest at or before it).
fn at(samples: &[FrameSample], t: f64) -> Option<&FrameSample> {
    samples.iter().rev().find(|s| s.t_ms <= t)
}

/// The latest frame at or before `t` that has a mesh, not earlier than `from`.
fn meshed_at(samples: &[FrameSample], from: f64, t: f64) -> Option<&FrameSample> {
    samples
        .iter()
        .rev()
        .find(|s| s.t_ms <= t && s.t_ms >= from && s.mesh.is_some())
}

/// Temporal checks: near-identical consecutive frames and the frame rate.
#[must_use]
pub fn temporal(samples: &[FrameSample], cfg: &CheckConfig) -> Vec<Check> {
    let diffs: Vec<f32> = samples
        .windows(2)
        .filter_map(|w| frame_difference(&w[0].thumb, &w[1].thumb))
        .collect();
    let identical = diffs.iter().filter(|&&d| d < cfg.identical_diff).count();
    let share = if diffs.is_empty() {
        0.0
    } else {
        identical as f32 / diffs.len() as f32
    };
    let median_diff = super::passive::median(&diffs);
    let frozen = Check::new(
        "temporal",
        !diffs.is_empty() && share <= cfg.max_identical_share,
        Some(share),
        Some(cfg.max_identical_share),
        format!(
            "{identical} of {} consecutive frame pairs near-identical (mean difference below {} \
             grey levels); median difference {:.2}",
            diffs.len(),
            cfg.identical_diff,
            median_diff.unwrap_or(0.0)
        ),
    );
    let gaps: Vec<f32> = samples
        .windows(2)
        .map(|w| (w[1].t_ms - w[0].t_ms) as f32)
        .collect();
    let fps = super::passive::median(&gaps)
        .filter(|g| *g > 0.0)
        .map(|g| 1000.0 / g);
    let rate = Check::new(
        "frameRate",
        fps.is_some_and(|f| f >= cfg.min_fps),
        fps,
        Some(cfg.min_fps),
        match fps {
            Some(f) => format!("{f:.1} frames per second measured from the capture times"),
            None => "too few frames to measure the frame rate".into(),
        },
    );
    vec![frozen, rate]
}

/// Geometric checks over each completed pose step (turns, look-up, come closer): the frame at
/// the step's start against the frame at its completion.
#[must_use]
pub fn motion(samples: &[FrameSample], steps: &[StepOutcome], cfg: &CheckConfig) -> Vec<Check> {
    let mut parallax: Vec<(Step, Option<f32>)> = Vec::new();
    let mut outline: Vec<(Step, Option<f32>)> = Vec::new();
    let mut background: Vec<(Step, Option<f32>)> = Vec::new();
    for s in steps.iter().filter(|s| s.status == StepStatus::Passed) {
        let (Some(start), Some(done)) = (s.started_ms, s.completed_ms) else {
            continue;
        };
        if !Step::POSES.contains(&s.step) {
            continue;
        }
        let (Some(a), Some(b)) = (at(samples, start), at(samples, done)) else {
            continue;
        };
        if s.step != Step::ComeCloser {
            // The reference: the last meshed frame at the step's start.
            let h = meshed_at(samples, start - 1_000.0, start)
                .zip(meshed_at(samples, start, done))
                .and_then(|(a, b)| Some((a.mesh.as_ref()?, b.mesh.as_ref()?)))
                .and_then(|((pa, _), (pb, _))| {
                    Some(homography_residual(pa, pb)? / inter_ocular(pb)?)
                });
            parallax.push((s.step, h));
            let o = a.face.and_then(|f| outline_motion(&a.thumb, &b.thumb, &f));
            outline.push((s.step, o));
        }
        let mut people = Vec::new();
        for f in [a.face, b.face].into_iter().flatten() {
            people.extend(person_region(&f));
        }
        background.push((s.step, background_change(&a.thumb, &b.thumb, &people)));
    }
    let describe = |list: &[(Step, Option<f32>)]| {
        list.iter()
            .map(|(s, v)| match v {
                Some(v) => format!("{} {v:.3}", s.name()),
                None => format!("{} not measured", s.name()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = Vec::new();
    if !parallax.is_empty() {
        let worst = parallax
            .iter()
            .map(|(_, v)| v.unwrap_or(0.0))
            .fold(f32::INFINITY, f32::min);
        out.push(Check::new(
            "planarMotion",
            worst >= cfg.min_parallax,
            Some(worst),
            Some(cfg.min_parallax),
            format!(
                "homography residual over the eye distance (a flat picture stays below the limit): {}",
                describe(&parallax)
            ),
        ));
    }
    if !outline.is_empty() {
        let worst = outline
            .iter()
            .map(|(_, v)| v.unwrap_or(0.0))
            .fold(f32::INFINITY, f32::min);
        out.push(Check::new(
            "outlineMotion",
            worst >= cfg.min_outline_motion,
            Some(worst),
            Some(cfg.min_outline_motion),
            format!(
                "change of the head's outline over the change of its middle (a picture warped \
                 about the nose stays below the limit): {}",
                describe(&outline)
            ),
        ));
    }
    if !background.is_empty() {
        let worst = background
            .iter()
            .map(|(_, v)| v.unwrap_or(f32::INFINITY))
            .fold(0.0, f32::max);
        out.push(Check::new(
            "staticBackground",
            worst <= cfg.max_background_change,
            worst.is_finite().then_some(worst),
            Some(cfg.max_background_change),
            format!(
                "median background change in grey levels between each step's start and its \
                 completion (the whole frame moving means a moved picture): {}",
                describe(&background)
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Vec<[f32; 3]> {
        let mut v = Vec::new();
        for i in 0..7 {
            for j in 0..7 {
                let (x, y) = (i as f32 * 10.0 - 30.0, j as f32 * 10.0 - 30.0);
                // A dome: the middle nearer the camera.
                v.push([x, y, -(900.0 - x * x - y * y) / 30.0]);
            }
        }
        v
    }

    fn rotate_y(p: &[f32; 3], deg: f32) -> [f32; 2] {
        let (s, c) = deg.to_radians().sin_cos();
        [200.0 + c * p[0] + s * p[2], 150.0 + p[1]]
    }

    #[test]
    fn a_homography_fits_a_tilted_plane_and_not_a_turning_dome() {
        let g = grid();
        let src: Vec<[f32; 2]> = g.iter().map(|p| [200.0 + p[0], 150.0 + p[1]]).collect();
        // A plane seen in perspective: exact homography.
        let plane: Vec<[f32; 2]> = g
            .iter()
            .map(|p| {
                let w = 1.0 + 0.002 * p[0];
                [300.0 + 1.2 * p[0] / w, 100.0 + (p[1] + 0.1 * p[0]) / w]
            })
            .collect();
        assert!(homography_residual(&src, &plane).unwrap() < 1e-3);
        let turned: Vec<[f32; 2]> = g.iter().map(|p| rotate_y(p, 25.0)).collect();
        assert!(homography_residual(&src, &turned).unwrap() > 1.0);
    }

    #[test]
    fn background_change_ignores_the_person_and_sees_a_moved_frame() {
        let mk = |shift: usize| {
            let (w, h) = (160, 90);
            Thumb {
                width: w,
                height: h,
                scale: 4.0,
                pixels: (0..w * h)
                    .map(|i| (((i % w + shift) * 7 + (i / w) * 13) % 97) as f32)
                    .collect(),
            }
        };
        let a = mk(0);
        let mut b = a.clone();
        // The person (a face at 240..400 × 80..240 frame pixels) changes completely.
        for y in 20..90 {
            for x in 40..120 {
                b.pixels[y * 160 + x] = 255.0 - b.pixels[y * 160 + x];
            }
        }
        let people = person_region(&(260.0, 80.0, 120.0, 140.0));
        assert!(background_change(&a, &b, &people).unwrap() < 0.5);
        assert!(background_change(&a, &mk(3), &people).unwrap() > 10.0);
        assert_eq!(frame_difference(&a, &a), Some(0.0));
    }

    #[test]
    fn outline_motion_compares_the_ring_with_the_middle() {
        let (w, h) = (160, 90);
        let base = Thumb {
            width: w,
            height: h,
            scale: 4.0,
            pixels: (0..w * h).map(|i| ((i * 37) % 200) as f32).collect(),
        };
        // A face 160 px wide centred at (320, 180) frame pixels: (80, 45) in the thumbnail,
        // 40 thumbnail pixels wide.
        let face = (240.0, 100.0, 160.0, 160.0);
        let changed = |inner: bool, ring: bool| {
            let mut t = base.clone();
            for y in 0..h {
                for x in 0..w {
                    let r = (x as f32 + 0.5 - 80.0).hypot(y as f32 + 0.5 - 45.0) / 40.0;
                    if (inner && r < 0.3) || (ring && (0.55..0.9).contains(&r)) {
                        t.pixels[y * w + x] += 20.0;
                    }
                }
            }
            t
        };
        // Only the middle moved (a warp about the nose): 0. Both moved alike (a head): 1.
        assert!(outline_motion(&base, &changed(true, false), &face).unwrap() < 1e-6);
        let both = outline_motion(&base, &changed(true, true), &face).unwrap();
        assert!((both - 1.0).abs() < 1e-4, "{both}");
        assert!(outline_motion(&base, &base, &face).is_none());
    }

    #[test]
    fn solver_rejects_singular_systems() {
        assert!(solve(vec![1.0, 2.0, 2.0, 4.0], vec![1.0, 2.0], 2).is_none());
        let x = solve(vec![2.0, 1.0, 1.0, 3.0], vec![3.0, 5.0], 2).unwrap();
        assert!((x[0] - 0.8).abs() < 1e-9 && (x[1] - 1.4).abs() < 1e-9);
    }
}
