//! Table-driven tests of the per-country ID-number checks, the entered-vs-read mismatch flag
//! and the registry hook.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kyc_core::document::idnumber::{
    IdNumber, IdType, LookupError, LookupOutcome, MismatchKind, OfflineRegistry, RegistryLookup,
    check_and_lookup, compare_numbers, validate, validate_id, validate_passport_with_check,
};

/// (type, input, normalised form, format valid, check-digit result)
type Row = (IdType, &'static str, &'static str, bool, Option<bool>);

#[test]
fn valid_and_invalid_numbers_of_every_type() {
    use IdType::*;
    let table: &[Row] = &[
        // Ghana Card PIN
        (
            GhanaCardPin,
            "GHA-123456789-0",
            "GHA-123456789-0",
            true,
            None,
        ),
        (
            GhanaCardPin,
            "gha 123456789 0",
            "GHA-123456789-0",
            true,
            None,
        ),
        (GhanaCardPin, "GHA1234567890", "GHA-123456789-0", true, None),
        (GhanaCardPin, "GHA-12345678-9", "GHA123456789", false, None),
        (
            GhanaCardPin,
            "NGA-123456789-0",
            "NGA1234567890",
            false,
            None,
        ),
        (
            GhanaCardPin,
            "GHA-12345678X-0",
            "GHA12345678X0",
            false,
            None,
        ),
        // Ghana SSNIT
        (GhanaSsnit, "C123456789012", "C123456789012", true, None),
        (GhanaSsnit, "c12 3456 789 012", "C123456789012", true, None),
        (GhanaSsnit, "123456789012", "123456789012", false, None),
        (GhanaSsnit, "C12345678901", "C12345678901", false, None),
        // Ghana TIN
        (GhanaTin, "P0012345678", "P0012345678", true, None),
        (GhanaTin, "C0000803561", "C0000803561", true, None),
        (GhanaTin, "GHA-123456789-0", "GHA-123456789-0", true, None),
        (GhanaTin, "X0000803561", "X0000803561", false, None),
        (GhanaTin, "P1012345678", "P1012345678", false, None),
        (GhanaTin, "P001234567", "P001234567", false, None),
        // Ghana voter ID
        (GhanaVoterId, "1234567890", "1234567890", true, None),
        (GhanaVoterId, "12345 67890", "1234567890", true, None),
        (GhanaVoterId, "123456789", "123456789", false, None),
        (GhanaVoterId, "12345678AB", "12345678AB", false, None),
        // Ghana driver's licence
        (GhanaDriverLicence, "B1234567", "B1234567", true, None),
        (
            GhanaDriverLicence,
            "GAR-12345678-01",
            "GAR1234567801",
            true,
            None,
        ),
        (GhanaDriverLicence, "12345678", "12345678", false, None),
        // Nigeria NIN
        (NigeriaNin, "12345678901", "12345678901", true, None),
        (NigeriaNin, "123 4567 8901", "12345678901", true, None),
        (NigeriaNin, "1234567890", "1234567890", false, None),
        (NigeriaNin, "1234567890A", "1234567890A", false, None),
        // Nigeria BVN
        (NigeriaBvn, "22123456789", "22123456789", true, None),
        (NigeriaBvn, "221234567890", "221234567890", false, None),
        // Nigeria vNIN
        (
            NigeriaVnin,
            "AB123456789012CD",
            "AB123456789012CD",
            true,
            None,
        ),
        (
            NigeriaVnin,
            "ab12-3456-7890-12cd",
            "AB123456789012CD",
            true,
            None,
        ),
        (
            NigeriaVnin,
            "AB123456789012C",
            "AB123456789012C",
            false,
            None,
        ),
        // Nigeria voter identification number
        (
            NigeriaVin,
            "90F5B0A2B5295478933",
            "90F5B0A2B5295478933",
            true,
            None,
        ),
        (
            NigeriaVin,
            "90F5 B0A2 B529 5478 933",
            "90F5B0A2B5295478933",
            true,
            None,
        ),
        (
            NigeriaVin,
            "90F5B0A2B529547893",
            "90F5B0A2B529547893",
            false,
            None,
        ),
        // Nigeria TIN
        (NigeriaTin, "1234567890", "1234567890", true, None),
        (NigeriaTin, "12345678-0001", "12345678-0001", true, None),
        (NigeriaTin, "123456780001", "12345678-0001", true, None),
        (NigeriaTin, "12345678901", "12345678901", false, None),
        // Nigeria driver's licence
        (
            NigeriaDriverLicence,
            "ABC12345AB12",
            "ABC12345AB12",
            true,
            None,
        ),
        (
            NigeriaDriverLicence,
            "abc-12345-ab-12",
            "ABC12345AB12",
            true,
            None,
        ),
        (
            NigeriaDriverLicence,
            "AB123456AB12",
            "AB123456AB12",
            false,
            None,
        ),
        // Kenya national ID
        (KenyaNationalId, "1234567", "1234567", true, None),
        (KenyaNationalId, "12345678", "12345678", true, None),
        (KenyaNationalId, "123456", "123456", false, None),
        (KenyaNationalId, "123456789", "123456789", false, None),
        // Kenya KRA PIN
        (KenyaKraPin, "A004416331M", "A004416331M", true, None),
        (KenyaKraPin, "p051365947m", "P051365947M", true, None),
        (KenyaKraPin, "V1234567890", "V1234567890", false, None),
        (KenyaKraPin, "A0044163311", "A0044163311", false, None),
        // Uganda NIN
        (UgandaNin, "CM12345678ABCD", "CM12345678ABCD", true, None),
        (UgandaNin, "cf 9001 2345 6XYZ", "CF900123456XYZ", true, None),
        (UgandaNin, "CX12345678ABCD", "CX12345678ABCD", false, None),
        (UgandaNin, "CM12345678ABC", "CM12345678ABC", false, None),
        // Côte d'Ivoire NNI
        (CoteDivoireNni, "119 0457 3918", "11904573918", true, None),
        (CoteDivoireNni, "1190457391", "1190457391", false, None),
        // Senegal NIN (the first digit 1 or 2)
        (SenegalNin, "1 751 1979 01234", "1751197901234", true, None),
        (SenegalNin, "2751197901234", "2751197901234", true, None),
        (SenegalNin, "3751197901234", "3751197901234", false, None),
        (SenegalNin, "175119790123", "175119790123", false, None),
        // Cameroon CNI card number
        (CameroonCni, "123 456 789", "123456789", true, None),
        (CameroonCni, "12345678A", "12345678A", false, None),
        // Passports (ICAO 9303 document number)
        (Passport, "L898902C3", "L898902C3", true, None),
        (Passport, "L898902C36", "L898902C3", true, Some(true)),
        (Passport, "L898902C37", "L898902C3", true, Some(false)),
        (Passport, "G1234567", "G1234567", true, None),
        (Passport, "L898902C3X", "L898902C3X", false, None),
        (Passport, "A12345678901", "A12345678901", false, None),
        (Passport, "A1234#567", "A1234#567", false, None),
    ];
    for &(t, input, normalized, format_valid, check) in table {
        let r = validate_id(t, input);
        let ctx = format!("{t:?} {input:?}: {r:?}");
        if format_valid {
            assert_eq!(r.normalized, normalized, "{ctx}");
        }
        assert_eq!(r.format_valid, format_valid, "{ctx}");
        assert_eq!(r.check_digit_valid, check, "{ctx}");
        assert_eq!(r.is_valid(), format_valid && check != Some(false), "{ctx}");
        assert!(!r.reason.is_empty(), "{ctx}: every result says why");
        assert_eq!(r.id_type, t);
    }
    // Every type appears in the table with at least one valid and one invalid number.
    for t in IdType::ALL {
        assert!(
            table.iter().any(|r| r.0 == t && r.3),
            "{t:?} has no valid example"
        );
        assert!(
            table.iter().any(|r| r.0 == t && !r.3),
            "{t:?} has no invalid example"
        );
    }
}

