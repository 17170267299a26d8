//! Image input: safe decoding of untrusted files (size, format, truncation and pixel limits),
//! EXIF orientation, and the small pixel operations the pipeline needs.

use std::io::Cursor;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};
use serde::Serialize;

use crate::error::InputError;

/// Limits applied to every input image before and while decoding it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageLimits {
    /// Largest accepted file, in bytes (the reference services answer 413 above 15 MB).
    pub max_bytes: u64,
    /// Largest accepted declared size, in megapixels (stops decompression bombs).
    pub max_megapixels: u32,
    /// Most memory one decoder may allocate, in MiB (a small file that decodes huge, e.g. a
    /// 16-bit RGBA PNG, is refused before its pixels are allocated).
    pub max_alloc_mib: u32,
}

impl Default for ImageLimits {
    fn default() -> Self {
        Self {
            max_bytes: 15 * 1024 * 1024,
            // 12 MP keeps a 12 MP phone photo or 400 dpi passport spread; with 72 MiB per
            // decode, `verify` on the largest accepted input stays under 400 MB of resident
            // memory (docs/performance.md, "Peak memory").
            max_megapixels: 12,
            max_alloc_mib: 72,
        }
    }
}

/// A decoded image, upright (EXIF orientation applied), as 8-bit RGB.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The pixels.
    pub rgb: RgbImage,
    /// `jpeg`, `png`, `bmp`, `tiff` or `webp`.
    pub format: &'static str,
    /// Size of the encoded file in bytes.
    pub file_bytes: u64,
}

/// What the first bytes of a file say it is.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\xFF\xD8\xFF", "JPEG"),
        (b"\x89PNG\r\n\x1a\n", "PNG"),
        (b"GIF87a", "GIF"),
        (b"GIF89a", "GIF"),
        (b"BM", "BMP"),
        (b"II*\0", "TIFF"),
        (b"MM\0*", "TIFF"),
        (b"%PDF", "PDF"),
        (b"\0\0\x01\0", "ICO"),
        (b"8BPS", "PSD"),
        (b"\xFF\x0A", "JPEG XL"),
        (b"\0\0\0\x0CJXL ", "JPEG XL"),
    ];
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some("WebP");
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return Some(match &bytes[8..12] {
            b"avif" | b"avis" => "AVIF",
            _ => "HEIF/HEIC",
        });
    }
    SIGNATURES
        .iter()
        .find(|(sig, _)| bytes.starts_with(sig))
        .map(|(_, name)| *name)
}

/// Whether a JPEG stream reaches its end-of-image marker after its last scan.
///
/// A truncated JPEG decodes "successfully" with grey or smeared rows in most decoders, so the
/// structure is checked: inside entropy-coded data 0xFF is always stuffed, so the last SOS
/// (0xFFDA) marker starts the last scan, and a complete file has EOI (0xFFD9) after it.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last_sos = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    match last_sos {
        Some(pos) => bytes[pos..].windows(2).any(|w| w == [0xFF, 0xD9]),
        None => false,
    }
}

/// Whether a PNG stream has its IEND chunk.
fn png_is_complete(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(64)..];
    tail.windows(4).any(|w| w == b"IEND")
}

/// Read an untrusted file whole, refusing anything but a regular file and reading at most
/// `limits.max_bytes` (+1 to tell an oversized file): a FIFO, a device such as `/dev/zero` or a
/// directory reports size 0 but is refused from the opened handle's type before any read, and a
/// file that grows while it is read stops at the cap.
///
/// # Errors
/// `NotFound`, `Unreadable` (not a regular file, or the read fails) or `TooLarge`.
pub fn read_capped(path: &Path, limits: &ImageLimits) -> Result<Vec<u8>, InputError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let unreadable = |source: std::io::Error| InputError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    // O_NONBLOCK: opening a FIFO with no writer would otherwise wait for one.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => InputError::NotFound {
                path: path.to_path_buf(),
            },
            _ => unreadable(source),
        })?;
    // The type of what was opened, not of what the path named a moment earlier.
    let meta = file.metadata().map_err(unreadable)?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO (named pipe)"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(unreadable(std::io::Error::other(format!(
            "{what}, not a regular file"
        ))));
    }
    if meta.len() > limits.max_bytes {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
            bytes: meta.len(),
            limit: limits.max_bytes,
        });
    }
    let cap = limits.max_bytes.saturating_add(1);
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(cap).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() as u64 > limits.max_bytes {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
            bytes: bytes.len() as u64,
            limit: limits.max_bytes,
        });
    }
    Ok(bytes)
}

/// Read and decode an untrusted image file, enforcing `limits` (see [`read_capped`]).
///
/// # Errors
/// A specific [`InputError`] for a missing, unreadable, oversized, unsupported, non-image,
/// truncated, corrupt or over-large (pixel count or decoding memory) file.
pub fn decode_file(path: &Path, limits: &ImageLimits) -> Result<Decoded, InputError> {
    let bytes = read_capped(path, limits)?;
    decode_bytes(&bytes, path, limits)
}

