//! Physical document, not a copy: evidence in the pixels that the camera saw a screen, a
//! printout or no camera at all, reported as the flags `document_screen_recapture`,
//! `document_print_copy` and `document_synthetic`, each of which refers the case.
//!
//! - **Periodic texture** (screens and halftone prints). The frame is cut into 128×128 tiles
//!   (origins on the 8-pixel JPEG grid), each windowed (Hann) and transformed (2-D FFT). In each
//!   tile the strongest spectral line is compared with the median power of its ring (same
//!   radius): a pixel grid, sub-pixel stripes or a halftone screen is a line tens to hundreds of
//!   times above its ring, while text, faces and paper give at most ≈15. Frequencies on the JPEG
//!   block grid (multiples of 1/8 cycle per pixel on both axes) are skipped. The test is run on
//!   luma and on chroma (R − B): a screen's red, green and blue sub-pixels sit side by side, so
//!   its period shows in chroma too, and moiré (a screen's grid aliased by the camera) is a
//!   chroma pattern; a halftone (laser or ink-jet copy) shows in luma only.
//! - **Screen bezel**: two or more sides of the frame are a dark, even band.
//! - **No sensor noise** (a generated image): the share of mid-tone pixels whose whole 3×3
//!   neighbourhood has exactly their colour (a camera's noise leaves almost none), and the
//!   share of the sampled pixels covered by the 16 most frequent exact colours (a palette):
//!   both must be high. A document filling the frame with no background around it (no card
//!   edges) lowers the bar on flatness.
//!
//! The thresholds were set on simulated recaptures (see `docs/evaluation-documents.md`); a
//! simulated recapture is not a real one, and a card whose security print holds fine periodic
//! guilloches may show periodic texture too.

use image::RgbImage;
use serde::Serialize;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::fields::Flag;
use super::locate::DocumentQuad;

/// Tile side (a power of two).
const TILE: usize = 128;
/// At most this many tiles are analysed (a grid over the frame's central part).
const MAX_TILES: usize = 16;
/// Ring power ratio above which a tile holds a periodic pattern.
pub const PEAK_RATIO: f32 = 1000.0;
/// Lowest frequency (cycles per pixel) searched in luma: periods up to 8 px (text and faces
/// hold little above it).
const LUMA_MIN_FREQ: f32 = 0.125;
/// Lowest frequency searched in chroma (moiré bands of up to 16 px).
const CHROMA_MIN_FREQ: f32 = 0.0625;
/// Highest frequency searched (periods under 2.4 px are the camera's own demosaicing and
/// resampling traces).
const MAX_FREQ: f32 = 0.42;
/// Share of informative tiles that must hold the pattern.
pub const PERIODIC_SHARE: f32 = 0.5;
/// Share of flat mid-tone pixels from which an image is taken as generated.
pub const FLAT_SHARE: f32 = 0.25;
/// With no card edges in the frame (the document fills it), this flat share suffices.
pub const FLAT_SHARE_NO_EDGES: f32 = 0.12;
/// Share of the sampled pixels in the 16 most frequent exact colours that a generated image
/// reaches (real photos measured ≤ 0.27).
pub const PALETTE_SHARE: f32 = 0.3;

/// What the recapture analysis measured, and what it concluded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecaptureReport {
    /// Tiles with enough texture to judge.
    pub tiles: usize,
    /// Share of them with a periodic luma pattern (0–1).
    pub luma_periodic_share: f32,
    /// Share of them with a periodic chroma pattern (0–1).
    pub chroma_periodic_share: f32,
    /// Median over the tiles of the strongest luma line's ring power ratio.
    pub luma_peak_ratio: f32,
    /// Period (pixels) of the strongest luma line, median over the periodic tiles.
    pub luma_period_px: Option<f32>,
    /// Sides of the frame that are a dark, even band (0–4).
    pub dark_border_sides: u32,
    /// Share of mid-tone pixels whose 3×3 neighbourhood is exactly their colour (0–1).
    pub flat_share: f32,
    /// Share of sampled pixels in the 16 most frequent exact colours (0–1).
    pub palette_share: f32,
    /// The document's edges were seen with background around them.
    pub card_edges_visible: bool,
    /// Flag codes raised: `document_screen_recapture`, `document_print_copy`,
    /// `document_synthetic`.
    pub flags: Vec<&'static str>,
}

