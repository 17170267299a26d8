//! Text reading with PP-OCRv6: DB text detection → oriented line boxes, line crops sampled from
//! the full-resolution image, recognition batched by width, CTC greedy decoding with a
//! confidence per character. The character list comes from the recogniser's own metadata.
//!
//! Everything model-facing goes through [`InferenceModel`], so the post-processing here is
//! unit-tested with fakes.

use image::RgbImage;
use serde::Serialize;

use super::letters::{self, LatinPrior};
use crate::error::{Error, Result};
use crate::imaging::{resize_to_planar, sample_bilinear_rgb};
use crate::inference::{InferenceModel, Tensor};

/// Settings of the text reader.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OcrSettings {
    /// The detector sees the image shrunk so that its long side is at most this (multiple of 32).
    pub det_max_side: usize,
    /// Probability above which a pixel is text (DB binarisation).
    pub bin_threshold: f32,
    /// Mean probability a region needs to count as a text line.
    pub box_threshold: f32,
    /// DB unclip ratio (how far a shrunk text kernel is grown back).
    pub unclip_ratio: f32,
    /// Lines per recognition batch.
    pub rec_batch: usize,
    /// Widest line crop fed to the recogniser, in pixels at height 48.
    pub rec_max_width: usize,
    /// Decode letters with the regional [`LatinPrior`] (accent families, diaeresis after vowels).
    pub latin_prior: bool,
}

impl Default for OcrSettings {
    fn default() -> Self {
        Self {
            det_max_side: 960,
            bin_threshold: 0.3,
            box_threshold: 0.5,
            unclip_ratio: 1.6,
            rec_batch: 8,
            rec_max_width: 1600,
            latin_prior: true,
        }
    }
}

/// An oriented text box in image pixels: centre, size along the reading direction (`length`)
/// and across it (`thickness`), and the reading direction's angle in radians (0 = left to right).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextBox {
    /// Centre x.
    pub cx: f32,
    /// Centre y.
    pub cy: f32,
    /// Extent along the reading direction.
    pub length: f32,
    /// Extent across it (the line height).
    pub thickness: f32,
    /// Reading direction in radians, in (−π/2, π/2] as detected; flipped by π when upside down.
    pub angle: f32,
    /// Mean detector probability inside the region.
    pub score: f32,
}

impl TextBox {
    /// The four corners: top-left, top-right, bottom-right, bottom-left in reading order.
    #[must_use]
    pub fn corners(&self) -> [[f32; 2]; 4] {
        let (s, c) = self.angle.sin_cos();
        let (hl, ht) = (self.length / 2.0, self.thickness / 2.0);
        let at = |u: f32, v: f32| [self.cx + u * c - v * s, self.cy + u * s + v * c];
        [at(-hl, -ht), at(hl, -ht), at(hl, ht), at(-hl, ht)]
    }

    /// The same box read the other way round (rotated by 180°).
    #[must_use]
    pub fn flipped(&self) -> Self {
        let mut b = *self;
        b.angle = if self.angle > 0.0 {
            self.angle - std::f32::consts::PI
        } else {
            self.angle + std::f32::consts::PI
        };
        b
    }
}

/// One recognised line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextLine {
    /// The text.
    pub text: String,
    /// Mean character confidence, 0–1 (0 for an empty line).
    pub confidence: f32,
    /// Confidence 0–1 of each `char` of `text`.
    pub char_confidences: Vec<f32>,
    /// Where it is.
    pub bbox: TextBox,
}

/// Shape of the detector input for an image of `w`×`h`: scale, then multiples of 32.
#[must_use]
pub fn det_input_size(w: u32, h: u32, max_side: usize) -> (usize, usize) {
    let long = w.max(h) as f32;
    // Shrink large photos to `max_side`; enlarge thumbnails to 640 so that small print still
    // covers enough detector pixels.
    let min_side = 640.0f32.min(max_side as f32);
    let scale = if long > max_side as f32 {
        max_side as f32 / long
    } else if long < min_side {
        min_side / long
    } else {
        1.0
    };
    let round32 = |v: f32| (((v / 32.0).round() as usize).max(1)) * 32;
    (round32(w as f32 * scale), round32(h as f32 * scale))
}

