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
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};

use kyc_core::audit::{AuditStore, Permission, Role, UserInfo, UserSession, role_allows};
use kyc_core::config::Config;
use kyc_core::pipeline::Pipeline;

use super::capture::SourceSpec;
use super::settings_file::{self, IDLE_TIMEOUT_RANGE, KioskSettings};
use super::state::{AppState, Screen};
use super::strings::Lang;
use super::worker::Job;

/// Resolutions offered for a camera (`None`: the camera's default, 1280×720 asked).
pub const RESOLUTIONS: [Option<(u32, u32)>; 4] = [
    None,
    Some((640, 480)),
    Some((1280, 720)),
    Some((1920, 1080)),
];

/// A camera the system lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraChoice {
    /// Device index.
    pub index: u32,
    /// Name the system gives it.
    pub name: String,
}

/// The cameras `nokhwa::query` lists (empty when none, or when the query fails).
#[must_use]
pub fn list_cameras() -> Vec<CameraChoice> {
    let Ok(cams) = nokhwa::query(nokhwa::utils::ApiBackend::Auto) else {
        return Vec::new();
    };
    let mut out: Vec<CameraChoice> = cams
        .iter()
        .filter_map(|c| {
            c.index().as_index().ok().map(|index| CameraChoice {
                index,
                name: c.human_name(),
            })
        })
        .collect();
    out.sort_by_key(|c| c.index);
    out
}

/// Which tab of the settings screen is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdminTab {
    /// Frame source, language, thresholds, idle timeout.
    #[default]
    Settings,
    /// User management (administrators).
    Users,
}

/// A settings field, for placing a message next to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsField {
    /// Frame source.
    Source,
    /// `decision.approveAt`.
    ApproveAt,
    /// `decision.rejectMatchBelow`.
    RejectMatchBelow,
    /// `matching.minimumLevel`.
    MinimumLevel,
    /// `decision.minSharpness`.
    MinSharpness,
    /// `decision.brightnessRange`.
    Brightness,
    /// Idle timeout.
    IdleTimeout,
    /// Anything else `Config`'s validation reports.
    Other,
}

impl SettingsField {
    fn of_key(key: &str) -> Self {
        match key {
            "decision.approveAt" => SettingsField::ApproveAt,
            "decision.rejectMatchBelow" => SettingsField::RejectMatchBelow,
            "decision.minSharpness" => SettingsField::MinSharpness,
            "decision.brightnessRange" => SettingsField::Brightness,
            "matching.minimumLevel" => SettingsField::MinimumLevel,
            _ => SettingsField::Other,
        }
    }
}

/// The settings form, as typed.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsForm {
    /// Camera index chosen (`None`: keep a non-camera source, or no source).
    pub camera: Option<u32>,
    /// Use no live source (file import only).
    pub no_source: bool,
    /// Camera resolution.
    pub resolution: Option<(u32, u32)>,
    /// Language.
    pub lang: Lang,
    /// `decision.approveAt`.
    pub approve_at: String,
    /// `decision.rejectMatchBelow`.
    pub reject_match_below: String,
    /// `matching.minimumLevel`.
    pub minimum_level: u8,
    /// `decision.minSharpness`.
    pub min_sharpness: String,
    /// Lowest acceptable brightness.
    pub brightness_min: String,
    /// Highest acceptable brightness.
    pub brightness_max: String,
    /// Idle timeout in seconds.
    pub idle_timeout: String,
}

fn num(v: f32) -> String {
    // Shortest form that reads back the same (70 → "70", 82.5 → "82.5").
    format!("{v}")
}

impl SettingsForm {
    /// The form showing `s`.
    #[must_use]
    pub fn from_settings(s: &KioskSettings) -> Self {
        let (camera, resolution) = match &s.source {
            Some(SourceSpec::Camera { index, resolution }) => (Some(*index), *resolution),
            _ => (None, None),
        };
        SettingsForm {
            camera,
            no_source: s.source.is_none(),
            resolution,
            lang: s.lang,
            approve_at: num(s.decision.approve_at),
            reject_match_below: num(s.decision.reject_match_below),
            minimum_level: s.minimum_level,
            min_sharpness: num(s.decision.min_sharpness),
            brightness_min: num(s.decision.brightness_range.0),
            brightness_max: num(s.decision.brightness_range.1),
            idle_timeout: s.idle_timeout_secs.to_string(),
        }
    }