#[test]
fn country_must_issue_the_type() {
    let r = validate("NG", IdType::GhanaCardPin, "GHA-123456789-0");
    assert!(!r.format_valid);
    assert!(r.reason.contains("GH"), "{}", r.reason);
    assert!(validate("gh", IdType::GhanaCardPin, "GHA-123456789-0").format_valid);
    assert!(validate("GHA", IdType::Passport, "G1234567").format_valid);
    assert_eq!(
        validate("KE", IdType::KenyaKraPin, "").reason,
        "empty number"
    );
}

#[test]
fn passport_with_printed_check_digit() {
    assert_eq!(
        validate_passport_with_check("UTO", "L898902C3", '6').check_digit_valid,
        Some(true)
    );
    assert_eq!(
        validate_passport_with_check("UTO", "L898902C3", '5').check_digit_valid,
        Some(false)
    );
    // Short numbers are padded with fillers before the check digit, as in the MRZ.
    let d = kyc_core::document::mrz::check_digit("G1234567<").unwrap();
    assert_eq!(
        validate_passport_with_check("GHA", "G1234567", d).check_digit_valid,
        Some(true)
    );
}

#[test]
fn every_type_has_a_name_and_a_rule() {
    for t in IdType::ALL {
        assert_eq!(IdType::from_name(t.name()), Some(t));
        assert!(t.rule().len() > 20);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, format!("\"{}\"", t.name()));
    }
    assert_eq!(IdType::from_name("NIGERIANIN"), Some(IdType::NigeriaNin));
    assert_eq!(IdType::from_name("nope"), None);
}