/// Decode an untrusted encoded image held in memory; `path` only names it in errors.
///
/// # Errors
/// As [`decode_file`].
pub fn decode_bytes(
    bytes: &[u8],
    path: &Path,
    limits: &ImageLimits,
) -> Result<Decoded, InputError> {
    let p = || path.to_path_buf();
    if bytes.len() as u64 > limits.max_bytes {
        return Err(InputError::TooLarge {
            path: p(),
            bytes: bytes.len() as u64,
            limit: limits.max_bytes,
        });
    }
    let (format, name) = match sniff(bytes) {
        Some("JPEG") => (ImageFormat::Jpeg, "jpeg"),
        Some("PNG") => (ImageFormat::Png, "png"),
        Some("BMP") => (ImageFormat::Bmp, "bmp"),
        Some("TIFF") => (ImageFormat::Tiff, "tiff"),
        Some("WebP") => (ImageFormat::WebP, "webp"),
        Some(other) => {
            return Err(InputError::UnsupportedFormat {
                path: p(),
                format: other.to_string(),
            });
        }
        None => return Err(InputError::NotAnImage { path: p() }),
    };
    // JPEG and PNG decoders fill a cut-off stream with grey rows without an error, so their
    // structure is checked first; BMP, TIFF and WebP decoders fail on missing data themselves.
    let complete = match format {
        ImageFormat::Jpeg => jpeg_is_complete(bytes),
        ImageFormat::Png => png_is_complete(bytes),
        _ => true,
    };
    if !complete {
        let detail = if format == ImageFormat::Jpeg {
            "no end-of-image marker after the last scan"
        } else {
            "no IEND chunk"
        };
        return Err(InputError::Truncated {
            path: p(),
            format: name.to_uppercase(),
            detail: detail.to_string(),
        });
    }
    let corrupt = |detail: String| InputError::Corrupt {
        path: p(),
        format: name.to_uppercase(),
        detail,
    };
    let truncated = |detail: String| InputError::Truncated {
        path: p(),
        format: name.to_uppercase(),
        detail,
    };
    let classify = |e: image::ImageError| match e {
        image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            truncated(io.to_string())
        }
        image::ImageError::Limits(l) => corrupt(format!("exceeds decoding limits: {l}")),
        other => {
            let msg = other.to_string();
            let lower = msg.to_lowercase();
            if lower.contains("eof") || lower.contains("end of") || lower.contains("truncat") {
                truncated(msg)
            } else {
                corrupt(msg)
            }
        }
    };

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let max_pixels = u64::from(limits.max_megapixels) * 1_000_000;
    let max_alloc = u64::from(limits.max_alloc_mib) << 20;
    reader.limits(image_limits_for(max_alloc));
    let too_much = |needed: u64| InputError::TooMuchMemory {
        path: p(),
        format: name.to_uppercase(),
        needed_mib: needed.div_ceil(1 << 20),
        limit_mib: limits.max_alloc_mib,
    };
    let mut decoder = reader.into_decoder().map_err(|e| match e {
        image::ImageError::Limits(_) => too_much(max_alloc.saturating_add(1)),
        other => classify(other),
    })?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(corrupt("zero-sized image".to_string()));
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(InputError::TooManyPixels {
            path: p(),
            width,
            height,
            limit_mp: limits.max_megapixels,
        });
    }
    // What the decode holds at once: the decoder's own buffer at its native depth, plus the
    // 8-bit RGB copy when the native one is anything else. Refused from the header, before a
    // byte of pixels is allocated.
    let native = decoder.total_bytes();
    let needed = if format == ImageFormat::Jpeg {
        // The decode and its completeness check's second decode (see
        // `jpeg_reads_past_its_data`) are held at once.
        native.saturating_mul(2)
    } else if decoder.color_type() == image::ColorType::Rgb8 {
        native
    } else {
        native.saturating_add(pixels.saturating_mul(3))
    };
    if needed > max_alloc {
        return Err(too_much(needed));
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    // A well-formed JPEG is decoded once (`jpeg_single_decode`); whatever that strict decode
    // refuses takes the lenient decode and the completeness check's second decode.
    let single = if format == ImageFormat::Jpeg {
        jpeg_single_decode(bytes)
    } else {
        None
    };
    let img = match single {
        Some(img) => img,
        None => {
            let img = DynamicImage::from_decoder(decoder).map_err(|e| match e {
                image::ImageError::Limits(_) => too_much(needed.max(max_alloc.saturating_add(1))),
                other => classify(other),
            })?;
            // A JPEG cut short with its end marker put back decodes "successfully": the
            // decoder reads zero bits past the data and fills the rest in. The same stream
            // with one-bits put before the end marker decodes to the same pixels only if the
            // decoder never read past the data.
            if format == ImageFormat::Jpeg && jpeg_reads_past_its_data(bytes, &img, max_alloc) {
                return Err(truncated(
                    "the image data ends before the image does: the decoder filled the rest in"
                        .to_string(),
                ));
            }
            img
        }
    };
    // To 8-bit RGB first (the native buffer is dropped right after), then upright: the
    // rotation copies the small image, not a 16-bit or RGBA one.
    let mut rgb = match img {
        DynamicImage::ImageRgb8(rgb) => DynamicImage::ImageRgb8(rgb),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    };
    rgb.apply_orientation(orientation);
    let DynamicImage::ImageRgb8(rgb) = rgb else {
        return Err(corrupt(
            "unexpected pixel layout after conversion".to_string(),
        ));
    };
    Ok(Decoded {
        rgb,
        format: name,
        file_bytes: bytes.len() as u64,
    })
}

