//! The settings screen and user management: their state, validation and the worker's side of
//! them. Pure data on the UI side (unit-tested without a window); the drawing is in
//! `admin_view.rs`.
//!
//! Everyone signed in changes the frame source and the language; administrators
//! (`Permission::Settings`) also change the decision thresholds and the idle timeout, and manage
//! users (`Permission::ManageUsers`). The worker checks the permission again, writes a
//! `settings_changed` event to the audit chain before anything takes effect, hands the new
//! thresholds to the pipeline, and writes the settings file.

use kyc_core::logs::WarnOnErr;
use std::sync::mpsc::channel;

pub use super::admin_model::*;
use super::messages::Job;
use super::state::{AppState, Screen};

/// Open the settings screen (anyone signed in): the form shows the settings in force and the
/// cameras are listed on a short-lived thread (the query opens devices).
pub fn open(st: &mut AppState) -> Vec<Job> {
    if st.user.is_none() {
        return Vec::new();
    }
    st.screen = Screen::Settings;
    st.admin.tab = AdminTab::Settings;
    st.admin.notice = None;
    st.admin.reset_form();
    // The form shows the language on screen (the top bar may have switched it).
    let lang = st.lang;
    if let Some(f) = st.admin.form.as_mut() {
        f.lang = lang;
    }
    if st.admin.camera_query.is_none() {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            tx.send(list_cameras())
                .warn_on_err("handing the camera list to the window");
        });
        st.admin.camera_query = Some(rx);
    }
    Vec::new()
}

/// Leave the settings screen for the verification screens.
pub fn close(st: &mut AppState) {
    st.screen = if st.session.is_some() {
        Screen::Document
    } else {
        Screen::Start
    };
}

/// Validate the form and ask the worker to apply it.
pub fn apply_form(st: &mut AppState) -> Option<Job> {
    let role = st.user.as_ref()?.role;
    let a = &mut st.admin;
    if a.busy {
        return None;
    }
    let (form, current) = (a.form.as_ref()?, a.current.as_ref()?);
    match form.validate(current, &a.config, role) {
        Err(errors) => {
            a.errors = errors;
            a.notice = None;
            None
        }
        Ok(next) if next == *current => {
            a.errors.clear();
            a.notice = Some(SettingsNotice::Unchanged);
            None
        }
        Ok(next) => {
            a.errors.clear();
            a.notice = None;
            a.busy = true;
            Some(Job::Admin(AdminJob::ApplySettings {
                before: Box::new(current.clone()),
                after: Box::new(next),
                file: a.settings_file.clone(),
            }))
        }
    }
}

/// Show the users tab (administrators) and ask for the list.
pub fn open_users(st: &mut AppState) -> Option<Job> {
    if !st.user.as_ref().is_some_and(|u| can_manage_users(u.role)) {
        return None;
    }
    st.admin.tab = AdminTab::Users;
    st.admin.users.busy = true;
    Some(Job::Admin(AdminJob::ListUsers))
}

/// Send the create-user form (checked first: name given, passwords agree and are long enough).
pub fn create_user(st: &mut AppState) -> Option<Job> {
    let u = &mut st.admin.users;
    let f = &u.new_user;
    let username = f.username.trim().to_string();
    if username.is_empty() {
        u.message = Some(Err("enter a username".into()));
        return None;
    }
    if let Err(e) = check_password(&f.password, &f.password2) {
        u.message = Some(Err(e));
        return None;
    }
    let job = AdminJob::CreateUser {
        username,
        role: f.role,
        password: f.password.clone(),
    };
    u.new_user.password.clear();
    u.new_user.password2.clear();
    u.busy = true;
    u.message = None;
    Some(Job::Admin(job))
}

/// An action on the selected user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    /// Give the role chosen.
    SetRole,
    /// Disable.
    Disable,
    /// Enable.
    Enable,
    /// Set the new password typed twice.
    ResetPassword,
    /// Clear the lockout.
    Unlock,
}

/// Send an action on the selected user (a new password is checked first).
pub fn user_action(st: &mut AppState, action: UserAction) -> Option<Job> {
    let u = &mut st.admin.users;
    let username = u.selected.clone()?;
    let job = match action {
        UserAction::SetRole => AdminJob::SetRole {
            username,
            role: u.role?,
        },
        UserAction::Disable | UserAction::Enable => AdminJob::SetDisabled {
            username,
            disabled: action == UserAction::Disable,
        },
        UserAction::Unlock => AdminJob::Unlock { username },
        UserAction::ResetPassword => {
            if let Err(e) = check_password(&u.password, &u.password2) {
                u.message = Some(Err(e));
                return None;
            }
            let password = std::mem::take(&mut u.password);
            u.password2.clear();
            AdminJob::ResetPassword { username, password }
        }
    };
    u.busy = true;
    u.message = None;
    Some(Job::Admin(job))
}

