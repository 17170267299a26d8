//! Every common image format a camera, phone or document scanner delivers is read under the same
//! limits: JPEG, PNG, BMP (colour and 8-bit greyscale infrared), TIFF and WebP, generated here
//! from a real fetched photo; EXIF orientation is honoured wherever the format carries it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, GrayImage, ImageEncoder, RgbImage};
use kyc_core::imaging::{ImageLimits, decode_bytes, decode_file};

use crate::common::load;

/// A real photo, shrunk so that every encoding stays small.
fn photo() -> RgbImage {
    let full = load("obama.jpg").rgb;
    image::imageops::thumbnail(&full, 240, 180)
}

fn encode(img: &DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut buf = Cursor::new(Vec::new());
    img.write_to(&mut buf, format).unwrap();
    buf.into_inner()
}

/// A little-endian EXIF (TIFF-structured) block holding only an orientation tag.
fn exif_orientation(value: u16) -> Vec<u8> {
    let mut e = b"II*\0".to_vec();
    e.extend(8u32.to_le_bytes());
    e.extend(1u16.to_le_bytes());
    e.extend(0x0112u16.to_le_bytes());
    e.extend(3u16.to_le_bytes());
    e.extend(1u32.to_le_bytes());
    e.extend(value.to_le_bytes());
    e.extend([0, 0]);
    e.extend(0u32.to_le_bytes());
    e
}

/// An uncompressed RGB TIFF of `img` with an Orientation tag (the image crate's TIFF writer has
/// none).
fn tiff_with_orientation(img: &RgbImage, orientation: u16) -> Vec<u8> {
    let (w, h) = img.dimensions();
    let entries: u16 = 10;
    let ifd_end = 8 + 2 + 12 * u32::from(entries) + 4;
    let bits_at = ifd_end;
    let data_at = bits_at + 6;
    let data_len = w * h * 3;
    let mut t = b"II*\0".to_vec();
    t.extend(8u32.to_le_bytes());
    t.extend(entries.to_le_bytes());
    let mut entry = |tag: u16, kind: u16, value: u32| {
        t.extend(tag.to_le_bytes());
        t.extend(kind.to_le_bytes());
        t.extend(if tag == 258 { 3u32 } else { 1u32 }.to_le_bytes());
        if kind == 3 && tag != 258 {
            t.extend((value as u16).to_le_bytes());
            t.extend([0, 0]);
        } else {
            t.extend(value.to_le_bytes());
        }
    };
    entry(256, 4, w);
    entry(257, 4, h);
    entry(258, 3, bits_at);
    entry(259, 3, 1);
    entry(262, 3, 2);
    entry(273, 4, data_at);
    entry(274, 3, u32::from(orientation));
    entry(277, 3, 3);
    entry(278, 4, h);
    entry(279, 4, data_len);
    t.extend(0u32.to_le_bytes());
    for _ in 0..3 {
        t.extend(8u16.to_le_bytes());
    }
    t.extend(img.as_raw());
    t
}

fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

