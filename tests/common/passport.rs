//! A synthetic passport page carrying a fetched photo's face as its portrait, for the tests that
//! verify a customer end to end (document reading + face match). Uses `synth` and `common`,
//! which the including test file declares.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use image::RgbImage;

/// The page (1250×880) of `person` with `face_file`'s face as portrait, as a camera gives it:
/// sensor noise and JPEG (the generated image itself is flagged `document_synthetic`).
fn page(face_file: &str, person: &crate::synth::Person) -> crate::synth::SynthDoc {
    let fonts = crate::synth::Fonts::load();
    let face = crate::common::load(face_file).rgb;
    let mut doc = crate::synth::passport(&fonts, person, &crate::synth::portrait_crop(&face));
    doc.image = crate::synth::jpeg(&crate::synth::noise(&doc.image, 2.5, 11), 92);
    doc
}

fn person(who: usize) -> crate::synth::Person {
    let people = crate::synth::people();
    people[who % people.len()].clone()
}

/// The page of synthetic person `who` (an index into `synth::people()`), with `face_file`'s
/// face as portrait, and its ground truth.
pub fn passport_of(
    face_file: &str,
    who: usize,
) -> (RgbImage, serde_json::Map<String, serde_json::Value>) {
    let doc = page(face_file, &person(who));
    (doc.image, doc.truth)
}

/// [`passport_of`] written as PNG into `dir`; returns the file.
pub fn passport_file(face_file: &str, who: usize, dir: &Path) -> PathBuf {
    save(
        page(face_file, &person(who)).image,
        dir,
        &format!("passport-{who}-{face_file}"),
    )
}

/// Person 0's passport, expired on `expiry` (year, month, day), written as PNG into `dir`.
pub fn expired_passport_file(face_file: &str, expiry: (i32, u32, u32), dir: &Path) -> PathBuf {
    let mut p = person(0);
    p.expiry = expiry;
    save(
        page(face_file, &p).image,
        dir,
        &format!("expired-passport-{face_file}"),
    )
}

fn save(img: RgbImage, dir: &Path, stem: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("{stem}.png"));
    img.save(&path).unwrap();
    path
}