#[test]
fn check_serialises_camel_case() {
    let v = serde_json::to_value(validate_id(IdType::GhanaCardPin, "gha1234567890")).unwrap();
    assert_eq!(v["country"], "GH");
    assert_eq!(v["idType"], "ghanaCardPin");
    assert_eq!(v["normalized"], "GHA-123456789-0");
    assert_eq!(v["formatValid"], true);
    assert!(v["checkDigitValid"].is_null());
    assert!(v["reason"].as_str().unwrap().contains("format only"));
}

#[test]
fn mismatch_between_entered_and_read_numbers() {
    use MismatchKind::*;
    // (entered, read, tolerate look-alikes, kind, mismatch flag)
    let table = [
        ("GHA-123456789-0", "GHA1234567890", false, Same, false),
        ("gha 123456789 0", "GHA-123456789-0", false, Same, false),
        (
            "GHA-1234567B9-0",
            "GHA-123456789-0",
            false,
            ConfusableOnly,
            true,
        ),
        (
            "GHA-1234567B9-0",
            "GHA-123456789-0",
            true,
            ConfusableOnly,
            false,
        ),
        (
            "GHA-I23456789-O",
            "GHA-123456789-0",
            true,
            ConfusableOnly,
            false,
        ),
        ("GHA-123456789-1", "GHA-123456789-0", true, Different, true),
        ("GHA-123456789-0", "GHA-12345678-0", true, Different, true),
        ("", "GHA-123456789-0", true, Missing, true),
    ];
    for (entered, read, tolerate, kind, mismatch) in table {
        let r = compare_numbers(IdType::GhanaCardPin, entered, read, tolerate);
        assert_eq!(
            (r.kind, r.mismatch),
            (kind, mismatch),
            "{entered:?} vs {read:?}: {r:?}"
        );
        assert_eq!(r.confusions_tolerated, tolerate);
    }
    let r = compare_numbers(IdType::NigeriaNin, "12345678901", "12345678961", false);
    assert_eq!(r.kind, Different);
    assert_eq!(r.differences.len(), 1);
    assert_eq!(
        (
            r.differences[0].position,
            r.differences[0].entered,
            r.differences[0].read
        ),
        (9, Some('0'), Some('6'))
    );
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["mismatch"], true);
    assert_eq!(v["kind"], "different");
    assert_eq!(v["differences"][0]["position"], 9);
}

struct FakeOnlineRegistry;

impl RegistryLookup for FakeOnlineRegistry {
    fn lookup(&self, id: &IdNumber) -> Result<LookupOutcome, LookupError> {
        if id.number == "12345678901" {
            let mut record = std::collections::BTreeMap::new();
            record.insert("fullName".to_string(), "ADA OBI".to_string());
            Ok(LookupOutcome::Found { record })
        } else {
            Ok(LookupOutcome::NotFound)
        }
    }
}

#[test]
fn offline_registry_and_the_lookup_hook() {
    let id = IdNumber {
        country: "NG".into(),
        id_type: IdType::NigeriaNin,
        number: "123 4567 8901".into(),
    };
    assert_eq!(
        OfflineRegistry.lookup(&id),
        Ok(LookupOutcome::NotAvailableOffline)
    );
    let (check, outcome) = check_and_lookup(&OfflineRegistry, &id);
    assert!(check.is_valid());
    assert_eq!(outcome, Ok(LookupOutcome::NotAvailableOffline));
    // An online implementation gets the normalised number.
    let (_, outcome) = check_and_lookup(&FakeOnlineRegistry, &id);
    assert!(matches!(outcome, Ok(LookupOutcome::Found { .. })));
    // An invalid number is never sent.
    let bad = IdNumber {
        number: "123".into(),
        ..id
    };
    let (check, outcome) = check_and_lookup(&FakeOnlineRegistry, &bad);
    assert!(!check.is_valid());
    assert!(matches!(outcome, Err(LookupError::InvalidNumber(_))));
    let v = serde_json::to_value(LookupOutcome::NotAvailableOffline).unwrap();
    assert_eq!(v["status"], "notAvailableOffline");
}
