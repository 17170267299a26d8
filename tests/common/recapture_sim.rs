//! Captures of a document for the barcode and recapture tests and the recapture evaluation:
//! a camera photo of the physical card (perspective on a plain table, lens blur, sensor noise,
//! JPEG), a photo of the document shown on a screen (pixel grid with RGB sub-pixel stripes,
//! black matrix, screen gamma, bezel), a photo of a printed copy (halftone dot screens, mono or
//! CMY), and PDF417 / QR codes rendered from a payload. Uses `synth`, which the including file
//! declares.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use image::{Rgb, RgbImage};
use rxing::{BarcodeFormat, MultiFormatWriter, Writer};

use crate::synth::{Rng, jpeg};

/// Is (x, y) inside the convex quadrilateral `q` (TL, TR, BR, BL)?
fn inside(q: &[[f64; 2]; 4], x: f64, y: f64) -> bool {
    let mut sign = 0.0;
    for i in 0..4 {
        let (a, b) = (q[i], q[(i + 1) % 4]);
        let c = (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]);
        if c != 0.0 {
            if sign == 0.0 {
                sign = c.signum();
            } else if c.signum() != sign {
                return false;
            }
        }
    }
    true
}

/// A plain table under uneven light: a smooth gradient and fine random grain.
fn table(w: u32, h: u32, seed: u64) -> RgbImage {
    let mut rng = Rng::new(seed ^ 0x7AB1E);
    let base = [
        96.0 + rng.next_f32() * 60.0,
        80.0 + rng.next_f32() * 50.0,
        60.0 + rng.next_f32() * 40.0,
    ];
    RgbImage::from_fn(w, h, |x, y| {
        let g = 0.8 + 0.3 * (x as f32 / w as f32) - 0.15 * (y as f32 / h as f32);
        let n = rng.gauss() * 4.0;
        Rgb(base.map(|c| (c * g + n).round().clamp(0.0, 255.0) as u8))
    })
}

/// Lens blur, sensor noise (σ in grey levels, a little per channel too) and JPEG.
pub fn camera_finish(img: &RgbImage, blur: f32, noise: f32, quality: u8, seed: u64) -> RgbImage {
    let mut out = if blur > 0.0 {
        image::imageops::blur(img, blur)
    } else {
        img.clone()
    };
    let mut rng = Rng::new(seed);
    for p in out.pixels_mut() {
        let common = rng.gauss() * noise;
        for v in &mut p.0 {
            let own = rng.gauss() * noise * 0.4;
            *v = (f32::from(*v) + common + own).round().clamp(0.0, 255.0) as u8;
        }
    }
    jpeg(&out, quality)
}

/// A phone photo of a physical document: tilted and rolled on a plain table filling `fill` of a
/// 1280×800 frame, then lens blur, sensor noise and JPEG 88.
pub fn camera_photo(doc: &RgbImage, tilt: f64, roll: f64, fill: f64, seed: u64) -> RgbImage {
    let (mut img, quad) = crate::synth::photo_with_corners(doc, tilt, roll, fill);
    let bg = table(img.width(), img.height(), seed);
    for (x, y, p) in img.enumerate_pixels_mut() {
        if !inside(&quad, f64::from(x) + 0.5, f64::from(y) + 0.5) {
            *p = *bg.get_pixel(x, y);
        }
    }
    camera_finish(&img, 0.7, 3.0, 88, seed)
}

