//! `kyc-kiosk doctor`: the kiosk's health in one report — cameras, models and runtime, the audit
//! store, free disk, the clock and the configuration in force. The checks themselves live in
//! `kyc_core::health` (and [`check_cameras`] here, beside the camera code), so an
//! administrator's screen can run the same ones; this module only runs them and prints.
//!
//! Exit code: 0 when no check is an error (warnings allowed), [`exit::SETUP`] otherwise.

use std::io::Write;
use std::path::Path;

use kyc_core::config::Config;
use kyc_core::error::exit;
use kyc_core::health::{self, Check, Report, Status};
use kyc_core::imaging::ImageLimits;
use serde_json::json;

use super::audit::StoreArgs;
use crate::gui::capture::{Grabber, NokhwaCamera};

/// Frames read from a camera before giving up on a usable one (the first often are empty).
const FRAME_ATTEMPTS: usize = 15;

/// Arguments of `kyc-kiosk doctor`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DoctorArgs {
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// The audit store to check.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Run every check with the configuration file `config` (or the default lookup), print the
/// report and return the exit code.
#[must_use]
pub fn run(config: Option<&Path>, args: &DoctorArgs) -> i32 {
    let report = checks(config, args);
    let text = if args.json {
        serde_json::to_string_pretty(&report).map_or_else(
            |e| {
                eprintln!("kyc-kiosk: cannot write the report: {e}");
                String::new()
            },
            |t| t + "\n",
        )
    } else {
        plain(&report)
    };
    // A closed pipe (`doctor | head`) is not worth a panic.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if report.status == Status::Error {
        exit::SETUP
    } else {
        exit::OK
    }
}

/// Every check, in report order: configuration, models, store, clock, disk, camera.
#[must_use]
pub fn checks(config: Option<&Path>, args: &DoctorArgs) -> Report {
    let source = Config::source(config);
    let loaded = Config::load(config);
    let store_cfg = super::audit::config(&args.store);
    let mut out = core_checks(source.as_deref(), &loaded, &store_cfg);
    out.push(check_cameras(loaded.unwrap_or_default().limits));
    Report::new(out)
}

/// Every check but the camera, in report order: configuration (`source` is the file `loaded`
/// came from), models, store, clock, disk. The kiosk window's System tab runs these too, with
/// its own camera check (the window holds the camera).
#[must_use]
pub fn core_checks(
    source: Option<&Path>,
    loaded: &kyc_core::Result<Config>,
    store_cfg: &kyc_core::audit::AuditConfig,
) -> Vec<Check> {
    let mut out = vec![health::check_config(source, loaded)];
    let config = loaded.as_ref().cloned().unwrap_or_default();
    let models_dir = config
        .models_dir
        .clone()
        .unwrap_or_else(kyc_core::models::models_dir);
    out.push(health::check_models(&models_dir, config.threads));
    let (store, newest) = health::check_store(store_cfg);
    out.push(store);
    out.push(health::check_clock(
        kyc_core::record::now_ms(),
        health::build_epoch_secs(),
        newest,
    ));
    out.push(health::check_disk(&health::state_dir(store_cfg)));
    out
}

/// The cameras the system lists, and one frame grabbed from the first; no camera is a warning
/// (a kiosk may work from imported files), a listed camera that gives no frame is an error.
#[must_use]
pub fn check_cameras(limits: ImageLimits) -> Check {
    let cams = match nokhwa::query(nokhwa::utils::ApiBackend::Auto) {
        Ok(c) => c,
        Err(e) => {
            return Check::new(
                "camera",
                Status::Warning,
                format!("cameras cannot be listed ({e}): only imported files can be verified"),
                json!({"cameras": []}),
            );
        }
    };
    let mut listed: Vec<(u32, String)> = cams
        .iter()
        .filter_map(|c| c.index().as_index().ok().map(|i| (i, c.human_name())))
        .collect();
    listed.sort_by_key(|(i, _)| *i);
    let cameras: Vec<_> = listed
        .iter()
        .map(|(index, name)| json!({"index": index, "name": name}))
        .collect();
    let Some((index, name)) = listed.first() else {
        return Check::new(
            "camera",
            Status::Warning,
            "no camera found: only imported files can be verified",
            json!({"cameras": cameras}),
        );
    };
    match grab_one(*index, limits) {
        Ok((w, h)) => Check::new(
            "camera",
            Status::Ok,
            format!(
                "{} camera(s); camera {index} ({name}) gave a {w}x{h} frame",
                listed.len()
            ),
            json!({"cameras": cameras, "frame": {"camera": index, "width": w, "height": h}}),
        ),
        Err(e) => Check::new(
            "camera",
            Status::Error,
            format!(
                "camera {index} ({name}) gave no frame: {e} (is the kiosk window using it? close it first)"
            ),
            json!({"cameras": cameras, "frame": null}),
        ),
    }
}

/// Open camera `index`, read until one frame decodes; its size.
fn grab_one(index: u32, limits: ImageLimits) -> Result<(u32, u32), String> {
    let mut cam = NokhwaCamera::open(index, None, limits)?;
    for _ in 0..FRAME_ATTEMPTS {
        if let Some(frame) = cam.grab()? {
            return Ok((frame.rgb.width(), frame.rgb.height()));
        }
    }
    Err(format!("{FRAME_ATTEMPTS} frames read, none usable"))
}

/// The report in plain words: one line per check, then the verdict.
#[must_use]
pub fn plain(report: &Report) -> String {
    let mut s = format!(
        "kyc-kiosk doctor: version {}, built {}\n",
        report.version, report.build_date
    );
    for c in &report.checks {
        s.push_str(&format!(
            "  {:<8} {:<7} {}\n",
            c.status.label(),
            c.id,
            c.summary
        ));
    }
    if let Some(values) = report.check("config").and_then(|c| c.details.get("values")) {
        s.push_str("\nconfiguration in force:\n");
        flatten("", values, &mut s);
    }
    let (errors, warnings) = (report.count(Status::Error), report.count(Status::Warning));
    s.push_str(&match (errors, warnings) {
        (0, 0) => "\nAll checks passed.\n".to_string(),
        (0, w) => format!("\nNo errors; {w} warning(s) to look at.\n"),
        (e, _) => format!("\n{e} error(s): the kiosk needs attention before use.\n"),
    });
    s
}

/// One `key = value` line per leaf of `value`, keys dotted (`decision.approveAt = 70.0`).
fn flatten(prefix: &str, value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        serde_json::Value::Null => out.push_str(&format!("  {prefix} = (default)\n")),
        leaf => out.push_str(&format!("  {prefix} = {leaf}\n")),
    }
}
