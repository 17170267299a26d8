//! Write a frame folder in which a customer holds an ID card up to the camera (an empty desk, the
//! card too far, then held still), for the document screen's live meter and automatic capture:
//!
//!     cargo run --release --example document_frames -- /tmp/card
//!     target/release/kyc-kiosk gui --source frames:/tmp/card@5
//!
//! With `--bench N` it also times the meter's assessment (text detection, edges, quality) on
//! each frame N times, at the frames' 1280×800 and at 640×400, and prints the medians.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/held.rs"]
mod held;
#[path = "../tests/common/synth.rs"]
mod synth;

use std::path::PathBuf;

use kyc_core::document::{DocumentReader, ReaderOptions};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(
        args.first()
            .expect("usage: document_frames <output folder> [--bench N]"),
    );
    let portrait =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fetched/pyfeat_portrait_di.jpg");
    let face = image::open(&portrait)
        .expect("run packaging/setup.sh all first")
        .to_rgb8();
    let fonts = synth::Fonts::load();
    let card = synth::id_card(&fonts, &synth::people()[2], &face).image;
    let still = held::write_document_frames(&out, &card);
    println!("{}: 8 frames ({} held still)", out.display(), still.len());
    let Some(n) = args
        .iter()
        .position(|a| a == "--bench")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return;
    };
    let mut reader = DocumentReader::load(ReaderOptions {
        portrait: false,
        threads: 1,
        ..ReaderOptions::default()
    })
    .expect("models: run packaging/setup.sh all");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for (label, width) in [("1280x800", 1280u32), ("640x400", 640)] {
        let mut times = Vec::new();
        for f in &files {
            let img = image::open(f).unwrap().to_rgb8();
            let img = if img.width() == width {
                img
            } else {
                image::imageops::resize(
                    &img,
                    width,
                    img.height() * width / img.width(),
                    image::imageops::FilterType::Triangle,
                )
            };
            for _ in 0..n {
                let a = reader.assess(&img).unwrap();
                times.push(a.ms);
            }
        }
        let max = times.iter().copied().fold(0.0, f64::max);
        println!(
            "assess {label}: median {:.1} ms, max {max:.1} ms over {} runs",
            median(times.clone()),
            times.len()
        );
    }
}