impl RecaptureReport {
    /// The raised flags with their messages.
    #[must_use]
    pub fn flag_list(&self) -> Vec<Flag> {
        self.flags
            .iter()
            .map(|&code| Flag {
                code,
                message: match code {
                    "document_screen_recapture" => format!(
                        "the document looks photographed from a screen (periodic pixel pattern in \
                         {:.0}% of the image, in colour in {:.0}%; dark bezel on {} side(s))",
                        self.luma_periodic_share * 100.0,
                        self.chroma_periodic_share * 100.0,
                        self.dark_border_sides
                    ),
                    "document_print_copy" => format!(
                        "the document looks like a printed copy (halftone dot pattern in {:.0}% of \
                         the image{})",
                        self.luma_periodic_share * 100.0,
                        self.luma_period_px
                            .map_or(String::new(), |p| format!(", period {p:.1} px"))
                    ),
                    _ => format!(
                        "the image looks generated, not photographed (no sensor noise: {:.0}% of \
                         mid-tone pixels in perfectly flat patches, 16 colours cover {:.0}%{})",
                        self.flat_share * 100.0,
                        self.palette_share * 100.0,
                        if self.card_edges_visible {
                            ""
                        } else {
                            "; no card edges in the frame"
                        }
                    ),
                },
            })
            .collect()
    }

    /// The same report for two sides: a flag raised on either side is kept.
    #[must_use]
    pub fn merged(mut self, other: &RecaptureReport) -> RecaptureReport {
        for f in &other.flags {
            if !self.flags.contains(f) {
                self.flags.push(f);
            }
        }
        self
    }
}

/// Analyse a document photo. `quad` is the located document, when its edges were found.
#[must_use]
pub fn analyze(rgb: &RgbImage, quad: Option<&DocumentQuad>) -> RecaptureReport {
    FrameEvidence::measure(rgb).report(quad)
}

/// What [`analyze`] measures on the frame alone, before the document's edges are known: the
/// reader measures it on a second thread while the text is read.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameEvidence {
    tiles: usize,
    luma_ratios: Vec<f32>,
    luma_periods: Vec<f32>,
    luma_hits: usize,
    chroma_hits: usize,
    dark_border_sides: u32,
    flat_share: f32,
    palette_share: f32,
}

impl FrameEvidence {
    /// Spectra of the frame's tiles, its borders and its flatness.
    #[must_use]
    pub fn measure(rgb: &RgbImage) -> Self {
        let (w, h) = (rgb.width() as usize, rgb.height() as usize);
        let mut luma_ratios = Vec::new();
        let mut luma_periods = Vec::new();
        let (mut luma_hits, mut chroma_hits) = (0usize, 0usize);
        for (x0, y0) in tile_origins(w, h) {
            let (l, c) = tile_channels(rgb, x0, y0);
            if std_dev(&l) < 2.0 {
                continue;
            }
            let (lr, lf) = strongest_line(&l, LUMA_MIN_FREQ, 8);
            // Chroma is stored at half resolution by most JPEGs: its block grid is 16 pixels.
            let (cr, _) = strongest_line(&c, CHROMA_MIN_FREQ, 16);
            luma_ratios.push(lr);
            if lr >= PEAK_RATIO {
                luma_hits += 1;
                if lf > 0.0 {
                    luma_periods.push(1.0 / lf);
                }
            }
            if cr >= PEAK_RATIO && std_dev(&c) >= 1.0 {
                chroma_hits += 1;
            }
        }
        let (flat_share, palette_share) = flatness(rgb);
        Self {
            tiles: luma_ratios.len(),
            luma_ratios,
            luma_periods,
            luma_hits,
            chroma_hits,
            dark_border_sides: dark_border_sides(rgb),
            flat_share,
            palette_share,
        }
    }