/// The image crate's limits with `max_alloc` bytes for one decode.
fn image_limits_for(max_alloc: u64) -> image::Limits {
    let mut l = image::Limits::default();
    l.max_alloc = Some(max_alloc);
    l
}

/// Whether decoding `bytes` read past its entropy-coded data: the stream is decoded again with
/// stuffed one-bytes (`FF 00`) put before its end marker; a decoder that ran out of data reads
/// them instead of the zeros it pads with, and its pixels change. A complete stream's pixels
/// never depend on what follows its last MCU.
fn jpeg_reads_past_its_data(bytes: &[u8], decoded: &DynamicImage, max_alloc: u64) -> bool {
    let Some(padded) = jpeg_padded_with_ones(bytes) else {
        return false;
    };
    let mut reader = ImageReader::with_format(Cursor::new(padded.as_slice()), ImageFormat::Jpeg);
    reader.limits(image_limits_for(max_alloc));
    match reader.decode() {
        Ok(other) => other.as_bytes() != decoded.as_bytes(),
        // A stream that fails only once one-bits follow its data read into them.
        Err(_) => true,
    }
}

/// `bytes` with 512 stuffed one-bytes (`FF 00`, 4096 one-bits of entropy-coded data) put
/// before the end marker that follows the last scan; `None` without such a marker.
fn jpeg_padded_with_ones(bytes: &[u8]) -> Option<Vec<u8>> {
    let last_sos = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA])?;
    let eoi = bytes[last_sos..]
        .windows(2)
        .position(|w| w == [0xFF, 0xD9])
        .map(|p| p + last_sos)?;
    let mut padded = Vec::with_capacity(bytes.len() + 1024);
    padded.extend_from_slice(&bytes[..eoi]);
    for _ in 0..512 {
        padded.extend_from_slice(&[0xFF, 0x00]);
    }
    padded.extend_from_slice(&bytes[eoi..]);
    Some(padded)
}

/// A complete JPEG decoded once, with its completeness shown by the same decode.
///
/// The stream with one-bits put before its end marker ([`jpeg_padded_with_ones`]) is decoded
/// in the decoder's strict mode, where a code the Huffman tables cannot decode is an error
/// rather than a grey fill. A JPEG Huffman code is never all one-bits, so a decoder that ran out
/// of data and started a code in the padding fails; a strict decode that succeeds started every
/// code in the data, and its pixels are those of the stream itself (the lenient decode's, with
/// the same output colour space the image crate asks for).
///
/// `None` when the strict decoder refuses the stream for any reason (cut short, or a liberty a
/// camera took that only the lenient mode forgives): the caller then decodes leniently and
/// compares with a second decode, as before. Limits are checked by the caller from the header.
fn jpeg_single_decode(bytes: &[u8]) -> Option<DynamicImage> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;
    let padded = jpeg_padded_with_ones(bytes)?;
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(usize::MAX)
        .set_max_height(usize::MAX);
    let mut decoder =
        zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(padded.as_slice()), options);
    decoder.decode_headers().ok()?;
    let (width, height) = decoder.dimensions()?;
    let out = match decoder.input_colorspace()? {
        c @ (ColorSpace::RGB | ColorSpace::RGBA | ColorSpace::Luma | ColorSpace::LumaA) => c,
        _ => ColorSpace::RGB,
    };
    decoder.set_options(decoder.options().jpeg_set_out_colorspace(out));
    let pixels = decoder.decode().ok()?;
    let (w, h) = (u32::try_from(width).ok()?, u32::try_from(height).ok()?);
    match out {
        ColorSpace::RGB => image::RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8),
        ColorSpace::RGBA => image::RgbaImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgba8),
        ColorSpace::Luma => image::GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8),
        ColorSpace::LumaA => {
            image::GrayAlphaImage::from_raw(w, h, pixels).map(DynamicImage::ImageLumaA8)
        }
        _ => None,
    }
}

/// Luma (BT.601) of an RGB pixel, 0..255.
#[inline]
#[must_use]
pub fn luma(p: [u8; 3]) -> f32 {
    0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
}