/// The detector's input tensor: BGR, (x/255 − 0.5)/0.5, NCHW, stretched to `dw`×`dh`.
#[must_use]
pub fn det_tensor(img: &RgbImage, dw: usize, dh: usize) -> Tensor {
    let mut data = resize_to_planar(img, dw, dh, dw, dh, true);
    for v in &mut data {
        *v = *v / 127.5 - 1.0;
    }
    Tensor::new(vec![1, 3, dh, dw], data)
}

/// DB post-processing of a probability map (`mw`×`mh`): binarise, 8-connected regions, an
/// oriented rectangle per region from its second moments, score filter, unclip; boxes are
/// returned in the coordinates of an image `sx`, `sy` times larger than the map.
#[must_use]
pub fn db_boxes(
    prob: &[f32],
    mw: usize,
    mh: usize,
    sx: f32,
    sy: f32,
    s: &OcrSettings,
) -> Vec<TextBox> {
    let mut label = vec![0u32; mw * mh];
    let mut boxes = Vec::new();
    let mut stack = Vec::new();
    let mut pixels: Vec<(usize, usize)> = Vec::new();
    let mut next = 0u32;
    for start in 0..mw * mh {
        if label[start] != 0 || prob[start] <= s.bin_threshold {
            continue;
        }
        next += 1;
        label[start] = next;
        stack.clear();
        pixels.clear();
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % mw, i / mw);
            pixels.push((x, y));
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= mw as i64 || ny >= mh as i64 {
                        continue;
                    }
                    let j = ny as usize * mw + nx as usize;
                    if label[j] == 0 && prob[j] > s.bin_threshold {
                        label[j] = next;
                        stack.push(j);
                    }
                }
            }
        }
        if pixels.len() < 6 {
            continue;
        }
        if let Some(b) = region_box(&pixels, prob, mw, sx, sy, s) {
            boxes.push(b);
        }
    }
    boxes
}

fn region_box(
    pixels: &[(usize, usize)],
    prob: &[f32],
    mw: usize,
    sx: f32,
    sy: f32,
    s: &OcrSettings,
) -> Option<TextBox> {
    let n = pixels.len() as f32;
    let score = pixels.iter().map(|&(x, y)| prob[y * mw + x]).sum::<f32>() / n;
    if score < s.box_threshold {
        return None;
    }
    // Work in image coordinates (pixel centres).
    let pts: Vec<(f32, f32)> = pixels
        .iter()
        .map(|&(x, y)| ((x as f32 + 0.5) * sx, (y as f32 + 0.5) * sy))
        .collect();
    let (mx, my) = pts
        .iter()
        .fold((0.0, 0.0), |(a, b), &(x, y)| (a + x / n, b + y / n));
    let (mut cxx, mut cyy, mut cxy) = (0.0f32, 0.0f32, 0.0f32);
    for &(x, y) in &pts {
        let (dx, dy) = (x - mx, y - my);
        cxx += dx * dx;
        cyy += dy * dy;
        cxy += dx * dy;
    }
    let angle = 0.5 * (2.0 * cxy).atan2(cxx - cyy);
    let (sa, ca) = angle.sin_cos();
    let (mut umin, mut umax, mut vmin, mut vmax) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for &(x, y) in &pts {
        let (dx, dy) = (x - mx, y - my);
        let u = dx * ca + dy * sa;
        let v = -dx * sa + dy * ca;
        umin = umin.min(u);
        umax = umax.max(u);
        vmin = vmin.min(v);
        vmax = vmax.max(v);
    }
    // One pixel of the map covers (sx, sy) of the image.
    let px = 0.5 * (sx + sy);
    let (len, thick) = (umax - umin + px, vmax - vmin + px);
    if thick < 2.0 * px || len < 2.0 * px {
        return None;
    }
    // DB unclip: grow by area × ratio / perimeter on every side.
    let d = len * thick * s.unclip_ratio / (2.0 * (len + thick));
    let (uc, vc) = (0.5 * (umin + umax), 0.5 * (vmin + vmax));
    let mut b = TextBox {
        cx: mx + uc * ca - vc * sa,
        cy: my + uc * sa + vc * ca,
        length: len + 2.0 * d,
        thickness: thick + 2.0 * d,
        angle,
        score,
    };
    if b.thickness > b.length {
        // Keep the long side as the reading direction.
        std::mem::swap(&mut b.length, &mut b.thickness);
        b.angle += std::f32::consts::FRAC_PI_2;
        if b.angle > std::f32::consts::FRAC_PI_2 {
            b.angle -= std::f32::consts::PI;
        }
    }
    Some(b)
}

