//! The `kyc-kiosk` binary: a thin command line over the core.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use kyc_core::error::exit;
use kyc_core::logs::WarnOnErr;
use kyc_core::service::{Capture, Claim, VerificationService};
use kyc_core::settings::SettingsInForce;
use kyc_core::{Config, Error, Input, Pipeline};
use serde::Serialize;

/// Offline KYC kiosk: document portrait, selfie and face match on this computer's CPU.
#[derive(Parser)]
#[command(name = "kyc-kiosk", version, about)]
struct Cli {
    /// Configuration file (TOML); defaults to $KYC_KIOSK_CONFIG or the platform config folder.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// 1:1 face match of two photos.
    Match {
        /// First image (JPEG or PNG).
        a: PathBuf,
        /// Second image (JPEG or PNG).
        b: PathBuf,
        /// Lowest match level (1–5) accepted as a match for this call; raises the configured
        /// minimum, never lowers it.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
        minimum_match_level: Option<u8>,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Verify a customer: document portrait against selfie, with the aggregate result.
    Verify {
        /// Image of the ID document (its front, with the portrait, when it has two sides).
        #[arg(long)]
        document: PathBuf,
        /// Image of the document's back side (ID cards that carry the MRZ on the back): read
        /// and merged with the front; the portrait always comes from the front.
        #[arg(long)]
        document_back: Option<PathBuf>,
        /// Selfie image (passive liveness check only).
        #[arg(
            long,
            required_unless_present = "selfie_frames",
            conflicts_with = "selfie_frames"
        )]
        selfie: Option<PathBuf>,
        /// Folder of selfie frames recorded during a liveness challenge (file-name order); the
        /// sharpest frontal frame becomes the selfie.
        #[arg(long)]
        selfie_frames: Option<PathBuf>,
        /// Frames per second of --selfie-frames (frame times come from the folder's
        /// timestamps.txt instead when it has one).
        #[arg(long, default_value_t = 10.0, requires = "selfie_frames")]
        fps: f64,
        /// Challenge steps for --selfie-frames, comma-separated (turnLeft, turnRight, lookUp,
        /// comeCloser, smile, blink); random when omitted.
        #[arg(long, requires = "selfie_frames")]
        challenge: Option<String>,
        /// The --selfie-frames are mirrored (selfie preview): swaps left and right.
        #[arg(long, requires = "selfie_frames")]
        mirrored: bool,
        /// Kiosk mode: the selfie must come from a live challenge (--selfie-frames); a still
        /// selfie file is refused.
        #[arg(long)]
        kiosk: bool,
        /// Lowest match level (1–5) accepted as a match for this call; raises the configured
        /// minimum, never lowers it.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
        minimum_match_level: Option<u8>,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
        /// Keep the result in the audit store (1:N duplicate check included).
        #[arg(long)]
        record: bool,
        /// Audit database (default: the platform data folder).
        #[arg(long, requires = "record")]
        db: Option<PathBuf>,
        /// With --record: log in as this user, recorded as the operator (password from
        /// KYC_KIOSK_PASSWORD, else asked on a terminal).
        #[arg(long)]
        operator: Option<String>,
        /// Customer type: individual or business.
        #[arg(long, default_value = "individual", value_parser = ["individual", "business"])]
        customer_type: String,
        /// ID type the customer claimed (e.g. ghana_card, passport).
        #[arg(long, value_parser = |s: &str| s.parse::<kyc_core::document::idnumber::IdType>().map(|t| t.name().to_string()))]
        id_type: Option<String>,
        /// ID number the customer claimed.
        #[arg(long)]
        id_number: Option<String>,
        /// Kiosk settings file laid over the configuration (the thresholds an administrator
        /// set on the settings screen); defaults to $KYC_KIOSK_SETTINGS or
        /// <config dir>/kyc-kiosk/kiosk-settings.toml.
        #[arg(long)]
        settings: Option<PathBuf>,
    },
    /// The audit store: verify the chain, purge, erase, export, statistics, first admin.
    #[command(subcommand)]
    Audit(kyc_kiosk::cli::audit::AuditCommand),
    /// List every face found in an image.
    Detect {
        /// Image (JPEG or PNG).
        image: PathBuf,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Benchmark a 1:1 match: per-stage medians over repeated runs, and cold start.
    Bench {
        /// First image.
        a: PathBuf,
        /// Second image.
        b: PathBuf,
        /// Timed runs (after one warm-up run).
        #[arg(long, default_value_t = 30)]
        runs: usize,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Score every pair of faces in the given images as impostors (each face a different person).
    EvalImpostors {
        /// Images whose faces are all different people (group photos, single portraits).
        images: Vec<PathBuf>,
    },
    /// Score every pair of faces of a labelled set (genuine and impostor) and measure the match
    /// levels on them: observed false-match rate with its 95 % upper bound, false non-match rate.
    EvalFaces {
        /// Truth file: `file<TAB>identity<TAB>mode` (largest | distinct | same) lines, images
        /// beside it (`python3 packaging/fetch.py evaldata` writes
        /// tests/data/fetched/faces-eval/faces.tsv).
        truth: PathBuf,
        /// Also write every pair as `a<TAB>b<TAB>genuine<TAB>cosine` to this file.
        #[arg(long)]
        scores: Option<PathBuf>,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Liveness check of a recorded frame sequence against a challenge.
    Liveness {
        /// Folder of frames (PNG/JPEG), in file-name order.
        #[arg(long)]
        frames: PathBuf,
        /// Frames per second of the sequence (frame times come from the folder's
        /// timestamps.txt instead when it has one: one capture time in ms a line).
        #[arg(long)]
        fps: f64,
        /// Challenge steps, comma-separated (turnLeft, turnRight, lookUp, comeCloser, smile, blink); random
        /// when omitted.
        #[arg(long)]
        challenge: Option<String>,
        /// The frames are mirrored (selfie preview): swaps left and right.
        #[arg(long)]
        mirrored: bool,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Run a demonstration verification on the fetched sample photos.
    Demo,
    /// Check this kiosk's health: cameras, models, audit store, disk, clock, configuration.
    Doctor(kyc_kiosk::cli::doctor::DoctorArgs),
    #[command(flatten)]
    Document(kyc_kiosk::cli::document::DocumentCommand),
    /// Join the central service's fleet (`fleet enroll`).
    #[command(subcommand)]
    Fleet(kyc_kiosk::cli::fleet::FleetCommand),
    /// Push this kiosk's chained trail and records (sealed) to the central service.
    Sync(kyc_kiosk::cli::fleet::SyncArgs),
    /// A supervisor workstation on the central queue (enroll, queue, show, decide).
    Supervisor(kyc_kiosk::cli::supervisor::SupervisorArgs),
    /// Open the kiosk window (the default when no command is given).
    Gui(kyc_kiosk::gui::GuiArgs),
}

fn main() -> ExitCode {
    // Before any thread starts: bounded malloc arenas (see `kyc_kiosk::memory`).
    if !kyc_kiosk::memory::tune_allocator() {
        eprintln!(
            "kyc-kiosk: the C allocator refused a memory setting; continuing with its defaults"
        );
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            e.print().warn_on_err("printing the usage message");
            return ExitCode::from(code as u8);
        }
    };
    let json = matches!(
        cli.command,
        Some(
            Command::Match { json: true, .. }
                | Command::Verify { json: true, .. }
                | Command::Detect { json: true, .. }
                | Command::Bench { json: true, .. }
                | Command::Liveness { json: true, .. }
        )
    ) || matches!(&cli.command, Some(Command::Document(d)) if d.json());
    match run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            tracing::debug!(code = err.code(), "command failed");
            eprintln!("kyc-kiosk: {err}");
            if json {
                #[derive(Serialize)]
                struct ErrorBody<'a> {
                    code: &'a str,
                    message: String,
                }
                #[derive(Serialize)]
                struct ErrorJson<'a> {
                    error: ErrorBody<'a>,
                }
                let body = ErrorJson {
                    error: ErrorBody {
                        code: err.code(),
                        message: err.to_string(),
                    },
                };
                print_json(&body);
            }
            ExitCode::from(err.exit_code() as u8)
        }
    }
}

