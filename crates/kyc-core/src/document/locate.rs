//! Locating the document itself — the card's or passport page's four edges against the
//! background — and rectifying it to an upright image of canonical aspect.
//!
//! The text boxes seed the search: the document contains its text, so each of its four edges
//! lies outside the rectangle the text spans (in the text's own reading frame). On a grey image
//! shrunk to ≈ 400 px, edge points (Sobel, thinned by non-maximum suppression) whose gradient
//! points roughly across one side vote in a Hough space restricted to lines within ±30° of that
//! side's direction; the outermost strong peak is refined by a least-squares fit to its points.
//! The four lines are intersected to a quadrilateral, which must be convex, lie in the frame,
//! be backed by edge points along most of every side, hold the text, and have a plausible aspect
//! ratio and share of the frame; otherwise there is no quadrilateral and the caller keeps the
//! text-derived region.

use image::RgbImage;
use serde::Serialize;

use super::ocr::TextBox;
use crate::imaging::luma;

/// ID-1 card (85.60 × 53.98 mm).
pub const ID1_ASPECT: f32 = 1.586;
/// TD3 passport data page (125 × 88 mm).
pub const TD3_ASPECT: f32 = 1.42;

/// Long side of the shrunk grey image the edges are searched in.
const WORK_SIDE: f32 = 400.0;
/// Half-width of the angular search around each side's expected direction.
const ANGLE_RANGE_DEG: i32 = 30;

/// A located document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentQuad {
    /// Corners in source pixels: top-left, top-right, bottom-right, bottom-left of the document
    /// as it reads upright.
    pub corners: [[f32; 2]; 4],
    /// Share of the frame the quadrilateral covers, 0–100.
    pub fill_percent: f32,
    /// Aspect ratio (long / short) the rectified image was given.
    pub aspect: f32,
    /// Mean share of each side's length that edge points back, 0–1.
    pub edge_support: f32,
}

impl DocumentQuad {
    /// Mean length of the two longer opposite sides, in source pixels.
    #[must_use]
    pub fn long_side_px(&self) -> f32 {
        let c = &self.corners;
        let along_u = 0.5 * (dist(c[0], c[1]) + dist(c[3], c[2]));
        let along_v = 0.5 * (dist(c[0], c[3]) + dist(c[1], c[2]));
        along_u.max(along_v)
    }
}

/// One straight line `n · p = rho` with unit normal `n`.
#[derive(Debug, Clone, Copy)]
struct Line {
    nx: f32,
    ny: f32,
    rho: f32,
}

impl Line {
    fn intersect(&self, o: &Line) -> Option<[f32; 2]> {
        let det = self.nx * o.ny - self.ny * o.nx;
        if det.abs() < 1e-3 {
            return None;
        }
        Some([
            (self.rho * o.ny - self.ny * o.rho) / det,
            (self.nx * o.rho - self.rho * o.nx) / det,
        ])
    }

    fn distance(&self, x: f32, y: f32) -> f32 {
        (self.nx * x + self.ny * y - self.rho).abs()
    }
}

/// Edge map of the shrunk grey image.
struct Edges {
    w: usize,
    h: usize,
    /// Thinned edge strength (0 where not an edge).
    mag: Vec<f32>,
    /// Gradient direction (radians) of each pixel.
    dir: Vec<f32>,
}

/// Shrink to at most `WORK_SIDE` on the long side by area averaging, as luma.
fn shrink_gray(img: &RgbImage) -> (Vec<f32>, usize, usize, f32) {
    let (sw, sh) = (img.width() as usize, img.height() as usize);
    let scale = (WORK_SIDE / sw.max(sh) as f32).min(1.0);
    let w = ((sw as f32 * scale).round() as usize).max(1);
    let h = ((sh as f32 * scale).round() as usize).max(1);
    let raw = img.as_raw();
    let mut out = vec![0.0f32; w * h];
    for y in 0..h {
        let y0 = y * sh / h;
        let y1 = ((y + 1) * sh / h).max(y0 + 1).min(sh);
        for x in 0..w {
            let x0 = x * sw / w;
            let x1 = ((x + 1) * sw / w).max(x0 + 1).min(sw);
            let mut sum = 0.0f32;
            for yy in y0..y1 {
                let row = yy * sw * 3;
                for xx in x0..x1 {
                    let i = row + xx * 3;
                    sum += luma([raw[i], raw[i + 1], raw[i + 2]]);
                }
            }
            out[y * w + x] = sum / ((y1 - y0) * (x1 - x0)) as f32;
        }
    }
    // The true scale of each axis (rounding differs slightly from `scale`).
    let s = 0.5 * (w as f32 / sw as f32 + h as f32 / sh as f32);
    (out, w, h, s)
}

