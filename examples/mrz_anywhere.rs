//! Time full document reads where the MRZ is hard to find: a passport data page in an A4 page
//! scanned at 300 dpi (2480×3508), an open passport (two pages) scanned at 400 dpi (12 MP), small
//! phone photos and crops of the MRZ alone; optionally also every image in a folder (real
//! specimens). Prints one line per image and the median and worst time per set.
//!
//!     cargo run --release --example mrz_anywhere
//!     cargo run --release --example mrz_anywhere -- --dir ../shared/data/mrz-specimens
//!     cargo run --release --example mrz_anywhere -- --stages     # and each read's stage times
//!
//! Each read is timed by the wall clock and by the process's CPU time (all threads, as
//! `getrusage` counts it, in 10 ms ticks): on a shared machine the second is what the read
//! costs, and bounds its time on a quiet one. `--only SET` reads one set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/synth.rs"]
mod synth;

use std::path::PathBuf;
use std::time::Instant;

use image::{Rgb, RgbImage};
use kyc_core::Config;
use kyc_core::document::mrz::IsoDate;
use kyc_core::document::{DocumentReader, ReaderOptions};
use kyc_core::imaging::{Decoded, ImageLimits, decode_file};
use synth::*;

/// A passport page (1250×880 at 10 px/mm) at `dpi`.
fn at_dpi(page: &RgbImage, dpi: f32) -> RgbImage {
    let s = dpi / 25.4 / 10.0;
    let (w, h) = (
        (page.width() as f32 * s) as u32,
        (page.height() as f32 * s) as u32,
    );
    image::imageops::resize(page, w, h, image::imageops::FilterType::Triangle)
}

/// An A4 page at 300 dpi with the data page pasted at (x, y) in millimetres.
fn a4_scan(page: &RgbImage, x_mm: f32, y_mm: f32) -> RgbImage {
    let mut a4 = RgbImage::from_pixel(2480, 3508, Rgb([250, 250, 248]));
    let p = at_dpi(page, 300.0);
    let k = 300.0 / 25.4;
    image::imageops::replace(&mut a4, &p, (x_mm * k) as i64, (y_mm * k) as i64);
    a4
}

/// An open passport: a visa page above the data page, on a 400 dpi 4000×3000 scan.
fn spread_scan(fonts: &Fonts, page: &RgbImage) -> RgbImage {
    let mut upper = RgbImage::from_pixel(page.width(), page.height(), Rgb([232, 228, 236]));
    for (i, t) in ["VISAS", "OBSERVATIONS / ENDORSEMENTS", "Page 3"]
        .iter()
        .enumerate()
    {
        draw(
            &mut upper,
            &fonts.sans,
            30.0,
            60.0,
            80.0 + 120.0 * i as f32,
            t,
            [90, 70, 110],
        );
    }
    let mut open = RgbImage::from_pixel(page.width(), page.height() * 2 + 10, Rgb([60, 40, 30]));
    image::imageops::replace(&mut open, &upper, 0, 0);
    image::imageops::replace(&mut open, page, 0, i64::from(page.height()) + 10);
    let open = at_dpi(&open, 400.0);
    let mut scan = RgbImage::from_pixel(4000, 3000, Rgb([245, 245, 245]));
    let turned = image::imageops::rotate270(&open);
    image::imageops::replace(&mut scan, &turned, 150, 120);
    scan
}

/// A named image and, when known, its printed MRZ.
type Item = (String, RgbImage, Option<Vec<String>>);

fn decoded(rgb: RgbImage) -> Decoded {
    Decoded {
        rgb,
        format: "png",
        file_bytes: 0,
    }
}

