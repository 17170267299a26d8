//! Write the inputs that cost `verify` the most memory within the accepted limits, for the peak
//! RSS table in docs/performance.md:
//!
//!     cargo run --release --example worst_inputs -- /tmp/worst [MEGAPIXELS]
//!     /usr/bin/time -v target/release/kyc-kiosk verify --document /tmp/worst/png16_rgba.png \
//!         --selfie tests/data/fetched/obama2.jpg --json
//!
//! Each file is a photo (`tests/data/fetched/obama.jpg`) scaled up to fill the image: a 16-bit
//! RGBA PNG at the pixel limit (small on disk, huge decoded), a 12 MP JPEG, a lossless WebP and
//! a 16-bit RGBA TIFF at the pixel limit, and a 4-bit-per-pixel-like PNG bomb (one flat
//! colour, a few hundred KB) at the pixel limit. MEGAPIXELS defaults to the configured limit.

use std::path::PathBuf;

use image::{DynamicImage, ImageBuffer, Rgba, RgbImage};

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
    let big = scaled(at_limit);
    let rgba16: ImageBuffer<Rgba<u16>, Vec<u16>> =
        ImageBuffer::from_fn(big.width(), big.height(), |x, y| {
            let p = big.get_pixel(x, y).0;
            Rgba([
                u16::from(p[0]) * 257,
                u16::from(p[1]) * 257,
                u16::from(p[2]) * 257,
                u16::MAX,
            ])
        });
    let rgba16 = DynamicImage::ImageRgba16(rgba16);
    rgba16.save(out.join("png16_rgba.png"))?;
    rgba16.save(out.join("tiff16_rgba.tiff"))?;
    drop(rgba16);
    DynamicImage::ImageRgb8(big.clone())
        .to_rgba8()
        .save(out.join("webp_lossless.webp"))?;
    drop(big);
    // A flat 16-bit RGBA image at the limit: a few hundred KB that decodes to the most memory.
    let (w, h) = at_limit;
    let flat: ImageBuffer<Rgba<u16>, Vec<u16>> =
        ImageBuffer::from_pixel(w, h, Rgba([40_000, 30_000, 20_000, u16::MAX]));
    DynamicImage::ImageRgba16(flat).save(out.join("png16_flat_bomb.png"))?;
    let twelve = scaled(sized(12.0));
    twelve.save(out.join("jpeg_12mp.jpg"))?;
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
