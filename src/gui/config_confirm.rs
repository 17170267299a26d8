//! The configuration's confirmation in the window. A configuration outside the safe range
//! (`kyc_core::config_guard`) keeps the kiosk from opening its service — the command line exits
//! 4, `unsafe_config` — until an administrator confirms exactly its hash. The window shows the
//! lax keys with their safe ranges and the hash, and takes an administrator's username and
//! password again; the worker then makes the same calls as `kyc-kiosk audit confirm-config`
//! (sign in on the store, `AuditStore::confirm_config`, chained as `config_override_confirmed`,
//! sign out) and opens the service. The store refuses anyone but an active administrator, so
//! an agent or a supervisor gets the store's refusal and nothing is chained.
//!
//! Signed in, an administrator sees the same facts on the System tab: the hash in force, and
//! either "inside the safe range" or the unsafe keys with who confirmed them.

use eframe::egui::{self, RichText};
use kyc_core::audit::ConfigConfirmation;
use kyc_core::config_guard::UnsafeValue;

use super::evidence_text::text;
use super::messages::Job;
use super::state::AppState;

/// What the worker says about the configuration in force.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigReview {
    /// sha256 of the canonical configuration.
    pub hash: String,
    /// Values outside the safe range (empty: a safe configuration).
    pub problems: Vec<UnsafeValue>,
    /// The administrator's confirmation it runs under, when it is unsafe and confirmed.
    pub confirmed: Option<ConfigConfirmation>,
}

impl ConfigReview {
    /// The configuration is unsafe and nobody confirmed it: the kiosk waits for an
    /// administrator.
    #[must_use]
    pub fn needs_confirmation(&self) -> bool {
        !self.problems.is_empty() && self.confirmed.is_none()
    }
}

/// The confirmation form's state.
#[derive(Debug, Default)]
pub struct ConfirmState {
    /// The configuration in force, once the worker has told.
    pub review: Option<ConfigReview>,
    /// The administrator's username.
    pub username: String,
    /// Their password (cleared once sent).
    pub password: String,
    /// Waiting for the worker.
    pub busy: bool,
    /// The last answer: confirmed (`Ok`, the event's sequence and who) or refused (`Err`).
    pub answer: Option<Result<String, String>>,
}

impl ConfirmState {
    /// The job confirming the configuration under review, when the form is complete.
    pub fn submit(&mut self) -> Option<Job> {
        let review = self.review.as_ref()?;
        if self.busy || self.username.trim().is_empty() || self.password.is_empty() {
            return None;
        }
        self.busy = true;
        self.answer = None;
        Some(Job::ConfirmConfig {
            username: self.username.trim().to_string(),
            password: std::mem::take(&mut self.password),
            hash: review.hash.clone(),
        })
    }

    /// The worker's answer: `Ok(review)` with the configuration now in force (confirmed), or
    /// the refusal.
    pub fn answered(&mut self, answer: Result<ConfigReview, String>) {
        self.busy = false;
        self.answer = Some(match answer {
            Ok(review) => {
                let line = review
                    .confirmed
                    .as_ref()
                    .map_or_else(String::new, |c| format!("{} (event {})", c.by, c.seq));
                self.review = Some(review);
                Ok(line)
            }
            Err(e) => Err(e),
        });
    }
}

/// The unsafe keys, their values in force and their safe ranges, and the hash.
fn facts(ui: &mut egui::Ui, st: &AppState, review: &ConfigReview) {
    let t = text(st.lang);
    if !review.problems.is_empty() {
        egui::Grid::new("config_unsafe")
            .striped(true)
            .num_columns(3)
            .show(ui, |ui| {
                for h in [t.config_key, t.config_value, t.config_safe] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for p in &review.problems {
                    ui.label(RichText::new(&p.key).monospace());
                    ui.label(RichText::new(&p.value).strong());
                    ui.add(egui::Label::new(&p.safe).wrap());
                    ui.end_row();
                }
            });
    }
    ui.label(format!("{}:", t.config_hash));
    ui.label(RichText::new(&review.hash).monospace());
}

