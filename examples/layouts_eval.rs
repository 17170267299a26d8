//! Field accuracy per in-scope card layout on generated cards: every test person × two captures
//! (a flat scan; a phone photo with perspective, blur, noise and JPEG 30, both sides), read with
//! the default reader (portrait off), both sides where the card carries its MRZ on the back.
//! Prints one line per card and a table: cards, fields compared, fields exact (%), cards with
//! every field exact, layout recognised, key number valid, median and worst read time.
//!
//!     cargo run --release --example layouts_eval
//!     cargo run --release --example layouts_eval -- --layout uganda_national_id --quiet
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/synth.rs"]
mod synth;

use std::path::PathBuf;
use std::time::Instant;

use image::RgbImage;
use kyc_core::document::mrz::IsoDate;
use kyc_core::document::{DocumentReader, ReaderOptions};
use kyc_core::imaging::{Decoded, ImageLimits, decode_file};
use serde_json::Value;
use synth::*;

fn phone(img: &RgbImage, seed: u64) -> RgbImage {
    let mut rng = Rng::new(seed);
    let tilt = 8.0 + 12.0 * f64::from(rng.next_f32());
    let roll = -8.0 + 16.0 * f64::from(rng.next_f32());
    jpeg(
        &noise(&blur(&photo(img, tilt, roll, 0.55), 0.8), 5.0, seed),
        30,
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let only = args
        .iter()
        .position(|a| a == "--layout")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let quiet = args.iter().any(|a| a == "--quiet");
    let fonts = Fonts::load();
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fetched");
    let faces: Vec<RgbImage> = ["anc", "di", "hao", "su"]
        .iter()
        .map(|n| {
            decode_file(
                &data.join(format!("pyfeat_portrait_{n}.jpg")),
                &ImageLimits::default(),
            )
            .expect("fetched portraits: run `python3 packaging/fetch.py testdata`")
            .rgb
        })
        .collect();
    let mut reader = DocumentReader::load(ReaderOptions {
        today: IsoDate::new(2026, 11, 29),
        portrait: false,
        ..ReaderOptions::default()
    })
    .unwrap();
    println!(
        "| layout | cards | fields | exact | all fields exact | layout found | key number valid | median | worst |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    let (mut all_fields, mut all_exact) = (0usize, 0usize);
    for layout in LAYOUT_IDS {
        if only.as_deref().is_some_and(|o| o != layout) {
            continue;
        }
        let (mut cards, mut fields, mut exact, mut whole, mut found, mut key_ok) =
            (0, 0, 0, 0, 0, 0);
        let mut times = Vec::new();
        for (i, p) in people().iter().enumerate() {
            let card = layout_card(&fonts, layout, p, &faces[i % faces.len()]);
            for variant in ["scan", "photo"] {
                let seed = (i * 131 + layout.len() * 7) as u64;
                let prep = |img: &RgbImage, s: u64| match variant {
                    "scan" => img.clone(),
                    _ => phone(img, s),
                };
                let front = prep(&card.front, seed);
                let back = card.back.as_ref().map(|b| prep(b, seed + 1));
                let t = Instant::now();
                let reading = match &back {
                    Some(b) => reader.read_sides(&front, Some(b)).unwrap().0,
                    None => reader
                        .read(&Decoded {
                            rgb: front,
                            format: "png",
                            file_bytes: 0,
                        })
                        .unwrap(),
                };
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                let got = serde_json::to_value(&reading.assembled.fields).unwrap();
                let mut wrong = Vec::new();
                let mut n = 0;
                for (k, v) in &card.truth {
                    let ok = if k == "mrzValid" {
                        Some(reading.mrz.as_ref().is_some_and(|m| m.valid)) == v.as_bool()
                    } else {
                        got.get(k)
                            .and_then(|f| f.get("value"))
                            .and_then(Value::as_str)
                            == v.as_str()
                    };
                    n += 1;
                    if !ok {
                        let g = got.get(k).and_then(|f| f.get("value")).cloned();
                        wrong.push(format!("{k}: want {v}, got {}", g.unwrap_or(Value::Null)));
                    }
                }
                cards += 1;
                fields += n;
                exact += n - wrong.len();
                whole += usize::from(wrong.is_empty());
                found += usize::from(reading.layout.as_deref() == Some(layout));
                key_ok += usize::from(
                    reading
                        .assembled
                        .id_number
                        .as_ref()
                        .is_some_and(|c| c.is_valid()),
                );
                if !quiet {
                    eprintln!(
                        "{layout}\t{i}\t{variant}\t{:.0} ms\t{}",
                        times.last().copied().unwrap_or(0.0),
                        if wrong.is_empty() {
                            "exact".to_string()
                        } else {
                            wrong.join("; ")
                        }
                    );
                }
            }
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let worst = times[times.len() - 1];
        all_fields += fields;
        all_exact += exact;
        let row = format!(
            "| {layout} | {cards} | {fields} | {exact} ({:.1} %) | {whole}/{cards} | {found}/{cards} | {key_ok}/{cards} | {median:.0} ms | {worst:.0} ms |",
            100.0 * exact as f64 / fields.max(1) as f64
        );
        println!("{row}");
        rows.push(row);
    }
    println!(
        "| **all** | | {all_fields} | {all_exact} ({:.1} %) | | | | | |",
        100.0 * all_exact as f64 / all_fields.max(1) as f64
    );
}
