//! Inputs an attacker picks to get past the size check or the decoder: special files that
//! report size 0, a cut JPEG with its end marker put back (the decoder would fill the rest in
//! grey), and a small file that decodes huge (a 16-bit RGBA PNG) against the allocation limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageBuffer, Rgba};
use kyc_core::imaging::{ImageLimits, decode_bytes, decode_file, read_capped};

use crate::common::data;

fn code(r: Result<kyc_core::imaging::Decoded, kyc_core::InputError>) -> String {
    match r {
        Ok(d) => format!("decoded {}x{}", d.rgb.width(), d.rgb.height()),
        Err(e) => format!("{}: {e}", e.code()),
    }
}

#[test]
fn special_files_reporting_size_zero_are_refused_before_reading() {
    let limits = ImageLimits::default();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.jpg");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // No writer: a blocking open would hang here; the file is refused by its type instead.
    let e = code(decode_file(&fifo, &limits));
    assert!(
        e.starts_with("file_unreadable") && e.contains("FIFO"),
        "{e}"
    );
    let e = code(decode_file(Path::new("/dev/zero"), &limits));
    assert!(
        e.starts_with("file_unreadable") && e.contains("a device"),
        "{e}"
    );
    let e = code(decode_file(dir.path(), &limits));
    assert!(
        e.starts_with("file_unreadable") && e.contains("a directory"),
        "{e}"
    );
    // The cap holds for what is read, not only for the size the file reports.
    let small = ImageLimits {
        max_bytes: 1000,
        ..ImageLimits::default()
    };
    let e = read_capped(&data("obama.jpg"), &small).unwrap_err();
    assert_eq!(e.code(), "image_too_large");
    assert!(read_capped(&data("obama.jpg"), &limits).unwrap().len() > 1000);
}

#[test]
fn a_cut_jpeg_with_its_end_marker_put_back_is_flagged_truncated() {
    let limits = ImageLimits::default();
    let whole = std::fs::read(data("obama.jpg")).unwrap();
    let full = decode_bytes(&whole, Path::new("whole.jpg"), &limits).unwrap();
    for keep in [0.5, 0.8, 0.95] {
        let mut cut = whole[..(whole.len() as f64 * keep) as usize].to_vec();
        cut.extend_from_slice(&[0xFF, 0xD9]);
        let e = code(decode_bytes(&cut, Path::new("cut.jpg"), &limits));
        assert!(e.starts_with("truncated_image"), "kept {keep}: {e}");
    }
    // Every fetched JPEG still decodes, to the same size as before.
    assert!(full.rgb.width() > 0);
    let dir = data("obama.jpg").parent().unwrap().to_path_buf();
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) == Some("jpg") {
            let d = decode_file(&p, &limits);
            assert!(d.is_ok(), "{}: {}", p.display(), code(d));
            seen += 1;
        }
    }
    assert!(seen >= 10, "{seen}");
}

#[test]
fn a_decode_over_the_allocation_limit_is_refused_from_the_header() {
    // 1200×1000 16-bit RGBA: 9.6 MB of native pixels plus a 3.6 MB 8-bit copy, from a file of
    // a few KB.
    let flat: ImageBuffer<Rgba<u16>, Vec<u16>> =
        ImageBuffer::from_pixel(1200, 1000, Rgba([40_000, 30_000, 20_000, u16::MAX]));
    let mut png = Cursor::new(Vec::new());
    DynamicImage::ImageRgba16(flat)
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let png = png.into_inner();
    assert!(png.len() < 100_000, "{}", png.len());
    let tight = ImageLimits {
        max_alloc_mib: 8,
        ..ImageLimits::default()
    };
    let e = decode_bytes(&png, Path::new("bomb.png"), &tight).unwrap_err();
    assert_eq!(e.code(), "image_too_large_to_decode");
    assert!(
        e.to_string().contains("needs about 13 MiB, over the 8 MiB"),
        "{e}"
    );
    // Within the limit it decodes, to 8-bit RGB with the colour kept.
    let d = decode_bytes(&png, Path::new("ok.png"), &ImageLimits::default()).unwrap();
    assert_eq!((d.rgb.width(), d.rgb.height()), (1200, 1000));
    let px = d.rgb.get_pixel(10, 10).0;
    for (got, want) in px.iter().zip([40_000u32 / 257, 30_000 / 257, 20_000 / 257]) {
        assert!(u32::from(*got).abs_diff(want) <= 1, "{px:?}");
    }
    // An 8-bit RGB JPEG of the same size: its decode and the completeness check's second
    // decode (2 × 3.4 MiB) fit in the 8 MiB that refused the 16-bit PNG.
    let rgb = image::RgbImage::from_pixel(1200, 1000, image::Rgb([90, 120, 150]));
    let mut jpg = Cursor::new(Vec::new());
    rgb.write_to(&mut jpg, image::ImageFormat::Jpeg).unwrap();
    let four = tight;
    let d = decode_bytes(jpg.get_ref(), Path::new("rgb.jpg"), &four);
    assert!(d.is_ok(), "{}", code(d));
}
