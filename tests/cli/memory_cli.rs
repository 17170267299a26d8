//! Peak resident memory of a `verify` process on the largest inputs the default limits accept:
//! it must stay at or under 400 MB whatever the image (docs/performance.md, "Peak memory").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::data;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use image::{DynamicImage, ImageBuffer, Rgba};
use kyc_core::Config;

/// The bound, in bytes (decimal megabytes, as stated for the kiosk).
const PEAK_LIMIT: u64 = 400_000_000;

/// Run `kyc-kiosk verify` on the two images and wait for it with `wait4`, which reports the
/// peak resident set of that one child. Returns (exit code, peak bytes, stdout).
#[allow(unsafe_code, clippy::zombie_processes)]
fn verify_peak(document: &Path, selfie: &Path) -> (i32, u64, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_kyc-kiosk"))
        .args(["verify", "--json", "--document"])
        .arg(document)
        .arg("--selfie")
        .arg(selfie)
        .env_remove("KYC_KIOSK_MODELS")
        .env_remove("KYC_KIOSK_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let mut stdout = child.stdout.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value; `wait4` writes only into the two locals
    // passed, and reaps a child this thread spawned (whose `Child` handle is consumed above, so
    // nothing else waits for it).
    let (waited, usage) = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let waited = libc::wait4(pid, &raw mut status, 0, &raw mut usage);
        (waited, usage)
    };
    assert_eq!(waited, pid, "wait4 failed");
    assert!(libc::WIFEXITED(status), "verify did not exit normally");
    // ru_maxrss is in KiB on Linux.
    let peak = u64::try_from(usage.ru_maxrss).unwrap() * 1024;
    (libc::WEXITSTATUS(status), peak, text)
}

/// `w`×`h` with the photo's 4:3 aspect ratio and at most `pixels` pixels.
fn sized(pixels: f64) -> (u32, u32) {
    let h = (pixels * 3.0 / 4.0).sqrt().floor();
    ((h * 4.0 / 3.0).floor() as u32, h as u32)
}

fn worst_inputs(dir: &Path) -> Vec<(String, PathBuf)> {
    let limits = Config::default().limits;
    let max_pixels = f64::from(limits.max_megapixels) * 1e6 * 0.998;
    let max_alloc = f64::from(limits.max_alloc_mib) * 1024.0 * 1024.0 * 0.995;
    let photo = image::open(data("obama.jpg")).unwrap().to_rgb8();
    let scaled = |(w, h): (u32, u32)| {
        image::imageops::resize(&photo, w, h, image::imageops::FilterType::Triangle)
    };
    let mut out = Vec::new();
    // A photo JPEG at the pixel limit (the decode and the completeness check's second decode,
    // 6 bytes a pixel, fit in the decoding limit).
    let jpeg = dir.join("at_limit.jpg");
    scaled(sized(max_pixels.min(max_alloc / 6.0)))
        .save(&jpeg)
        .unwrap();
    out.push(("photo JPEG at the limit".to_string(), jpeg));
    // A 16-bit RGBA PNG as large as the decoding limit allows (8 bytes a pixel natively plus
    // the 8-bit RGB copy): a small file that decodes huge.
    let (w, h) = sized(max_pixels.min(max_alloc / 11.0));
    let flat16: ImageBuffer<Rgba<u16>, Vec<u16>> =
        ImageBuffer::from_pixel(w, h, Rgba([40_000, 30_000, 20_000, u16::MAX]));
    let png = dir.join("rgba16.png");
    DynamicImage::ImageRgba16(flat16).save(&png).unwrap();
    out.push(("16-bit RGBA PNG".to_string(), png));
    // A lossless 8-bit RGBA WebP likewise (4 + 3 bytes a pixel).
    let (w, h) = sized(max_pixels.min(max_alloc / 7.0));
    let flat8: ImageBuffer<Rgba<u8>, Vec<u8>> =
        ImageBuffer::from_pixel(w, h, Rgba([156, 117, 78, 255]));
    let webp = dir.join("rgba8.webp");
    DynamicImage::ImageRgba8(flat8).save(&webp).unwrap();
    out.push(("8-bit RGBA WebP".to_string(), webp));
    out
}

#[test]
fn verify_stays_under_400_mb_on_the_largest_accepted_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = worst_inputs(dir.path());
    let normal = data("obama2.jpg");
    let jpeg = inputs[0].1.clone();
    let mut cases: Vec<(String, PathBuf, PathBuf)> = inputs
        .into_iter()
        .map(|(name, path)| (format!("document: {name}"), path, normal.clone()))
        .collect();
    // Both images at the pixel limit: the selfie is decoded while the page is read.
    cases.push((
        "document and selfie: photo JPEG at the limit".into(),
        jpeg.clone(),
        jpeg,
    ));
    let mut report = Vec::new();
    for (name, document, selfie) in &cases {
        let (code, peak, stdout) = verify_peak(document, selfie);
        // Each input is accepted and decided: the bound is about inputs the limits let in.
        assert_eq!(code, 0, "{name}: exit {code}, {stdout}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert!(v["decision"].is_string(), "{name}: {stdout}");
        report.push(format!("{name}: {} MB", peak / 1_000_000));
        assert!(
            peak <= PEAK_LIMIT,
            "{name}: peak resident memory {peak} bytes, over {PEAK_LIMIT}; all: {report:?}"
        );
    }
    eprintln!("peak resident memory: {report:?}");
}
