//! Issuing-state, nationality and document codes checked against ICAO 9303's lists: no check
//! digit covers them, so a misread code (or a made-up one) would otherwise pass as valid. Zones
//! are generated with the project's own check-digit code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kyc_core::document::fields::{VisualFields, assemble};
use kyc_core::document::mrz::codes::{self, CodeClass, CodeRole};
use kyc_core::document::mrz::generate::{MrzSpec, generate};
use kyc_core::document::mrz::{
    CandidateLine, CheckName, CheckResult, IsoDate, MrzFormat, MrzOptions, MrzReading,
    RepairReason, parse_mrz, parse_mrz_lines,
};

fn today() -> IsoDate {
    IsoDate::new(2026, 11, 29).unwrap()
}

fn spec(code: &str, issuer: &str, nationality: &str) -> MrzSpec {
    MrzSpec {
        document_code: code.into(),
        issuing_state: issuer.into(),
        document_number: "AB1234567".into(),
        optional_data1: String::new(),
        optional_data2: String::new(),
        birth_date: "880314".into(),
        sex: 'F',
        expiry_date: "310313".into(),
        nationality: nationality.into(),
        primary_identifier: "KOUASSI".into(),
        secondary_identifier: "ADJOA ELODIE".into(),
    }
}

fn zone(format: MrzFormat, issuer: &str, nationality: &str) -> Vec<String> {
    let code = match format {
        MrzFormat::Td3 => "P",
        MrzFormat::Td1 | MrzFormat::Td2 => "ID",
        MrzFormat::MrvA | MrzFormat::MrvB => "V",
    };
    generate(format, &spec(code, issuer, nationality)).unwrap()
}

fn read(lines: &[String]) -> MrzReading {
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    parse_mrz_lines(&refs, today()).unwrap()
}

fn check(r: &MrzReading, name: CheckName) -> &CheckResult {
    r.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name:?} check in {:?}", r.checks))
}

/// Where the issuing state (line, start) and nationality (line, start) stand.
fn code_places(format: MrzFormat) -> [(usize, usize); 2] {
    match format {
        MrzFormat::Td1 => [(0, 2), (1, 15)],
        _ => [(0, 2), (1, 10)],
    }
}

/// `lines` with the three characters at `place` replaced by `code`.
fn with_code(lines: &[String], place: (usize, usize), code: &str) -> Vec<String> {
    let mut out = lines.to_vec();
    out[place.0].replace_range(place.1..place.1 + 3, code);
    out
}

#[test]
fn mrz_codes_every_listed_code_is_accepted_in_every_layout() {
    let mut n = 0;
    for code in codes::all_codes() {
        let class = codes::class_of(code.as_bytes()).unwrap();
        // A nationality-only code (stateless, refugee) is issued by a state.
        let issuer = if class == CodeClass::NationalityOnly {
            "GBR"
        } else {
            code
        };
        for format in MrzFormat::ALL {
            let printed = zone(
                format,
                issuer.trim_end_matches('<'),
                code.trim_end_matches('<'),
            );
            let r = read(&printed);
            let ctx = format!("{code} in {format:?}: {printed:?}");
            assert_eq!(r.format, format, "{ctx}");
            assert!(r.valid, "{ctx}: {:?}", r.checks);
            assert!(r.repairs.is_empty(), "{ctx}: {:?}", r.repairs);
            assert_eq!(r.corrected, printed, "{ctx}");
            let nat = check(&r, CheckName::Nationality);
            assert!(nat.ok, "{ctx}");
            assert_eq!(nat.expected.as_deref(), Some(code), "{ctx}");
            assert_eq!(nat.found, code, "{ctx}");
            let iss = check(&r, CheckName::IssuingState);
            assert!(iss.ok, "{ctx}");
            assert_eq!(iss.found, issuer, "{ctx}");
            assert!(check(&r, CheckName::DocumentCode).ok, "{ctx}");
            assert_eq!(r.fields.nationality.value, code.trim_end_matches('<'));
            n += 1;
        }
    }
    // 248 ISO codes (without DEU) and 23 of Doc 9303's own, in five layouts.
    assert_eq!(n, (248 + 23) * 5);
}

