//! `kyc-kiosk liveness`: run a recorded frame sequence through a challenge.

use std::path::{Path, PathBuf};

use serde::Serialize;

use kyc_core::config::Config;
use kyc_core::error::{Error, InputError, Result, exit};
use kyc_core::imaging;
use kyc_core::inference::Runtime;
use kyc_core::liveness::challenge::{Challenge, Step};
use kyc_core::liveness::{LivenessChecker, LivenessConfig, LivenessOutcome, LivenessResult};
use kyc_core::models;

/// Arguments of the `liveness` command.
#[derive(Debug, Clone)]
pub struct LivenessArgs {
    /// Folder of frames (PNG/JPEG), taken in file-name order.
    pub frames: PathBuf,
    /// Frames per second of the sequence (frame i is at i × 1000 / fps ms).
    pub fps: f64,
    /// Comma-separated steps; `None` issues a random challenge.
    pub challenge: Option<String>,
    /// The frames are mirrored (a selfie preview).
    pub mirrored: bool,
    /// Print the JSON result.
    pub json: bool,
}

#[derive(Serialize)]
struct ErrorBody {
    code: &'static str,
    message: String,
}

#[derive(Serialize)]
struct ErrorJson {
    error: ErrorBody,
}

/// Print a usage error (stderr, and a JSON error object when `json`); returns the exit code.
pub fn usage(json: bool, code: &'static str, message: String) -> i32 {
    eprintln!("kyc-kiosk: {message}");
    if json {
        let body = ErrorJson {
            error: ErrorBody { code, message },
        };
        if let Ok(text) = serde_json::to_string_pretty(&body) {
            println!("{text}");
        }
    }
    exit::USAGE
}

/// Parse `turnLeft,lookUp,…` into steps.
///
/// # Errors
/// The first name that is not a step.
pub fn parse_steps(text: &str) -> std::result::Result<Vec<Step>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            Step::parse(s).ok_or_else(|| {
                format!(
                    "unknown challenge step `{s}`; use {}",
                    Step::ALL.map(Step::name).join(", ")
                )
            })
        })
        .collect()
}

