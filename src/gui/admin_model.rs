//! The settings screen's and user management's data: forms, their validation, the users tab
//! and `AdminState`. Pure data (it knows nothing of `AppState`), so the UI state holds it
//! without a cycle; the actions on the whole UI state are in `admin.rs`.

use std::path::PathBuf;
use std::sync::mpsc::Receiver;

use kyc_core::audit::{Permission, Role, UserInfo, role_allows};
use kyc_core::config::Config;

use super::capture::SourceSpec;
pub use super::messages::{AdminEvent, AdminJob, SettingsNotice};
use super::settings_file::{IDLE_TIMEOUT_RANGE, KioskSettings, Theme};
use super::strings::Lang;

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
    /// The kiosk's health: `kyc-kiosk doctor`'s checks (administrators).
    System,
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
    /// Light or dark theme (administrators).
    pub theme: Theme,
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
            theme: s.theme,
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
            next.theme = self.theme;
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
pub const MIN_PASSWORD_CHARS: usize = kyc_core::audit::MIN_PASSWORD_CHARS;

/// A password typed twice: the two must agree and meet the store's password policy (length,
/// not only whitespace, not a common password).
///
/// # Errors
/// Which rule failed.
pub fn check_password(a: &str, b: &str) -> Result<(), String> {
    if a != b {
        return Err("the two passwords differ".into());
    }
    kyc_core::audit::check_password_policy(a).map_err(|e| e.to_string())
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
    pub(crate) camera_query: Option<Receiver<Vec<CameraChoice>>>,
    /// The System tab: the health report and its inputs.
    pub system: super::system::SystemState,
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