fn print_json<T: Serialize>(value: &T) {
    let mut out = std::io::stdout().lock();
    if serde_json::to_writer_pretty(&mut out, value).is_ok() {
        writeln!(out).warn_on_err("ending the JSON output");
    }
}

/// The configuration with the match minimum raised to `level` for one call; a level below the
/// configured one is refused (command-line flags may only tighten the configured policy).
fn raise_minimum_level(config: &Config, level: Option<u8>) -> Result<Config, String> {
    let mut asked = config.clone();
    if let Some(level) = level {
        asked.matching.minimum_level = level;
    }
    let looser = kyc_core::config_guard::loosened_by_flags(config, &asked);
    match looser.first() {
        None => Ok(asked),
        Some(_) => Err(format!(
            "--minimum-match-level {} would loosen the configured policy ({}); command-line \
             flags may only tighten it",
            asked.matching.minimum_level,
            looser
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )),
    }
}

/// Commands that decide without an audit store run only inside the safe range: a configuration
/// an administrator confirmed is honoured where it is chained (`verify --record`, the window).
fn refuse_unsafe_unrecorded(config: &Config) -> Result<(), Error> {
    let problems = kyc_core::config_guard::unsafe_values(config);
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::UnsafeConfig {
        reason: format!(
            "{} (a confirmation is honoured by recorded runs: verify --record and the kiosk \
             window)",
            kyc_core::config_guard::refusal(config, &problems)
        ),
    })
}