fn edges(gray: &[f32], w: usize, h: usize) -> Edges {
    // 3×3 binomial smoothing, then Sobel.
    let mut smooth = gray.to_vec();
    if w >= 3 && h >= 3 {
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let g = |dx: usize, dy: usize| gray[(y + dy - 1) * w + (x + dx - 1)];
                smooth[y * w + x] = (g(0, 0)
                    + 2.0 * g(1, 0)
                    + g(2, 0)
                    + 2.0 * g(0, 1)
                    + 4.0 * g(1, 1)
                    + 2.0 * g(2, 1)
                    + g(0, 2)
                    + 2.0 * g(1, 2)
                    + g(2, 2))
                    / 16.0;
            }
        }
    }
    let mut gm = vec![0.0f32; w * h];
    let mut dir = vec![0.0f32; w * h];
    if w >= 3 && h >= 3 {
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let s = |dx: usize, dy: usize| smooth[(y + dy - 1) * w + (x + dx - 1)];
                let gx =
                    (s(2, 0) + 2.0 * s(2, 1) + s(2, 2) - s(0, 0) - 2.0 * s(0, 1) - s(0, 2)) / 8.0;
                let gy =
                    (s(0, 2) + 2.0 * s(1, 2) + s(2, 2) - s(0, 0) - 2.0 * s(1, 0) - s(2, 0)) / 8.0;
                gm[y * w + x] = (gx * gx + gy * gy).sqrt();
                dir[y * w + x] = gy.atan2(gx);
            }
        }
    }
    // Threshold relative to the strong edges of this image (low light keeps its edges).
    let mut sorted: Vec<f32> = gm.iter().copied().filter(|&m| m > 0.5).collect();
    sorted.sort_by(f32::total_cmp);
    let p99 = sorted
        .get(sorted.len().saturating_sub(1) * 99 / 100)
        .copied()
        .unwrap_or(0.0);
    let threshold = (0.2 * p99).clamp(3.0, 25.0);
    // Non-maximum suppression along the gradient.
    let mut mag = vec![0.0f32; w * h];
    if w >= 3 && h >= 3 {
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let i = y * w + x;
                let m = gm[i];
                if m < threshold {
                    continue;
                }
                let (s, c) = dir[i].sin_cos();
                let (dx, dy) = (c.round() as isize, s.round() as isize);
                let j1 = ((y as isize + dy) as usize) * w + (x as isize + dx) as usize;
                let j2 = ((y as isize - dy) as usize) * w + (x as isize - dx) as usize;
                if m >= gm[j1] && m >= gm[j2] {
                    mag[i] = m;
                }
            }
        }
    }
    Edges { w, h, mag, dir }
}

/// The text rectangle in the reading frame `theta`, in shrunk pixels: (centre, half extents
/// along u and v, mean line height).
fn text_frame(boxes: &[TextBox], theta: f32, scale: f32) -> Option<([f32; 2], f32, f32, f32)> {
    if boxes.is_empty() {
        return None;
    }
    let (s, c) = theta.sin_cos();
    let (mut umin, mut umax, mut vmin, mut vmax) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    let mut hsum = 0.0;
    for b in boxes {
        for p in b.corners() {
            let (x, y) = (p[0] * scale, p[1] * scale);
            let u = x * c + y * s;
            let v = -x * s + y * c;
            umin = umin.min(u);
            umax = umax.max(u);
            vmin = vmin.min(v);
            vmax = vmax.max(v);
        }
        hsum += b.thickness.min(b.length) * scale;
    }
    let (uc, vc) = (0.5 * (umin + umax), 0.5 * (vmin + vmax));
    let centre = [uc * c - vc * s, uc * s + vc * c];
    Some((
        centre,
        0.5 * (umax - umin),
        0.5 * (vmax - vmin),
        hsum / boxes.len() as f32,
    ))
}