    /// The settings this form asks for, starting from `current`. A user without
    /// `Permission::Settings` changes only the frame source and the language: the thresholds
    /// and idle timeout stay as they are whatever the form holds.
    ///
    /// # Errors
    /// Every problem, each with its field: a value that is not a number, and whatever
    /// `Config`'s own validation refuses.
    pub fn validate(
        &self,
        current: &KioskSettings,
        config: &Config,
        role: Role,
    ) -> Result<KioskSettings, Vec<(SettingsField, String)>> {
        let mut errors = Vec::new();
        let mut next = current.clone();
        next.lang = self.lang;
        next.source = if self.no_source {
            None
        } else {
            match self.camera {
                Some(index) => Some(SourceSpec::Camera {
                    index,
                    resolution: self.resolution,
                }),
                None => current
                    .source
                    .clone()
                    .filter(|s| !matches!(s, SourceSpec::Camera { .. })),
            }
        };
        if can_edit_thresholds(role) {
            let mut number = |field: SettingsField, text: &str| -> f32 {
                match text.trim().replace(',', ".").parse::<f32>() {
                    Ok(v) if v.is_finite() => v,
                    _ => {
                        errors.push((field, format!("{:?} is not a number", text.trim())));
                        f32::NAN
                    }
                }
            };
            next.decision.approve_at = number(SettingsField::ApproveAt, &self.approve_at);
            next.decision.reject_match_below =
                number(SettingsField::RejectMatchBelow, &self.reject_match_below);
            next.decision.min_sharpness = number(SettingsField::MinSharpness, &self.min_sharpness);
            next.decision.brightness_range = (
                number(SettingsField::Brightness, &self.brightness_min),
                number(SettingsField::Brightness, &self.brightness_max),
            );
            next.minimum_level = self.minimum_level;
            match self.idle_timeout.trim().parse::<u64>() {
                Ok(t) if IDLE_TIMEOUT_RANGE.contains(&t) => next.idle_timeout_secs = t,
                _ => errors.push((
                    SettingsField::IdleTimeout,
                    format!(
                        "the idle timeout must be whole seconds from {} to {}",
                        IDLE_TIMEOUT_RANGE.start(),
                        IDLE_TIMEOUT_RANGE.end()
                    ),
                )),
            }
            // The configuration's own rules, for the fields that parsed.
            for (key, message) in next.apply_to(config).problems() {
                let field = SettingsField::of_key(key);
                if !errors.iter().any(|(f, _)| *f == field) {
                    errors.push((field, message));
                }
            }
        }
        if errors.is_empty() {
            Ok(next)
        } else {
            Err(errors)
        }
    }
}

/// Whether `role` may change the thresholds and idle timeout.
#[must_use]
pub fn can_edit_thresholds(role: Role) -> bool {
    role_allows(role, Permission::Settings)
}

/// Whether `role` may manage users.
#[must_use]
pub fn can_manage_users(role: Role) -> bool {
    role_allows(role, Permission::ManageUsers)
}

/// A line under the form: saved, saved for this session only, refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsNotice {
    /// Applied and written to the file.
    Saved(PathBuf),
    /// Applied, but there is no settings file to write.
    NoFile,
    /// Applied, but writing the file failed (the message); in force until the kiosk restarts.
    NotSaved(String),
    /// Nothing differed from the settings in force.
    Unchanged,
    /// Refused by the worker (permission, audit store); nothing changed.
    Failed(String),
}

/// The create-user form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUserForm {
    /// Username.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Password.
    pub password: String,
    /// Password again.
    pub password2: String,
}

impl Default for NewUserForm {
    fn default() -> Self {
        NewUserForm {
            username: String::new(),
            role: Role::Agent,
            password: String::new(),
            password2: String::new(),
        }
    }
}

/// Shortest password the store accepts (it checks again).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// A password typed twice: the two must agree and be long enough.
///
/// # Errors
/// Which rule failed.
pub fn check_password(a: &str, b: &str) -> Result<(), String> {
    if a != b {
        return Err("the two passwords differ".into());
    }
    if a.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    Ok(())
}

/// The users tab.
#[derive(Debug, Clone, Default)]
pub struct UsersState {
    /// Users as last listed.
    pub list: Vec<UserInfo>,
    /// The user being managed.
    pub selected: Option<String>,
    /// Role chosen for the selected user.
    pub role: Option<Role>,
    /// New password for the selected user.
    pub password: String,
    /// New password again.
    pub password2: String,
    /// The create form.
    pub new_user: NewUserForm,
    /// Last outcome (done or refused).
    pub message: Option<Result<String, String>>,
    /// Waiting for the worker.
    pub busy: bool,
}

