//! The kiosk settings file (`kiosk-settings.toml`): what an administrator changed on the settings
//! screen (frame source, language, idle timeout, decision thresholds, minimum match level), kept
//! across restarts and laid over the configuration file by every command that decides — the
//! kiosk window and `verify --record` alike — so both decide with the same thresholds.
//!
//! The file is written whole, to a temporary file that is synced and then renamed over the old
//! one, so a crash or a full disk leaves the previous file intact. The frame source and the
//! language are kept as text here; the window parses and checks them.

use crate::logs::WarnOnErr;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{Config, DecisionPolicy};

/// Environment variable naming the settings file.
pub const SETTINGS_ENV: &str = "KYC_KIOSK_SETTINGS";

/// File name inside `<config dir>/kyc-kiosk/`.
pub const FILE_NAME: &str = "kiosk-settings.toml";

/// Shortest and longest idle timeout the kiosk accepts, in seconds.
pub const IDLE_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 5..=3600;

/// The window's themes, as named in the settings file.
pub const THEMES: [&str; 2] = ["light", "dark"];

/// Longest kiosk name/ID or branch, in characters.
pub const MAX_LABEL_CHARS: usize = 64;

/// Check a kiosk name/ID or branch: not blank, at most [`MAX_LABEL_CHARS`] characters, no
/// control characters, no surrounding spaces (it is written into every record as given).
///
/// # Errors
/// What is wrong, starting with `what`.
pub fn check_label(what: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{what}: it is empty"));
    }
    if value.trim() != value {
        return Err(format!("{what}: it starts or ends with a space"));
    }
    if value.chars().count() > MAX_LABEL_CHARS {
        return Err(format!(
            "{what}: it is longer than {MAX_LABEL_CHARS} characters"
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{what}: it contains a control character"));
    }
    Ok(())
}

/// A settings file that cannot be read, parsed, validated or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The file exists but cannot be read.
    #[error("{path}: cannot read: {message}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The system's message.
        message: String,
    },
    /// A value is wrong (the message names the key).
    #[error("{0}")]
    Invalid(String),
    /// The file cannot be written; the old file is unchanged.
    #[error("{path}: {message}")]
    Unwritable {
        /// The file.
        path: PathBuf,
        /// The system's message.
        message: String,
    },
}

impl SettingsError {
    /// The same error with the file's path in front of an `Invalid` message.
    fn in_file(self, path: &Path) -> Self {
        match self {
            Self::Invalid(m) => Self::Invalid(format!("{}: {m}", path.display())),
            other => other,
        }
    }
}

impl From<SettingsError> for crate::Error {
    fn from(e: SettingsError) -> Self {
        let path = match &e {
            SettingsError::Unreadable { path, .. } | SettingsError::Unwritable { path, .. } => {
                path.clone()
            }
            SettingsError::Invalid(_) => PathBuf::from(FILE_NAME),
        };
        crate::Error::Config {
            path,
            reason: e.to_string(),
        }
    }
}

/// Where the settings file is: `$KYC_KIOSK_SETTINGS`, else
/// `<config dir>/kyc-kiosk/kiosk-settings.toml` (beside the default `config.toml`).
#[must_use]
pub fn default_path() -> Option<PathBuf> {
    std::env::var_os(SETTINGS_ENV)
        .map(PathBuf::from)
        .or_else(|| dirs::config_dir().map(|d| d.join("kyc-kiosk").join(FILE_NAME)))
}

/// The settings file: every key optional (a hand-edited file may leave some out).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsFile {
    /// The kiosk's own values.
    pub kiosk: Option<KioskSection>,
    /// Decision thresholds (missing keys inside take the built-in defaults).
    pub decision: Option<DecisionPolicy>,
    /// The match policy's minimum level.
    pub matching: Option<MatchingSection>,
}

/// `[kiosk]` of the settings file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KioskSection {
    /// Frame source as `--source` takes it, or `none`.
    pub source: Option<String>,
    /// `en` or `fr`.
    pub lang: Option<String>,
    /// Idle timeout in seconds.
    pub idle_timeout_secs: Option<u64>,
    /// The kiosk's name or ID, written into every record (set at first run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kiosk_id: Option<String>,
    /// The branch the kiosk stands in (set at first run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The window's theme: `light` or `dark`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
}

/// `[matching]` of the settings file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchingSection {
    /// Minimum match level 1–5.
    pub minimum_level: u8,
}