/// The frame files of a folder (PNG/JPEG by extension), sorted by name.
///
/// # Errors
/// When the folder is missing or unreadable.
pub fn frame_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(Error::Input(InputError::NotFound {
            path: dir.to_path_buf(),
        }));
    }
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        context: format!("reading {}", dir.display()),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(std::result::Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .is_some_and(|e| matches!(e.as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Run the check on a folder of frames; returns the result (no printing).
///
/// # Errors
/// Bad frames, missing models, inference failures.
pub fn check_folder(
    config: &Config,
    liveness: LivenessConfig,
    dir: &Path,
    fps: f64,
    challenge: Challenge,
) -> Result<LivenessResult> {
    check_folder_outcome(config, liveness, dir, fps, challenge).map(|o| o.result)
}

/// As [`check_folder`], also giving the chosen selfie frame's pixels (for `verify`).
///
/// # Errors
/// As [`check_folder`].
pub fn check_folder_outcome(
    config: &Config,
    liveness: LivenessConfig,
    dir: &Path,
    fps: f64,
    challenge: Challenge,
) -> Result<LivenessOutcome> {
    let files = frame_files(dir)?;
    let runtime = Runtime::open(&config.models_dir.clone().unwrap_or_else(models::models_dir))?;
    let mut checker = LivenessChecker::load(&runtime, config.face, liveness, config.threads)?;
    let times = frame_times(dir, files.len(), fps).map_err(|message| Error::Io {
        context: format!("reading {}", dir.join(TIMESTAMPS_FILE).display()),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, message),
    })?;
    let mut session = checker.start(challenge);
    for (file, t_ms) in files.iter().zip(times) {
        let decoded = imaging::decode_file(file, &config.limits)?;
        session.push_frame(&mut checker, &decoded.rgb, t_ms)?;
    }
    Ok(session.finish(&checker))
}

/// Optional file in a frame folder: each frame's capture time in milliseconds, one a line, in
/// file-name order. When present the times are measured ones and `--fps` is not used for them.
pub const TIMESTAMPS_FILE: &str = "timestamps.txt";

/// The capture time (ms) of each of `count` frames in `dir`: from [`TIMESTAMPS_FILE`] when the
/// folder has one, else frame i at i × 1000 / `fps`.
///
/// # Errors
/// In words, when the file cannot be read, a line is not a number, or the count differs.
pub fn frame_times(dir: &Path, count: usize, fps: f64) -> std::result::Result<Vec<f64>, String> {
    let path = dir.join(TIMESTAMPS_FILE);
    if !path.is_file() {
        return Ok((0..count).map(|i| i as f64 * 1000.0 / fps).collect());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let times = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .enumerate()
        .map(|(i, l)| {
            l.parse::<f64>()
                .ok()
                .filter(|t| t.is_finite())
                .ok_or_else(|| {
                    format!(
                        "{}: entry {} `{l}` is not a time in ms",
                        path.display(),
                        i + 1
                    )
                })
        })
        .collect::<std::result::Result<Vec<f64>, String>>()?;
    if times.len() != count {
        return Err(format!(
            "{}: {} times for {count} frames",
            path.display(),
            times.len()
        ));
    }
    Ok(times)
}

/// A usage error in a sequence's arguments (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// Stable code: `invalid_fps`, `invalid_challenge`, `invalid_timestamps`, `no_frames`.
    pub code: &'static str,
    /// In words.
    pub message: String,
}

impl Usage {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Print it (stderr, and a JSON error object when `json`); returns the exit code.
    #[must_use]
    pub fn report(self, json: bool) -> i32 {
        usage(json, self.code, self.message)
    }
}

/// Check a sequence's arguments and settle the settings and the challenge to run; `Ok(Err(_))`
/// is a usage error (bad fps, unknown step, a folder without frames).
///
/// # Errors
/// When the folder is missing or unreadable.
pub fn plan(
    config: &Config,
    args: &LivenessArgs,
) -> Result<std::result::Result<(LivenessConfig, Challenge), Usage>> {
    if !(args.fps.is_finite() && args.fps > 0.0 && args.fps <= 1000.0) {
        return Ok(Err(Usage::new(
            "invalid_fps",
            format!("--fps must be between 0 and 1000, got {}", args.fps),
        )));
    }
    let liveness = LivenessConfig {
        challenge: kyc_core::liveness::challenge::ChallengeConfig {
            mirrored: args.mirrored,
            ..config.liveness.challenge
        },
        ..config.liveness
    };
    let challenge = match &args.challenge {
        Some(text) => match parse_steps(text) {
            Ok(steps) if !steps.is_empty() => Challenge::with_steps(steps, &liveness.challenge),
            Ok(_) => {
                return Ok(Err(Usage::new(
                    "invalid_challenge",
                    "--challenge names no step",
                )));
            }
            Err(message) => return Ok(Err(Usage::new("invalid_challenge", message))),
        },
        None => Challenge::random(&liveness.challenge),
    };
    let files = frame_files(&args.frames)?;
    if let Err(message) = frame_times(&args.frames, files.len(), args.fps) {
        return Ok(Err(Usage::new("invalid_timestamps", message)));
    }
    if files.is_empty() {
        return Ok(Err(Usage::new(
            "no_frames",
            format!(
                "{}: no PNG or JPEG frames in the folder",
                args.frames.display()
            ),
        )));
    }
    Ok(Ok((liveness, challenge)))
}

/// The command: returns the process exit code.
///
/// # Errors
/// As [`check_folder`].
pub fn run(config: &Config, args: &LivenessArgs) -> Result<i32> {
    let (liveness, challenge) = match plan(config, args)? {
        Ok(plan) => plan,
        Err(u) => return Ok(u.report(args.json)),
    };
    let result = check_folder(config, liveness, &args.frames, args.fps, challenge)?;
    if args.json {
        if let Ok(text) = serde_json::to_string_pretty(&result) {
            println!("{text}");
        }
    } else {
        print_text(&result);
    }
    Ok(exit::OK)
}

fn print_text(r: &LivenessResult) {
    println!(
        "liveness: {:?} (challenge {}, nonce {})",
        r.decision,
        r.challenge
            .steps
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(","),
        r.challenge.nonce
    );
    for s in &r.active.steps {
        println!(
            "  step {:<10} {:?} started {:?} ms, completed {:?} ms, peak {:?}",
            s.step.name(),
            s.status,
            s.started_ms,
            s.completed_ms,
            s.peak
        );
    }
    println!(
        "  passive: median score {:?} over {} frames (threshold {:.0}) → {}",
        r.passive.score,
        r.passive.frames,
        r.passive.threshold,
        if r.passive.is_live {
            "live"
        } else {
            "not live"
        }
    );
    if let Some(s) = &r.selfie {
        println!(
            "  selfie: frame {} at {:.0} ms, sharpness {:.1}",
            s.frame_index, s.t_ms, s.sharpness
        );
    }
    for reason in &r.reasons {
        println!("  - {}", reason.message);
    }
}
