//! A synthetic passport page carrying a fetched photo's face as its portrait, for the tests that
//! verify a customer end to end (document reading + face match). Uses `synth` and `common`,
//! which the including test file declares.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use image::RgbImage;

/// The page (1250×880) of synthetic person `who` (an index into `synth::people()`), with
/// `face_file`'s face as portrait.
pub fn passport_of(
    face_file: &str,
    who: usize,
) -> (RgbImage, serde_json::Map<String, serde_json::Value>) {
    let fonts = crate::synth::Fonts::load();
    let people = crate::synth::people();
    let person = &people[who % people.len()];
    let face = crate::common::load(face_file).rgb;
    let doc = crate::synth::passport(&fonts, person, &crate::synth::portrait_crop(&face));
    (doc.image, doc.truth)
}

/// [`passport_of`] for a passport that expired on `expiry` (year, month, day).
pub fn expired_passport_file(face_file: &str, expiry: (i32, u32, u32), dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let fonts = crate::synth::Fonts::load();
    let mut person = crate::synth::people()[0].clone();
    person.expiry = expiry;
    let face = crate::common::load(face_file).rgb;
    let doc = crate::synth::passport(&fonts, &person, &crate::synth::portrait_crop(&face));
    let path = dir.join(format!("expired-passport-{face_file}.png"));
    doc.image.save(&path).unwrap();
    path
}

/// [`passport_of`] written as PNG into `dir`; returns the file.
pub fn passport_file(face_file: &str, who: usize, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("passport-{who}-{face_file}.png"));
    passport_of(face_file, who).0.save(&path).unwrap();
    path
}
