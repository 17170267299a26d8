//! First-run set-up in the window: when the audit store has no administrator, the kiosk asks for
//! its name/ID and branch, creates the first administrator (the store's one-time step and
//! password policy, as `kyc-kiosk audit create-admin`), tests the camera — a missing camera is a
//! warning, the kiosk can still verify imported files — and continues to sign-in.
//!
//! The form and its rules are pure (unit-tested without a window); [`draw`] is the screen.

use eframe::egui::{self, Color32, RichText, Vec2};
use kyc_core::settings::check_label;

use super::messages::{AdminJob, FirstRunField, Job, SettingsNotice};
use super::settings_file::KioskSettings;
use super::state::{AppState, Screen};
use super::view::{self, UiState};

/// The set-up's steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetupStep {
    /// The kiosk's name/ID and branch.
    #[default]
    Identity,
    /// The first administrator.
    Admin,
    /// The camera test.
    Camera,
}

/// The first-run form.
#[derive(Debug, Clone, Default)]
pub struct SetupForm {
    /// Step showing.
    pub step: SetupStep,
    /// The kiosk's name or ID.
    pub kiosk_id: String,
    /// The branch.
    pub branch: String,
    /// The first administrator's username.
    pub username: String,
    /// Their password.
    pub password: String,
    /// The password again.
    pub password2: String,
    /// Problems, each next to its field.
    pub errors: Vec<(FirstRunField, String)>,
    /// Waiting for the worker.
    pub busy: bool,
    /// The administrator created (the sign-in screen starts with their name).
    pub created: Option<String>,
    /// Where the kiosk's identity was saved, or why not.
    pub notice: Option<SettingsNotice>,
}