/// The settings screen's state.
#[derive(Debug, Default)]
pub struct AdminState {
    /// Tab showing.
    pub tab: AdminTab,
    /// The form.
    pub form: Option<SettingsForm>,
    /// Field problems of the last "apply".
    pub errors: Vec<(SettingsField, String)>,
    /// Outcome of the last "apply".
    pub notice: Option<SettingsNotice>,
    /// Waiting for the worker.
    pub busy: bool,
    /// The settings in force (set by the app at start and after each change).
    pub current: Option<KioskSettings>,
    /// The whole configuration in force (weights and the rest, shown read-only).
    pub config: Config,
    /// Where the settings are saved (`None`: not saved).
    pub settings_file: Option<PathBuf>,
    /// Cameras listed (`None`: still asking the system).
    pub cameras: Option<Vec<CameraChoice>>,
    /// Users tab.
    pub users: UsersState,
    /// Settings applied by the worker, for the app to act on (source, idle timeout).
    pub applied: Option<KioskSettings>,
    camera_query: Option<Receiver<Vec<CameraChoice>>>,
}

impl AdminState {
    /// Set the settings in force (the app, at start and after a change).
    pub fn set_current(&mut self, settings: KioskSettings, config: Config) {
        self.current = Some(settings);
        self.config = config;
    }

    /// Take the settings the worker applied (the app restarts the source, sets the timeout).
    pub fn take_applied(&mut self) -> Option<KioskSettings> {
        self.applied.take()
    }

    /// Pick up the camera list when the query thread has answered.
    pub fn poll_cameras(&mut self) {
        if let Some(rx) = &self.camera_query
            && let Ok(list) = rx.try_recv()
        {
            self.cameras = Some(list);
            self.camera_query = None;
        }
    }

    /// Forget what the signed-in user typed or was shown (logout): forms, users, messages.
    pub fn clear_user_data(&mut self) {
        self.tab = AdminTab::Settings;
        self.form = None;
        self.errors.clear();
        self.notice = None;
        self.users = UsersState::default();
    }

    /// Reset the form to the settings in force.
    pub fn reset_form(&mut self) {
        self.form = self.current.as_ref().map(SettingsForm::from_settings);
        self.errors.clear();
    }
}

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

/// Work for the worker from the settings screen.
#[derive(Debug)]
pub enum AdminJob {
    /// Apply and save new settings (recorded as `settings_changed` first).
    ApplySettings {
        /// The settings in force.
        before: Box<KioskSettings>,
        /// The settings asked for.
        after: Box<KioskSettings>,
        /// The settings file to write.
        file: Option<PathBuf>,
    },
    /// List users.
    ListUsers,
    /// Create a user.
    CreateUser {
        /// Username.
        username: String,
        /// Role.
        role: Role,
        /// Password (dropped after hashing).
        password: String,
    },
    /// Change a user's role.
    SetRole {
        /// Username.
        username: String,
        /// New role.
        role: Role,
    },
    /// Disable or enable a user.
    SetDisabled {
        /// Username.
        username: String,
        /// Disable (`true`) or enable.
        disabled: bool,
    },
    /// Give a user a new password.
    ResetPassword {
        /// Username.
        username: String,
        /// New password.
        password: String,
    },
    /// Clear a user's lockout.
    Unlock {
        /// Username.
        username: String,
    },
    /// At start: chain the settings in force (`settings_in_force`, by `system:kiosk-start`), so
    /// a settings file edited outside the kiosk shows up in the chain as a difference from the
    /// last `settings_changed`.
    RecordStart {
        /// The settings in force at start.
        settings: Box<KioskSettings>,
        /// The settings file they were read from, if any.
        file: Option<PathBuf>,
    },
}

/// The worker's answers to [`AdminJob`]s.
#[derive(Debug)]
pub enum AdminEvent {
    /// The settings are recorded in the audit chain and in force.
    SettingsApplied {
        /// The settings now in force.
        settings: Box<KioskSettings>,
        /// The configuration now in force.
        config: Box<Config>,
        /// How saving went.
        notice: SettingsNotice,
    },
    /// The settings were refused (nothing changed).
    SettingsFailed(String),
    /// The users, after a listing or a change.
    Users {
        /// Every user.
        list: Vec<UserInfo>,
        /// What was done, if anything.
        done: Option<String>,
    },
    /// A user operation was refused.
    UsersFailed(String),
    /// The start was chained (or why not).
    StartRecorded(Result<(), String>),
}