/// Signed angle difference wrapped to (−π, π].
fn wrap(a: f32) -> f32 {
    let pi = std::f32::consts::PI;
    let mut d = a.rem_euclid(2.0 * pi);
    if d > pi {
        d -= 2.0 * pi;
    }
    d
}

/// Find the line of one side. `phi0` is the side's outward normal, `reach` the text's half
/// extent along it. Returns the line, its votes and whether its gradient points outward (the
/// background brighter than the document). A document's edge has one polarity all along, unlike
/// the strokes of text, so each polarity votes on its own.
fn find_side(e: &Edges, centre: [f32; 2], phi0: f32, reach: f32) -> Option<(Line, f32, bool)> {
    let tol = (ANGLE_RANGE_DEG as f32).to_radians();
    let pi = std::f32::consts::PI;
    let (n0y, n0x) = phi0.sin_cos();
    let diag = ((e.w * e.w + e.h * e.h) as f32).sqrt();
    let nrho = diag.ceil() as usize + 1;
    let angles: Vec<(f32, f32)> = (-ANGLE_RANGE_DEG..=ANGLE_RANGE_DEG)
        .map(|d| {
            let (s, c) = (phi0 + (d as f32).to_radians()).sin_cos();
            (c, s)
        })
        .collect();
    let na = angles.len();
    let plane = na * nrho;
    let mut acc = vec![0.0f32; 2 * plane];
    let mut pts: Vec<(f32, f32, f32, usize)> = Vec::new();
    for y in 0..e.h {
        for x in 0..e.w {
            let i = y * e.w + x;
            let m = e.mag[i];
            if m <= 0.0 {
                continue;
            }
            let d = wrap(e.dir[i] - phi0).abs();
            let pol = if d <= tol {
                0
            } else if d >= pi - tol {
                1
            } else {
                continue;
            };
            let (px, py) = (x as f32 + 0.5 - centre[0], y as f32 + 0.5 - centre[1]);
            if px * n0x + py * n0y <= reach {
                continue;
            }
            pts.push((px, py, m, pol));
            for (k, &(c, s)) in angles.iter().enumerate() {
                let rho = px * c + py * s;
                if rho > 0.0 && (rho as usize) < nrho {
                    acc[pol * plane + k * nrho + rho as usize] += 1.0;
                }
            }
        }
    }
    // Smooth along rho (thinned edges of a slightly curved or blurred side straddle two bins).
    let mut sm = vec![0.0f32; acc.len()];
    for base in (0..2 * na).map(|k| k * nrho) {
        for r in 0..nrho {
            let mut v = acc[base + r];
            if r > 0 {
                v += 0.5 * acc[base + r - 1];
            }
            if r + 1 < nrho {
                v += 0.5 * acc[base + r + 1];
            }
            sm[base + r] = v;
        }
    }
    let best = sm.iter().copied().fold(0.0f32, f32::max);
    if best < 20.0 {
        return None;
    }
    // The outermost strong peak: inner straight edges (a portrait's frame) are shorter than the
    // document's own edge and lie inside it.
    let mut chosen: Option<(usize, usize, usize, f32)> = None;
    for pol in 0..2 {
        for k in 0..na {
            for r in 0..nrho {
                let at = |kk: usize, rr: usize| sm[pol * plane + kk * nrho + rr];
                let v = at(k, r);
                if v < 0.6 * best {
                    continue;
                }
                let is_peak = (k.saturating_sub(1)..=(k + 1).min(na - 1)).all(|kk| {
                    (r.saturating_sub(1)..=(r + 1).min(nrho - 1))
                        .all(|rr| at(kk, rr) <= v || (kk == k && rr == r))
                });
                if is_peak && chosen.is_none_or(|(_, _, cr, _)| r > cr) {
                    chosen = Some((pol, k, r, v));
                }
            }
        }
    }
    let (pol, k, r, votes) = chosen?;
    let (c, s) = angles[k];
    let coarse = Line {
        nx: c,
        ny: s,
        rho: r as f32 + 0.5,
    };
    // Least-squares (total) fit to the points of that polarity near the peak line.
    let near: Vec<&(f32, f32, f32, usize)> = pts
        .iter()
        .filter(|p| p.3 == pol && coarse.distance(p.0, p.1) <= 2.0)
        .collect();
    if near.len() < 10 {
        return None;
    }
    let wsum: f32 = near.iter().map(|p| p.2).sum();
    let mx = near.iter().map(|p| p.0 * p.2).sum::<f32>() / wsum;
    let my = near.iter().map(|p| p.1 * p.2).sum::<f32>() / wsum;
    let (mut sxx, mut syy, mut sxy) = (0.0f32, 0.0f32, 0.0f32);
    for p in &near {
        let (dx, dy) = (p.0 - mx, p.1 - my);
        sxx += p.2 * dx * dx;
        syy += p.2 * dy * dy;
        sxy += p.2 * dx * dy;
    }
    // Direction of least spread is the normal.
    let along = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let (mut nx, mut ny) = (-along.sin(), along.cos());
    if nx * c + ny * s < 0.0 {
        nx = -nx;
        ny = -ny;
    }
    // Back to shrunk-image coordinates.
    let rho = nx * (mx + centre[0]) + ny * (my + centre[1]);
    Some((Line { nx, ny, rho }, votes, pol == 0))
}