impl SettingsFile {
    /// Parse TOML text and check the thresholds (with `Config`'s validation) and the idle
    /// timeout.
    ///
    /// # Errors
    /// What is wrong, naming the key.
    pub fn from_toml(text: &str) -> Result<Self, SettingsError> {
        let f: SettingsFile =
            toml::from_str(text).map_err(|e| SettingsError::Invalid(e.to_string()))?;
        if let Some(t) = f.idle_timeout_secs()
            && !IDLE_TIMEOUT_RANGE.contains(&t)
        {
            return Err(SettingsError::Invalid(format!(
                "kiosk.idleTimeoutSecs: {t} is not {}–{} seconds",
                IDLE_TIMEOUT_RANGE.start(),
                IDLE_TIMEOUT_RANGE.end()
            )));
        }
        if let Some(id) = f.kiosk_id() {
            check_label("kiosk.kioskId", id).map_err(SettingsError::Invalid)?;
        }
        if let Some(b) = f.branch() {
            check_label("kiosk.branch", b).map_err(SettingsError::Invalid)?;
        }
        if let Some(t) = f.theme()
            && !THEMES.contains(&t)
        {
            return Err(SettingsError::Invalid(format!(
                "kiosk.theme: {t:?} is not one of {}",
                THEMES.join(", ")
            )));
        }
        f.overlay(&Config::default())?;
        Ok(f)
    }

    /// `config` with this file's thresholds laid over it, validated.
    ///
    /// # Errors
    /// `Config`'s validation message.
    pub fn overlay(&self, config: &Config) -> Result<Config, SettingsError> {
        let mut c = config.clone();
        if let Some(d) = self.decision {
            c.decision = d;
        }
        if let Some(m) = &self.matching {
            c.matching.minimum_level = m.minimum_level;
        }
        c.validate().map_err(SettingsError::Invalid)?;
        Ok(c)
    }

    /// The saved idle timeout, if any.
    #[must_use]
    pub fn idle_timeout_secs(&self) -> Option<u64> {
        self.kiosk.as_ref()?.idle_timeout_secs
    }

    /// The saved frame source text, if any.
    #[must_use]
    pub fn source_text(&self) -> Option<&str> {
        self.kiosk.as_ref()?.source.as_deref()
    }

    /// The saved language code, if any.
    #[must_use]
    pub fn lang_code(&self) -> Option<&str> {
        self.kiosk.as_ref()?.lang.as_deref()
    }

    /// The saved kiosk name or ID, if any.
    #[must_use]
    pub fn kiosk_id(&self) -> Option<&str> {
        self.kiosk.as_ref()?.kiosk_id.as_deref()
    }

    /// The saved branch, if any.
    #[must_use]
    pub fn branch(&self) -> Option<&str> {
        self.kiosk.as_ref()?.branch.as_deref()
    }

    /// The saved theme name, if any.
    #[must_use]
    pub fn theme(&self) -> Option<&str> {
        self.kiosk.as_ref()?.theme.as_deref()
    }

    /// The thresholds, the idle timeout, the kiosk's identity or the theme (the
    /// administrator's part) differ from `other`'s.
    #[must_use]
    pub fn admin_part_differs(&self, other: &SettingsFile) -> bool {
        self.decision != other.decision
            || self.matching != other.matching
            || self.idle_timeout_secs() != other.idle_timeout_secs()
            || self.kiosk_id() != other.kiosk_id()
            || self.branch() != other.branch()
            || self.theme() != other.theme()
    }

    /// The keys whose values differ from `before`, in a fixed order.
    #[must_use]
    pub fn changed_keys(&self, before: &SettingsFile) -> Vec<&'static str> {
        let (a, b) = (
            before.decision.unwrap_or_default(),
            self.decision.unwrap_or_default(),
        );
        let level = |f: &SettingsFile| f.matching.as_ref().map(|m| m.minimum_level);
        [
            ("kiosk.source", before.source_text() != self.source_text()),
            ("kiosk.lang", before.lang_code() != self.lang_code()),
            (
                "kiosk.idleTimeoutSecs",
                before.idle_timeout_secs() != self.idle_timeout_secs(),
            ),
            ("kiosk.kioskId", before.kiosk_id() != self.kiosk_id()),
            ("kiosk.branch", before.branch() != self.branch()),
            ("kiosk.theme", before.theme() != self.theme()),
            ("decision.approveAt", a.approve_at != b.approve_at),
            (
                "decision.rejectMatchBelow",
                a.reject_match_below != b.reject_match_below,
            ),
            ("decision.minSharpness", a.min_sharpness != b.min_sharpness),
            (
                "decision.brightnessRange",
                a.brightness_range != b.brightness_range,
            ),
            (
                "decision.syntheticDocumentWarns",
                a.synthetic_document_warns != b.synthetic_document_warns,
            ),
            ("matching.minimumLevel", level(before) != level(self)),
        ]
        .into_iter()
        .filter_map(|(k, changed)| changed.then_some(k))
        .collect()
    }
}

