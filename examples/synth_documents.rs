//! Write a synthetic document set with exact ground truth for `kyc-kiosk eval-documents`:
//! every person × every layout (TD3 passport, TD1 card, Ghana Card, Nigeria NIN slip, Nigeria
//! voter card, Kenya ID) × three captures (flat scan; phone photo with perspective, blur, noise
//! and JPEG 30; quarter-turned scan with low light or glare). Each image gets `<stem>.truth.json`
//! (a photo's also holds `documentCorners`, where the page's corners landed in the frame).
//!
//!     cargo run --release --example synth_documents -- /tmp/synth-docs
//!     cargo run --release --example synth_documents -- /tmp/two-sided --two-sided
//!     cargo run --release --example synth_documents -- /tmp/layouts --layouts
//!     target/release/kyc-kiosk eval-documents /tmp/synth-docs --today 2026-11-29
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/synth.rs"]
mod synth;

use std::path::PathBuf;

use synth::*;

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "synth-docs".into()),
    );
    std::fs::create_dir_all(&out).unwrap();
    let fonts = Fonts::load();
    // `--portrait FILE`: only a clean passport page of the first person carrying FILE's face
    // (`passport-portrait.png`), e.g. for the GUI screenshots.
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--portrait") {
        let file = args.get(i + 1).expect("--portrait FILE");
        let face = image::open(file).expect("portrait image").to_rgb8();
        let doc = passport(&fonts, &people()[0], &portrait_crop(&face));
        let path = out.join("passport-portrait.png");
        doc.image.save(&path).unwrap();
        println!("{}", path.display());
        return;
    }
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fetched");
    let portraits: Vec<_> = ["anc", "di", "hao", "su"]
        .iter()
        .map(|n| {
            image::open(data.join(format!("pyfeat_portrait_{n}.jpg")))
                .expect("fetched portraits: run `python3 packaging/fetch.py testdata`")
                .to_rgb8()
        })
        .collect();
    // `--two-sided`: only two-sided TD1 cards, one per person: `NN_card_front.png` (portrait and
    // printed fields, no MRZ), `NN_card_back.png` (MRZ and address) and the merged reading's
    // truth `NN_card.truth.json`, for `read-document FRONT --back BACK`.
    if args.iter().any(|a| a == "--two-sided") {
        for (i, p) in people().iter().enumerate() {
            let (front, back) = id_card_two_sided(&fonts, p, &portraits[i % portraits.len()]);
            front
                .image
                .save(out.join(format!("{i:02}_card_front.png")))
                .unwrap();
            back.image
                .save(out.join(format!("{i:02}_card_back.png")))
                .unwrap();
            std::fs::write(
                out.join(format!("{i:02}_card.truth.json")),
                serde_json::to_string_pretty(&serde_json::Value::Object(back.truth)).unwrap(),
            )
            .unwrap();
        }
        println!(
            "wrote {} two-sided cards to {}",
            people().len(),
            out.display()
        );
        return;
    }
    // `--layouts`: one card per person of every in-scope layout: `NN_<layout>_front.png`, and
    // `NN_<layout>_back.png` when the card carries its MRZ on the back, with the (merged)
    // reading's truth `NN_<layout>.truth.json`.
    if args.iter().any(|a| a == "--layouts") {
        let mut n = 0;
        for (i, p) in people().iter().enumerate() {
            for layout in LAYOUT_IDS {
                let card = layout_card(&fonts, layout, p, &portraits[i % portraits.len()]);
                let stem = format!("{i:02}_{layout}");
                card.front
                    .save(out.join(format!("{stem}_front.png")))
                    .unwrap();
                if let Some(back) = &card.back {
                    back.save(out.join(format!("{stem}_back.png"))).unwrap();
                }
                std::fs::write(
                    out.join(format!("{stem}.truth.json")),
                    serde_json::to_string_pretty(&serde_json::Value::Object(card.truth)).unwrap(),
                )
                .unwrap();
                n += 1;
            }
        }
        println!("wrote {n} layout cards to {}", out.display());
        return;
    }
    let mut count = 0;
    for (i, p) in people().iter().enumerate() {
        let face = &portraits[i % portraits.len()];
        let vin = format!("90F5B{:014}", 31_000_000_000_000u64 + i as u64 * 7_919);
        let docs = [
            ("passport", passport(&fonts, p, face)),
            ("idcard", id_card(&fonts, p, face)),
            ("ghana", ghana_card(&fonts, p, face)),
            ("nin", nin_slip(&fonts, p, face)),
            ("voter", voter_card(&fonts, p, face, &vin)),
            ("kenya", kenya_id(&fonts, p, face)),
        ];
        for (kind, doc) in docs {
            let seed = (i * 31 + kind.len()) as u64;
            let mut rng = Rng::new(seed);
            let tilt = 8.0 + 12.0 * f64::from(rng.next_f32());
            let roll = -8.0 + 16.0 * f64::from(rng.next_f32());
            let (photo_raw, corners) = photo_with_corners(&doc.image, tilt, roll, 0.55);
            let photo_img = jpeg(&noise(&blur(&photo_raw, 0.8), 5.0, seed), 30);
            let turned = quarter(&doc.image, 1 + (i as u32 % 3));
            let turned = if i % 2 == 0 {
                low_light(&turned, 0.45)
            } else {
                glare(&turned, 0.7, 0.3, 0.12)
            };
            for (variant, img) in [
                ("scan", doc.image.clone()),
                ("photo", photo_img),
                ("turned", turned),
            ] {
                let stem = format!("{i:02}_{kind}_{variant}");
                img.save(out.join(format!("{stem}.png"))).unwrap();
                let mut truth = doc.truth.clone();
                if variant == "photo" {
                    // Where the page's corners are (TL, TR, BR, BL upright), to score locating.
                    truth.insert("documentCorners".into(), serde_json::json!(corners));
                }
                let truth = serde_json::Value::Object(truth);
                std::fs::write(
                    out.join(format!("{stem}.truth.json")),
                    serde_json::to_string_pretty(&truth).unwrap(),
                )
                .unwrap();
                count += 1;
            }
        }
    }
    println!("wrote {count} documents to {}", out.display());
}
