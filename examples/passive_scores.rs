//! Print the anti-spoof model's class probabilities and live score for the largest face of each
//! image given, and the time per call.
//!
//! `cargo run --release --example passive_scores -- IMAGE...` (models fetched first).

use std::path::PathBuf;
use std::time::Instant;

use kyc_core::face::FaceEngine;
use kyc_core::imaging::{ImageLimits, decode_file};
use kyc_core::inference::Runtime;
use kyc_core::liveness::passive::{LIVE_CLASS, PassiveDetector};
use kyc_core::{Config, models};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::default();
    let runtime = Runtime::open(&models::models_dir())?;
    let mut engine = FaceEngine::load(&runtime, config.face, 1)?;
    let mut passive = PassiveDetector::new(Box::new(runtime.load("antispoof", 1)?));
    for arg in std::env::args().skip(1) {
        let path = PathBuf::from(&arg);
        let img = decode_file(&path, &ImageLimits::default())?.rgb;
        let mut faces = engine.detect_all(&img)?;
        faces.sort_by(|a, b| b.area().total_cmp(&a.area()));
        let Some(face) = faces.first() else {
            println!("{arg}\tno face");
            continue;
        };
        let t = Instant::now();
        let p = passive.probabilities(&img, face)?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        println!(
            "{arg}\t{}x{}\tface {:.0}\tp {:.3} {:.3} {:.3}\tscore {:.1}\t{ms:.1} ms",
            img.width(),
            img.height(),
            face.width,
            p[0],
            p[1],
            p[2],
            p[LIVE_CLASS] * 100.0
        );
    }
    Ok(())
}