impl SetupForm {
    /// The message for `field`, if any.
    #[must_use]
    pub fn error(&self, field: FirstRunField) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// Whether the window should show the set-up: the store is open and has no administrator.
#[must_use]
pub fn needed(st: &AppState) -> bool {
    matches!(
        st.store,
        super::state::StoreStatus::Ready {
            has_admin: false,
            ..
        }
    )
}

/// Check the kiosk's name/ID and branch and move on to the administrator.
pub fn next_identity(st: &mut AppState) -> bool {
    let f = &mut st.setup;
    f.errors.clear();
    if let Err(e) = check_label("kiosk name/ID", f.kiosk_id.trim()) {
        f.errors.push((FirstRunField::KioskId, e));
    }
    if let Err(e) = check_label("branch", f.branch.trim()) {
        f.errors.push((FirstRunField::Branch, e));
    }
    if f.errors.is_empty() {
        f.step = SetupStep::Admin;
        true
    } else {
        false
    }
}

/// Check the administrator's form (name given, passwords agree and meet the store's policy)
/// and ask the worker to create them and record the kiosk's identity.
pub fn create_admin(st: &mut AppState) -> Option<Job> {
    let before = st.admin.current.clone()?;
    let f = &mut st.setup;
    if f.busy || f.step != SetupStep::Admin {
        return None;
    }
    f.errors.clear();
    let username = f.username.trim().to_string();
    if username.is_empty() {
        f.errors
            .push((FirstRunField::Username, "enter a username".into()));
    }
    if let Err(e) = super::admin_model::check_password(&f.password, &f.password2) {
        f.errors.push((FirstRunField::Password, e));
    }
    if !f.errors.is_empty() {
        return None;
    }
    let after = KioskSettings {
        kiosk_id: Some(f.kiosk_id.trim().to_string()),
        branch: Some(f.branch.trim().to_string()),
        ..before.clone()
    };
    f.busy = true;
    let password = std::mem::take(&mut f.password);
    f.password2.clear();
    Some(Job::Admin(AdminJob::FirstRun {
        username,
        password,
        before: Box::new(before),
        after: Box::new(after),
        file: st.admin.settings_file.clone(),
    }))
}

/// The worker created the administrator: the store has one now, the kiosk's identity is in
/// force, and the camera test comes next.
pub fn done(st: &mut AppState, username: String, settings: KioskSettings, notice: SettingsNotice) {
    let f = &mut st.setup;
    f.busy = false;
    f.errors.clear();
    f.created = Some(username);
    f.notice = Some(notice);
    f.step = SetupStep::Camera;
    if let super::state::StoreStatus::Ready { has_admin, .. } = &mut st.store {
        *has_admin = true;
    }
    let config = st.admin.config.clone();
    st.admin.set_current(settings.clone(), config);
    st.admin.applied = Some(settings);
}

/// The worker refused: the message goes next to its field.
pub fn failed(st: &mut AppState, field: FirstRunField, message: String) {
    let f = &mut st.setup;
    f.busy = false;
    f.errors = vec![(field, message)];
}

/// Leave the set-up for the sign-in screen, the new administrator's name filled in.
pub fn finish(st: &mut AppState) {
    if st.setup.step != SetupStep::Camera {
        return;
    }
    st.login.username = st.setup.created.clone().unwrap_or_default();
    st.setup = SetupForm::default();
    st.screen = Screen::Login;
}

/// The set-up screen.
pub fn draw(ui: &mut egui::Ui, st: &mut AppState, us: &UiState, has_source: bool) -> Vec<Job> {
    let s = st.lang.s();
    let mut jobs = Vec::new();
    ui.heading(s.setup_title);
    let steps = [s.setup_step_kiosk, s.setup_step_admin, s.setup_step_camera];
    let at = st.setup.step as usize;
    view::step_indicator(ui, &steps, at);
    ui.add_space(12.0);
    match st.setup.step {
        SetupStep::Identity => {
            ui.label(s.setup_identity_help);
            let f = &mut st.setup;
            view::labelled_edit(ui, s.setup_kiosk_id, &mut f.kiosk_id, false);
            field_error(ui, f, FirstRunField::KioskId);
            view::labelled_edit(ui, s.setup_branch, &mut f.branch, false);
            field_error(ui, f, FirstRunField::Branch);
            ui.add_space(10.0);
            if view::big_button(ui, s.next, true) {
                next_identity(st);
            }
        }
        SetupStep::Admin => {
            ui.label(s.setup_admin_help);
            let busy = st.setup.busy;
            let f = &mut st.setup;
            view::labelled_edit(ui, s.username, &mut f.username, false);
            field_error(ui, f, FirstRunField::Username);
            view::labelled_edit(ui, s.password, &mut f.password, true);
            view::labelled_edit(ui, s.password_again, &mut f.password2, true);
            field_error(ui, f, FirstRunField::Password);
            field_error(ui, f, FirstRunField::Other);
            ui.add_space(10.0);
            ui.horizontal(|ui| {
                if view::big_button(ui, s.back, !busy) {
                    st.setup.step = SetupStep::Identity;
                    st.setup.errors.clear();
                }
                if view::big_button(ui, s.setup_create_admin, !busy)
                    && let Some(job) = create_admin(st)
                {
                    jobs.push(job);
                }
                if busy {
                    ui.spinner();
                }
            });
        }
        SetupStep::Camera => {
            if let Some(name) = &st.setup.created {
                ui.label(RichText::new(format!("{} {name}", s.setup_admin_created)).strong());
            }
            if let Some(SettingsNotice::NotSaved(e)) = &st.setup.notice {
                view::error_text(ui, &format!("{}: {e}", s.settings_not_saved));
            }
            ui.label(s.setup_camera_help);
            camera_test(ui, st, us, has_source);
            ui.add_space(10.0);
            if view::big_button(ui, s.setup_continue, true) {
                finish(st);
            }
        }
    }
    jobs
}

fn field_error(ui: &mut egui::Ui, f: &SetupForm, field: FirstRunField) {
    if let Some(e) = f.error(field) {
        view::error_text(ui, e);
    }
}

/// The camera test: the live picture and its size when frames arrive; otherwise a warning
/// that the kiosk works from imported files until a camera is connected.
fn camera_test(ui: &mut egui::Ui, st: &AppState, us: &UiState, has_source: bool) {
    let s = st.lang.s();
    let warn = |ui: &mut egui::Ui, text: &str| {
        egui::Frame::new()
            .fill(Color32::from_rgb(120, 80, 0))
            .inner_margin(10.0)
            .show(ui, |ui| ui.label(RichText::new(text).color(Color32::WHITE)));
    };
    if !has_source {
        warn(ui, s.setup_no_camera);
        return;
    }
    match (&us.frame, &us.source_error) {
        (_, Some(e)) => warn(ui, &format!("{}: {e}", s.setup_camera_failed)),
        (Some(f), None) => {
            ui.label(
                RichText::new(format!(
                    "{} ({}×{})",
                    s.setup_camera_ok,
                    f.rgb.width(),
                    f.rgb.height()
                ))
                .color(Color32::from_rgb(40, 160, 70))
                .strong(),
            );
            if let Some(tex) = us.frame_texture() {
                view::show_image(ui, tex, Vec2::new(480.0, 300.0));
            }
        }
        (None, None) => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(s.waiting_frame);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::state::StoreStatus;
    use crate::gui::strings::Lang;
    use kyc_core::config::Config;

    fn fresh() -> AppState {
        let mut st = AppState::new(Lang::En);
        st.admin.set_current(
            KioskSettings::from_parts(&Config::default(), None, Lang::En, 120),
            Config::default(),
        );
        st.store = StoreStatus::Ready {
            has_admin: false,
            db_path: "/tmp/a.sqlite3".into(),
        };
        st
    }

    #[test]
    fn identity_is_checked_before_the_administrator() {
        let mut st = fresh();
        assert!(needed(&st));
        assert!(!next_identity(&mut st));
        assert!(st.setup.error(FirstRunField::KioskId).is_some());
        assert!(st.setup.error(FirstRunField::Branch).is_some());
        st.setup.kiosk_id = "accra-01".into();
        st.setup.branch = "x\u{7}".into();
        assert!(!next_identity(&mut st));
        assert!(st.setup.error(FirstRunField::KioskId).is_none());
        assert!(
            st.setup
                .error(FirstRunField::Branch)
                .is_some_and(|e| e.contains("control character"))
        );
        st.setup.branch = "Accra Central".into();
        assert!(next_identity(&mut st));
        assert_eq!(st.setup.step, SetupStep::Admin);
    }

    #[test]
    fn the_password_policy_is_applied_in_place_and_a_good_form_sends_one_job() {
        let mut st = fresh();
        st.setup.kiosk_id = "accra-01".into();
        st.setup.branch = "Accra Central".into();
        assert!(next_identity(&mut st));
        st.setup.username = "chief".into();
        st.setup.password = "password".into();
        st.setup.password2 = "password".into();
        assert!(create_admin(&mut st).is_none());
        assert!(
            st.setup
                .error(FirstRunField::Password)
                .is_some_and(|e| e.contains("password refused"))
        );
        st.setup.password = "long-enough-pass-9".into();
        st.setup.password2 = "long-enough-pass-8".into();
        assert!(create_admin(&mut st).is_none());
        assert_eq!(
            st.setup.error(FirstRunField::Password),
            Some("the two passwords differ")
        );
        st.setup.password2 = "long-enough-pass-9".into();
        let Some(Job::Admin(AdminJob::FirstRun {
            username, after, ..
        })) = create_admin(&mut st)
        else {
            panic!("no first-run job");
        };
        assert_eq!(username, "chief");
        assert_eq!(after.kiosk_id.as_deref(), Some("accra-01"));
        assert_eq!(after.branch.as_deref(), Some("Accra Central"));
        assert!(st.setup.password.is_empty() && st.setup.busy);
        // A second click while busy sends nothing.
        assert!(create_admin(&mut st).is_none());
        failed(&mut st, FirstRunField::Username, "taken".into());
        assert!(!st.setup.busy);
        let settings = *after;
        done(&mut st, "chief".into(), settings, SettingsNotice::NoFile);
        assert!(!needed(&st));
        assert_eq!(st.setup.step, SetupStep::Camera);
        finish(&mut st);
        assert_eq!(st.screen, Screen::Login);
        assert_eq!(st.login.username, "chief");
    }
}