/// Apply a worker answer to the state.
pub fn apply(st: &mut AppState, ev: AdminEvent) {
    let a = &mut st.admin;
    match ev {
        AdminEvent::SettingsApplied {
            settings,
            config,
            notice,
        } => {
            a.busy = false;
            st.lang = settings.lang;
            a.set_current((*settings).clone(), *config);
            a.applied = Some(*settings);
            a.reset_form();
            a.notice = Some(notice);
        }
        AdminEvent::SettingsFailed(m) => {
            a.busy = false;
            a.notice = Some(SettingsNotice::Failed(m));
        }
        AdminEvent::Users { list, done } => {
            let u = &mut a.users;
            u.busy = false;
            if let Some(sel) = &u.selected
                && let Some(info) = list.iter().find(|x| &x.username == sel)
            {
                u.role = Some(info.role);
            }
            if done.as_deref().is_some_and(|d| d.starts_with("created ")) {
                u.new_user = NewUserForm::default();
            }
            u.list = list;
            if let Some(d) = done {
                u.message = Some(Ok(d));
            }
        }
        AdminEvent::UsersFailed(m) => {
            a.users.busy = false;
            a.users.message = Some(Err(m));
        }
        AdminEvent::StartRecorded(Ok(())) => {}
        AdminEvent::StartRecorded(Err(m)) => st.notice = Some(m),
    }
}

/// What the worker lends to an [`AdminJob`].
pub struct WorkerParts<'a> {
    /// The audit store, if open.
    pub store: Option<&'a mut AuditStore>,
    /// The signed-in user.
    pub session: Option<&'a UserSession>,
    /// The worker's configuration (recorded with each verification).
    pub config: &'a mut Config,
    /// The pipeline, once loaded.
    pub pipeline: Option<&'a mut Pipeline>,
}

/// Serve one [`AdminJob`] on the worker thread.
pub fn serve(parts: WorkerParts<'_>, job: AdminJob) -> AdminEvent {
    if let AdminJob::RecordStart { settings, file } = &job {
        let Some(store) = parts.store else {
            return AdminEvent::StartRecorded(Err("the audit store is not open".into()));
        };
        let by = store.system_session("kiosk-start");
        let payload = serde_json::json!({
            "settings": settings.to_file(),
            "file": file.as_ref().map(|f| f.display().to_string()),
        });
        return AdminEvent::StartRecorded(
            store
                .log_event(&by, "settings_in_force", payload)
                .map(|_| ())
                .map_err(|e| format!("settings in force not recorded: {e}")),
        );
    }
    let (Some(store), Some(session)) = (parts.store, parts.session) else {
        return match job {
            AdminJob::ApplySettings { .. } => AdminEvent::SettingsFailed("not logged in".into()),
            _ => AdminEvent::UsersFailed("not logged in".into()),
        };
    };
    match job {
        AdminJob::ApplySettings {
            before,
            after,
            file,
        } => apply_settings(
            store,
            session,
            parts.config,
            parts.pipeline,
            &before,
            &after,
            file,
        ),
        AdminJob::ListUsers => users_event(store, session, None),
        other => {
            let (done, result) = match &other {
                AdminJob::CreateUser {
                    username,
                    role,
                    password,
                } => (
                    format!("created {username} ({})", role.as_str()),
                    store
                        .create_user(session, username, password, *role)
                        .map(|_| ()),
                ),
                AdminJob::SetRole { username, role } => (
                    format!("{username} is now {}", role.as_str()),
                    store.set_user_role(session, username, *role),
                ),
                AdminJob::SetDisabled { username, disabled } => (
                    format!(
                        "{username} {}",
                        if *disabled { "disabled" } else { "enabled" }
                    ),
                    store.set_user_disabled(session, username, *disabled),
                ),
                AdminJob::ResetPassword { username, password } => (
                    format!("new password set for {username}"),
                    store.reset_password(session, username, password),
                ),
                AdminJob::Unlock { username } => (
                    format!("{username} unlocked"),
                    store.unlock_user(session, username),
                ),
                AdminJob::ApplySettings { .. }
                | AdminJob::ListUsers
                | AdminJob::RecordStart { .. } => ("".into(), Ok(())),
            };
            match result {
                Ok(()) => users_event(store, session, Some(done)),
                Err(e) => AdminEvent::UsersFailed(e.to_string()),
            }
        }
    }
}

fn users_event(store: &AuditStore, session: &UserSession, done: Option<String>) -> AdminEvent {
    match store.list_users(session) {
        Ok(list) => AdminEvent::Users { list, done },
        Err(e) => AdminEvent::UsersFailed(e.to_string()),
    }
}

