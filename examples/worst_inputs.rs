//! Write the inputs that cost `verify` the most memory within the accepted limits, for the peak
//! RSS table in docs/performance.md:
//!
//!     cargo run --release --example worst_inputs -- /tmp/worst [MEGAPIXELS]
//!     /usr/bin/time -v target/release/kyc-kiosk verify --document /tmp/worst/png16_rgba.png \
//!         --selfie tests/data/fetched/obama2.jpg --json
//!
//! Every file stays within the configured byte limit: a flat 16-bit RGBA PNG and a flat lossless
//! WebP at the pixel limit (small on disk, huge decoded), a photo (`tests/data/fetched/
//! obama.jpg` scaled up) as a JPEG at the pixel limit and at 12 MP, and as an uncompressed TIFF
//! just under the byte limit. MEGAPIXELS defaults to the configured pixel limit.

use std::path::PathBuf;

use image::{DynamicImage, ImageBuffer, RgbImage, Rgba};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "/tmp/worst".into()));
    let megapixels: f64 = match args.next() {
        Some(mp) => mp.parse()?,
        None => f64::from(kyc_core::Config::default().limits.max_megapixels),
    };
    std::fs::create_dir_all(&out)?;
    let photo = image::open(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fetched/obama.jpg"),
    )?
    .to_rgb8();
    let sized = |mp: f64| -> (u32, u32) {
        // Keep the photo's aspect ratio; stay just inside the limit.
        let ratio = f64::from(photo.width()) / f64::from(photo.height());
        let h = ((mp * 1e6 / ratio).sqrt()).floor();
        let w = (h * ratio).floor();
        (w as u32, h as u32)
    };
    let scaled = |(w, h): (u32, u32)| -> RgbImage {
        image::imageops::resize(&photo, w, h, image::imageops::FilterType::Triangle)
    };
    let at_limit = sized(megapixels * 0.999);
    let (w, h) = at_limit;
    // A flat 16-bit RGBA PNG at the pixel limit: about 1.5 MB that decodes to the most memory.
    let flat16: ImageBuffer<Rgba<u16>, Vec<u16>> =
        ImageBuffer::from_pixel(w, h, Rgba([40_000, 30_000, 20_000, u16::MAX]));
    DynamicImage::ImageRgba16(flat16).save(out.join("png16_flat_bomb.png"))?;
    // The same as a lossless WebP (8-bit RGBA, the format's deepest).
    let flat8: ImageBuffer<Rgba<u8>, Vec<u8>> =
        ImageBuffer::from_pixel(w, h, Rgba([156, 117, 78, 255]));
    DynamicImage::ImageRgba8(flat8).save(out.join("webp_flat.webp"))?;
    // A photo JPEG at the pixel limit, and a 12 MP one (a phone camera's).
    scaled(at_limit).save(out.join("jpeg_at_limit.jpg"))?;
    scaled(sized(12.0)).save(out.join("jpeg_12mp.jpg"))?;
    // An uncompressed 8-bit RGB TIFF just under the 15 MiB file limit.
    let limit_bytes = kyc_core::Config::default().limits.max_bytes as f64;
    scaled(sized(limit_bytes * 0.98 / 3.0 / 1e6)).save(out.join("tiff_rgb8.tiff"))?;
    for entry in std::fs::read_dir(&out)? {
        let entry = entry?;
        println!(
            "{}\t{} bytes",
            entry.path().display(),
            entry.metadata()?.len()
        );
    }
    Ok(())
}