    /// The report and its flags, given the located document (`None`: no edges found).
    #[must_use]
    pub fn report(mut self, quad: Option<&DocumentQuad>) -> RecaptureReport {
        let tiles = self.tiles;
        let share = |n: usize| {
            if tiles == 0 {
                0.0
            } else {
                n as f32 / tiles as f32
            }
        };
        let luma_periodic_share = share(self.luma_hits);
        let chroma_periodic_share = share(self.chroma_hits);
        let (dark_border_sides, flat_share, palette_share) =
            (self.dark_border_sides, self.flat_share, self.palette_share);
        let card_edges_visible = quad.is_some_and(|q| q.fill_percent < 92.0);

        let enough = tiles >= 3;
        let luma_periodic = enough && luma_periodic_share >= PERIODIC_SHARE;
        let chroma_periodic = enough && chroma_periodic_share >= PERIODIC_SHARE;
        let mut flags = Vec::new();
        if chroma_periodic || (luma_periodic && dark_border_sides >= 2) {
            flags.push("document_screen_recapture");
        } else if luma_periodic {
            flags.push("document_print_copy");
        }
        let generated = palette_share >= PALETTE_SHARE
            && (flat_share >= FLAT_SHARE
                || (!card_edges_visible && flat_share >= FLAT_SHARE_NO_EDGES));
        if generated {
            flags.push("document_synthetic");
        }
        RecaptureReport {
            tiles,
            luma_periodic_share: round3(luma_periodic_share),
            chroma_periodic_share: round3(chroma_periodic_share),
            luma_peak_ratio: round3(median(&mut self.luma_ratios)),
            luma_period_px: (!self.luma_periods.is_empty())
                .then(|| round3(median(&mut self.luma_periods))),
            dark_border_sides,
            flat_share: round3(flat_share),
            palette_share: round3(palette_share),
            card_edges_visible,
            flags,
        }
    }
}

fn round3(v: f32) -> f32 {
    (v * 1000.0).round() / 1000.0
}