/// Sample an oriented box into an upright crop of height `out_h` (width by aspect, capped).
#[must_use]
pub fn crop_line(img: &RgbImage, b: &TextBox, out_h: u32, max_w: u32) -> RgbImage {
    let scale = b.thickness / out_h as f32;
    let out_w = ((b.length / scale).round() as u32).clamp(8, max_w.max(8));
    let step_u = b.length / out_w as f32;
    let (s, c) = b.angle.sin_cos();
    let mut out = RgbImage::new(out_w, out_h);
    for (y, row) in out.rows_mut().enumerate() {
        let v = (y as f32 + 0.5) * scale - b.thickness / 2.0;
        for (x, px_out) in row.enumerate() {
            let u = (x as f32 + 0.5) * step_u - b.length / 2.0;
            let px = b.cx + u * c - v * s - 0.5;
            let py = b.cy + u * s + v * c - 0.5;
            let p = sample_bilinear_rgb(img, px, py);
            *px_out = image::Rgb(p.map(|v| v.round().clamp(0.0, 255.0) as u8));
        }
    }
    out
}

/// Narrowest input the recogniser is given (PP-OCR's recogniser expects a line of at least
/// 320 px at height 48; narrower crops are padded to it).
const REC_MIN_WIDTH: u32 = 320;

/// A batch is closed before a crop wider than this many times its first (padded) crop: every
/// crop of a batch is padded to the widest, so a date field batched with an MRZ row would be
/// recognised at the row's ≈ 1000 px.
const REC_BATCH_WIDTH_RATIO: f32 = 4.0 / 3.0;

/// Batches (index ranges) of crops whose widths are sorted ascending: at most `max_batch` crops
/// each, and a new batch whenever a crop is more than [`REC_BATCH_WIDTH_RATIO`] times wider than
/// the batch's first, widths below `min_width` counting as `min_width` (they are padded to it).
#[must_use]
pub fn width_batches(
    sorted_widths: &[u32],
    min_width: u32,
    max_batch: usize,
) -> Vec<std::ops::Range<usize>> {
    let max_batch = max_batch.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &w) in sorted_widths.iter().enumerate() {
        let first = sorted_widths[start].max(min_width) as f32;
        let full = i - start >= max_batch;
        let too_wide = w.max(min_width) as f32 > first * REC_BATCH_WIDTH_RATIO;
        if i > start && (full || too_wide) {
            out.push(start..i);
            start = i;
        }
    }
    if start < sorted_widths.len() {
        out.push(start..sorted_widths.len());
    }
    out
}

/// Recognition input for a batch of crops (all of height 48): BGR, (x/255 − 0.5)/0.5, padded
/// with zeros on the right to the widest crop and at least `min_width` (PP-OCR's recogniser
/// expects a line of at least 320 px; a lone glyph is misread without the padding).
#[must_use]
pub fn rec_tensor(crops: &[&RgbImage], min_width: usize) -> Tensor {
    let h = 48usize;
    let w = crops
        .iter()
        .map(|c| c.width() as usize)
        .max()
        .unwrap_or(8)
        .max(min_width);
    let plane = h * w;
    let mut data = vec![0.0f32; crops.len() * 3 * plane];
    for (n, crop) in crops.iter().enumerate() {
        let base = n * 3 * plane;
        for (x, y, p) in crop.enumerate_pixels() {
            let (x, y) = (x as usize, y as usize);
            if y >= h {
                continue;
            }
            for (k, c) in [2usize, 1, 0].iter().enumerate() {
                data[base + k * plane + y * w + x] = f32::from(p.0[*c]) / 127.5 - 1.0;
            }
        }
    }
    Tensor::new(vec![crops.len(), 3, h, w], data)
}