/// Bilinear sample of channel `c` at a sub-pixel position, clamped to the image.
#[inline]
#[must_use]
pub fn sample_bilinear(img: &RgbImage, x: f32, y: f32, c: usize) -> f32 {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let x0f = x.floor();
    let y0f = y.floor();
    let fx = x - x0f;
    let fy = y - y0f;
    let clamp_x = |v: i64| v.clamp(0, w - 1) as u32;
    let clamp_y = |v: i64| v.clamp(0, h - 1) as u32;
    let (x0, y0) = (x0f as i64, y0f as i64);
    let raw = img.as_raw();
    let stride = w as usize * 3;
    let at = |xx: u32, yy: u32| f32::from(raw[yy as usize * stride + xx as usize * 3 + c]);
    let (xa, xb, ya, yb) = (clamp_x(x0), clamp_x(x0 + 1), clamp_y(y0), clamp_y(y0 + 1));
    let top = at(xa, ya) * (1.0 - fx) + at(xb, ya) * fx;
    let bottom = at(xa, yb) * (1.0 - fx) + at(xb, yb) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// [`sample_bilinear`] of all three channels at once: the same arithmetic per channel (so the
/// same values), with the neighbours and weights found once.
#[must_use]
pub fn sample_bilinear_rgb(img: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let x0f = x.floor();
    let y0f = y.floor();
    let fx = x - x0f;
    let fy = y - y0f;
    let (x0, y0) = (x0f as i64, y0f as i64);
    let raw = img.as_raw();
    let stride = w as usize * 3;
    let (xa, xb) = (
        x0.clamp(0, w - 1) as usize,
        (x0 + 1).clamp(0, w - 1) as usize,
    );
    let (ya, yb) = (
        y0.clamp(0, h - 1) as usize,
        (y0 + 1).clamp(0, h - 1) as usize,
    );
    let (ia, ib) = (ya * stride + xa * 3, ya * stride + xb * 3);
    let (ic, id) = (yb * stride + xa * 3, yb * stride + xb * 3);
    std::array::from_fn(|c| {
        let at = |i: usize| f32::from(raw[i + c]);
        let top = at(ia) * (1.0 - fx) + at(ib) * fx;
        let bottom = at(ic) * (1.0 - fx) + at(id) * fx;
        top * (1.0 - fy) + bottom * fy
    })
}

/// `img` turned clockwise by `quarters` × 90° (0–3; other values wrap): the same pixels as
/// `image::imageops::rotate90`/`rotate180`/`rotate270`, copied block by block straight between
/// the raw buffers (a 12 MP page turns in a fraction of the generic per-pixel copy's time).
#[must_use]
pub fn rotate_quarters(img: &RgbImage, quarters: u32) -> RgbImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let q = quarters % 4;
    let (ow, oh) = if q % 2 == 1 { (h, w) } else { (w, h) };
    let src = img.as_raw();
    let mut out = vec![0u8; src.len()];
    // Destination pixel index of source pixel (x, y): base + x·sx + y·sy.
    let (wi, hi, owi) = (w as isize, h as isize, ow as isize);
    let (base, sx, sy) = match q {
        1 => (hi - 1, owi, -1),
        2 => ((hi - 1) * owi + wi - 1, -1, -owi),
        3 => ((wi - 1) * owi, -owi, 1),
        _ => (0, 1, owi),
    };
    const BLOCK: usize = 64;
    for by in (0..h).step_by(BLOCK) {
        for bx in (0..w).step_by(BLOCK) {
            for y in by..(by + BLOCK).min(h) {
                let row = &src[y * w * 3..(y + 1) * w * 3];
                let row_base = base + y as isize * sy;
                for x in bx..(bx + BLOCK).min(w) {
                    let d = (row_base + x as isize * sx) as usize * 3;
                    out[d..d + 3].copy_from_slice(&row[x * 3..x * 3 + 3]);
                }
            }
        }
    }
    // `out` holds exactly ow × oh × 3 bytes, so this cannot fail; fall back to a blank image of
    // the right size rather than panic.
    RgbImage::from_raw(ow as u32, oh as u32, out)
        .unwrap_or_else(|| RgbImage::new(ow as u32, oh as u32))
}