/// The confirmation form (shown while the kiosk waits for it).
fn form(ui: &mut egui::Ui, st: &mut AppState, jobs: &mut Vec<Job>) {
    let t = text(st.lang);
    let c = &mut st.admin.system.confirm;
    ui.label(RichText::new(t.config_admin_only).italics());
    let l = ui.label(t.config_username);
    ui.add(egui::TextEdit::singleline(&mut c.username).desired_width(280.0))
        .labelled_by(l.id);
    let l = ui.label(t.config_password);
    ui.add(
        egui::TextEdit::singleline(&mut c.password)
            .password(true)
            .desired_width(280.0),
    )
    .labelled_by(l.id);
    ui.horizontal(|ui| {
        let ready = !c.busy && !c.username.trim().is_empty() && !c.password.is_empty();
        if super::view::big_button(ui, t.config_confirm, ready)
            && let Some(job) = c.submit()
        {
            jobs.push(job);
        }
        if c.busy {
            ui.spinner();
        }
    });
}

fn answer(ui: &mut egui::Ui, st: &AppState) {
    let t = text(st.lang);
    match &st.admin.system.confirm.answer {
        Some(Ok(by)) => {
            ui.label(
                RichText::new(format!("{} — {by}", t.config_confirmed))
                    .strong()
                    .color(egui::Color32::from_rgb(40, 150, 70)),
            );
        }
        Some(Err(e)) => super::view::error_text(ui, e),
        None => {}
    }
}

/// Before anyone can sign in: the configuration waiting for an administrator, with the form;
/// `true` when it is waiting (the sign-in form is not shown then). Once confirmed, the answer
/// line only, above the sign-in form.
pub fn waiting_panel(ui: &mut egui::Ui, st: &mut AppState, jobs: &mut Vec<Job>) -> bool {
    let Some(review) = st.admin.system.confirm.review.clone() else {
        return false;
    };
    if !review.needs_confirmation() {
        answer(ui, st);
        return false;
    }
    let t = text(st.lang);
    ui.label(RichText::new(t.config_title).size(22.0).strong());
    ui.add(egui::Label::new(t.config_explain).wrap());
    facts(ui, st, &review);
    form(ui, st, jobs);
    answer(ui, st);
    true
}

/// The System tab's section on the configuration in force.
pub fn system_section(ui: &mut egui::Ui, st: &AppState) {
    let Some(review) = st.admin.system.confirm.review.as_ref() else {
        return;
    };
    let t = text(st.lang);
    match (&review.confirmed, review.problems.is_empty()) {
        (_, true) => {
            ui.label(RichText::new(t.config_safe_now).strong());
        }
        (Some(c), false) => {
            ui.label(
                RichText::new(format!(
                    "{} {} (event {})",
                    t.config_confirmed_by, c.by, c.seq
                ))
                .strong()
                .color(egui::Color32::from_rgb(200, 130, 0)),
            );
        }
        (None, false) => {
            ui.label(RichText::new(t.config_title).strong());
        }
    }
    facts(ui, st, review);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(confirmed: bool) -> ConfigReview {
        ConfigReview {
            hash: "ab".repeat(32),
            problems: vec![UnsafeValue {
                key: "duplicates.search".into(),
                value: "false".into(),
                safe: "true".into(),
            }],
            confirmed: confirmed.then(|| ConfigConfirmation {
                seq: 7,
                ts_ms: 0,
                by: "root".into(),
            }),
        }
    }

    #[test]
    fn the_form_needs_a_name_and_a_password_and_sends_the_hash_under_review() {
        let mut c = ConfirmState {
            username: "root".into(),
            password: "x".into(),
            ..ConfirmState::default()
        };
        assert!(c.submit().is_none(), "nothing under review");
        c.review = Some(review(false));
        assert!(c.review.as_ref().unwrap().needs_confirmation());
        c.password.clear();
        assert!(c.submit().is_none(), "no password");
        c.password = "admin-pass-1".into();
        match c.submit() {
            Some(Job::ConfirmConfig {
                username,
                password,
                hash,
            }) => {
                assert_eq!(username, "root");
                assert_eq!(password, "admin-pass-1");
                assert_eq!(hash, "ab".repeat(32));
            }
            _ => panic!("a confirm job"),
        }
        assert!(c.password.is_empty(), "the password is not kept");
        assert!(c.busy && c.submit().is_none(), "one at a time");
        c.answered(Err("refused".into()));
        assert!(!c.busy);
        assert_eq!(c.answer, Some(Err("refused".into())));
        c.answered(Ok(review(true)));
        assert!(!c.review.as_ref().unwrap().needs_confirmation());
        assert_eq!(c.answer, Some(Ok("root (event 7)".into())));
    }
}