/// CTC greedy decoding of one line's `steps`×`classes` probabilities: argmax per step, repeats
/// collapsed, blanks (class 0) dropped; class `i ≥ 1` is `charset[i − 1]`, the class after the
/// list is a space. Returns the text and one confidence per character.
#[must_use]
pub fn ctc_decode(probs: &[f32], classes: usize, charset: &[String]) -> (String, Vec<f32>) {
    ctc_decode_with(probs, classes, charset, None)
}

/// Steps decoded as one letter family, summed per member.
struct LetterRun {
    family: usize,
    sums: Vec<f32>,
    maxes: Vec<f32>,
}

impl LetterRun {
    fn new(family: usize, members: &[usize]) -> Self {
        Self {
            family,
            sums: vec![0.0; members.len()],
            maxes: vec![0.0; members.len()],
        }
    }

    fn add(&mut self, members: &[usize], step: &[f32]) {
        for (k, &m) in members.iter().enumerate() {
            let p = step.get(m).copied().unwrap_or(0.0);
            self.sums[k] += p;
            self.maxes[k] = self.maxes[k].max(p);
        }
    }
}

/// [`ctc_decode`] with a [`LatinPrior`]: consecutive steps whose best class is a letter of one
/// family (a base letter and its accented forms) are one character, whose base letter comes from
/// the family's summed probability and whose accent is chosen by [`LatinPrior::choose`].
#[must_use]
pub fn ctc_decode_with(
    probs: &[f32],
    classes: usize,
    charset: &[String],
    prior: Option<&LatinPrior>,
) -> (String, Vec<f32>) {
    let mut text = String::new();
    let mut confs = Vec::new();
    let push = |text: &mut String, confs: &mut Vec<f32>, class: usize, p: f32| {
        let ch = charset.get(class - 1).map_or(" ", String::as_str);
        for c in ch.chars() {
            text.push(c);
            confs.push(p);
        }
    };
    let close = |text: &mut String, confs: &mut Vec<f32>, run: LetterRun, prior: &LatinPrior| {
        let after_vowel = text.chars().last().is_some_and(letters::is_vowel);
        let members = prior.members(run.family);
        if let Some(class) = prior.choose(run.family, &run.sums, after_vowel) {
            let p = members
                .iter()
                .position(|m| *m == class)
                .map_or(0.0, |k| run.maxes[k]);
            push(text, confs, class, p);
        }
    };
    let mut prev = 0usize;
    let mut run: Option<LetterRun> = None;
    for step in probs.chunks_exact(classes) {
        let (best, p) =
            step.iter().enumerate().fold(
                (0usize, f32::MIN),
                |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc },
            );
        let family = prior.and_then(|pr| pr.family(best).map(|f| (pr, f)));
        if let (Some(r), Some((pr, f))) = (run.as_mut(), family)
            && prev != 0
            && r.family == f
        {
            r.add(pr.members(f), step);
            prev = best;
            continue;
        }
        if let (Some(r), Some(pr)) = (run.take(), prior) {
            close(&mut text, &mut confs, r, pr);
        }
        if best != 0 && best != prev {
            if let Some((pr, f)) = family {
                let mut r = LetterRun::new(f, pr.members(f));
                r.add(pr.members(f), step);
                run = Some(r);
            } else {
                push(&mut text, &mut confs, best, p);
            }
        }
        prev = best;
    }
    if let (Some(r), Some(pr)) = (run.take(), prior) {
        close(&mut text, &mut confs, r, pr);
    }
    (text, confs)
}

/// Parse the `character` metadata of a PP-OCR recogniser (one entry per line).
#[must_use]
pub fn parse_charset(meta: &str) -> Vec<String> {
    meta.split('\n')
        .map(|s| s.trim_end_matches('\r').to_string())
        .collect()
}

/// The PP-OCR detector + recogniser (+ optional 0/180 line classifier).
pub struct OcrEngine {
    det: Box<dyn InferenceModel>,
    rec: Box<dyn InferenceModel>,
    cls: Option<Box<dyn InferenceModel>>,
    charset: Vec<String>,
    /// Letter families of the charset, built for the recogniser's class count on first use.
    prior: Option<LatinPrior>,
    /// Settings in use.
    pub settings: OcrSettings,
}