#[test]
fn mrz_codes_germany_reads_as_d_with_fillers() {
    let printed = zone(MrzFormat::Td1, "D", "D");
    assert!(printed[0].starts_with("IDD<<"));
    let r = read(&printed);
    assert!(r.valid, "{:?}", r.checks);
    assert_eq!(r.corrected, printed);
    assert_eq!(r.fields.issuing_state.value, "D");
    assert_eq!(r.fields.nationality.value, "D");
    assert_eq!(check(&r, CheckName::IssuingState).found, "D<<");
    // `DEU` is ISO's code, never printed by Germany: a document with it is not German-issued.
    let r = read(&with_code(&printed, (0, 2), "DEU"));
    assert!(!r.valid);
    assert_eq!(r.failed_checks, vec![CheckName::IssuingState]);
    assert_eq!(
        check(&r, CheckName::IssuingState).detail.as_deref(),
        Some("unknown code")
    );
}

#[test]
fn mrz_codes_one_misread_is_repaired_and_reported_as_repaired() {
    // (printed, as misread): each one usual OCR confusion from exactly one listed code.
    let table = [
        ("D<<", "O<<"), // a zero first made a letter O by the field rule, then O → D
        ("D<<", "DK<"), // a filler read as K
        ("CIV", "CLV"),
        ("GHA", "CHA"),
        ("NGA", "MGA"),
        ("KEN", "KFN"),
        ("USA", "VSA"),
        ("SEN", "SFN"),
        ("CMR", "CMP"),
        ("GBR", "GBB"),
    ];
    for format in [MrzFormat::Td1, MrzFormat::Td3, MrzFormat::Td2] {
        for (printed_code, misread) in table {
            for (k, place) in code_places(format).into_iter().enumerate() {
                let printed = zone(
                    format,
                    printed_code.trim_end_matches('<'),
                    printed_code.trim_end_matches('<'),
                );
                let ocr = with_code(&printed, place, misread);
                let r = read(&ocr);
                let ctx = format!("{printed_code} read {misread} at {place:?} in {format:?}");
                assert!(r.valid, "{ctx}: {:?}", r.checks);
                assert_eq!(r.corrected, printed, "{ctx}");
                let name = [CheckName::IssuingState, CheckName::Nationality][k];
                let c = check(&r, name);
                assert!(c.ok, "{ctx}");
                assert_eq!(c.found, misread.replace('0', "O"), "{ctx}");
                assert_eq!(c.expected.as_deref(), Some(printed_code), "{ctx}");
                assert_eq!(c.detail.as_deref(), Some("repaired"), "{ctx}");
                let code_repairs: Vec<_> = r
                    .repairs
                    .iter()
                    .filter(|x| x.reason == RepairReason::CodeList)
                    .collect();
                assert_eq!(code_repairs.len(), 1, "{ctx}: {:?}", r.repairs);
                assert_eq!(code_repairs[0].line, place.0, "{ctx}");
            }
        }
    }
}

#[test]
fn mrz_codes_digit_lookalikes_in_a_code_become_letters() {
    let printed = zone(MrzFormat::Td3, "GBR", "GBR");
    let r = read(&with_code(&printed, (1, 10), "G8R"));
    assert!(r.valid, "{:?}", r.checks);
    assert_eq!(r.corrected, printed);
    assert!(
        r.repairs
            .iter()
            .any(|x| x.reason == RepairReason::FieldRule && x.to == Some('B'))
    );
}