fn median(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

fn std_dev(v: &[f32]) -> f32 {
    let n = v.len() as f32;
    let mean = v.iter().sum::<f32>() / n;
    (v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n).sqrt()
}

/// Tile origins (multiples of 8) on a grid over the central 80% of the frame.
fn tile_origins(w: usize, h: usize) -> Vec<(usize, usize)> {
    if w < TILE || h < TILE {
        return Vec::new();
    }
    let (x_lo, x_hi) = (w / 10, (w * 9 / 10).max(w / 10 + TILE).min(w) - TILE);
    let (y_lo, y_hi) = (h / 10, (h * 9 / 10).max(h / 10 + TILE).min(h) - TILE);
    let fit = |lo: usize, hi: usize| if hi <= lo { 1 } else { (hi - lo) / TILE + 1 };
    let (mut nx, mut ny) = (fit(x_lo, x_hi), fit(y_lo, y_hi));
    while nx * ny > MAX_TILES {
        if nx >= ny { nx -= 1 } else { ny -= 1 }
    }
    let pos = |lo: usize, hi: usize, n: usize, i: usize| {
        let p = if n <= 1 || hi <= lo {
            lo.min(hi)
        } else {
            lo + (hi - lo) * i / (n - 1)
        };
        p / 8 * 8
    };
    let mut out = Vec::new();
    for j in 0..ny {
        for i in 0..nx {
            out.push((pos(x_lo, x_hi, nx, i), pos(y_lo, y_hi, ny, j)));
        }
    }
    out
}

/// Luma and chroma (R − B) of a tile, row-major.
fn tile_channels(rgb: &RgbImage, x0: usize, y0: usize) -> (Vec<f32>, Vec<f32>) {
    let mut l = Vec::with_capacity(TILE * TILE);
    let mut c = Vec::with_capacity(TILE * TILE);
    for y in y0..y0 + TILE {
        for x in x0..x0 + TILE {
            let p = rgb.get_pixel(x as u32, y as u32).0;
            l.push(crate::imaging::luma(p));
            c.push(f32::from(p[0]) - f32::from(p[2]));
        }
    }
    (l, c)
}

/// The strongest spectral line at or above `min_freq` (cycles per pixel): its power over the
/// median power of its ring, and its frequency.
fn strongest_line(tile: &[f32], min_freq: f32, block: usize) -> (f32, f32) {
    let n = TILE;
    let mean = tile.iter().sum::<f32>() / tile.len() as f32;
    let hann: Vec<f32> = (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / n as f32).cos())
        .collect();
    let mut re: Vec<f32> = (0..n * n)
        .map(|k| (tile[k] - mean) * hann[k / n] * hann[k % n])
        .collect();
    let mut im = vec![0.0f32; n * n];
    fft2(&mut re, &mut im, n);
    // Half plane: v in 0..n/2 (rows), u in -n/2..n/2 (columns).
    let rings = n / 2 + 1;
    let mut by_ring: Vec<Vec<f32>> = vec![Vec::new(); rings];
    let mut bins = Vec::new();
    let grid = n / block;
    for v in 0..=n / 2 {
        for u in 0..n {
            let su = if u > n / 2 {
                u as i64 - n as i64
            } else {
                u as i64
            };
            if v == 0 && su <= 0 {
                continue;
            }
            let r = ((su * su + (v * v) as i64) as f32).sqrt();
            let ring = r.round() as usize;
            if ring >= rings {
                continue;
            }
            let k = v * n + u;
            let p = re[k] * re[k] + im[k] * im[k];
            by_ring[ring].push(p);
            let on_jpeg_grid =
                (su.unsigned_abs() as usize).is_multiple_of(grid) && v.is_multiple_of(grid);
            let f = r / n as f32;
            if f >= min_freq && f <= MAX_FREQ && !on_jpeg_grid {
                bins.push((ring, p, r / n as f32));
            }
        }
    }
    let medians: Vec<f32> = by_ring.iter_mut().map(|ps| median(ps).max(1e-6)).collect();
    bins.into_iter()
        .map(|(ring, p, f)| (p / medians[ring], f))
        .fold((0.0, 0.0), |best, x| if x.0 > best.0 { x } else { best })
}

/// In-place 2-D FFT of an `n`×`n` complex array (row-major), `n` a power of two.
fn fft2(re: &mut [f32], im: &mut [f32], n: usize) {
    for row in 0..n {
        fft(
            &mut re[row * n..(row + 1) * n],
            &mut im[row * n..(row + 1) * n],
        );
    }
    let (mut cr, mut ci) = (vec![0.0; n], vec![0.0; n]);
    for col in 0..n {
        for (i, (r, m)) in cr.iter_mut().zip(ci.iter_mut()).enumerate() {
            *r = re[i * n + col];
            *m = im[i * n + col];
        }
        fft(&mut cr, &mut ci);
        for (i, (r, m)) in cr.iter().zip(&ci).enumerate() {
            re[i * n + col] = *r;
            im[i * n + col] = *m;
        }
    }
}