/// A phone photo of `doc` displayed full-width on a screen whose pixels measure `pitch` frame
/// pixels, the screen turned by `angle_deg` and surrounded by a black bezel: each screen pixel
/// is three vertical R, G, B stripes with a dark gap (the black matrix), the screen's gamma
/// brightens mid-tones, and the camera adds blur, noise and JPEG.
pub fn screen_photo(doc: &RgbImage, pitch: f64, angle_deg: f64, seed: u64) -> RgbImage {
    let (fw, fh) = (1280u32, 800u32);
    // The screen's own resolution: the document fills 90% of its width.
    let cols = (f64::from(fw) * 0.86 / pitch).floor();
    let rows = (cols * f64::from(doc.height()) / f64::from(doc.width()) / 0.9).floor();
    let shown = image::imageops::resize(
        doc,
        (cols * 0.9) as u32,
        (cols * 0.9 * f64::from(doc.height()) / f64::from(doc.width())) as u32,
        image::imageops::FilterType::Triangle,
    );
    let (sw, sh) = (cols * pitch, rows * pitch);
    let (s, c) = angle_deg.to_radians().sin_cos();
    let (cx, cy) = (f64::from(fw) / 2.0, f64::from(fh) / 2.0);
    let off_x = (cols - f64::from(shown.width())) / 2.0;
    let off_y = (rows - f64::from(shown.height())) / 2.0;
    let bezel = pitch * 10.0;
    let bg = table(fw, fh, seed);
    let ss = 3;
    let img = RgbImage::from_fn(fw, fh, |x, y| {
        let mut acc = [0.0f64; 3];
        let mut on_table = 0;
        for sy in 0..ss {
            for sx in 0..ss {
                let px = f64::from(x) + (f64::from(sx) + 0.5) / f64::from(ss) - cx;
                let py = f64::from(y) + (f64::from(sy) + 0.5) / f64::from(ss) - cy;
                // Frame → screen coordinates (screen centred, turned).
                let u = px * c + py * s + sw / 2.0;
                let v = -px * s + py * c + sh / 2.0;
                if u < -bezel || v < -bezel || u >= sw + bezel || v >= sh + bezel {
                    on_table += 1;
                    continue;
                }
                if u < 0.0 || v < 0.0 || u >= sw || v >= sh {
                    acc = acc.map(|a| a + 12.0);
                    continue;
                }
                let (i, j) = ((u / pitch).floor(), (v / pitch).floor());
                let (fu, fv) = (u / pitch - i, v / pitch - j);
                let (di, dj) = (i - off_x, j - off_y);
                let colour = if (0.0..f64::from(shown.width())).contains(&di)
                    && (0.0..f64::from(shown.height())).contains(&dj)
                {
                    shown.get_pixel(di as u32, dj as u32).0
                } else {
                    [250, 250, 250]
                };
                if fv < 0.18 {
                    continue; // black matrix
                }
                let stripe = ((fu * 3.0).floor() as usize).min(2);
                // Screen gamma: mid-tones brighter.
                let lit = (f64::from(colour[stripe]) / 255.0).powf(0.8) * 255.0;
                acc[stripe] += lit * 3.0;
            }
        }
        let n = f64::from(ss * ss);
        let t = bg.get_pixel(x, y).0;
        let p = [0, 1, 2].map(|k| {
            let v = (acc[k] + f64::from(t[k]) * f64::from(on_table)) / n;
            v.round().clamp(0.0, 255.0) as u8
        });
        Rgb(p)
    });
    camera_finish(&img, 0.6, 2.5, 88, seed)
}

/// `doc` printed with halftone dot screens of `period` document pixels (black only, or cyan,
/// magenta and yellow at 15°, 75° and 0° for `colour`), on white paper.
pub fn halftone(doc: &RgbImage, period: f64, colour: bool) -> RgbImage {
    let screens: Vec<(usize, f64)> = if colour {
        vec![(0, 15.0), (1, 75.0), (2, 0.0)]
    } else {
        vec![(3, 45.0)]
    };
    let ss = 3;
    RgbImage::from_fn(doc.width(), doc.height(), |x, y| {
        let p = doc.get_pixel(x, y).0.map(|c| f64::from(c) / 255.0);
        let mut out = [0.0f64; 3];
        for sy in 0..ss {
            for sx in 0..ss {
                let fx = f64::from(x) + (f64::from(sx) + 0.5) / f64::from(ss);
                let fy = f64::from(y) + (f64::from(sy) + 0.5) / f64::from(ss);
                let mut rgb = [0.96f64, 0.95, 0.93];
                for &(ink, angle) in &screens {
                    // Ink coverage wanted: cyan absorbs red, magenta green, yellow blue; black
                    // all three.
                    let cover = if ink == 3 {
                        1.0 - (0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2])
                    } else {
                        1.0 - p[ink]
                    };
                    let (s, c) = angle.to_radians().sin_cos();
                    let u = (fx * c + fy * s) / period;
                    let v = (-fx * s + fy * c) / period;
                    let (du, dv) = (u - u.floor() - 0.5, v - v.floor() - 0.5);
                    let r = (cover.clamp(0.0, 1.0) / std::f64::consts::PI).sqrt();
                    if (du * du + dv * dv).sqrt() < r {
                        if ink == 3 {
                            rgb = rgb.map(|v| v * 0.12);
                        } else {
                            rgb[ink] *= 0.15;
                        }
                    }
                }
                for (o, v) in out.iter_mut().zip(rgb) {
                    *o += v;
                }
            }
        }
        let n = f64::from(ss * ss);
        Rgb(out.map(|v| (v / n * 255.0).round().clamp(0.0, 255.0) as u8))
    })
}