impl std::fmt::Debug for OcrEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcrEngine")
            .field("charset", &self.charset.len())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl OcrEngine {
    /// Build from models and the recogniser's character list.
    #[must_use]
    pub fn new(
        det: Box<dyn InferenceModel>,
        rec: Box<dyn InferenceModel>,
        cls: Option<Box<dyn InferenceModel>>,
        charset: Vec<String>,
        settings: OcrSettings,
    ) -> Self {
        Self {
            det,
            rec,
            cls,
            charset,
            prior: None,
            settings,
        }
    }

    /// Find text boxes in the image.
    ///
    /// # Errors
    /// When inference fails or the output has an unexpected shape.
    pub fn detect(&mut self, img: &RgbImage) -> Result<Vec<TextBox>> {
        self.detect_at(img, self.settings.det_max_side)
    }

    /// [`OcrEngine::detect`] with the image shrunk to a long side of at most `max_side`
    /// instead of the settings' `det_max_side` (boxes in the image's own pixels either way).
    ///
    /// # Errors
    /// As [`OcrEngine::detect`].
    pub fn detect_at(&mut self, img: &RgbImage, max_side: usize) -> Result<Vec<TextBox>> {
        let (dw, dh) = det_input_size(img.width(), img.height(), max_side);
        let out = self.det.run(&det_tensor(img, dw, dh))?;
        let map = out.first().ok_or_else(|| self.shape_error("no output"))?;
        let (mh, mw) = match map.shape.as_slice() {
            [_, _, h, w] => (*h, *w),
            _ => return Err(self.shape_error("detector output is not 4-D")),
        };
        if map.data.len() < mh * mw || mh == 0 || mw == 0 {
            return Err(self.shape_error("detector output is empty"));
        }
        let sx = img.width() as f32 / mw as f32;
        let sy = img.height() as f32 / mh as f32;
        Ok(db_boxes(
            &map.data[..mh * mw],
            mw,
            mh,
            sx,
            sy,
            &self.settings,
        ))
    }

    fn shape_error(&self, what: &str) -> Error {
        Error::Inference {
            model: self.det.id().to_string(),
            message: what.to_string(),
        }
    }

    /// Share of `boxes` the 0/180 classifier says are upside down (0 without a classifier).
    /// At most `limit` of the longest boxes are asked.
    ///
    /// # Errors
    /// When inference fails.
    pub fn upside_down_share(
        &mut self,
        img: &RgbImage,
        boxes: &[TextBox],
        limit: usize,
    ) -> Result<f32> {
        let Some(cls) = self.cls.as_mut() else {
            return Ok(0.0);
        };
        let mut order: Vec<&TextBox> = boxes
            .iter()
            .filter(|b| b.length > 3.0 * b.thickness)
            .collect();
        order.sort_by(|a, b| b.length.total_cmp(&a.length));
        order.truncate(limit);
        if order.is_empty() {
            return Ok(0.0);
        }
        let crops: Vec<RgbImage> = order
            .iter()
            .map(|b| {
                let line = crop_line(img, b, 48, 192);
                let mut padded = RgbImage::new(192, 48);
                image::imageops::replace(&mut padded, &line, 0, 0);
                padded
            })
            .collect();
        let refs: Vec<&RgbImage> = crops.iter().collect();
        let out = cls.run(&rec_tensor(&refs, 192))?;
        let probs = out.first().map(|t| t.data.clone()).unwrap_or_default();
        let flipped = probs.chunks_exact(2).filter(|p| p[1] > p[0]).count();
        Ok(flipped as f32 / crops.len() as f32)
    }

    /// Recognise each box (in the given order).
    ///
    /// # Errors
    /// When inference fails or the output has an unexpected shape.
    pub fn recognize(&mut self, img: &RgbImage, boxes: &[TextBox]) -> Result<Vec<TextLine>> {
        let crops: Vec<RgbImage> = boxes
            .iter()
            .map(|b| {
                // A one- or two-letter box (a sex "F", a day) is read far better with some
                // paper on either side: the recogniser was trained on lines, not glyphs.
                let mut wide = *b;
                wide.length = wide.length.max(1.5 * wide.thickness);
                crop_line(img, &wide, 48, self.settings.rec_max_width as u32)
            })
            .collect();
        let mut order: Vec<usize> = (0..crops.len()).collect();
        order.sort_by_key(|&i| crops[i].width());
        let widths: Vec<u32> = order.iter().map(|&i| crops[i].width()).collect();
        let batches = width_batches(&widths, REC_MIN_WIDTH, self.settings.rec_batch);

        let mut lines: Vec<Option<TextLine>> = vec![None; crops.len()];
        for range in batches {
            let chunk = &order[range];
            let refs: Vec<&RgbImage> = chunk.iter().map(|&i| &crops[i]).collect();
            let out = self.rec.run(&rec_tensor(&refs, REC_MIN_WIDTH as usize))?;
            let t = out.first().ok_or_else(|| Error::Inference {
                model: self.rec.id().to_string(),
                message: "no output".into(),
            })?;
            let (n, steps, classes) = match t.shape.as_slice() {
                [n, s, c] => (*n, *s, *c),
                _ => {
                    return Err(Error::Inference {
                        model: self.rec.id().to_string(),
                        message: format!("recogniser output shape {:?} is not 3-D", t.shape),
                    });
                }
            };
            if n != chunk.len() || t.data.len() < n * steps * classes {
                return Err(Error::Inference {
                    model: self.rec.id().to_string(),
                    message: format!(
                        "recogniser output shape {:?} for {} lines",
                        t.shape,
                        chunk.len()
                    ),
                });
            }
            if self.settings.latin_prior
                && self.prior.as_ref().is_none_or(|p| p.classes() != classes)
            {
                self.prior = Some(LatinPrior::new(&self.charset, classes));
            }
            let prior = self.prior.as_ref().filter(|_| self.settings.latin_prior);
            for (k, &i) in chunk.iter().enumerate() {
                let slice = &t.data[k * steps * classes..(k + 1) * steps * classes];
                let (text, confs) = ctc_decode_with(slice, classes, &self.charset, prior);
                let confidence = if confs.is_empty() {
                    0.0
                } else {
                    confs.iter().sum::<f32>() / confs.len() as f32
                };
                lines[i] = Some(TextLine {
                    text,
                    confidence,
                    char_confidences: confs,
                    bbox: boxes[i],
                });
            }
        }
        Ok(lines.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognition_batches_split_by_count_and_by_width() {
        // Narrow crops all count as 320 wide: one batch up to the count limit.
        assert_eq!(width_batches(&[40, 90, 200, 300, 320], 320, 8), vec![0..5]);
        assert_eq!(
            width_batches(&[40, 90, 200, 300, 320], 320, 2),
            vec![0..2, 2..4, 4..5]
        );
        // A 1000-px MRZ row does not share a batch with short fields, and two rows do.
        assert_eq!(
            width_batches(&[100, 300, 400, 420, 990, 1010], 320, 8),
            vec![0..4, 4..6]
        );
        assert_eq!(
            width_batches(&[], 320, 8),
            Vec::<std::ops::Range<usize>>::new()
        );
        assert_eq!(width_batches(&[500], 320, 0), vec![0..1]);
    }

    #[test]
    fn det_size_is_a_multiple_of_32_within_the_limit() {
        assert_eq!(det_input_size(1280, 800, 960), (960, 608));
        assert_eq!(det_input_size(300, 200, 960), (640, 416));
        assert_eq!(det_input_size(800, 500, 960), (800, 512));
        assert_eq!(det_input_size(10, 10, 960), (640, 640));
    }

    #[test]
    fn ctc_collapses_repeats_and_blanks_and_keeps_confidences() {
        let charset: Vec<String> = ["A", "B", "<"].iter().map(|s| s.to_string()).collect();
        // classes: blank, A, B, <, space
        let steps: [[f32; 5]; 7] = [
            [0.1, 0.9, 0.0, 0.0, 0.0],
            [0.2, 0.8, 0.0, 0.0, 0.0],
            [0.9, 0.1, 0.0, 0.0, 0.0],
            [0.1, 0.7, 0.2, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.6],
            [0.0, 0.0, 0.0, 0.95, 0.05],
            [0.0, 0.0, 0.0, 0.95, 0.05],
        ];
        let flat: Vec<f32> = steps.iter().flatten().copied().collect();
        let (text, confs) = ctc_decode(&flat, 5, &charset);
        assert_eq!(text, "AA <");
        assert_eq!(confs, vec![0.9, 0.7, 0.6, 0.95]);
    }

    #[test]
    fn ctc_with_the_latin_prior_votes_accents_over_a_letter_run() {
        let charset: Vec<String> = ["A", "i", "ï", "ī", "c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let prior = LatinPrior::new(&charset, 7);
        // classes: blank, A, i, ï, ī, c, space. "A" then two steps of an i-like letter (the
        // second with ï on top) then "c".
        let steps: [[f32; 7]; 5] = [
            [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [0.9, 0.0, 0.1, 0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.8, 0.15, 0.05, 0.0, 0.0],
            [0.0, 0.0, 0.3, 0.6, 0.1, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        ];
        let flat: Vec<f32> = steps.iter().flatten().copied().collect();
        // Plain greedy decoding reads two letters where there is one.
        assert_eq!(ctc_decode(&flat, 7, &charset).0, "Aiïc");
        let (text, confs) = ctc_decode_with(&flat, 7, &charset, Some(&prior));
        assert_eq!(text, "Aïc");
        assert_eq!(confs, vec![1.0, 0.6, 1.0]);
    }

    #[test]
    fn db_finds_a_tilted_line_with_its_angle_and_unclips_it() {
        let (mw, mh) = (200usize, 120usize);
        let mut prob = vec![0.0f32; mw * mh];
        // A 100×6 bar rotated by 10° about (100, 60).
        let a = 10f32.to_radians();
        for y in 0..mh {
            for x in 0..mw {
                let (dx, dy) = (x as f32 + 0.5 - 100.0, y as f32 + 0.5 - 60.0);
                let u = dx * a.cos() + dy * a.sin();
                let v = -dx * a.sin() + dy * a.cos();
                if u.abs() <= 50.0 && v.abs() <= 3.0 {
                    prob[y * mw + x] = 0.9;
                }
            }
        }
        let boxes = db_boxes(&prob, mw, mh, 2.0, 2.0, &OcrSettings::default());
        assert_eq!(boxes.len(), 1);
        let b = boxes[0];
        assert!((b.angle - a).abs() < 0.03, "angle {}", b.angle);
        assert!((b.cx - 200.0).abs() < 3.0 && (b.cy - 120.0).abs() < 3.0);
        // 200×12 in image pixels, grown by 1.6·area/perimeter ≈ 9 px per side.
        assert!(b.length > 210.0 && b.length < 230.0, "length {}", b.length);
        assert!(
            b.thickness > 24.0 && b.thickness < 40.0,
            "thickness {}",
            b.thickness
        );
    }

    #[test]
    fn weak_regions_are_dropped() {
        let (mw, mh) = (50usize, 20usize);
        let mut prob = vec![0.0f32; mw * mh];
        for y in 5..10 {
            for x in 5..40 {
                prob[y * mw + x] = 0.4;
            }
        }
        assert!(db_boxes(&prob, mw, mh, 1.0, 1.0, &OcrSettings::default()).is_empty());
    }

    #[test]
    fn crop_of_an_axis_aligned_box_copies_the_pixels() {
        let mut img = RgbImage::new(100, 50);
        for (x, _, p) in img.enumerate_pixels_mut() {
            *p = image::Rgb([(x * 2) as u8, 0, 0]);
        }
        let b = TextBox {
            cx: 50.0,
            cy: 25.0,
            length: 96.0,
            thickness: 48.0,
            angle: 0.0,
            score: 1.0,
        };
        let c = crop_line(&img, &b, 48, 400);
        assert_eq!((c.width(), c.height()), (96, 48));
        assert_eq!(c.get_pixel(0, 10).0[0], 4);
        let f = crop_line(&img, &b.flipped(), 48, 400);
        assert_eq!(f.get_pixel(0, 10).0[0], 194);
    }
}