/// In-place radix-2 FFT (length a power of two).
fn fft(re: &mut [f32], im: &mut [f32]) {
    let n = re.len();
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let twiddles: Vec<(f32, f32)> = (0..n / 2)
        .map(|k| (-2.0 * std::f32::consts::PI * k as f32 / n as f32).sin_cos())
        .collect();
    let mut len = 2;
    while len <= n {
        let stride = n / len;
        for start in (0..n).step_by(len) {
            for k in 0..len / 2 {
                let (s, c) = twiddles[k * stride];
                let (a, b) = (start + k, start + k + len / 2);
                let tr = re[b] * c - im[b] * s;
                let ti = re[b] * s + im[b] * c;
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
        }
        len <<= 1;
    }
}

/// Sides of the frame (outer 4%) that are dark (mean luma < 40) and even (deviation < 8).
fn dark_border_sides(rgb: &RgbImage) -> u32 {
    let (w, h) = rgb.dimensions();
    if w < 50 || h < 50 {
        return 0;
    }
    let (bw, bh) = ((w / 25).max(2), (h / 25).max(2));
    let bands = [
        (0, 0, w, bh),
        (0, h - bh, w, bh),
        (0, 0, bw, h),
        (w - bw, 0, bw, h),
    ];
    bands
        .iter()
        .filter(|&&(x0, y0, bw, bh)| {
            let mut v = Vec::new();
            for y in (y0..y0 + bh).step_by(2) {
                for x in (x0..x0 + bw).step_by(2) {
                    v.push(crate::imaging::luma(rgb.get_pixel(x, y).0));
                }
            }
            let mean = v.iter().sum::<f32>() / v.len().max(1) as f32;
            mean < 40.0 && std_dev(&v) < 8.0
        })
        .count() as u32
}

/// Hash of a packed colour (`write_u32` only): one multiplication, folded so that the high bits
/// reach the bucket index. Colours are not attacker-chosen keys worth a keyed hash: the worst a
/// crafted image can do is slow this one map down, and its size is bounded by the pixel limit.
#[derive(Default)]
struct ColourHasher(u64);

impl Hasher for ColourHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

/// Share of mid-tone pixels (luma 16–239) whose 3×3 neighbourhood is exactly their colour, and
/// the share of sampled pixels in the 16 most frequent colours; every other pixel of every
/// other row is sampled.
fn flatness(rgb: &RgbImage) -> (f32, f32) {
    let (w, h) = rgb.dimensions();
    if w < 3 || h < 3 {
        return (0.0, 0.0);
    }
    let (mut mid, mut flat, mut sampled) = (0u64, 0u64, 0u64);
    // Colours packed as 0xRRGGBB in a map with a multiplicative hash: a 12 MP page samples
    // 3 million pixels, which the default keyed hash made the slowest part of this analysis.
    let mut colours: HashMap<u32, u32, BuildHasherDefault<ColourHasher>> = HashMap::default();
    let raw = rgb.as_raw();
    let stride = w as usize * 3;
    let at = |x: usize, y: usize| -> [u8; 3] {
        let i = y * stride + x * 3;
        [raw[i], raw[i + 1], raw[i + 2]]
    };
    for y in (1..h as usize - 1).step_by(2) {
        for x in (1..w as usize - 1).step_by(2) {
            let p = at(x, y);
            sampled += 1;
            let key = (u32::from(p[0]) << 16) | (u32::from(p[1]) << 8) | u32::from(p[2]);
            *colours.entry(key).or_insert(0) += 1;
            let l = crate::imaging::luma(p);
            if !(16.0..240.0).contains(&l) {
                continue;
            }
            mid += 1;
            let same = (y - 1..=y + 1).all(|yy| (x - 1..=x + 1).all(|xx| at(xx, yy) == p));
            if same {
                flat += 1;
            }
        }
    }
    let mut counts: Vec<u32> = colours.into_values().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let top: u64 = counts.iter().take(16).map(|&c| u64::from(c)).sum();
    let flat_share = if mid == 0 {
        0.0
    } else {
        flat as f32 / mid as f32
    };
    let palette = if sampled == 0 {
        0.0
    } else {
        top as f32 / sampled as f32
    };
    (flat_share, palette)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fft_finds_a_pure_tone() {
        let n = 16;
        let mut re: Vec<f32> = (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * 3.0 * i as f32 / n as f32).cos())
            .collect();
        let mut im = vec![0.0; n];
        fft(&mut re, &mut im);
        let p: Vec<f32> = (0..n).map(|k| re[k].hypot(im[k])).collect();
        assert!(
            (p[3] - 8.0).abs() < 1e-3 && (p[13] - 8.0).abs() < 1e-3,
            "{p:?}"
        );
        assert!(
            p.iter()
                .enumerate()
                .all(|(k, v)| k == 3 || k == 13 || *v < 1e-3)
        );
    }

    #[test]
    fn flatness_counts_colours_and_flat_patches_exactly() {
        // Four flat quadrants of mid-tone colours and a noisy band: compare with a plain count.
        let img = RgbImage::from_fn(97, 61, |x, y| {
            if y >= 50 {
                let v = ((x * 37 + y * 91) % 200 + 20) as u8;
                image::Rgb([v, v.wrapping_add(7), v / 2 + 30])
            } else {
                match (x < 48, y < 25) {
                    (true, true) => image::Rgb([120, 40, 200]),
                    (false, true) => image::Rgb([60, 160, 90]),
                    (true, false) => image::Rgb([200, 200, 30]),
                    (false, false) => image::Rgb([90, 90, 90]),
                }
            }
        });
        let (flat, palette) = flatness(&img);
        let (mut mid, mut flat_n, mut sampled) = (0u32, 0u32, 0u32);
        let mut counts: std::collections::BTreeMap<[u8; 3], u32> = Default::default();
        for y in (1..60u32).step_by(2) {
            for x in (1..96u32).step_by(2) {
                let p = img.get_pixel(x, y).0;
                sampled += 1;
                *counts.entry(p).or_insert(0) += 1;
                let l = crate::imaging::luma(p);
                if !(16.0..240.0).contains(&l) {
                    continue;
                }
                mid += 1;
                if (y - 1..=y + 1).all(|yy| (x - 1..=x + 1).all(|xx| img.get_pixel(xx, yy).0 == p))
                {
                    flat_n += 1;
                }
            }
        }
        let mut c: Vec<u32> = counts.into_values().collect();
        c.sort_unstable_by(|a, b| b.cmp(a));
        let top: u32 = c.iter().take(16).sum();
        assert_eq!(flat, flat_n as f32 / mid as f32);
        assert_eq!(palette, top as f32 / sampled as f32);
        assert!(flat > 0.5 && flat < 1.0, "flat share {flat}");
    }

    #[test]
    fn a_grating_is_a_strong_line_and_noise_is_not() {
        let grating: Vec<f32> = (0..TILE * TILE)
            .map(|k| 128.0 + 40.0 * (2.0 * std::f32::consts::PI * (k % TILE) as f32 / 3.3).sin())
            .collect();
        let (ratio, f) = strongest_line(&grating, LUMA_MIN_FREQ, 8);
        assert!(ratio > PEAK_RATIO * 5.0, "{ratio}");
        assert!((f - 1.0 / 3.3).abs() < 0.01, "{f}");
        let mut s = 12345u32;
        let noise: Vec<f32> = (0..TILE * TILE)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                128.0 + (s % 41) as f32 - 20.0
            })
            .collect();
        let (ratio, _) = strongest_line(&noise, LUMA_MIN_FREQ, 8);
        assert!(ratio < PEAK_RATIO, "{ratio}");
    }

    #[test]
    fn a_flat_generated_image_is_synthetic_and_a_noisy_one_is_not() {
        let flat = RgbImage::from_fn(400, 300, |x, _| {
            if x < 200 {
                image::Rgb([200, 180, 90])
            } else {
                image::Rgb([60, 90, 160])
            }
        });
        let r = analyze(&flat, None);
        assert!(r.flags.contains(&"document_synthetic"), "{r:?}");
        let mut s = 99u32;
        let noisy = RgbImage::from_fn(400, 300, |x, y| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let n = (s % 9) as i32 - 4;
            let base = if x < 200 { 160 } else { 90 } + ((x + y) % 7) as i32;
            let v = (base + n).clamp(0, 255) as u8;
            image::Rgb([v, v.saturating_sub(10), v.saturating_add(5)])
        });
        let r = analyze(&noisy, None);
        assert!(r.flags.is_empty(), "{r:?}");
    }
}
