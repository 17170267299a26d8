//! Glare over the text: a blown-out spot on a text row hides characters no reader can recover
//! (an MRZ character under a reflection fails its check digit), however small the spot is
//! against the whole document. The capture is then not good enough, whatever the global glare
//! share says.

use image::RgbImage;

use super::ocr::TextBox;
use crate::imaging::luma;

/// Luma at or above which a pixel is clipped.
pub const BLOWN_OUT: f32 = 253.0;

/// Length of text row under a reflection, in line heights (about one character), from which the
/// text counts as covered.
pub const COVERED_LENGTH: f32 = 0.5;

/// Length of text row lying under a reflection, in line heights, along each row's centre line.
/// Boxes on one row (centres within half a line height across the reading direction `theta`)
/// make one row spanning from the first to the last: a reflection splits a row into pieces, and
/// the hidden characters lie between them. A point counts when it is clipped together with the
/// points a third of a line height away on each side — a flat clipped patch wider than the gap
/// between two letters, which paper between printed characters is not. 0 on white paper.
#[must_use]
pub fn glare_on_rows(img: &RgbImage, boxes: &[TextBox], theta: f32) -> f32 {
    if boxes.is_empty() || img.width() < 3 || img.height() < 3 {
        return 0.0;
    }
    let (s, c) = theta.sin_cos();
    let to_uv = |x: f32, y: f32| (x * c + y * s, -x * s + y * c);
    let from_uv = |u: f32, v: f32| (u * c - v * s, u * s + v * c);
    // (v centre, half thickness, u start, u end)
    let mut rows: Vec<(f32, f32, f32, f32)> = Vec::new();
    let mut hsum = 0.0;
    for b in boxes {
        let (u, v) = to_uv(b.cx, b.cy);
        let (u0, u1) = (u - b.length / 2.0, u + b.length / 2.0);
        let half = b.thickness / 2.0;
        hsum += b.thickness;
        match rows.iter_mut().find(|r| (r.0 - v).abs() < r.1.max(half)) {
            Some(r) => {
                r.2 = r.2.min(u0);
                r.3 = r.3.max(u1);
            }
            None => rows.push((v, half, u0, u1)),
        }
    }
    let line_h = (hsum / boxes.len() as f32).max(1.0);
    let clipped = |u: f32, v: f32| {
        let (x, y) = from_uv(u, v);
        x >= 0.0
            && y >= 0.0
            && (x as u32) < img.width()
            && (y as u32) < img.height()
            && luma(img.get_pixel(x as u32, y as u32).0) >= BLOWN_OUT
    };
    let step = (line_h / 6.0).max(1.0);
    let reach = line_h / 3.0;
    let mut blown = 0u32;
    let mut hist = [0u32; 256];
    for &(v, _, u0, u1) in &rows {
        let mut u = u0;
        while u <= u1 {
            let (x, y) = from_uv(u, v);
            if x >= 0.0 && y >= 0.0 && (x as u32) < img.width() && (y as u32) < img.height() {
                let l = luma(img.get_pixel(x as u32, y as u32).0);
                hist[l.clamp(0.0, 255.0) as usize] += 1;
            }
            if clipped(u, v)
                && clipped(u - reach, v)
                && clipped(u + reach, v)
                && clipped(u, v - reach * 0.75)
                && clipped(u, v + reach * 0.75)
            {
                blown += 1;
            }
            u += step;
        }
    }
    // On white paper (the rows' paper level, their 75th percentile, ≥ 245) the gaps of a sparse
    // row are paper, not a reflection.
    let paper = hist_quantile(&hist, 3, 4);
    if paper >= 245 {
        return 0.0;
    }
    blown as f32 * step / line_h
}

/// The first luma level at or below which at least `num / den` of a luma histogram lies (0 for
/// an empty histogram).
#[must_use]
pub fn hist_quantile(hist: &[u32; 256], num: u32, den: u32) -> usize {
    let n: u32 = hist.iter().sum();
    let mut acc = 0u32;
    hist.iter()
        .position(|&h| {
            acc += h;
            acc * den >= n * num
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn row(cx: f32, cy: f32, length: f32) -> TextBox {
        TextBox {
            cx,
            cy,
            length,
            thickness: 20.0,
            angle: 0.0,
            score: 0.9,
        }
    }

    #[test]
    fn a_reflection_between_two_pieces_of_a_row_is_found() {
        let mut img = RgbImage::from_pixel(400, 200, Rgb([200, 200, 200]));
        // A row read as two pieces, 20..160 and 240..380, with a blown-out spot between them.
        let boxes = [row(90.0, 100.0, 140.0), row(310.0, 100.0, 140.0)];
        assert_eq!(glare_on_rows(&img, &boxes, 0.0), 0.0);
        for y in 92..108 {
            for x in 180..220 {
                img.put_pixel(x, y, Rgb([255, 255, 255]));
            }
        }
        let covered = glare_on_rows(&img, &boxes, 0.0);
        assert!(covered > COVERED_LENGTH, "{covered}");
        // The same spot away from every row does not count.
        let far = [row(90.0, 30.0, 140.0), row(310.0, 30.0, 140.0)];
        assert_eq!(glare_on_rows(&img, &far, 0.0), 0.0);
    }

    #[test]
    fn quantiles_of_a_histogram() {
        let mut hist = [0u32; 256];
        hist[10] = 2;
        hist[200] = 1;
        hist[250] = 1;
        assert_eq!(hist_quantile(&hist, 1, 2), 10);
        assert_eq!(hist_quantile(&hist, 3, 4), 200);
        assert_eq!(hist_quantile(&hist, 1, 1), 250);
    }

    #[test]
    fn white_paper_between_letters_is_not_glare() {
        let mut img = RgbImage::from_pixel(400, 200, Rgb([255, 255, 255]));
        // A sparse row on white paper: two words far apart.
        let sparse = [row(60.0, 40.0, 80.0), row(340.0, 40.0, 80.0)];
        assert_eq!(glare_on_rows(&img, &sparse, 0.0), 0.0);
        // Letters 10 px wide every 16 px along a 20 px high row: white gaps of 6 px.
        for x in (20..380).filter(|x| x % 16 < 10) {
            for y in 92..108 {
                img.put_pixel(x, y, Rgb([20, 20, 20]));
            }
        }
        assert_eq!(glare_on_rows(&img, &[row(200.0, 100.0, 360.0)], 0.0), 0.0);
    }
}
