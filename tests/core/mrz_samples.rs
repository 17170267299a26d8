//! Parses `../shared/data/mrz-text/mrz_samples.json` (development data, never in the repo) and
//! compares with the expected values it lists. Skips with a message when the file is absent.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kyc_core::document::mrz::{IsoDate, MrzFormat, MrzReading, parse_mrz_lines};
use serde_json::Value;
use std::path::PathBuf;

fn samples_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("KYC_MRZ_SAMPLES") {
        let p = PathBuf::from(p);
        return p.exists().then_some(p);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // `shared/` sits beside the repository (and beside each worktree).
    manifest
        .ancestors()
        .map(|a| a.join("shared/data/mrz-text/mrz_samples.json"))
        .find(|p| p.exists())
}

fn today() -> IsoDate {
    IsoDate::new(2026, 11, 22).unwrap()
}

/// Compare one expected key with the reading; returns a mismatch description.
fn compare(key: &str, want: &Value, r: &MrzReading) -> Option<String> {
    let f = &r.fields;
    let got: String = match key {
        "surname" => f.primary_identifier.value.clone(),
        "names" => f.secondary_identifier.value.clone(),
        "number" => f.document_number.value.clone(),
        "birth" => f.birth_date.raw.clone(),
        "expiry" => f.expiry_date.raw.clone(),
        "sex" => f.sex.value.clone(),
        "nationality" => f.nationality.value.clone(),
        "country" => f.issuing_state.value.clone(),
        "personal" => f
            .personal_number
            .as_ref()
            .map(|p| p.value.clone())
            .unwrap_or_default(),
        "valid_check_digits" => {
            let got: Vec<bool> = r
                .checks
                .iter()
                .filter(|c| c.name.is_check_digit())
                .map(|c| c.ok)
                .collect();
            let want: Vec<bool> = want.as_array()?.iter().filter_map(Value::as_bool).collect();
            return (got != want).then(|| format!("checks {got:?} != {want:?}"));
        }
        "note" | "format" => return None,
        other => return Some(format!("unknown expected key {other}")),
    };
    let want = want.as_str()?.trim_end_matches('<');
    (got != want).then(|| format!("{key}: got {got:?}, want {want:?}"))
}

#[test]
fn shared_mrz_samples_parse_as_expected() {
    let Some(path) = samples_path() else {
        eprintln!(
            "SKIP: mrz_samples.json not found (set KYC_MRZ_SAMPLES or put shared/ beside the repo)"
        );
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let samples: Vec<Value> = serde_json::from_str(&text).unwrap();
    let (mut icao, mut exact, mut non_icao) = (0, 0, 0);
    let mut failures = Vec::new();
    // The Swiss ID the noisy sample must autocorrect to.
    let swiss_clean = [
        "IDCHEA1234567<6<<<<<<<<<<<<<<<",
        "7510256M2009018CHE<<<<<<<<<<<8",
        "SMITH<<JOHN<ALBERT<<<<<<<<<<<<",
    ];
    for s in samples.iter().filter(|s| s.get("lines").is_some()) {
        let lines: Vec<&str> = s["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let source = s["source"].as_str().unwrap_or("?");
        if s["check_digits_ok"].is_string() {
            // French ID / driving licences: not ICAO 9303 layouts; must not be read as valid.
            non_icao += 1;
            if let Ok(r) = parse_mrz_lines(&lines, today()) {
                assert!(
                    !r.valid,
                    "{source}: a non-ICAO layout must not read as a valid ICAO MRZ"
                );
            }
            continue;
        }
        icao += 1;
        let r = match parse_mrz_lines(&lines, today()) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{source}: {e}"));
                continue;
            }
        };
        let mut problems = Vec::new();
        let want_checks = s["check_digits_ok"].as_object().unwrap();
        let autocorrect = source.contains("autocorrect");
        for (name, ok) in want_checks {
            let ok = ok.as_bool().unwrap() || autocorrect;
            let cname = match name.as_str() {
                "number" => "documentNumber",
                "birth" => "birthDate",
                "expiry" => "expiryDate",
                "personal" => "personalNumber",
                other => other,
            };
            let got = r
                .checks
                .iter()
                .find(|c| c.name.as_str() == cname)
                .map(|c| c.ok);
            if got != Some(ok) {
                problems.push(format!("check {cname}: got {got:?}, want {ok}"));
            }
        }
        if autocorrect && r.corrected != swiss_clean {
            problems.push(format!("corrected {:?}", r.corrected));
        }
        for (k, v) in s["expected"].as_object().unwrap() {
            if let Some(p) = compare(k, v, &r) {
                problems.push(p);
            }
        }
        let guess = s["format_guess"].as_str().unwrap_or("");
        let fmt_ok = match r.format {
            MrzFormat::Td2 | MrzFormat::MrvB => guess.contains("TD2") || guess.contains("MRVB"),
            MrzFormat::MrvA => guess == "MRVA",
            f => guess == f.as_str(),
        };
        if !fmt_ok {
            problems.push(format!("format {:?} vs guess {guess}", r.format));
        }
        if problems.is_empty() {
            exact += 1;
        } else {
            failures.push(format!("{source}: {}", problems.join("; ")));
        }
    }
    eprintln!(
        "mrz_samples: {exact}/{icao} ICAO samples exactly as expected; {non_icao} non-ICAO layouts not read as valid"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
