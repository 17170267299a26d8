//! The System tab (administrators): the checks of `kyc-kiosk doctor` — configuration, models
//! and runtime, the audit store's integrity and chain, clock, free disk — run on a short-lived
//! thread (they hash models, open sessions and walk the chain), with the window's own camera
//! check: the window holds the camera, so its check is what the window sees (a live source
//! giving frames, none, or one that fails). Shown plainly, one row per check, with a re-run
//! button.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};

use eframe::egui::{self, Color32, RichText};
use kyc_core::audit::AuditConfig;
use kyc_core::config::Config;
use kyc_core::health::{Check, Report, Status};
use kyc_core::logs::WarnOnErr;
use serde_json::json;

use super::admin_model::AdminTab;
use super::state::AppState;
use super::strings::{Lang, Strings};

/// What the checks need: the configuration in force, the file it came from, the store.
#[derive(Debug, Clone)]
pub struct HealthInputs {
    /// The configuration in force.
    pub config: Config,
    /// The configuration file it was read from (`None`: the defaults).
    pub config_path: Option<PathBuf>,
    /// The audit store's settings.
    pub audit: AuditConfig,
}

/// The window's camera as it sees it (updated every frame by the app).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CameraSeen {
    /// The live source, as `--source` takes it (`None`: imported files only).
    pub source: Option<String>,
    /// The newest frame's size, once frames arrive.
    pub frame: Option<(u32, u32)>,
    /// The source's error, if it failed or is being reopened.
    pub error: Option<String>,
}

/// The System tab's state.
#[derive(Default)]
pub struct SystemState {
    /// Inputs (set by the app at start).
    pub inputs: Option<HealthInputs>,
    /// The window's camera.
    pub camera: CameraSeen,
    /// The last report.
    pub report: Option<Report>,
    /// The configuration in force and its confirmation form.
    pub confirm: super::config_confirm::ConfirmState,
    running: Option<Receiver<Report>>,
    /// The checks' thread: they load every model through ONNX Runtime, so the window waits
    /// for it when it closes (the runtime torn down at exit under a thread still creating
    /// sessions crashes the process).
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for SystemState {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            kyc_core::logs::join_or_warn(t, "waiting for the health checks");
        }
    }
}

impl std::fmt::Debug for SystemState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemState")
            .field("camera", &self.camera)
            .field("report", &self.report.as_ref().map(|r| r.status))
            .field("running", &self.running.is_some())
            .finish_non_exhaustive()
    }
}

impl SystemState {
    /// Whether checks are running.
    #[must_use]
    pub fn running(&self) -> bool {
        self.running.is_some()
    }

    /// Start the checks on their own thread (nothing when they are running already).
    pub fn run(&mut self) {
        if self.running.is_some() {
            return;
        }
        let Some(inputs) = self.inputs.clone() else {
            return;
        };
        let camera = camera_check(&self.camera);
        let (tx, rx) = channel();
        let spawned = std::thread::Builder::new()
            .name("kyc-health".into())
            .spawn(move || {
                let mut checks = crate::cli::doctor::core_checks(
                    inputs.config_path.as_deref(),
                    &Ok(inputs.config.clone()),
                    &inputs.audit,
                );
                checks.push(camera);
                tx.send(Report::new(checks))
                    .warn_on_err("handing the health report to the window");
            });
        match spawned {
            Ok(handle) => {
                // The previous run's thread has answered already (`running` was empty).
                if let Some(done) = self.thread.replace(handle) {
                    kyc_core::logs::join_or_warn(done, "the previous health checks");
                }
                self.running = Some(rx);
            }
            Err(e) => tracing::warn!(error = %e, "cannot start the health checks"),
        }
    }

    /// Take the report once the thread has answered.
    pub fn poll(&mut self) {
        if let Some(rx) = &self.running {
            match rx.try_recv() {
                Ok(report) => {
                    self.report = Some(report);
                    self.running = None;
                }
                Err(std::sync::mpsc::TryRecvError::Disconnected) => self.running = None,
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
            }
        }
    }
}

/// The camera check from what the window sees: frames arriving is OK; no live source is a
/// warning (the kiosk verifies imported files); a source that fails is an error (as doctor
/// reports a camera that gives no frame); no frame yet is a warning.
#[must_use]
pub fn camera_check(seen: &CameraSeen) -> Check {
    let details = json!({
        "source": seen.source,
        "frame": seen.frame.map(|(w, h)| json!({"width": w, "height": h})),
        "error": seen.error,
    });
    match (&seen.source, seen.frame, &seen.error) {
        (None, _, _) => Check::new(
            "camera",
            Status::Warning,
            "no camera in use: only imported files can be verified",
            details,
        ),
        (Some(src), _, Some(e)) => Check::new(
            "camera",
            Status::Error,
            format!("{src} gives no frame: {e}"),
            details,
        ),
        (Some(src), Some((w, h)), None) => Check::new(
            "camera",
            Status::Ok,
            format!("{src} gives {w}x{h} frames"),
            details,
        ),
        (Some(src), None, None) => Check::new(
            "camera",
            Status::Warning,
            format!("{src} has given no frame yet"),
            details,
        ),
    }
}