fn run(cli: Cli) -> Result<i32, Error> {
    // Before the configuration is loaded: a broken configuration is one of doctor's findings.
    if let Some(Command::Doctor(args)) = &cli.command {
        return Ok(kyc_kiosk::cli::doctor::run(cli.config.as_deref(), args));
    }
    let config = Config::load(cli.config.as_deref())?;
    kyc_kiosk::logging::init(&config.logging);
    match cli.command {
        Some(Command::Match {
            a,
            b,
            minimum_match_level,
            json,
        }) => {
            refuse_unsafe_unrecorded(&config)?;
            let config = match raise_minimum_level(&config, minimum_match_level) {
                Ok(c) => c,
                Err(m) => {
                    return Ok(kyc_kiosk::cli::liveness::usage(
                        json,
                        "flag_loosens_policy",
                        m,
                    ));
                }
            };
            let mut pipeline = Pipeline::load(config)?;
            let result = pipeline.match_inputs(Input::File(&a), Input::File(&b))?;
            if json {
                print_json(&result);
            } else {
                let fm = &result.face_match;
                match &fm.reason {
                    Some(reason) => println!("no match computed: {reason}"),
                    None => println!(
                        "{}: confidence {:.1} (threshold {:.1}), cosine {:.3}, match level {}",
                        if fm.outcome.is_match {
                            "MATCH"
                        } else {
                            "NO MATCH"
                        },
                        fm.outcome.confidence,
                        fm.outcome.threshold,
                        fm.outcome.cosine,
                        fm.outcome.match_level
                    ),
                }
            }
            Ok(exit::OK)
        }
        Some(Command::Verify {
            document,
            document_back,
            selfie,
            selfie_frames,
            fps,
            challenge,
            mirrored,
            kiosk,
            minimum_match_level,
            json,
            record,
            db,
            operator,
            customer_type,
            id_type,
            id_number,
            settings,
        }) => {
            let started_ms = kyc_core::record::now_ms();
            // The settings in force: the configuration with the kiosk settings file laid over
            // it, the same thresholds the kiosk window decides with; a per-call minimum match
            // level may only raise them.
            let settings_path = settings.or_else(kyc_core::settings::default_path);
            let in_force = SettingsInForce::load(config, settings_path.as_deref())?;
            let mut config = match raise_minimum_level(&in_force.config, minimum_match_level) {
                Ok(c) => c,
                Err(m) => {
                    return Ok(kyc_kiosk::cli::liveness::usage(
                        json,
                        "flag_loosens_policy",
                        m,
                    ));
                }
            };
            if !record {
                refuse_unsafe_unrecorded(&in_force.config)?;
            }
            if kiosk && selfie.is_some() {
                return Ok(kyc_kiosk::cli::liveness::usage(
                    json,
                    "kiosk_needs_challenge",
                    "--kiosk takes the selfie only from a live challenge (--selfie-frames); a \
                     still selfie file is refused"
                        .into(),
                ));
            }
            // Open the store first: a broken store must stop before any work is done.
            let mut service = if record {
                let audit = VerificationService::store_config(&in_force, db.as_deref());
                // Refuses a configuration outside the safe range that no administrator confirmed.
                let mut svc = VerificationService::open(in_force, audit)?;
                // The fleet policy the kiosk holds governs over the settings: a flag is
                // measured against what is in force with it.
                config = match raise_minimum_level(svc.config(), minimum_match_level) {
                    Ok(c) => c,
                    Err(m) => {
                        return Ok(kyc_kiosk::cli::liveness::usage(
                            json,
                            "flag_loosens_policy",
                            m,
                        ));
                    }
                };
                // Credentials first: nothing is chained for an unknown caller.
                let user =
                    kyc_kiosk::cli::auth::authenticate(svc.store_mut(), operator.as_deref())?;
                svc.sign_in(user);
                svc.tighten(config.clone())?;
                svc.record_settings_in_force("cli-verify", None)?;
                Some(svc)
            } else {
                None
            };
            // A liveness sequence first: it chooses the selfie frame.
            let sequence = match &selfie_frames {
                Some(dir) => {
                    let args = kyc_kiosk::cli::liveness::LivenessArgs {
                        frames: dir.clone(),
                        fps,
                        challenge: challenge.clone(),
                        mirrored,
                        json,
                    };
                    let (liveness, issued) = match kyc_kiosk::cli::liveness::plan(&config, &args)? {
                        Ok(plan) => plan,
                        Err(u) => return Ok(u.report(json)),
                    };
                    Some(kyc_kiosk::cli::liveness::check_folder_outcome(
                        &config, liveness, dir, fps, issued,
                    )?)
                }
                None => None,
            };
            let selfie_capture = match (&selfie, &sequence, &selfie_frames) {
                (Some(path), _, _) => Capture::file(path)?,
                (None, Some(outcome), Some(dir)) => match (&outcome.selfie, &outcome.result.selfie)
                {
                    (Some(img), Some(choice)) => Capture::pixels(
                        format!("{} (frame {})", dir.display(), choice.frame_index),
                        img.clone(),
                    ),
                    // No frame qualified (the liveness block says why): analyse the first.
                    _ => {
                        let files = kyc_kiosk::cli::liveness::frame_files(dir)?;
                        let first = files.first().ok_or_else(|| {
                            Error::Input(kyc_core::error::InputError::NotFound {
                                path: dir.clone(),
                            })
                        })?;
                        let decoded = kyc_core::imaging::decode_file(first, &config.limits)?;
                        Capture::pixels(first.display().to_string(), decoded.rgb)
                    }
                },
                _ => {
                    return Ok(kyc_kiosk::cli::liveness::usage(
                        json,
                        "missing_selfie",
                        "give --selfie <image> or --selfie-frames <dir>".into(),
                    ));
                }
            };
            let claim = Claim {
                customer_type: if customer_type == "business" {
                    kyc_core::audit::CustomerType::Business
                } else {
                    kyc_core::audit::CustomerType::Individual
                },
                country: None,
                id_type,
                id_number,
                started_ms,
            };
            let liveness = sequence.map(|o| o.result);
            let result = match service.as_mut() {
                Some(svc) => {
                    // One path with the kiosk window: the service runs the checks and records.
                    svc.begin(claim)?;
                    svc.capture_document(Capture::file(&document)?)?;
                    svc.capture_document_back(
                        document_back.as_deref().map(Capture::file).transpose()?,
                    )?;
                    svc.capture_selfie(selfie_capture, liveness)?;
                    svc.load_pipeline()?;
                    svc.verify(|_| {})?;
                    let decided = svc.decide(None)?;
                    if let Some(rec) = decided.record.as_ref() {
                        kyc_kiosk::cli::fleet::check_centrally(svc.store_mut(), rec.id);
                    }
                    decided
                }
                None => {
                    let mut pipeline = Pipeline::load(config.clone())?;
                    let limits = config.limits;
                    let (selfie_decoded, _) = selfie_capture.materialise(&limits)?;
                    let mut verification = pipeline.verify_sides(
                        Input::File(&document),
                        document_back.as_deref().map(Input::File),
                        Input::Image(selfie_decoded, selfie_capture.name.clone()),
                        liveness.as_ref(),
                    )?;
                    kyc_core::decision::check_claimed_id(
                        &mut verification.result,
                        claim.id_type.as_deref(),
                        claim.id_number.as_deref(),
                    );
                    verification.result
                }
            };
            if json {
                print_json(&result);
            } else {
                print_verification(&result);
            }
            Ok(exit::OK)
        }
        Some(Command::Detect { image, json }) => {
            let mut pipeline = Pipeline::load(config)?;
            let limits = pipeline.config().limits;
            let decoded = kyc_core::imaging::decode_file(&image, &limits)?;
            let engine = pipeline.face_engine().ok_or_else(|| Error::Inference {
                model: "face_detector".into(),
                message: "not loaded".into(),
            })?;
            let t = Instant::now();
            let faces = engine.detect_all(&decoded.rgb)?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if json {
                #[derive(Serialize)]
                #[serde(rename_all = "camelCase")]
                struct DetectJson {
                    width: u32,
                    height: u32,
                    face_count: usize,
                    faces: Vec<kyc_core::face::detect::FaceBox>,
                    detect_ms: f64,
                }
                print_json(&DetectJson {
                    width: decoded.rgb.width(),
                    height: decoded.rgb.height(),
                    face_count: faces.len(),
                    faces,
                    detect_ms: ms,
                });
            } else {
                println!(
                    "{} face(s) in {}x{}",
                    faces.len(),
                    decoded.rgb.width(),
                    decoded.rgb.height()
                );
                for f in &faces {
                    println!(
                        "  {:.0},{:.0} {:.0}x{:.0} score {:.2}",
                        f.x, f.y, f.width, f.height, f.score
                    );
                }
            }
            Ok(exit::OK)
        }
        Some(Command::Bench { a, b, runs, json }) => {
            let report = kyc_core::bench::bench_match(config, &a, &b, runs)?;
            if json {
                print_json(&report);
            } else {
                println!("{}", report.table());
            }
            Ok(exit::OK)
        }
        Some(Command::Audit(cmd)) => Ok(kyc_kiosk::cli::audit::run(
            cmd.with_config_file(cli.config.clone()),
        )?),
        Some(Command::EvalImpostors { images }) => {
            let report = kyc_core::bench::eval_impostors(config, &images)?;
            print_json(&report);
            Ok(exit::OK)
        }
        Some(Command::EvalFaces {
            truth,
            scores,
            json,
        }) => {
            let report = kyc_core::bench::eval_faces(config, &truth, scores.as_deref())?;
            if json {
                print_json(&report);
            } else {
                println!("{}", report.table());
            }
            Ok(exit::OK)
        }
        Some(Command::Liveness {
            frames,
            fps,
            challenge,
            mirrored,
            json,
        }) => {
            refuse_unsafe_unrecorded(&config)?;
            kyc_kiosk::cli::liveness::run(
                &config,
                &kyc_kiosk::cli::liveness::LivenessArgs {
                    frames,
                    fps,
                    challenge,
                    mirrored,
                    json,
                },
            )
        }
        Some(Command::Document(cmd)) => kyc_kiosk::cli::document::run(&config, cmd),
        Some(Command::Demo) => {
            refuse_unsafe_unrecorded(&config)?;
            demo(config)
        }
        Some(Command::Doctor(args)) => {
            Ok(kyc_kiosk::cli::doctor::run(cli.config.as_deref(), &args))
        }
        Some(Command::Fleet(cmd)) => kyc_kiosk::cli::fleet::run_fleet(cmd),
        Some(Command::Sync(args)) => kyc_kiosk::cli::fleet::run_sync(args),
        Some(Command::Supervisor(args)) => {
            kyc_kiosk::cli::supervisor::run_with_config(args, &config)
        }
        Some(Command::Gui(args)) => {
            kyc_kiosk::gui::run_with(&args, config, Config::source(cli.config.as_deref()))
        }
        None => kyc_kiosk::gui::run_with(
            &kyc_kiosk::gui::GuiArgs::default(),
            config,
            Config::source(cli.config.as_deref()),
        ),
    }
}