/// Read the settings file; `Ok(None)` when there is none.
///
/// # Errors
/// A file that exists but cannot be read or is invalid (the message names the file).
pub fn load(path: &Path) -> Result<Option<SettingsFile>, SettingsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(SettingsError::Unreadable {
                path: path.to_path_buf(),
                message: e.to_string(),
            });
        }
    };
    SettingsFile::from_toml(&text)
        .map(Some)
        .map_err(|e| e.in_file(path))
}

/// Write the settings whole and atomically: a temporary file beside it, synced, then renamed
/// over the old one (and the folder synced), so the file is either the old or the new one.
///
/// # Errors
/// The folder cannot be created, or the write, sync or rename fails (full disk, read-only
/// file system); the old file is then unchanged.
pub fn save(path: &Path, settings: &SettingsFile) -> Result<(), SettingsError> {
    let unwritable = |p: &Path, e: &dyn std::fmt::Display| SettingsError::Unwritable {
        path: p.to_path_buf(),
        message: e.to_string(),
    };
    let body = toml::to_string(settings).map_err(|e| unwritable(path, &e))?;
    let text = format!(
        "# Written by the kyc-kiosk settings screen; every change is also in the audit chain\n\
         # (event settings_changed). Laid over the configuration file by the kiosk window and\n\
         # by `verify --record`.\n\n{body}"
    );
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| unwritable(dir, &e))?;
    let name = path
        .file_name()
        .map_or_else(|| FILE_NAME.into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable (best effort: not every file system allows it).
        if let Ok(d) = std::fs::File::open(dir) {
            d.sync_all().warn_on_err("syncing the settings folder");
        }
        Ok(())
    })();
    written.map_err(|e| {
        std::fs::remove_file(&tmp).warn_on_err("removing a partly written settings file");
        unwritable(path, &e)
    })
}

/// The settings in force: the configuration file with the settings file laid over it.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsInForce {
    /// The effective configuration (what decides).
    pub config: Config,
    /// The settings file as read (`None`: there was none).
    pub file: Option<SettingsFile>,
    /// Where the settings file is (or would be written).
    pub path: Option<PathBuf>,
}

impl SettingsInForce {
    /// `config` with the settings file at `path` laid over it (no file: `config` as is).
    ///
    /// # Errors
    /// A settings file that cannot be read or is invalid.
    pub fn load(config: Config, path: Option<&Path>) -> Result<Self, SettingsError> {
        let file = match path {
            Some(p) => load(p)?,
            None => None,
        };
        Self::with_file(config, file, path.map(Path::to_path_buf))
    }

    /// `config` with `file` laid over it.
    ///
    /// # Errors
    /// Thresholds in `file` that `Config`'s validation refuses.
    pub fn with_file(
        config: Config,
        file: Option<SettingsFile>,
        path: Option<PathBuf>,
    ) -> Result<Self, SettingsError> {
        let config = match &file {
            Some(f) => f.overlay(&config)?,
            None => config,
        };
        Ok(SettingsInForce { config, file, path })
    }