/// CPU time of the whole process so far (threads that ended included), in ms.
fn cpu_ms() -> f64 {
    kyc_core::timing::process_cpu_ms().unwrap_or(0.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .iter()
        .position(|a| a == "--dir")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    // `--stages`: also print each read's stage times.
    let stages = args.iter().any(|a| a == "--stages");
    // `--only SET`: read only that set (`a4_300dpi`, `spread_400dpi_12mp`, `phone_640`,
    // `mrz_crop`, `real`).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    // `--save DIR`: also write the generated images to DIR/SET/NAME.png (to profile or share
    // the exact inputs).
    let save = args
        .iter()
        .position(|a| a == "--save")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let synthetic = only.as_deref() != Some("real");
    let fonts = Fonts::load();
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fetched");
    let face = decode_file(
        &data.join("pyfeat_portrait_anc.jpg"),
        &ImageLimits::default(),
    )
    .unwrap()
    .rgb;
    let mut sets: Vec<(&str, Vec<Item>)> = Vec::new();
    let people = people();
    let docs: Vec<SynthDoc> = people
        .iter()
        .filter(|_| synthetic)
        .map(|p| passport(&fonts, p, &face))
        .collect();
    let mut pages = Vec::new();
    let mut spreads = Vec::new();
    let mut phones = Vec::new();
    let mut crops = Vec::new();
    for (i, (p, d)) in people.iter().zip(&docs).enumerate() {
        let truth = Some(d.mrz.clone());
        let x = 15.0 + 10.0 * (i % 3) as f32;
        let y = 20.0 + 60.0 * (i % 4) as f32;
        pages.push((p.surname.clone(), a4_scan(&d.image, x, y), truth.clone()));
        spreads.push((
            p.surname.clone(),
            spread_scan(&fonts, &d.image),
            truth.clone(),
        ));
        let ph = photo(&d.image, 5.0, 2.0, 0.75);
        let small = image::imageops::thumbnail(&ph, 640, 480);
        phones.push((p.surname.clone(), jpeg(&small, 60), truth.clone()));
        let band = image::imageops::crop_imm(&d.image, 20, 670, 1210, 150).to_image();
        crops.push((p.surname.clone(), band, truth));
    }
    sets.push(("a4_300dpi", pages));
    sets.push(("spread_400dpi_12mp", spreads));
    sets.push(("phone_640", phones));
    sets.push(("mrz_crop", crops));
    if let Some(save) = &save {
        for (set, items) in &sets {
            let dir = save.join(set);
            std::fs::create_dir_all(&dir).unwrap();
            for (name, img, _) in items {
                img.save(dir.join(format!("{name}.png"))).unwrap();
            }
        }
    }
    if let Some(dir) = &dir {
        let mut real = Vec::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for f in files {
            if let Ok(d) = decode_file(&f, &ImageLimits::default()) {
                let name = f.file_name().unwrap().to_string_lossy().into_owned();
                real.push((name, d.rgb, None));
            }
        }
        sets.push(("real", real));
    }
    let mut reader = DocumentReader::load(Config::default().reader_options(ReaderOptions {
        today: IsoDate::new(2026, 11, 29),
        ..ReaderOptions::default()
    }))
    .unwrap();
    let mut worst_overall: (f64, String) = (0.0, String::new());
    for (set, items) in &sets {
        if only.as_deref().is_some_and(|o| o != *set) {
            continue;
        }
        let mut times = Vec::new();
        let mut cpus = Vec::new();
        let (mut valid, mut exact) = (0, 0);
        for (name, img, truth) in items {
            let input = decoded(img.clone());
            let (t, c) = (Instant::now(), cpu_ms());
            let r = reader.read(&input).unwrap();
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let cpu = cpu_ms() - c;
            times.push(ms);
            cpus.push(cpu);
            if cpu > worst_overall.0 {
                worst_overall = (cpu, format!("{set}/{name}"));
            }
            let m = r.mrz.as_ref();
            let ok = m.is_some_and(|m| m.valid);
            let is_exact = match (m, truth) {
                (Some(m), Some(t)) => m.valid && &m.corrected == t,
                _ => false,
            };
            valid += usize::from(ok);
            exact += usize::from(is_exact);
            println!(
                "{set}\t{name}\t{}x{}\t{ms:.0} ms\tcpu {cpu:.0} ms\tvalid={ok}\texact={is_exact}\tnameConfidence={:.2}\t{}",
                img.width(),
                img.height(),
                m.map_or(0.0, |m| m.name_confidence),
                m.map(|m| m.corrected.join(" / ")).unwrap_or_default()
            );
            if stages {
                println!("\tstages: {}", r.timings_ms.summary());
            }
        }
        let stat = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            (
                v.get(v.len() / 2).copied().unwrap_or(0.0),
                v.last().copied().unwrap_or(0.0),
            )
        };
        let (median, worst) = stat(times);
        let (cpu_median, cpu_worst) = stat(cpus);
        println!(
            "== {set}: {} images, MRZ valid {valid}, exact {exact}, wall median {median:.0} ms, worst {worst:.0} ms; CPU median {cpu_median:.0} ms, worst {cpu_worst:.0} ms",
            items.len()
        );
    }
    println!(
        "== worst CPU time of any read: {:.0} ms ({})",
        worst_overall.0, worst_overall.1
    );
}