fn print_verification(r: &kyc_core::VerificationResult) {
    println!(
        "decision: {:?} (overall confidence {:.1})",
        r.decision, r.overall_confidence
    );
    for reason in &r.reasons {
        println!("  - {}", reason.message);
    }
    println!(
        "document portrait: {}  selfie face: {}  face match: {:.1} / {:.1}",
        if r.document.portrait.usable {
            "found"
        } else {
            "missing"
        },
        if r.face_detection.usable {
            "found"
        } else {
            "missing"
        },
        r.face_match.outcome.confidence,
        r.face_match.outcome.threshold
    );
    if let Some(l) = &r.liveness {
        println!(
            "liveness ({:?}): {}  passive score {}  active challenge {}",
            l.mode,
            if l.is_live { "live" } else { "not live" },
            l.passive
                .score
                .map_or_else(|| "n/a".to_string(), |s| format!("{s:.1}")),
            match &l.active {
                Some(a) if a.passed => "passed",
                Some(_) => "failed",
                None => "not performed",
            }
        );
    }
}

/// A demonstration verification on fetched photos, printed (no window needed).
fn demo(config: Config) -> Result<i32, Error> {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fetched");
    let document = data.join("obama.jpg");
    let selfie = data.join("obama2.jpg");
    println!(
        "kyc-kiosk demo: verifying {} (as the document) against {} (as the selfie)",
        document.display(),
        selfie.display()
    );
    let mut pipeline = Pipeline::load(config)?;
    println!("models loaded and verified in {:.0} ms", pipeline.load_ms);
    let result = pipeline.verify_inputs(Input::File(&document), Input::File(&selfie))?;
    print_verification(&result);
    println!(
        "{}",
        serde_json::to_string_pretty(&result).unwrap_or_default()
    );
    Ok(exit::OK)
}