/// Record, then apply, then save: a change the audit chain did not take is not applied; a
/// file that cannot be written leaves the change in force and says so.
fn apply_settings(
    store: &mut AuditStore,
    session: &UserSession,
    config: &mut Config,
    pipeline: Option<&mut Pipeline>,
    before: &KioskSettings,
    after: &KioskSettings,
    file: Option<PathBuf>,
) -> AdminEvent {
    if after.admin_part_differs(before)
        && let Err(e) = session.require(Permission::Settings)
    {
        return AdminEvent::SettingsFailed(e.to_string());
    }
    let next = after.apply_to(config);
    if let Err(e) = next.validate() {
        return AdminEvent::SettingsFailed(e);
    }
    let payload = serde_json::json!({
        "before": before.to_file(),
        "after": after.to_file(),
        "changed": after.changed_keys(before),
        "file": file.as_ref().map(|f| f.display().to_string()),
    });
    if let Err(e) = store.log_event(session, "settings_changed", payload) {
        return AdminEvent::SettingsFailed(format!("not applied: the audit store refused: {e}"));
    }
    if let Some(p) = pipeline
        && let Err(e) = p.set_thresholds(next.matching.clone(), next.decision)
    {
        return AdminEvent::SettingsFailed(e);
    }
    *config = next;
    let notice = match &file {
        None => SettingsNotice::NoFile,
        Some(path) => match settings_file::save(path, after) {
            Ok(()) => SettingsNotice::Saved(path.clone()),
            Err(e) => SettingsNotice::NotSaved(e),
        },
    };
    AdminEvent::SettingsApplied {
        settings: Box::new(after.clone()),
        config: Box::new(config.clone()),
        notice,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::state::User;

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
        assert_eq!(f.minimum_level, 2);
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
        f.minimum_level = 3;
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
        assert_eq!(after.minimum_level, 3);
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
    fn the_worker_refuses_thresholds_from_non_admins_and_records_an_admin_change() {
        use kyc_core::audit::{AuditConfig, AuditStore};
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("audit.sqlite3");
        let mut store = AuditStore::open(AuditConfig::at(&db).with_fast_hashing()).unwrap();
        store.create_first_admin("root", "root-password").unwrap();
        let root = store.login("root", "root-password").unwrap();
        store
            .create_user(&root, "ama", "ama-password", Role::Agent)
            .unwrap();
        let ama = store.login("ama", "ama-password").unwrap();
        let file = dir.path().join("kiosk-settings.toml");
        let before = current();
        let mut after = before.clone();
        after.decision.approve_at = 95.0;
        let events = || -> Vec<(String, String)> {
            let conn = rusqlite::Connection::open(&db).unwrap();
            let mut q = conn
                .prepare("SELECT actor, payload FROM events WHERE kind = 'settings_changed'")
                .unwrap();
            q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let mut config = Config::default();
        let job = || AdminJob::ApplySettings {
            before: Box::new(before.clone()),
            after: Box::new(after.clone()),
            file: Some(file.clone()),
        };
        // An agent's job asking for a threshold change (a forged form) is refused.
        let ev = serve(
            WorkerParts {
                store: Some(&mut store),
                session: Some(&ama),
                config: &mut config,
                pipeline: None,
            },
            job(),
        );
        assert!(
            matches!(&ev, AdminEvent::SettingsFailed(m) if m.contains("permission denied")),
            "{ev:?}"
        );
        assert_eq!(config, Config::default());
        assert!(events().is_empty() && !file.exists());
        // The admin's goes to the chain first, then the configuration and the file.
        let ev = serve(
            WorkerParts {
                store: Some(&mut store),
                session: Some(&root),
                config: &mut config,
                pipeline: None,
            },
            job(),
        );
        assert!(
            matches!(&ev, AdminEvent::SettingsApplied { notice: SettingsNotice::Saved(p), .. } if *p == file),
            "{ev:?}"
        );
        assert_eq!(config.decision.approve_at, 95.0);
        let ev = events();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].0, "root");
        let p: serde_json::Value = serde_json::from_str(&ev[0].1).unwrap();
        assert_eq!(p["changed"], serde_json::json!(["decision.approveAt"]));
        assert_eq!(p["after"]["decision"]["approveAt"], 95.0);
        let saved = settings_file::load(&file).unwrap().unwrap();
        assert_eq!(saved.decision.unwrap().approve_at, 95.0);
        assert!(store.verify().unwrap().problems.is_empty());
        // Without a session nothing is done.
        let ev = serve(
            WorkerParts {
                store: Some(&mut store),
                session: None,
                config: &mut config,
                pipeline: None,
            },
            AdminJob::ListUsers,
        );
        assert!(matches!(ev, AdminEvent::UsersFailed(_)));
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
        u.password = "password-1".into();
        u.password2 = "password-2".into();
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
        u.password = "password-1".into();
        u.password2 = "password-1".into();
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
            ("efua", Role::Supervisor, "password-1")
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