/// A phone photo of a printed copy of `doc` (see [`halftone`] and [`camera_photo`]).
pub fn print_photo(doc: &RgbImage, period: f64, colour: bool, seed: u64) -> RgbImage {
    camera_photo(&halftone(doc, period, colour), 4.0, 2.0, 0.6, seed)
}

/// `payload` as a PDF417 or QR code (one pixel per module as the encoder lays it out: PDF417
/// rows several modules tall), black on white, trimmed to a quiet zone of four modules.
pub fn code_image(payload: &str, pdf417: bool) -> RgbImage {
    let format = if pdf417 {
        BarcodeFormat::PDF_417
    } else {
        BarcodeFormat::QR_CODE
    };
    let m = MultiFormatWriter.encode(payload, &format, 0, 0).unwrap();
    let (w, h) = (m.width(), m.height());
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if m.get(x, y) {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
    }
    assert!(x1 >= x0, "empty symbol");
    let q = 4;
    RgbImage::from_fn(x1 - x0 + 1 + 2 * q, y1 - y0 + 1 + 2 * q, |x, y| {
        let (mx, my) = (x + x0, y + y0);
        let inside = x >= q && y >= q && mx - q <= x1 && my - q <= y1;
        if inside && m.get(mx - q, my - q) {
            Rgb([20, 20, 25])
        } else {
            Rgb([255, 255, 255])
        }
    })
}

/// Paste `code` into `img` with its top-left corner at (x, y), scaled (nearest neighbour, as
/// a printer's dots) to fit a `max_w`×`max_h` box.
pub fn paste_code(img: &mut RgbImage, code: &RgbImage, x: u32, y: u32, max_w: u32, max_h: u32) {
    let s = (f64::from(max_w) / f64::from(code.width()))
        .min(f64::from(max_h) / f64::from(code.height()));
    let (w, h) = (
        (f64::from(code.width()) * s) as u32,
        (f64::from(code.height()) * s) as u32,
    );
    let scaled = image::imageops::resize(code, w, h, image::imageops::FilterType::Nearest);
    image::imageops::replace(img, &scaled, i64::from(x), i64::from(y));
}

/// An AAMVA version-10 driver's licence payload.
pub fn aamva_payload(
    number: &str,
    last: &str,
    first: &str,
    dob_mmddccyy: &str,
    exp: &str,
    sex: char,
) -> String {
    let sex = match sex {
        'F' => '2',
        _ => '1',
    };
    let body = format!(
        "DLDAQ{number}\nDCS{last}\nDDEN\nDAC{first}\nDDFN\nDADNONE\nDDGN\nDCAD\nDCBNONE\nDCDNONE\n\
         DBD01152024\nDBB{dob_mmddccyy}\nDBA{exp}\nDBC{sex}\nDAU070 IN\nDAYBRO\nDAG1 MAIN ST\n\
         DAIACCRA\nDAJVA\nDAK232690000  \nDCF0123456789\nDCGUSA\nDDAF\nDDB06062018\r"
    );
    format!("@\n\x1e\rANSI 636000100001DL0031{:04}{body}", body.len())
}