/// Shrink (or copy) `src` into planar float channels of size `dst_w`×`dst_h`, written into a
/// tensor of padded size `pad_w`×`pad_h` (zero padding right and bottom).
///
/// Area averaging over each destination pixel's footprint keeps small faces from aliasing when
/// shrinking a large photo. `bgr` chooses the channel order of the planes.
#[must_use]
pub fn resize_to_planar(
    src: &RgbImage,
    dst_w: usize,
    dst_h: usize,
    pad_w: usize,
    pad_h: usize,
    bgr: bool,
) -> Vec<f32> {
    let plane = pad_w * pad_h;
    let mut out = vec![0.0f32; plane * 3];
    let (sw, sh) = (src.width() as usize, src.height() as usize);
    if sw == 0 || sh == 0 || dst_w == 0 || dst_h == 0 {
        return out;
    }
    let raw = src.as_raw();
    let sx = sw as f32 / dst_w as f32;
    let sy = sh as f32 / dst_h as f32;
    let order: [usize; 3] = if bgr { [2, 1, 0] } else { [0, 1, 2] };
    if sx <= 1.5 && sy <= 1.5 {
        // Close to 1:1 (or enlarging): bilinear is enough.
        for y in 0..dst_h {
            let fy = ((y as f32 + 0.5) * sy - 0.5).max(0.0);
            for x in 0..dst_w {
                let fx = ((x as f32 + 0.5) * sx - 0.5).max(0.0);
                for (plane_idx, &c) in order.iter().enumerate() {
                    out[plane_idx * plane + y * pad_w + x] = sample_bilinear(src, fx, fy, c);
                }
            }
        }
        return out;
    }
    let k = sw / dst_w;
    if k == 2 && sw == dst_w * 2 && sh == dst_h * 2 {
        // Halving (1280×960 → 640×480, the usual camera and bench size): each destination
        // pixel is the mean of a 2×2 block, written straight into its three planes in one pass
        // over two source rows. Same sums and the same scaling as the general integer path.
        let stride = sw * 3;
        let (first, rest) = out.split_at_mut(plane);
        let (second, third) = rest.split_at_mut(plane);
        let [p0, p1, p2] = if bgr { [2usize, 1, 0] } else { [0usize, 1, 2] };
        for (y, rows) in raw.chunks_exact(2 * stride).take(dst_h).enumerate() {
            let (top, bottom) = rows.split_at(stride);
            let at = y * pad_w;
            let o0 = &mut first[at..at + dst_w];
            let o1 = &mut second[at..at + dst_w];
            let o2 = &mut third[at..at + dst_w];
            for (x, (a, b)) in top.chunks_exact(6).zip(bottom.chunks_exact(6)).enumerate() {
                let sum = |c: usize| {
                    (u32::from(a[c]) + u32::from(a[c + 3]) + u32::from(b[c]) + u32::from(b[c + 3]))
                        as f32
                        * 0.25
                };
                o0[x] = sum(p0);
                o1[x] = sum(p1);
                o2[x] = sum(p2);
            }
        }
        return out;
    }
    if k >= 2 && sw == dst_w * k && sh == dst_h * k {
        // Exact integer factor (1280×960 → 640×480): integer k×k block means.
        let stride = sw * 3;
        let mut acc = vec![0u32; dst_w * 3];
        let inv = 1.0 / (k * k) as f32;
        for y in 0..dst_h {
            acc.iter_mut().for_each(|v| *v = 0);
            for row in raw[y * k * stride..(y + 1) * k * stride].chunks_exact(stride) {
                for (x, block) in row.chunks_exact(3 * k).enumerate() {
                    for px in block.chunks_exact(3) {
                        acc[x * 3] += u32::from(px[0]);
                        acc[x * 3 + 1] += u32::from(px[1]);
                        acc[x * 3 + 2] += u32::from(px[2]);
                    }
                }
            }
            for x in 0..dst_w {
                for (plane_idx, &c) in order.iter().enumerate() {
                    out[plane_idx * plane + y * pad_w + x] = acc[x * 3 + c] as f32 * inv;
                }
            }
        }
        return out;
    }
    // Box filter over integer-rounded footprints.
    let xs: Vec<(usize, usize)> = (0..dst_w)
        .map(|x| {
            let a = ((x as f32 * sx) as usize).min(sw - 1);
            let b = (((x + 1) as f32 * sx).ceil() as usize).clamp(a + 1, sw);
            (a, b)
        })
        .collect();
    let stride = sw * 3;
    let mut row_acc = vec![0.0f32; dst_w * 3];
    for y in 0..dst_h {
        let ya = ((y as f32 * sy) as usize).min(sh - 1);
        let yb = (((y + 1) as f32 * sy).ceil() as usize).clamp(ya + 1, sh);
        row_acc.iter_mut().for_each(|v| *v = 0.0);
        for yy in ya..yb {
            let row = &raw[yy * stride..(yy + 1) * stride];
            for (x, &(a, b)) in xs.iter().enumerate() {
                let mut acc = [0u32; 3];
                for px in row[a * 3..b * 3].chunks_exact(3) {
                    acc[0] += u32::from(px[0]);
                    acc[1] += u32::from(px[1]);
                    acc[2] += u32::from(px[2]);
                }
                row_acc[x * 3] += acc[0] as f32;
                row_acc[x * 3 + 1] += acc[1] as f32;
                row_acc[x * 3 + 2] += acc[2] as f32;
            }
        }
        let rows = (yb - ya) as f32;
        for (x, &(a, b)) in xs.iter().enumerate() {
            let n = rows * (b - a) as f32;
            for (plane_idx, &c) in order.iter().enumerate() {
                out[plane_idx * plane + y * pad_w + x] = row_acc[x * 3 + c] / n;
            }
        }
    }
    out
}

/// The source pixel shown at `(ux, uy)` of an image of `w`×`h` turned by `quarters` as
/// [`rotate_quarters`] turns it.
fn turned_source(w: usize, h: usize, quarters: u32, ux: usize, uy: usize) -> (usize, usize) {
    match quarters % 4 {
        1 => (uy, h - 1 - ux),
        2 => (w - 1 - ux, h - 1 - uy),
        3 => (w - 1 - uy, ux),
        _ => (ux, uy),
    }
}

