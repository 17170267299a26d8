//! Liveness speed on 640×480 frames: passive check alone, detection + landmarks + passive, and a
//! whole session frame (adds alignment, sharpness and an embedding every few frames).
//!
//! `cargo run --release --example liveness_bench -- FRAME_DIR [THREADS] [ROUNDS]`
//! Frames are scaled and padded to 640×480. Prints medians in ms and the frame rate they allow.

use std::path::PathBuf;
use std::time::Instant;

use image::{Rgb, RgbImage};
use kyc_core::imaging::{ImageLimits, decode_file};
use kyc_core::inference::Runtime;
use kyc_core::liveness::challenge::{Challenge, Step};
use kyc_core::liveness::{LivenessChecker, LivenessConfig};
use kyc_core::{Config, models};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn to_640x480(img: &RgbImage) -> RgbImage {
    let scale = (640.0 / img.width() as f32).min(480.0 / img.height() as f32);
    let (w, h) = (
        (img.width() as f32 * scale).round() as u32,
        (img.height() as f32 * scale).round() as u32,
    );
    let small = image::imageops::resize(img, w, h, image::imageops::FilterType::Triangle);
    let mut out = RgbImage::from_pixel(640, 480, Rgb([0, 0, 0]));
    image::imageops::overlay(
        &mut out,
        &small,
        i64::from((640 - w) / 2),
        i64::from((480 - h) / 2),
    );
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: liveness_bench FRAME_DIR [THREADS] [ROUNDS]")?,
    );
    let threads: usize = args.next().map_or(Ok(1), |s| s.parse())?;
    let rounds: usize = args.next().map_or(Ok(5), |s| s.parse())?;
    let files = kyc_kiosk::cli::liveness::frame_files(&dir)?;
    let frames: Vec<RgbImage> = files
        .iter()
        .map(|f| decode_file(f, &ImageLimits::default()).map(|d| to_640x480(&d.rgb)))
        .collect::<Result<_, _>>()?;
    let config = Config::default();
    let runtime = Runtime::open(&models::models_dir())?;
    let t = Instant::now();
    let mut checker =
        LivenessChecker::load(&runtime, config.face, LivenessConfig::default(), threads)?;
    println!(
        "models loaded in {:.0} ms, {threads} intra-op thread(s)",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let (mut det, mut pas, mut both) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        for f in &frames {
            let t0 = Instant::now();
            let faces = checker.face_engine().detect_all(f)?;
            let t1 = Instant::now();
            if let Some(face) = faces.first() {
                let _ = kyc_core::face::quality::pose(&face.landmarks);
            }
            let _ = checker.passive_score_face(f, faces.first())?;
            let t2 = Instant::now();
            det.push((t1 - t0).as_secs_f64() * 1000.0);
            pas.push((t2 - t1).as_secs_f64() * 1000.0);
            both.push((t2 - t0).as_secs_f64() * 1000.0);
        }
    }
    let cfg = *checker.config();
    let mut session_ms = Vec::new();
    for _ in 0..rounds {
        let mut session = checker.start(Challenge::with_steps(
            vec![Step::TurnLeft, Step::LookUp],
            &cfg.challenge,
        ));
        for (i, f) in frames.iter().enumerate() {
            let t = Instant::now();
            session.push_frame(&mut checker, f, i as f64 * 100.0)?;
            session_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let mean = session_ms.iter().sum::<f64>() / session_ms.len().max(1) as f64;
    let (d, p, b, s) = (median(det), median(pas), median(both), median(session_ms));
    println!("frames: {} × {rounds} rounds at 640x480", frames.len());
    println!("detect + landmarks       {d:6.1} ms");
    println!("passive (crop + model)   {p:6.1} ms");
    println!(
        "detect + passive         {b:6.1} ms  → {:.1} fps",
        1000.0 / b
    );
    println!(
        "whole session frame      {s:6.1} ms  → {:.1} fps (embedding every {} frames)",
        1000.0 / s,
        cfg.embed_every
    );
    println!(
        "whole session frame mean {mean:6.1} ms  → {:.1} fps",
        1000.0 / mean
    );
    Ok(())
}
