//! Print the face-mesh expression measures (eye openness, mouth width), the face-presence
//! probability and the time per call for the largest face of each image given; with `--grid`,
//! for each of the 25 cells of a 5×5 expression grid image.
//!
//! `cargo run --release --example mesh_measures -- [--grid] IMAGE...` (models fetched first).

use std::path::PathBuf;
use std::time::Instant;

use image::RgbImage;
use kyc_core::face::FaceEngine;
use kyc_core::face::mesh::FaceMesher;
use kyc_core::imaging::{ImageLimits, decode_file};
use kyc_core::inference::Runtime;
use kyc_core::{Config, models};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::default();
    let runtime = Runtime::open(&models::models_dir())?;
    let mut engine = FaceEngine::load(&runtime, config.face, 1)?;
    let mut mesher = FaceMesher::new(Box::new(runtime.load("face_mesh", 1)?));
    let mut grid = false;
    for arg in std::env::args().skip(1) {
        if arg == "--grid" {
            grid = true;
            continue;
        }
        let img = decode_file(&PathBuf::from(&arg), &ImageLimits::default())?.rgb;
        let parts: Vec<(String, RgbImage)> = if grid {
            let cell = img.width() / 5;
            let row = img.height() / 5;
            (0..25)
                .map(|i| {
                    let (c, r) = (i % 5, i / 5);
                    let sub = image::imageops::crop_imm(&img, c * cell, r * row, cell, row);
                    (format!("{arg}#{i}"), sub.to_image())
                })
                .collect()
        } else {
            vec![(arg.clone(), img)]
        };
        for (name, img) in parts {
            let mut faces = engine.detect_all(&img)?;
            faces.sort_by(|a, b| b.area().total_cmp(&a.area()));
            let Some(face) = faces.first() else {
                println!("{name}\tno face");
                continue;
            };
            let t = Instant::now();
            let mesh = mesher.mesh(&img, face)?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            match mesh.expression() {
                Some(e) => println!(
                    "{name}\tpresence {:.3}\teyes {:.3}\tmouth {:.3}\tlift {:.3}\t{ms:.1} ms",
                    mesh.presence, e.eye_openness, e.mouth_width, e.mouth_lift
                ),
                None => println!("{name}\tpresence {:.3}\tdegenerate mesh", mesh.presence),
            }
        }
    }
    Ok(())
}