/// Select a user to manage.
pub fn select_user(st: &mut AppState, username: &str) {
    let u = &mut st.admin.users;
    u.role = u
        .list
        .iter()
        .find(|x| x.username == username)
        .map(|x| x.role);
    u.selected = Some(username.to_string());
    u.password.clear();
    u.password2.clear();
    u.message = None;
}

/// Apply a worker answer to the state (see `AppState::apply_admin`).
pub fn apply(st: &mut AppState, ev: AdminEvent) {
    st.apply_admin(ev);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::capture::SourceSpec;
    use crate::gui::settings_file::KioskSettings;
    use crate::gui::state::User;
    use crate::gui::strings::Lang;
    use kyc_core::audit::{Role, UserInfo};
    use kyc_core::config::Config;
    use std::path::PathBuf;

    fn current() -> KioskSettings {
        KioskSettings::from_parts(
            &Config::default(),
            Some(&SourceSpec::Frames {
                dir: "/tmp/clip".into(),
                fps: 5.0,
            }),
            Lang::En,
            120,
        )
    }

    fn signed_in(role: Role) -> AppState {
        let mut st = AppState::new(Lang::En);
        st.user = Some(User {
            username: "u".into(),
            role,
        });
        st.admin.set_current(current(), Config::default());
        st.admin.settings_file = Some("/tmp/kiosk-settings.toml".into());
        open(&mut st);
        st
    }

    #[test]
    fn the_form_shows_the_settings_in_force_and_an_unchanged_form_sends_nothing() {
        let mut st = signed_in(Role::Admin);
        assert_eq!(st.screen, Screen::Settings);
        let f = st.admin.form.clone().unwrap();
        assert_eq!(f.approve_at, "70");
        assert_eq!(f.brightness_min, "20");
        assert_eq!(f.minimum_level, 3);
        assert_eq!(f.idle_timeout, "120");
        assert!(f.camera.is_none() && !f.no_source);
        assert!(apply_form(&mut st).is_none());
        assert_eq!(st.admin.notice, Some(SettingsNotice::Unchanged));
    }

    #[test]
    fn an_admin_changes_thresholds_and_the_job_carries_before_and_after() {
        let mut st = signed_in(Role::Admin);
        let f = st.admin.form.as_mut().unwrap();
        f.approve_at = "82,5".into(); // a decimal comma is accepted
        f.minimum_level = 4;
        f.idle_timeout = "300".into();
        let Some(Job::Admin(AdminJob::ApplySettings {
            before,
            after,
            file,
        })) = apply_form(&mut st)
        else {
            panic!("no job");
        };
        assert_eq!(before.decision.approve_at, 70.0);
        assert_eq!(after.decision.approve_at, 82.5);
        assert_eq!(after.minimum_level, 4);
        assert_eq!(after.idle_timeout_secs, 300);
        assert_eq!(
            after.source, before.source,
            "the source given at start is kept"
        );
        assert_eq!(
            after.changed_keys(&before),
            [
                "kiosk.idleTimeoutSecs",
                "decision.approveAt",
                "matching.minimumLevel"
            ]
        );
        assert_eq!(file.unwrap(), PathBuf::from("/tmp/kiosk-settings.toml"));
        assert!(st.admin.busy);
        // One change at a time.
        assert!(apply_form(&mut st).is_none());
    }

    #[test]
    fn invalid_values_are_reported_next_to_their_fields() {
        let mut st = signed_in(Role::Admin);
        let f = st.admin.form.as_mut().unwrap();
        f.approve_at = "high".into();
        f.reject_match_below = "10".into();
        f.min_sharpness = "140".into();
        f.brightness_min = "90".into();
        f.brightness_max = "30".into();
        f.idle_timeout = "2".into();
        assert!(apply_form(&mut st).is_none());
        let fields: Vec<SettingsField> = st.admin.errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            [
                SettingsField::ApproveAt,
                SettingsField::IdleTimeout,
                SettingsField::MinSharpness,
                SettingsField::Brightness
            ]
        );
        let message = |field| {
            st.admin
                .errors
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, m)| m.clone())
                .unwrap()
        };
        assert!(message(SettingsField::ApproveAt).contains("not a number"));
        assert!(message(SettingsField::MinSharpness).contains("between 0 and 100"));
        assert!(message(SettingsField::Brightness).contains("lowest first"));
        assert!(message(SettingsField::IdleTimeout).contains("5 to 3600"));
        assert!(!st.admin.busy);
        // Config's cross-field rule: reject-below must stay under approve-at.
        let f = st.admin.form.as_mut().unwrap();
        *f = SettingsForm::from_settings(&current());
        f.reject_match_below = "75".into();
        assert!(apply_form(&mut st).is_none());
        assert_eq!(st.admin.errors[0].0, SettingsField::RejectMatchBelow);
    }

    #[test]
    fn non_admins_change_only_source_and_language() {
        for role in [Role::Agent, Role::Supervisor] {
            assert!(!can_edit_thresholds(role) && !can_manage_users(role));
            let mut st = signed_in(role);
            let f = st.admin.form.as_mut().unwrap();
            // Whatever the form holds, the thresholds are not theirs to change.
            f.approve_at = "5".into();
            f.idle_timeout = "nonsense".into();
            assert!(apply_form(&mut st).is_none());
            assert!(st.admin.errors.is_empty());
            assert_eq!(st.admin.notice, Some(SettingsNotice::Unchanged));
            let f = st.admin.form.as_mut().unwrap();
            f.lang = Lang::Fr;
            f.no_source = true;
            let Some(Job::Admin(AdminJob::ApplySettings { before, after, .. })) =
                apply_form(&mut st)
            else {
                panic!("no job");
            };
            assert_eq!(after.changed_keys(&before), ["kiosk.source", "kiosk.lang"]);
            assert!(!after.admin_part_differs(&before));
            assert!(open_users(&mut st).is_none());
        }
        assert!(can_edit_thresholds(Role::Admin) && can_manage_users(Role::Admin));
    }

    #[test]
    fn applied_settings_reach_the_state_and_the_app() {
        let mut st = signed_in(Role::Admin);
        let mut next = current();
        next.lang = Lang::Fr;
        next.decision.approve_at = 90.0;
        st.admin.busy = true;
        apply(
            &mut st,
            AdminEvent::SettingsApplied {
                settings: Box::new(next.clone()),
                config: Box::new(next.apply_to(&Config::default())),
                notice: SettingsNotice::NotSaved("disk full".into()),
            },
        );
        assert!(!st.admin.busy);
        assert_eq!(st.lang, Lang::Fr);
        assert_eq!(st.admin.current.as_ref(), Some(&next));
        assert_eq!(st.admin.form.as_ref().unwrap().approve_at, "90");
        assert_eq!(st.admin.config.decision.approve_at, 90.0);
        assert_eq!(st.admin.take_applied(), Some(next));
        assert_eq!(st.admin.take_applied(), None);
        assert!(matches!(st.admin.notice, Some(SettingsNotice::NotSaved(_))));
    }

    #[test]
    fn user_forms_check_passwords_before_sending() {
        let mut st = signed_in(Role::Admin);
        assert!(matches!(
            open_users(&mut st),
            Some(Job::Admin(AdminJob::ListUsers))
        ));
        let u = &mut st.admin.users.new_user;
        u.username = "efua".into();
        u.password = "efua-pass-0001".into();
        u.password2 = "efua-pass-0002".into();
        assert!(create_user(&mut st).is_none());
        assert!(
            st.admin
                .users
                .message
                .as_ref()
                .unwrap()
                .as_ref()
                .unwrap_err()
                .contains("differ")
        );
        let u = &mut st.admin.users.new_user;
        u.password = "short".into();
        u.password2 = "short".into();
        assert!(create_user(&mut st).is_none());
        let u = &mut st.admin.users.new_user;
        u.password = "efua-pass-0001".into();
        u.password2 = "efua-pass-0001".into();
        u.role = Role::Supervisor;
        let Some(Job::Admin(AdminJob::CreateUser {
            username,
            role,
            password,
        })) = create_user(&mut st)
        else {
            panic!("no job");
        };
        assert_eq!(
            (username.as_str(), role, password.as_str()),
            ("efua", Role::Supervisor, "efua-pass-0001")
        );
        assert!(
            st.admin.users.new_user.password.is_empty(),
            "passwords are not kept"
        );
        // Nothing is selected: no action can be sent.
        assert!(user_action(&mut st, UserAction::Disable).is_none());
        st.admin.users.list = vec![UserInfo {
            id: 2,
            username: "efua".into(),
            role: Role::Supervisor,
            failed_attempts: 0,
            locked_until_ms: None,
            disabled: false,
        }];
        select_user(&mut st, "efua");
        assert_eq!(st.admin.users.role, Some(Role::Supervisor));
        assert!(matches!(
            user_action(&mut st, UserAction::Disable),
            Some(Job::Admin(AdminJob::SetDisabled { disabled: true, .. }))
        ));
        // Logging out forgets the users and forms.
        st.logout();
        assert!(st.admin.users.list.is_empty() && st.admin.form.is_none());
    }
}