/// Share of the segment `a`→`b` (shrunk pixels, the document on its right-hand side in image
/// coordinates) with an edge point of the side's polarity within 2 px.
fn support(e: &Edges, a: [f32; 2], b: [f32; 2], outward: bool) -> f32 {
    let len = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
    if len < 1.0 {
        return 0.0;
    }
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    // Outward normal of a clockwise quadrilateral (y down) is the direction turned by −90°.
    let mut want = (-dx).atan2(dy);
    if !outward {
        want += std::f32::consts::PI;
    }
    let n = 40;
    let mut hit = 0;
    for i in 0..n {
        let t = 0.05 + 0.9 * (i as f32 + 0.5) / n as f32;
        let (x, y) = (a[0] + t * dx, a[1] + t * dy);
        let (xi, yi) = (x.floor() as isize, y.floor() as isize);
        let found = (-2..=2).any(|oy| {
            (-2..=2).any(|ox| {
                let (xx, yy) = (xi + ox, yi + oy);
                if xx < 0 || yy < 0 || xx >= e.w as isize || yy >= e.h as isize {
                    return false;
                }
                let j = yy as usize * e.w + xx as usize;
                e.mag[j] > 0.0 && wrap(e.dir[j] - want).abs() < 0.5
            })
        });
        if found {
            hit += 1;
        }
    }
    hit as f32 / n as f32
}

fn polygon_area(q: &[[f32; 2]; 4]) -> f32 {
    let mut a = 0.0;
    for i in 0..4 {
        let (p, r) = (q[i], q[(i + 1) % 4]);
        a += p[0] * r[1] - r[0] * p[1];
    }
    0.5 * a.abs()
}

fn is_convex(q: &[[f32; 2]; 4]) -> bool {
    let mut sign = 0.0f32;
    for i in 0..4 {
        let (a, b, c) = (q[i], q[(i + 1) % 4], q[(i + 2) % 4]);
        let cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]);
        if cross.abs() < 1e-6 {
            return false;
        }
        if sign == 0.0 {
            sign = cross.signum();
        } else if cross.signum() != sign {
            return false;
        }
    }
    true
}

fn inside(q: &[[f32; 2]; 4], p: [f32; 2]) -> bool {
    let mut sign = 0.0f32;
    for i in 0..4 {
        let (a, b) = (q[i], q[(i + 1) % 4]);
        let cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
        if sign == 0.0 {
            sign = cross.signum();
        } else if cross.signum() != sign && cross != 0.0 {
            return false;
        }
    }
    true
}

fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Snap a measured aspect ratio (long / short) to the nearest standard page.
#[must_use]
pub fn canonical_aspect(measured: f32) -> f32 {
    if (1.3..1.5).contains(&measured) {
        TD3_ASPECT
    } else if (1.5..1.75).contains(&measured) {
        ID1_ASPECT
    } else {
        measured
    }
}

/// Locate the document's quadrilateral in `img`, seeded by the detected text `boxes` read along
/// `theta` (radians). Corners are ordered top-left, top-right, bottom-right, bottom-left of that
/// reading frame. `None` when no reliable quadrilateral exists.
#[must_use]
pub fn locate(img: &RgbImage, boxes: &[TextBox], theta: f32) -> Option<DocumentQuad> {
    let (gray, w, h, scale) = shrink_gray(img);
    if w < 32 || h < 32 {
        return None;
    }
    let e = edges(&gray, w, h);
    let long_boxes: Vec<TextBox> = boxes
        .iter()
        .filter(|b| b.length > 1.6 * b.thickness)
        .copied()
        .collect();
    let (centre, hu, hv, _line_h) = text_frame(&long_boxes, theta, scale)?;
    let half_pi = std::f32::consts::FRAC_PI_2;
    // Outward normals: top (−v), right (+u), bottom (+v), left (−u). Edge points are taken
    // from beyond most of the text's extent: the outer lines of text often reach close to the
    // document's edge, and perspective brings parts of an edge nearer the centre.
    let sides = [
        (theta - half_pi, 0.7 * hv),
        (theta, 0.7 * hu),
        (theta + half_pi, 0.7 * hv),
        (theta + std::f32::consts::PI, 0.7 * hu),
    ];
    let mut lines = Vec::with_capacity(4);
    let mut outward = Vec::with_capacity(4);
    for &(phi, reach) in &sides {
        let (line, _, out) = find_side(&e, centre, phi, reach)?;
        lines.push(line);
        outward.push(out);
    }
    let corners_small = [
        lines[0].intersect(&lines[3])?,
        lines[0].intersect(&lines[1])?,
        lines[2].intersect(&lines[1])?,
        lines[2].intersect(&lines[3])?,
    ];
    if !is_convex(&corners_small) {
        return None;
    }
    let slack_x = 0.03 * w as f32;
    let slack_y = 0.03 * h as f32;
    if corners_small.iter().any(|p| {
        p[0] < -slack_x || p[1] < -slack_y || p[0] > w as f32 + slack_x || p[1] > h as f32 + slack_y
    }) {
        return None;
    }
    let share = polygon_area(&corners_small) / (w * h) as f32;
    if !(0.05..=0.97).contains(&share) {
        return None;
    }
    let sup: Vec<f32> = (0..4)
        .map(|i| support(&e, corners_small[i], corners_small[(i + 1) % 4], outward[i]))
        .collect();
    let mean_support = sup.iter().sum::<f32>() / 4.0;
    if sup.iter().any(|&s| s < 0.6) || mean_support < 0.75 {
        return None;
    }
    let q = corners_small;
    let along_u = 0.5 * (dist(q[0], q[1]) + dist(q[3], q[2]));
    let along_v = 0.5 * (dist(q[0], q[3]) + dist(q[1], q[2]));
    let ratio = along_u.max(along_v) / along_u.min(along_v).max(1.0);
    if !(1.15..=2.0).contains(&ratio) {
        return None;
    }
    // The document holds its text.
    let held = boxes
        .iter()
        .filter(|b| inside(&q, [b.cx * scale, b.cy * scale]))
        .count();
    if (held as f32) < 0.9 * boxes.len() as f32 {
        return None;
    }
    let corners = corners_small.map(|p| [p[0] / scale, p[1] / scale]);
    let r1 = |v: f32| (v * 10.0).round() / 10.0;
    Some(DocumentQuad {
        corners: corners.map(|p| [r1(p[0]), r1(p[1])]),
        fill_percent: r1(share * 100.0),
        aspect: canonical_aspect(ratio),
        edge_support: (mean_support * 100.0).round() / 100.0,
    })
}