#[test]
fn mrz_codes_a_made_up_code_is_flagged_never_valid() {
    for format in MrzFormat::ALL {
        for (k, place) in code_places(format).into_iter().enumerate() {
            let printed = zone(format, "GHA", "GHA");
            // Not on the list and no single misread away from a listed code.
            let forged = with_code(&printed, place, "QQQ");
            let r = read(&forged);
            let ctx = format!("{format:?} at {place:?}");
            assert!(!r.valid, "{ctx}");
            let name = [CheckName::IssuingState, CheckName::Nationality][k];
            assert_eq!(r.failed_checks, vec![name], "{ctx}");
            let c = check(&r, name);
            assert_eq!(c.detail.as_deref(), Some("unknown code"), "{ctx}");
            assert_eq!(c.expected, None, "{ctx}");
            assert_eq!(r.corrected, forged, "{ctx}: left as read");
            assert!(r.repairs.is_empty(), "{ctx}: {:?}", r.repairs);
            let a = assemble(Some(&r), &VisualFields::default(), today(), 18);
            let flag = a
                .flags
                .iter()
                .find(|f| f.code == "mrz_unknown_code")
                .unwrap_or_else(|| panic!("{ctx}: {:?}", a.flags));
            assert!(flag.message.contains("QQQ"), "{}", flag.message);
            // The check digits all pass: the code alone makes the zone invalid.
            assert!(!a.flags.iter().any(|f| f.code == "mrz_invalid"), "{ctx}");
        }
    }
}

#[test]
fn mrz_codes_a_code_near_two_listed_codes_is_flagged_not_guessed() {
    // CMB is one misread from GMB (Gambia) and from CMR (Cameroon).
    assert_eq!(
        codes::one_confusion_away(b"CMB", CodeRole::Nationality).len(),
        2
    );
    let printed = zone(MrzFormat::Td3, "CMR", "CMR");
    let r = read(&with_code(&printed, (1, 10), "CMB"));
    assert!(!r.valid);
    assert_eq!(r.failed_checks, vec![CheckName::Nationality]);
    let c = check(&r, CheckName::Nationality);
    assert_eq!(
        c.detail.as_deref(),
        Some("unknown code (one misread from GMB, CMR)")
    );
    // With the recogniser's doubt on the B alone, Cameroon is the one reading.
    let ocr = with_code(&printed, (1, 10), "CMB");
    let mut cands: Vec<CandidateLine> = Vec::new();
    for (i, l) in ocr.iter().enumerate() {
        let mut conf = vec![0.97f32; l.len()];
        if i == 1 {
            conf[12] = 0.4;
        }
        cands.push(CandidateLine::with_confidences(l.clone(), conf));
    }
    let r = parse_mrz(&cands, &MrzOptions::new(today())).unwrap();
    assert!(r.valid, "{:?}", r.checks);
    assert_eq!(r.corrected, printed);
    assert_eq!(
        check(&r, CheckName::Nationality).detail.as_deref(),
        Some("repaired")
    );
}

#[test]
fn mrz_codes_a_confidently_read_unknown_code_is_not_repaired() {
    // CHA is one misread (C for G) from GHA: a forger's CHA that the recogniser read with full
    // confidence stays CHA and is flagged.
    let printed = zone(MrzFormat::Td3, "GHA", "GHA");
    let forged = with_code(&printed, (0, 2), "CHA");
    let cands: Vec<CandidateLine> = forged
        .iter()
        .map(|l| CandidateLine::with_confidences(l.clone(), vec![0.99; l.len()]))
        .collect();
    let r = parse_mrz(&cands, &MrzOptions::new(today())).unwrap();
    assert!(!r.valid);
    assert_eq!(r.corrected, forged);
    assert_eq!(r.failed_checks, vec![CheckName::IssuingState]);
    // The same zone with the C in doubt is a misread Ghana.
    let cands: Vec<CandidateLine> = forged
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut c = vec![0.99; l.len()];
            if i == 0 {
                c[2] = 0.7;
            }
            CandidateLine::with_confidences(l.clone(), c)
        })
        .collect();
    let r = parse_mrz(&cands, &MrzOptions::new(today())).unwrap();
    assert!(r.valid, "{:?}", r.checks);
    assert_eq!(r.corrected, printed);
}

#[test]
fn mrz_codes_nationality_only_codes_cannot_issue() {
    let printed = zone(MrzFormat::Td3, "XXA", "XXA");
    let r = read(&printed);
    assert!(!r.valid);
    assert_eq!(r.failed_checks, vec![CheckName::IssuingState]);
    assert!(check(&r, CheckName::Nationality).ok);
}