#[test]
fn lossless_formats_decode_to_the_same_pixels() {
    let img = photo();
    let dynamic = DynamicImage::ImageRgb8(img.clone());
    let p = Path::new("photo");
    for (format, name) in [
        (image::ImageFormat::Png, "png"),
        (image::ImageFormat::Bmp, "bmp"),
        (image::ImageFormat::Tiff, "tiff"),
        (image::ImageFormat::WebP, "webp"),
    ] {
        let bytes = encode(&dynamic, format);
        let d = decode_bytes(&bytes, p, &ImageLimits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(d.format, name);
        assert_eq!(d.file_bytes, bytes.len() as u64);
        assert_eq!(d.rgb.dimensions(), img.dimensions(), "{name}");
        assert_eq!(d.rgb.as_raw(), img.as_raw(), "{name}: pixels differ");
    }
    let jpeg = encode(&dynamic, image::ImageFormat::Jpeg);
    let d = decode_bytes(&jpeg, p, &ImageLimits::default()).unwrap();
    assert_eq!((d.format, d.rgb.dimensions()), ("jpeg", img.dimensions()));
    let diff = mean_abs_diff(&d.rgb, &img);
    assert!(diff < 6.0, "JPEG differs by {diff} per channel on average");
}

#[test]
fn greyscale_infrared_bmp_reads_as_grey_rgb_from_a_file() {
    let grey: GrayImage = DynamicImage::ImageRgb8(photo()).to_luma8();
    let bytes = encode(
        &DynamicImage::ImageLuma8(grey.clone()),
        image::ImageFormat::Bmp,
    );
    // An 8-bit BMP: 1 byte per pixel plus a 256-entry palette, not 24-bit colour.
    let bpp = u16::from_le_bytes([bytes[28], bytes[29]]);
    assert_eq!(bpp, 8);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan_ir.bmp");
    std::fs::write(&path, &bytes).unwrap();
    let d = decode_file(&path, &ImageLimits::default()).unwrap();
    assert_eq!(d.format, "bmp");
    assert_eq!(d.rgb.dimensions(), grey.dimensions());
    for (g, rgb) in grey.pixels().zip(d.rgb.pixels()) {
        assert_eq!(rgb.0, [g.0[0]; 3]);
    }
}

#[test]
fn exif_orientation_is_applied_in_jpeg_png_webp_and_tiff() {
    let upright = photo();
    // Stored turned a quarter anticlockwise, tagged 6 ("turn 90° clockwise to display").
    let stored = image::imageops::rotate270(&upright);
    let p = Path::new("rotated");
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let (w, h) = stored.dimensions();
    let colour = image::ExtendedColorType::Rgb8;
    let mut png = Vec::new();
    let mut enc = image::codecs::png::PngEncoder::new(&mut png);
    enc.set_exif_metadata(exif_orientation(6)).unwrap();
    enc.write_image(stored.as_raw(), w, h, colour).unwrap();
    cases.push(("png", png));
    let mut webp = Vec::new();
    let mut enc = image::codecs::webp::WebPEncoder::new_lossless(&mut webp);
    enc.set_exif_metadata(exif_orientation(6)).unwrap();
    enc.write_image(stored.as_raw(), w, h, colour).unwrap();
    cases.push(("webp", webp));
    let mut jpeg = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95);
    enc.set_exif_metadata(exif_orientation(6)).unwrap();
    enc.write_image(stored.as_raw(), w, h, colour).unwrap();
    cases.push(("jpeg", jpeg));
    cases.push(("tiff", tiff_with_orientation(&stored, 6)));
    for (name, bytes) in cases {
        let d = decode_bytes(&bytes, p, &ImageLimits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(d.format, name);
        assert_eq!(
            d.rgb.dimensions(),
            upright.dimensions(),
            "{name}: orientation not applied"
        );
        let diff = mean_abs_diff(&d.rgb, &upright);
        assert!(diff < 4.0, "{name}: differs from upright by {diff}");
        // And it is not merely the right size: the unturned frame would differ a lot.
        let wrong = image::imageops::rotate90(&image::imageops::rotate90(&d.rgb));
        assert!(mean_abs_diff(&wrong, &upright) > 10.0, "{name}");
    }
}

#[test]
fn new_formats_keep_the_pixel_limit_and_refuse_cut_files() {
    let dynamic = DynamicImage::ImageRgb8(photo());
    let p = Path::new("cut");
    let tight = ImageLimits {
        max_megapixels: 0,
        ..ImageLimits::default()
    };
    for format in [
        image::ImageFormat::Bmp,
        image::ImageFormat::Tiff,
        image::ImageFormat::WebP,
    ] {
        let bytes = encode(&dynamic, format);
        let err = decode_bytes(&bytes, p, &tight).unwrap_err();
        assert_eq!(err.code(), "too_many_pixels", "{format:?}: {err}");
        let cut = &bytes[..bytes.len() / 2];
        let err = decode_bytes(cut, p, &ImageLimits::default()).unwrap_err();
        assert!(
            matches!(err.code(), "truncated_image" | "corrupt_image"),
            "{format:?}: {} ({err})",
            err.code()
        );
    }
    // A BMP header that declares a 40 000 × 40 000 image is refused before any allocation.
    let mut bomb = encode(&dynamic, image::ImageFormat::Bmp);
    bomb[18..22].copy_from_slice(&40_000i32.to_le_bytes());
    bomb[22..26].copy_from_slice(&40_000i32.to_le_bytes());
    let err = decode_bytes(&bomb, p, &ImageLimits::default()).unwrap_err();
    assert_eq!(err.code(), "too_many_pixels", "{err}");
}

/// The decoder's fast path (one strict decode of a complete JPEG) gives exactly the pixels of
/// the image crate's own lenient decode, upright, on every fetched photo; none of them is taken
/// for a cut file.
#[test]
fn every_fetched_jpeg_decodes_to_the_image_crates_own_pixels() {
    use image::{ImageDecoder, ImageReader};
    let dir = crate::common::data("obama.jpg")
        .parent()
        .unwrap()
        .to_path_buf();
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) != Some("jpg") {
            continue;
        }
        let ours = decode_file(&p, &ImageLimits::default()).unwrap();
        let mut decoder = ImageReader::open(&p)
            .unwrap()
            .with_guessed_format()
            .unwrap()
            .into_decoder()
            .unwrap();
        let orientation = decoder.orientation().unwrap();
        let mut theirs = DynamicImage::from_decoder(decoder).unwrap();
        theirs.apply_orientation(orientation);
        let theirs = theirs.to_rgb8();
        assert_eq!(
            ours.rgb.dimensions(),
            theirs.dimensions(),
            "{}",
            p.display()
        );
        assert!(ours.rgb.as_raw() == theirs.as_raw(), "{}", p.display());
        seen += 1;
    }
    assert!(seen >= 10, "{seen}");
}