/// Solve the 8×8 system of a homography (Gaussian elimination with partial pivoting).
fn solve8(mut a: [[f64; 9]; 8]) -> Option<[f64; 8]> {
    for col in 0..8 {
        let piv = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, piv);
        let pivot_row = a[col];
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (v, p) in row.iter_mut().zip(pivot_row.iter()).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    Some(std::array::from_fn(|i| a[i][8] / a[i][i]))
}

/// The homography (row-major 3×3, `h[8]` = 1) mapping `from[i]` to `to[i]`; `None` when three
/// of the points are collinear.
#[must_use]
pub fn homography(from: [[f32; 2]; 4], to: [[f32; 2]; 4]) -> Option<[f64; 9]> {
    let mut a = [[0.0f64; 9]; 8];
    for i in 0..4 {
        let (x, y) = (f64::from(from[i][0]), f64::from(from[i][1]));
        let (u, v) = (f64::from(to[i][0]), f64::from(to[i][1]));
        a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    let h = solve8(a)?;
    Some([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0])
}

/// Apply a homography to a point.
#[must_use]
pub fn apply(h: &[f64; 9], p: [f32; 2]) -> [f32; 2] {
    let (x, y) = (f64::from(p[0]), f64::from(p[1]));
    let d = h[6] * x + h[7] * y + h[8];
    let d = if d.abs() < 1e-12 { 1e-12 } else { d };
    [
        ((h[0] * x + h[1] * y + h[2]) / d) as f32,
        ((h[3] * x + h[4] * y + h[5]) / d) as f32,
    ]
}

/// Size of the rectified image: long side `long_side`, the quad's own orientation (wider than
/// tall when its top and bottom sides are the longer ones).
#[must_use]
pub fn rectified_size(q: &DocumentQuad, long_side: u32) -> (u32, u32) {
    let c = &q.corners;
    let along_u = 0.5 * (dist(c[0], c[1]) + dist(c[3], c[2]));
    let along_v = 0.5 * (dist(c[0], c[3]) + dist(c[1], c[2]));
    let short = ((long_side as f32 / q.aspect.max(1.0)).round() as u32).max(1);
    if along_u >= along_v {
        (long_side, short)
    } else {
        (short, long_side)
    }
}

/// Warp the quadrilateral `corners` (TL, TR, BR, BL in `img`) to an upright `w`×`h` image by
/// perspective, sampling bilinearly. `None` when the corners are degenerate.
#[must_use]
pub fn warp(img: &RgbImage, corners: &[[f32; 2]; 4], w: u32, h: u32) -> Option<RgbImage> {
    let (wf, hf) = (w as f32, h as f32);
    let hm = homography([[0.0, 0.0], [wf, 0.0], [wf, hf], [0.0, hf]], *corners)?;
    let (iw, ih) = (img.width() as i64, img.height() as i64);
    if iw == 0 || ih == 0 {
        return None;
    }
    let raw = img.as_raw();
    let stride = iw as usize * 3;
    let mut out = RgbImage::new(w, h);
    let buf: &mut [u8] = &mut out;
    for y in 0..h {
        let yf = f64::from(y) + 0.5;
        for x in 0..w {
            let xf = f64::from(x) + 0.5;
            let d = hm[6] * xf + hm[7] * yf + hm[8];
            if d.abs() < 1e-12 {
                continue;
            }
            let sx = ((hm[0] * xf + hm[1] * yf + hm[2]) / d - 0.5) as f32;
            let sy = ((hm[3] * xf + hm[4] * yf + hm[5]) / d - 0.5) as f32;
            let (x0f, y0f) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0f, sy - y0f);
            let (x0, y0) = (x0f as i64, y0f as i64);
            let xa = x0.clamp(0, iw - 1) as usize;
            let xb = (x0 + 1).clamp(0, iw - 1) as usize;
            let ya = y0.clamp(0, ih - 1) as usize;
            let yb = (y0 + 1).clamp(0, ih - 1) as usize;
            let o = (y as usize * w as usize + x as usize) * 3;
            for c in 0..3 {
                let at = |xx: usize, yy: usize| f32::from(raw[yy * stride + xx * 3 + c]);
                let top = at(xa, ya) * (1.0 - fx) + at(xb, ya) * fx;
                let bottom = at(xa, yb) * (1.0 - fx) + at(xb, yb) * fx;
                let v = top * (1.0 - fy) + bottom * fy;
                buf[o + c] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card_on_background(quad: [[f32; 2]; 4]) -> RgbImage {
        // A light card with a darker band of "text" inside, on a dark background.
        let (w, h) = (856.0f32, 540.0f32);
        let hm = homography(quad, [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]]).unwrap();
        RgbImage::from_fn(800, 600, |x, y| {
            let p = apply(&hm, [x as f32 + 0.5, y as f32 + 0.5]);
            if p[0] < 0.0 || p[1] < 0.0 || p[0] >= w || p[1] >= h {
                image::Rgb([60, 55, 50])
            } else if (200.0..260.0).contains(&p[1]) && (100.0..700.0).contains(&p[0]) {
                image::Rgb([40, 40, 40])
            } else {
                image::Rgb([230, 228, 220])
            }
        })
    }

    fn text_box(hm: &[f64; 9], cx: f32, cy: f32) -> TextBox {
        let c = apply(hm, [cx, cy]);
        let r = apply(hm, [cx + 300.0, cy]);
        TextBox {
            cx: c[0],
            cy: c[1],
            length: 2.0 * dist(c, r),
            thickness: 50.0,
            angle: (r[1] - c[1]).atan2(r[0] - c[0]),
            score: 0.9,
        }
    }

    #[test]
    fn a_tilted_card_is_found_within_six_pixels_per_corner() {
        let quad = [
            [150.0, 120.0],
            [650.0, 100.0],
            [690.0, 420.0],
            [120.0, 440.0],
        ];
        let img = card_on_background(quad);
        let hm = homography(
            [[0.0, 0.0], [856.0, 0.0], [856.0, 540.0], [0.0, 540.0]],
            quad,
        )
        .unwrap();
        let b = text_box(&hm, 400.0, 230.0);
        let found = locate(&img, &[b], b.angle).unwrap();
        for (got, want) in found.corners.iter().zip(quad.iter()) {
            assert!(dist(*got, *want) < 6.0, "{got:?} vs {want:?}");
        }
        assert_eq!(found.aspect, ID1_ASPECT);
    }

    #[test]
    fn a_frame_without_edges_has_no_quad() {
        let img = RgbImage::from_pixel(640, 480, image::Rgb([200, 200, 200]));
        let b = TextBox {
            cx: 320.0,
            cy: 240.0,
            length: 300.0,
            thickness: 30.0,
            angle: 0.0,
            score: 0.9,
        };
        assert!(locate(&img, &[b], 0.0).is_none());
        assert!(locate(&img, &[], 0.0).is_none());
    }

    #[test]
    fn warp_of_a_known_quad_recovers_the_page() {
        let quad = [
            [150.0, 120.0],
            [640.0, 90.0],
            [700.0, 450.0],
            [110.0, 480.0],
        ];
        let img = card_on_background(quad);
        let out = warp(&img, &quad, 428, 270).unwrap();
        // The dark band sits at v 200..260 of 540 → rows 100..130 of 270, u 100..700 of 856.
        assert!(out.get_pixel(214, 115).0[0] < 80);
        assert!(out.get_pixel(214, 60).0[0] > 200);
        assert!(out.get_pixel(10, 10).0[0] > 200);
        assert!(out.get_pixel(418, 260).0[0] > 200);
    }

    #[test]
    fn homography_maps_its_four_points() {
        let from = [[0.0, 0.0], [10.0, 0.0], [10.0, 5.0], [0.0, 5.0]];
        let to = [[3.0, 4.0], [20.0, 2.0], [22.0, 15.0], [1.0, 12.0]];
        let h = homography(from, to).unwrap();
        for (f, t) in from.iter().zip(to.iter()) {
            assert!(dist(apply(&h, *f), *t) < 1e-3);
        }
        assert!(homography([[0.0, 0.0]; 4], to).is_none());
    }
}