/// [`resize_to_planar`] of `rotate_quarters(src, quarters)`, with the same values, without
/// turning the whole image when it is shrunk (a quarter-turned 12 MP page is no longer copied to
/// be shrunk to a detector's input): each destination value is the mean of the same footprint,
/// summed where it lies in the source. Close to 1:1 the image is turned and resized as before.
#[must_use]
pub fn resize_to_planar_turned(
    src: &RgbImage,
    quarters: u32,
    dst_w: usize,
    dst_h: usize,
    pad_w: usize,
    pad_h: usize,
    bgr: bool,
) -> Vec<f32> {
    let q = quarters % 4;
    if q == 0 {
        return resize_to_planar(src, dst_w, dst_h, pad_w, pad_h, bgr);
    }
    let (sw, sh) = (src.width() as usize, src.height() as usize);
    let (uw, uh) = if q % 2 == 1 { (sh, sw) } else { (sw, sh) };
    if uw == 0 || uh == 0 || dst_w == 0 || dst_h == 0 {
        return vec![0.0f32; pad_w * pad_h * 3];
    }
    let sx = uw as f32 / dst_w as f32;
    let sy = uh as f32 / dst_h as f32;
    if sx <= 1.5 && sy <= 1.5 {
        return resize_to_planar(&rotate_quarters(src, q), dst_w, dst_h, pad_w, pad_h, bgr);
    }
    let plane = pad_w * pad_h;
    let mut out = vec![0.0f32; plane * 3];
    let order: [usize; 3] = if bgr { [2, 1, 0] } else { [0, 1, 2] };
    // The footprints `resize_to_planar` gives the turned image: exact k×k blocks for an integer
    // factor, else integer-rounded spans.
    let k = uw / dst_w;
    let exact = k >= 2 && uw == dst_w * k && uh == dst_h * k;
    let span = |i: usize, s: f32, n: usize| {
        if exact {
            (i * k, (i + 1) * k)
        } else {
            let a = ((i as f32 * s) as usize).min(n - 1);
            let b = (((i + 1) as f32 * s).ceil() as usize).clamp(a + 1, n);
            (a, b)
        }
    };
    let xs: Vec<(usize, usize)> = (0..dst_w).map(|x| span(x, sx, uw)).collect();
    let raw = src.as_raw();
    let stride = sw * 3;
    let inv = 1.0 / (k * k) as f32;
    for y in 0..dst_h {
        let (ya, yb) = span(y, sy, uh);
        for (x, &(xa, xb)) in xs.iter().enumerate() {
            // The upright footprint [xa, xb) × [ya, yb) as a source rectangle.
            let (c0, r0) = turned_source(sw, sh, q, xa, ya);
            let (c1, r1) = turned_source(sw, sh, q, xb - 1, yb - 1);
            let (c0, c1) = (c0.min(c1), c0.max(c1) + 1);
            let (r0, r1) = (r0.min(r1), r0.max(r1) + 1);
            let mut acc = [0u32; 3];
            for row in raw[r0 * stride..r1 * stride].chunks_exact(stride) {
                for px in row[c0 * 3..c1 * 3].chunks_exact(3) {
                    acc[0] += u32::from(px[0]);
                    acc[1] += u32::from(px[1]);
                    acc[2] += u32::from(px[2]);
                }
            }
            let n = ((yb - ya) * (xb - xa)) as f32;
            for (plane_idx, &c) in order.iter().enumerate() {
                out[plane_idx * plane + y * pad_w + x] = if exact {
                    acc[c] as f32 * inv
                } else {
                    acc[c] as f32 / n
                };
            }
        }
    }
    out
}

/// `rotate_quarters(src, quarters)` where it matters: an image of the turned size holding the
/// turned pixels inside the upright rectangle `[x0, x1) × [y0, y1)` (clamped to it) and black
/// elsewhere. Aligning a face needs only the pixels around it; the rest of a 12 MP page is not
/// copied (the black pages are never touched).
#[must_use]
pub fn rotate_quarters_region(
    src: &RgbImage,
    quarters: u32,
    (x0, y0, x1, y1): (u32, u32, u32, u32),
) -> RgbImage {
    let q = quarters % 4;
    let (sw, sh) = (src.width() as usize, src.height() as usize);
    let (uw, uh) = if q % 2 == 1 { (sh, sw) } else { (sw, sh) };
    let mut out = vec![0u8; uw * uh * 3];
    let (x1, y1) = ((x1 as usize).min(uw), (y1 as usize).min(uh));
    let raw = src.as_raw();
    for uy in (y0 as usize)..y1 {
        for ux in (x0 as usize)..x1 {
            let (x, y) = turned_source(sw, sh, q, ux, uy);
            let s = (y * sw + x) * 3;
            let d = (uy * uw + ux) * 3;
            out[d..d + 3].copy_from_slice(&raw[s..s + 3]);
        }
    }
    RgbImage::from_raw(uw as u32, uh as u32, out)
        .unwrap_or_else(|| RgbImage::new(uw as u32, uh as u32))
}