    /// The effective values as a settings file (thresholds from the configuration in force,
    /// the kiosk's own values from the file), as chained in `settings_in_force`.
    #[must_use]
    pub fn effective(&self) -> SettingsFile {
        SettingsFile {
            kiosk: self.file.as_ref().and_then(|f| f.kiosk.clone()),
            decision: Some(self.config.decision),
            matching: Some(MatchingSection {
                minimum_level: self.config.matching.minimum_level,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SettingsFile {
        let decision = DecisionPolicy {
            approve_at: 82.5,
            ..DecisionPolicy::default()
        };
        SettingsFile {
            kiosk: Some(KioskSection {
                source: Some("camera:1@1280x720".into()),
                lang: Some("fr".into()),
                idle_timeout_secs: Some(90),
                kiosk_id: Some("accra-01".into()),
                branch: Some("Accra Central".into()),
                theme: Some("dark".into()),
            }),
            decision: Some(decision),
            matching: Some(MatchingSection { minimum_level: 4 }),
        }
    }

    #[test]
    fn saved_settings_read_back_and_overlay_the_config() -> Result<(), SettingsError> {
        let dir = tempfile::tempdir().map_err(|e| SettingsError::Invalid(e.to_string()))?;
        let path = dir.path().join("sub").join(FILE_NAME);
        assert_eq!(load(&path)?, None);
        save(&path, &sample())?;
        let f = load(&path)?.ok_or(SettingsError::Invalid("no file".into()))?;
        assert_eq!(f, sample());
        assert_eq!(f.lang_code(), Some("fr"));
        assert_eq!(f.idle_timeout_secs(), Some(90));
        let in_force = SettingsInForce::load(Config::default(), Some(&path))?;
        assert_eq!(in_force.config.decision.approve_at, 82.5);
        assert_eq!(in_force.config.matching.minimum_level, 4);
        assert_eq!(in_force.config.weights, Config::default().weights);
        assert_eq!(
            in_force.effective().decision,
            Some(in_force.config.decision)
        );
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(text.contains("approveAt = 82.5"), "{text}");
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
            .unwrap_or_default();
        assert_eq!(names, [std::ffi::OsString::from(FILE_NAME)]);
        // No file: the configuration as is.
        let none = SettingsInForce::load(Config::default(), Some(&dir.path().join("nope")))?;
        assert_eq!(none.config, Config::default());
        Ok(())
    }

    #[test]
    fn invalid_files_are_refused_with_the_key() {
        let bad = [
            ("[decision]\napproveAt = 150.0\n", "decision.approveAt"),
            ("[matching]\nminimumLevel = 9\n", "minimum match level"),
            ("[kiosk]\nidleTimeoutSecs = 1\n", "kiosk.idleTimeoutSecs"),
            ("[kiosk]\ncolour = 1\n", "unknown field"),
        ];
        for (text, want) in bad {
            let e = SettingsFile::from_toml(text).map(|_| ()).unwrap_err();
            assert!(e.to_string().contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let Ok(dir) = tempfile::tempdir() else {
            return;
        };
        let path = dir.path().join(FILE_NAME);
        assert!(save(&path, &sample()).is_ok());
        let before = std::fs::read_to_string(&path).unwrap_or_default();
        // A path whose folder is a file cannot be written.
        let blocked = path.join("inner.toml");
        let e = save(&blocked, &sample()).unwrap_err().to_string();
        assert!(e.contains("inner.toml") || e.contains(FILE_NAME), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap_or_default(), before);
    }

    #[test]
    fn changed_keys_list_what_differs() {
        let a = sample();
        let mut b = a.clone();
        assert!(b.changed_keys(&a).is_empty());
        if let Some(d) = b.decision.as_mut() {
            d.approve_at = 90.0;
        }
        if let Some(k) = b.kiosk.as_mut() {
            k.lang = Some("en".into());
        }
        assert_eq!(b.changed_keys(&a), ["kiosk.lang", "decision.approveAt"]);
        assert!(b.admin_part_differs(&a));
        let mut c = a.clone();
        if let Some(k) = c.kiosk.as_mut() {
            k.source = Some("none".into());
        }
        assert!(!c.admin_part_differs(&a));
        let mut d = a.clone();
        if let Some(k) = d.kiosk.as_mut() {
            k.kiosk_id = Some("lome-02".into());
            k.theme = Some("light".into());
        }
        assert_eq!(d.changed_keys(&a), ["kiosk.kioskId", "kiosk.theme"]);
        assert!(d.admin_part_differs(&a));
    }

    #[test]
    fn kiosk_identity_and_theme_are_checked() {
        assert!(check_label("kiosk.kioskId", "accra-01").is_ok());
        for bad in ["", "   ", " lead", "tab\tinside", &"x".repeat(65)] {
            let e = check_label("kiosk.kioskId", bad).unwrap_err();
            assert!(e.starts_with("kiosk.kioskId: "), "{e}");
        }
        let e = SettingsFile::from_toml("[kiosk]\ntheme = \"neon\"\n").unwrap_err();
        assert!(e.to_string().contains("kiosk.theme"), "{e}");
        let e = SettingsFile::from_toml("[kiosk]\nbranch = \"\"\n").unwrap_err();
        assert!(e.to_string().contains("kiosk.branch: it is empty"), "{e}");
        let f = SettingsFile::from_toml(
            "[kiosk]\nkioskId = \"k1\"\nbranch = \"Dakar\"\ntheme = \"dark\"\n",
        )
        .unwrap();
        assert_eq!(
            (f.kiosk_id(), f.branch(), f.theme()),
            (Some("k1"), Some("Dakar"), Some("dark"))
        );
    }
}
