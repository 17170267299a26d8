//! The in-scope card layouts read end to end: one generated card per layout (both sides where the
//! card carries its MRZ on the back), every expected field exact, the layout and `documentType`
//! recognised and the key number checked; and the attacks the layout rules stop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::reading;
use crate::synth;

use kyc_core::document::mrz::IsoDate;
use kyc_core::document::{DocumentReader, DocumentReading, ReaderOptions};
use reading::*;
use synth::*;

fn reader() -> DocumentReader {
    DocumentReader::load(ReaderOptions {
        today: IsoDate::new(2026, 11, 29),
        portrait: false,
        ..ReaderOptions::default()
    })
    .expect("models: run `python3 packaging/fetch.py models`")
}

fn read_card(r: &mut DocumentReader, card: &LayoutCard) -> DocumentReading {
    match &card.back {
        Some(back) => r.read_sides(&card.front, Some(back)).unwrap().0,
        None => read(r, card.front.clone()),
    }
}

/// Generate `layout` for person `i`, read it, and check every truth field, the layout, the key
/// number's check and that nothing is flagged.
fn reads_exactly(layout: &str, i: usize) {
    let fonts = Fonts::load();
    let mut r = reader();
    let p = &people()[i];
    let card = layout_card(&fonts, layout, p, &face(i));
    let reading = read_card(&mut r, &card);
    let wrong = wrong_fields(&reading, &card.truth);
    assert!(
        wrong.is_empty(),
        "{layout}: {wrong:?}\nlines: {}",
        lines_text(&reading)
    );
    assert_eq!(reading.layout.as_deref(), Some(layout), "{layout}");
    let check = reading
        .assembled
        .id_number
        .as_ref()
        .unwrap_or_else(|| panic!("{layout}: no key number checked"));
    assert!(check.is_valid(), "{layout}: {check:?}");
    // A generated card is rightly told from a photographed one (`document_synthetic`); any
    // other flag is a reading fault.
    let other: Vec<&str> = reading
        .assembled
        .flags
        .iter()
        .map(|f| f.code)
        .filter(|c| *c != "document_synthetic")
        .collect();
    assert!(other.is_empty(), "{layout}: {other:?}");
}

#[test]
fn layout_ghana_card_front_and_back() {
    reads_exactly("ghana_card", 2);
}

#[test]
fn layout_ghana_voter_card() {
    reads_exactly("ghana_voter_card", 0);
}

#[test]
fn layout_ghana_drivers_licence() {
    reads_exactly("ghana_drivers_licence", 1);
}

#[test]
fn layout_nigeria_nin_slip() {
    reads_exactly("nigeria_nin_slip", 3);
}

#[test]
fn layout_nigeria_national_id_front_and_back() {
    reads_exactly("nigeria_national_id", 3);
}

#[test]
fn layout_nigeria_voter_card() {
    reads_exactly("nigeria_voter_card", 5);
}

#[test]
fn layout_nigeria_drivers_licence() {
    reads_exactly("nigeria_drivers_licence", 2);
}

#[test]
fn layout_kenya_national_id() {
    reads_exactly("kenya_national_id", 5);
}

#[test]
fn layout_kenya_maisha_front_and_back() {
    reads_exactly("kenya_maisha", 5);
}

#[test]
fn layout_uganda_national_id_front_and_back() {
    reads_exactly("uganda_national_id", 1);
}

#[test]
fn layout_civ_national_id_front_and_back() {
    reads_exactly("civ_national_id", 0);
}

#[test]
fn layout_senegal_ecowas_id_front_and_back() {
    reads_exactly("senegal_ecowas_id", 1);
}

#[test]
fn layout_cameroon_cni() {
    reads_exactly("cameroon_cni", 4);
}

#[test]
fn a_front_and_a_back_of_two_different_cards_disagree() {
    // A fraudster pairs the front of one Uganda card (their portrait) with the back of another
    // (someone else's valid MRZ): the printed NIN and the MRZ's NIN differ.
    let fonts = Fonts::load();
    let mut r = reader();
    let people = people();
    let mine = layout_card(&fonts, "uganda_national_id", &people[1], &face(1));
    let theirs = layout_card(&fonts, "uganda_national_id", &people[5], &face(2));
    let reading = r.read_sides(&mine.front, theirs.back.as_ref()).unwrap().0;
    assert!(reading.mrz.as_ref().is_some_and(|m| m.valid));
    let codes: Vec<&str> = reading.assembled.flags.iter().map(|f| f.code).collect();
    assert!(codes.contains(&"mrz_visual_mismatch"), "{codes:?}");
    let fields: Vec<&str> = reading
        .assembled
        .cross_checks
        .iter()
        .filter(|c| !c.agree)
        .map(|c| c.field)
        .collect();
    assert!(fields.contains(&"personalNumber"), "{fields:?}");
}

#[test]
fn a_number_in_the_wrong_format_is_flagged_on_the_card() {
    // A Ghana voter card printed with a 9-digit voter ID (a doctored or invented number): the
    // layout is recognised, the number found by its label, and the format check fails.
    let fonts = Fonts::load();
    let mut r = reader();
    let p = &people()[0];
    let card = layout_card(&fonts, "ghana_voter_card", p, &face(0));
    let good = card.truth["documentNumber"].as_str().unwrap().to_string();
    let bad = &good[..9];
    let doctored = ghana_voter_card_numbered(&fonts, p, &face(0), bad);
    let reading = read(&mut r, doctored);
    assert_eq!(reading.layout.as_deref(), Some("ghana_voter_card"));
    let check = reading.assembled.id_number.as_ref().unwrap();
    assert!(!check.format_valid, "{check:?}");
    let codes: Vec<&str> = reading.assembled.flags.iter().map(|f| f.code).collect();
    assert!(codes.contains(&"id_number_invalid"), "{codes:?}");
}

#[test]
fn a_passport_printing_a_country_name_is_still_a_passport() {
    // The printed zone of a passport may name the country ("Republic of Ghana"); the MRZ's `P`
    // decides, and no card's number rule is applied to the passport.
    let fonts = Fonts::load();
    let mut r = reader();
    let p = &people()[2];
    let mut doc = passport(&fonts, p, &face(0));
    draw(
        &mut doc.image,
        &fonts.sans,
        22.0,
        420.0,
        70.0,
        "REPUBLIC OF GHANA",
        [40, 40, 90],
    );
    let reading = read(&mut r, doc.image);
    let f = &reading.assembled.fields;
    assert_eq!(f.document_type.as_ref().unwrap().value, "passport");
    assert_eq!(reading.layout, None);
    assert_eq!(
        reading.assembled.id_number.as_ref().map(|c| c.id_type),
        Some(kyc_core::document::idnumber::IdType::Passport)
    );
}