#[test]
fn mrz_codes_specimen_state_reads_but_is_flagged() {
    let printed = zone(MrzFormat::Td3, "UTO", "UTO");
    let r = read(&printed);
    assert!(r.valid);
    assert_eq!(
        check(&r, CheckName::IssuingState).detail.as_deref(),
        Some("specimen code")
    );
    let a = assemble(Some(&r), &VisualFields::default(), today(), 18);
    assert_eq!(
        a.flags
            .iter()
            .filter(|f| f.code == "mrz_specimen_code")
            .count(),
        2,
        "{:?}",
        a.flags
    );
}

#[test]
fn mrz_codes_document_code_grammar() {
    // A passport book's line must start with P.
    let printed = zone(MrzFormat::Td3, "GHA", "GHA");
    let mut bad = printed.clone();
    bad[0].replace_range(0..1, "X");
    let r = read(&bad);
    assert_eq!(r.format, MrzFormat::Td3);
    assert!(!r.valid);
    assert_eq!(r.failed_checks, vec![CheckName::DocumentCode]);
    assert_eq!(
        check(&r, CheckName::DocumentCode).detail.as_deref(),
        Some("not a TD3 document code")
    );
    // A card may print a digit second (C1 on a US permanent resident card): read with
    // confidence, it stays a digit.
    let card = generate(MrzFormat::Td1, &spec("C1", "USA", "USA")).unwrap();
    let cands: Vec<CandidateLine> = card
        .iter()
        .map(|l| CandidateLine::with_confidences(l.clone(), vec![0.95; l.len()]))
        .collect();
    let r = parse_mrz(&cands, &MrzOptions::new(today())).unwrap();
    assert!(r.valid, "{:?}", r.checks);
    assert_eq!(r.corrected, card);
    assert_eq!(r.fields.document_code.value, "C1");
    // In doubt, a digit there is the letter it looks like (`I` for `1`).
    let cands: Vec<CandidateLine> = card
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut c = vec![0.95; l.len()];
            if i == 0 {
                c[1] = 0.3;
            }
            CandidateLine::with_confidences(l.clone(), c)
        })
        .collect();
    let r = parse_mrz(&cands, &MrzOptions::new(today())).unwrap();
    assert_eq!(r.fields.document_code.value, "CI");
}

#[test]
fn mrz_codes_checks_in_json() {
    let printed = zone(MrzFormat::Td3, "GHA", "GHA");
    let r = read(&with_code(&printed, (0, 2), "QQQ"));
    let v = serde_json::to_value(&r).unwrap();
    let checks = v["checks"].as_array().unwrap();
    let iss = checks.iter().find(|c| c["name"] == "issuingState").unwrap();
    assert_eq!(iss["ok"], false);
    assert_eq!(iss["found"], "QQQ");
    assert_eq!(iss["detail"], "unknown code");
    assert!(iss["expected"].is_null());
    let digit = checks.iter().find(|c| c["name"] == "birthDate").unwrap();
    assert_eq!(digit["found"], digit["expected"]);
    assert_eq!(digit["found"].as_str().unwrap().len(), 1);
    assert!(digit.get("detail").is_none());
    assert_eq!(v["valid"], false);
    let repaired = read(&with_code(&printed, (1, 10), "CHA"));
    let v = serde_json::to_value(&repaired).unwrap();
    assert!(
        v["repairs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["reason"] == "codeList" && x["from"] == "C" && x["to"] == "G")
    );
}

#[test]
fn mrz_codes_union_sign_reads_as_u() {
    let printed = generate(MrzFormat::MrvA, &spec("VI", "USA", "GBR")).unwrap();
    let ocr = vec![
        printed[0].replacen("VIU", "VI\u{222A}", 1),
        printed[1].clone(),
    ];
    let r = read(&ocr);
    assert!(r.valid, "{:?}", r.checks);
    assert_eq!(r.corrected, printed);
}