/// Show the System tab and run the checks the first time.
pub fn open(st: &mut AppState) {
    st.admin.tab = AdminTab::System;
    if st.admin.system.report.is_none() {
        st.admin.system.run();
    }
}

/// A check's name in the UI language.
#[must_use]
pub fn check_name(lang: Lang, id: &str) -> String {
    let (en, fr) = match id {
        "config" => ("Configuration", "Configuration"),
        "models" => ("Models and runtime", "Modèles et moteur"),
        "store" => ("Audit store", "Registre d'audit"),
        "clock" => ("Clock", "Horloge"),
        "disk" => ("Free disk", "Disque libre"),
        "camera" => ("Camera", "Caméra"),
        other => (other, other),
    };
    match lang {
        Lang::En => en.to_string(),
        Lang::Fr => fr.to_string(),
    }
}

fn status_word(s: &Strings, status: Status) -> &'static str {
    match status {
        Status::Ok => s.status_ok,
        Status::Warning => s.status_warning,
        Status::Error => s.status_error,
    }
}

fn status_color(status: Status) -> Color32 {
    match status {
        Status::Ok => Color32::from_rgb(40, 150, 70),
        Status::Warning => Color32::from_rgb(200, 130, 0),
        Status::Error => Color32::from_rgb(210, 50, 50),
    }
}

/// The System tab.
pub fn draw(ui: &mut egui::Ui, st: &mut AppState) {
    let s = st.lang.s();
    let lang = st.lang;
    super::config_confirm::system_section(ui, st);
    let sys = &mut st.admin.system;
    sys.poll();
    ui.label(RichText::new(s.system_title).strong());
    ui.horizontal(|ui| {
        if ui
            .add_enabled(
                !sys.running(),
                egui::Button::new(RichText::new(s.system_rerun).size(21.0))
                    .min_size(egui::Vec2::new(220.0, 48.0)),
            )
            .clicked()
        {
            sys.run();
        }
        if sys.running() {
            ui.spinner();
            ui.label(s.system_running);
        }
    });
    let Some(report) = &sys.report else {
        return;
    };
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("{}:", s.system_overall)).strong());
        ui.label(
            RichText::new(status_word(s, report.status))
                .color(status_color(report.status))
                .strong(),
        );
        ui.label(format!(
            "— kyc-kiosk {} ({}) — {} {}",
            report.version,
            report.build_date,
            s.system_checked_at,
            super::receipt::utc_text(report.checked_at_ms)
        ));
    });
    // One row per check: the name and status in fixed columns, the finding wrapped in the rest
    // of the width (a grid would squeeze the finding into the width of its header).
    let (name_w, status_w) = (230.0, 110.0);
    let row = |ui: &mut egui::Ui, name: RichText, status: RichText, finding: &str| {
        ui.horizontal_top(|ui| {
            cell(ui, name_w, |ui| {
                ui.add(egui::Label::new(name).wrap());
            });
            cell(ui, status_w, |ui| {
                ui.label(status);
            });
            let rest = ui.available_width();
            cell(ui, rest, |ui| {
                ui.add(egui::Label::new(finding).wrap());
            });
        });
    };
    row(
        ui,
        RichText::new(s.system_check).strong(),
        RichText::new(s.system_status).strong(),
        s.system_summary,
    );
    egui::ScrollArea::vertical()
        .id_salt("system_checks")
        .max_height(ui.available_height() - 8.0)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            for (i, c) in report.checks.iter().enumerate() {
                let fill = if i % 2 == 0 {
                    ui.visuals().faint_bg_color
                } else {
                    egui::Color32::TRANSPARENT
                };
                egui::Frame::new()
                    .fill(fill)
                    .inner_margin(egui::Margin::symmetric(0, 6))
                    .show(ui, |ui| {
                        row(
                            ui,
                            RichText::new(check_name(lang, &c.id)),
                            RichText::new(status_word(s, c.status))
                                .color(status_color(c.status))
                                .strong(),
                            &c.summary,
                        );
                    });
            }
        });
}

/// A column `width` wide, laid out top to bottom, for one cell of a row.
fn cell(ui: &mut egui::Ui, width: f32, add: impl FnOnce(&mut egui::Ui)) {
    ui.allocate_ui_with_layout(
        egui::vec2(width, 0.0),
        egui::Layout::top_down(egui::Align::Min),
        |ui| {
            ui.set_width(width);
            add(ui);
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_camera_check_follows_what_the_window_sees() {
        let mut seen = CameraSeen::default();
        assert_eq!(camera_check(&seen).status, Status::Warning);
        seen.source = Some("camera:0".into());
        assert_eq!(camera_check(&seen).status, Status::Warning);
        seen.frame = Some((1280, 720));
        let ok = camera_check(&seen);
        assert_eq!(ok.status, Status::Ok);
        assert!(ok.summary.contains("1280x720"), "{}", ok.summary);
        seen.error = Some("device lost".into());
        let bad = camera_check(&seen);
        assert_eq!(bad.status, Status::Error);
        assert!(bad.summary.contains("device lost"));
        assert_eq!(bad.details["source"], "camera:0");
    }
}