/// Crop a rectangle (clamped to the image) as a new image.
#[must_use]
pub fn crop(img: &RgbImage, x: f32, y: f32, w: f32, h: f32) -> RgbImage {
    let x0 = x.max(0.0).floor() as u32;
    let y0 = y.max(0.0).floor() as u32;
    let x1 = ((x + w).ceil().max(0.0) as u32).min(img.width());
    let y1 = ((y + h).ceil().max(0.0) as u32).min(img.height());
    if x1 <= x0 || y1 <= y0 {
        return RgbImage::new(1, 1);
    }
    image::imageops::crop_imm(img, x0, y0, x1 - x0, y1 - y0).to_image()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic image with every channel varying.
    fn speckled(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = x
                .wrapping_mul(2_654_435_761)
                .wrapping_add(y.wrapping_mul(40_503));
            image::Rgb([(v >> 3) as u8, (v >> 11) as u8, (x * 7 + y * 13) as u8])
        })
    }

    #[test]
    fn turned_resize_equals_resizing_the_turned_image() {
        // Box footprints (odd factors), an exact integer factor, and the bilinear path.
        for (w, h, dw, dh) in [
            (1037u32, 613u32, 101usize, 170usize),
            (1200, 800, 200, 300),
            (640, 480, 120, 160),
            (300, 200, 250, 350),
        ] {
            let img = speckled(w, h);
            for q in 0..4 {
                let turned = rotate_quarters(&img, q);
                let (pw, ph) = (dw.div_ceil(32) * 32, dh.div_ceil(32) * 32);
                let want = resize_to_planar(&turned, dw, dh, pw, ph, true);
                let got = resize_to_planar_turned(&img, q, dw, dh, pw, ph, true);
                assert_eq!(got.len(), want.len());
                let differ = got.iter().zip(&want).filter(|(a, b)| a != b).count();
                assert_eq!(differ, 0, "{w}x{h} -> {dw}x{dh}, {q} quarter turns");
            }
        }
    }

    #[test]
    fn turned_region_holds_the_turned_pixels_and_black_elsewhere() {
        let img = speckled(97, 61);
        for q in 0..4 {
            let full = rotate_quarters(&img, q);
            let part = rotate_quarters_region(&img, q, (10, 5, 40, 30));
            assert_eq!(part.dimensions(), full.dimensions());
            for (x, y, p) in part.enumerate_pixels() {
                if (10..40).contains(&x) && (5..30).contains(&y) {
                    assert_eq!(p, full.get_pixel(x, y), "({x}, {y}), {q} turns");
                } else {
                    assert_eq!(p.0, [0, 0, 0], "({x}, {y}), {q} turns");
                }
            }
        }
    }

    #[test]
    fn quarter_turns_match_the_image_crate() {
        let img = RgbImage::from_fn(131, 70, |x, y| {
            image::Rgb([
                (x * 7 % 256) as u8,
                (y * 11 % 256) as u8,
                ((x + y) % 256) as u8,
            ])
        });
        assert_eq!(rotate_quarters(&img, 0), img);
        assert_eq!(rotate_quarters(&img, 1), image::imageops::rotate90(&img));
        assert_eq!(rotate_quarters(&img, 2), image::imageops::rotate180(&img));
        assert_eq!(rotate_quarters(&img, 3), image::imageops::rotate270(&img));
        assert_eq!(rotate_quarters(&img, 5), image::imageops::rotate90(&img));
    }

    #[test]
    fn three_channel_bilinear_equals_the_per_channel_one() {
        let img = RgbImage::from_fn(9, 7, |x, y| {
            image::Rgb([
                (x * 29 % 256) as u8,
                (y * 37 % 256) as u8,
                ((x * y * 13) % 256) as u8,
            ])
        });
        for &(x, y) in &[
            (0.0, 0.0),
            (3.3, 2.7),
            (-1.5, 4.2),
            (8.9, 6.99),
            (12.0, -3.0),
            (4.5, 3.5),
        ] {
            let all = sample_bilinear_rgb(&img, x, y);
            for (c, v) in all.iter().enumerate() {
                assert_eq!(
                    v.to_bits(),
                    sample_bilinear(&img, x, y, c).to_bits(),
                    "({x}, {y}) {c}"
                );
            }
        }
    }
    use std::path::PathBuf;

    fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        img.write_to(&mut buf, format).unwrap();
        buf.into_inner()
    }

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        })
    }

    #[test]
    fn decodes_jpeg_and_png() {
        let img = gradient(64, 48);
        let p = PathBuf::from("mem");
        let png =
            decode_bytes(&encode(&img, ImageFormat::Png), &p, &ImageLimits::default()).unwrap();
        assert_eq!(
            (png.rgb.width(), png.rgb.height(), png.format),
            (64, 48, "png")
        );
        assert_eq!(png.rgb.get_pixel(10, 20).0, [10, 20, 128]);
        let jpg = decode_bytes(
            &encode(&img, ImageFormat::Jpeg),
            &p,
            &ImageLimits::default(),
        )
        .unwrap();
        assert_eq!(
            (jpg.rgb.width(), jpg.rgb.height(), jpg.format),
            (64, 48, "jpeg")
        );
    }

    /// A photo-like JPEG: smooth shading with edges and noise, so every block has AC codes.
    fn textured(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) % 37;
            image::Rgb([
                ((x * 3 + n) % 256) as u8,
                ((y * 5 + (x / 17) * 40) % 256) as u8,
                (((x ^ y) + n * 3) % 256) as u8,
            ])
        })
    }

    #[test]
    fn the_strict_single_decode_gives_the_lenient_decoders_pixels() {
        let colour = DynamicImage::ImageRgb8(textured(333, 217));
        let grey = DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(textured(160, 96)).to_luma8());
        for img in [colour, grey] {
            let mut buf = Cursor::new(Vec::new());
            img.write_to(&mut buf, ImageFormat::Jpeg).unwrap();
            let bytes = buf.into_inner();
            let lenient = image::load_from_memory_with_format(&bytes, ImageFormat::Jpeg).unwrap();
            let single = jpeg_single_decode(&bytes).expect("a complete JPEG decodes strictly");
            assert_eq!(single.color(), lenient.color());
            assert_eq!(single.as_bytes(), lenient.as_bytes());
            // And what `decode_bytes` returns is that image as RGB.
            let d = decode_bytes(&bytes, Path::new("mem"), &ImageLimits::default()).unwrap();
            assert_eq!(d.rgb.as_raw(), lenient.to_rgb8().as_raw());
        }
    }

    #[test]
    fn a_cut_jpeg_with_its_end_marker_put_back_fails_the_strict_decode() {
        let bytes = encode(&textured(400, 300), ImageFormat::Jpeg);
        for keep in [0.3, 0.6, 0.9, 0.99] {
            let mut cut = bytes[..(bytes.len() as f64 * keep) as usize].to_vec();
            cut.extend_from_slice(&[0xFF, 0xD9]);
            // The lenient decoder fills the rest in without an error ...
            assert!(image::load_from_memory_with_format(&cut, ImageFormat::Jpeg).is_ok());
            // ... the strict one reads the one-bits and fails, and the file is refused.
            assert!(jpeg_single_decode(&cut).is_none(), "kept {keep}");
            let err = decode_bytes(&cut, Path::new("mem"), &ImageLimits::default()).unwrap_err();
            assert_eq!(err.code(), "truncated_image", "kept {keep}: {err}");
        }
    }

    #[test]
    fn refuses_truncated_files() {
        let img = gradient(200, 150);
        let p = PathBuf::from("mem");
        for format in [ImageFormat::Jpeg, ImageFormat::Png] {
            let bytes = encode(&img, format);
            let cut = &bytes[..bytes.len() * 2 / 3];
            let err = decode_bytes(cut, &p, &ImageLimits::default()).unwrap_err();
            assert_eq!(err.code(), "truncated_image", "{format:?}: {err}");
        }
    }

    #[test]
    fn refuses_other_formats_and_non_images() {
        let p = PathBuf::from("mem");
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
        let err = decode_bytes(&gif, &p, &ImageLimits::default()).unwrap_err();
        assert_eq!(err.code(), "unsupported_format");
        assert!(err.to_string().contains("GIF"));
        let text = b"hello, this is not an image at all".to_vec();
        assert_eq!(
            decode_bytes(&text, &p, &ImageLimits::default())
                .unwrap_err()
                .code(),
            "not_an_image"
        );
        assert_eq!(
            decode_bytes(&[], &p, &ImageLimits::default())
                .unwrap_err()
                .code(),
            "not_an_image"
        );
    }

    #[test]
    fn refuses_declared_size_over_pixel_limit() {
        // A valid 1-megapixel PNG with a 0.5 MP limit: refused from the header, before decoding.
        let img = RgbImage::new(1000, 1000);
        let p = PathBuf::from("mem");
        let limits = ImageLimits {
            max_megapixels: 0,
            ..ImageLimits::default()
        };
        let err = decode_bytes(&encode(&img, ImageFormat::Png), &p, &limits).unwrap_err();
        assert_eq!(err.code(), "too_many_pixels");
    }

    #[test]
    fn refuses_oversized_bytes() {
        let p = PathBuf::from("mem");
        let limits = ImageLimits {
            max_bytes: 100,
            ..ImageLimits::default()
        };
        let bytes = encode(&gradient(64, 64), ImageFormat::Png);
        assert_eq!(
            decode_bytes(&bytes, &p, &limits).unwrap_err().code(),
            "image_too_large"
        );
    }

    #[test]
    fn missing_file_is_not_found() {
        let err =
            decode_file(Path::new("/nonexistent/x.jpg"), &ImageLimits::default()).unwrap_err();
        assert_eq!(err.code(), "file_not_found");
    }

    #[test]
    fn integer_and_general_box_paths_agree() {
        let img = RgbImage::from_fn(96, 64, |x, y| {
            image::Rgb([(x * 3) as u8, (y * 4) as u8, ((x + y) % 256) as u8])
        });
        let fast = resize_to_planar(&img, 48, 32, 64, 32, true);
        // 47 columns forces the general path; compare the first 47 columns of every row.
        let general = resize_to_planar(
            &RgbImage::from_fn(94, 64, |x, y| *img.get_pixel(x, y)),
            47,
            32,
            64,
            32,
            true,
        );
        for c in 0..3 {
            for y in 0..32 {
                for x in 0..47 {
                    let i = c * 64 * 32 + y * 64 + x;
                    assert!((fast[i] - general[i]).abs() < 1e-3, "c{c} x{x} y{y}");
                }
            }
        }
        // BGR order: plane 0 holds blue.
        assert!(
            (fast[0] - f32::from(img.get_pixel(0, 0).0[2] / 2 + img.get_pixel(1, 1).0[2] / 2))
                .abs()
                <= 1.0
        );
    }

    #[test]
    fn the_halving_path_equals_block_means_bit_for_bit() {
        let img = textured(200, 120);
        for bgr in [false, true] {
            let fast = resize_to_planar(&img, 100, 60, 128, 64, bgr);
            let plane = 128 * 64;
            for y in 0..64 {
                for x in 0..128 {
                    for (c_out, c_in) in (if bgr { [2, 1, 0] } else { [0, 1, 2] })
                        .into_iter()
                        .enumerate()
                    {
                        let v = fast[c_out * plane + y * 128 + x];
                        if x >= 100 || y >= 60 {
                            assert_eq!(v, 0.0, "padding at {x},{y}");
                            continue;
                        }
                        let s: u32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                            .iter()
                            .map(|&(dx, dy)| {
                                u32::from(img.get_pixel(2 * x as u32 + dx, 2 * y as u32 + dy)[c_in])
                            })
                            .sum();
                        assert_eq!(v.to_bits(), (s as f32 / 4.0).to_bits(), "{x},{y},{c_in}");
                    }
                }
            }
        }
    }

    #[test]
    fn area_resize_averages_blocks() {
        // 4x4 -> 2x2: each output is the mean of a 2x2 block.
        let img = RgbImage::from_fn(4, 4, |x, y| image::Rgb([(x * 10 + y * 100) as u8, 0, 0]));
        let planes = resize_to_planar(&img, 2, 2, 2, 2, false);
        assert_eq!(planes[0], (0.0 + 10.0 + 100.0 + 110.0) / 4.0);
        // (330 and 320 wrap to 74 and 64 as u8.)
        assert_eq!(planes[3], (220.0 + 230.0 + 64.0 + 74.0) / 4.0);
    }
}
