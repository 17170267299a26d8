//! The settings screen's typed view of the kiosk settings file: the frame source and the
//! language as the window knows them. The file itself — its model, load and atomic save, its
//! overlay on the configuration — is the core's (`kyc_core::settings`), shared with
//! `verify --record`, so the window and the command line decide with the same thresholds.

use std::path::Path;

use super::capture::SourceSpec;
use super::strings::Lang;
use kyc_core::config::{Config, DecisionPolicy};
pub use kyc_core::settings::{
    FILE_NAME, IDLE_TIMEOUT_RANGE, KioskSection, MatchingSection, SETTINGS_ENV, SettingsFile,
    default_path,
};

/// The settings the settings screen edits, as in force.
#[derive(Debug, Clone, PartialEq)]
pub struct KioskSettings {
    /// Frame source (`None`: no live source, file import only).
    pub source: Option<SourceSpec>,
    /// UI language.
    pub lang: Lang,
    /// Seconds without input before the customer's data is cleared.
    pub idle_timeout_secs: u64,
    /// Decision thresholds (`[decision]` of the configuration).
    pub decision: DecisionPolicy,
    /// Minimum match level 1–5 (`matching.minimumLevel`).
    pub minimum_level: u8,
    /// The kiosk's name or ID (`None`: the host name is used).
    pub kiosk_id: Option<String>,
    /// The branch the kiosk stands in.
    pub branch: Option<String>,
    /// Light or dark.
    pub theme: Theme,
}

/// The window's colour theme (an administrator's setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Dark background, light text.
    #[default]
    Dark,
    /// Light background, dark text.
    Light,
}

impl Theme {
    /// The name in the settings file.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Theme::Dark => "dark",
            Theme::Light => "light",
        }
    }

    /// Parse `light` / `dark`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Theme> {
        match text.trim() {
            "dark" => Some(Theme::Dark),
            "light" => Some(Theme::Light),
            _ => None,
        }
    }
}

/// The language's code in files and events.
#[must_use]
pub fn lang_code(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en",
        Lang::Fr => "fr",
    }
}

/// A source written the way `--source` takes it (`camera:0@1280x720`, `frames:<dir>@<fps>`,
/// `image:<file>`), or `none`.
#[must_use]
pub fn source_arg(source: Option<&SourceSpec>) -> String {
    match source {
        None => "none".into(),
        Some(SourceSpec::Camera {
            index,
            resolution: Some((w, h)),
        }) => format!("camera:{index}@{w}x{h}"),
        Some(SourceSpec::Camera {
            index,
            resolution: None,
        }) => format!("camera:{index}"),
        Some(SourceSpec::Frames { dir, fps }) => format!("frames:{}@{fps}", dir.display()),
        Some(SourceSpec::Image(p)) => format!("image:{}", p.display()),
    }
}

/// Parse [`source_arg`]'s form back (`none` → no live source).
///
/// # Errors
/// The source parser's message.
pub fn parse_source(text: &str) -> Result<Option<SourceSpec>, String> {
    if text.trim() == "none" {
        Ok(None)
    } else {
        text.trim().parse().map(Some)
    }
}

impl KioskSettings {
    /// The settings in force: `config`'s thresholds plus the kiosk's own values.
    #[must_use]
    pub fn from_parts(
        config: &Config,
        source: Option<&SourceSpec>,
        lang: Lang,
        idle_timeout_secs: u64,
    ) -> Self {
        KioskSettings {
            source: source.cloned(),
            lang,
            idle_timeout_secs,
            decision: config.decision,
            minimum_level: config.matching.minimum_level,
            kiosk_id: None,
            branch: None,
            theme: Theme::default(),
        }
    }

    /// The same settings with the kiosk's identity and theme as saved in `saved`.
    #[must_use]
    pub fn with_saved_identity(mut self, saved: Option<&SettingsFile>) -> Self {
        if let Some(f) = saved {
            self.kiosk_id = f.kiosk_id().map(str::to_string);
            self.branch = f.branch().map(str::to_string);
            self.theme = f.theme().and_then(Theme::parse).unwrap_or_default();
        }
        self
    }

    /// As written to the file (and into `settings_changed` events).
    #[must_use]
    pub fn to_file(&self) -> SettingsFile {
        SettingsFile {
            kiosk: Some(KioskSection {
                source: Some(source_arg(self.source.as_ref())),
                lang: Some(lang_code(self.lang).into()),
                idle_timeout_secs: Some(self.idle_timeout_secs),
                kiosk_id: self.kiosk_id.clone(),
                branch: self.branch.clone(),
                theme: Some(self.theme.code().into()),
            }),
            decision: Some(self.decision),
            matching: Some(MatchingSection {
                minimum_level: self.minimum_level,
            }),
        }
    }

    /// `config` with these thresholds.
    #[must_use]
    pub fn apply_to(&self, config: &Config) -> Config {
        let mut c = config.clone();
        c.decision = self.decision;
        c.matching.minimum_level = self.minimum_level;
        c
    }

    /// Whether the thresholds or the idle timeout (the administrator's settings) differ.
    #[must_use]
    pub fn admin_part_differs(&self, other: &KioskSettings) -> bool {
        self.to_file().admin_part_differs(&other.to_file())
    }

    /// The keys whose values differ from `before`, in a fixed order.
    #[must_use]
    pub fn changed_keys(&self, before: &KioskSettings) -> Vec<&'static str> {
        self.to_file().changed_keys(&before.to_file())
    }
}

/// The saved language, if any (and known).
#[must_use]
pub fn saved_lang(f: &SettingsFile) -> Option<Lang> {
    f.lang_code().and_then(Lang::parse)
}

/// The saved frame source: `None` when not saved, `Some(None)` for "no live source".
#[must_use]
pub fn saved_source(f: &SettingsFile) -> Option<Option<SourceSpec>> {
    parse_source(f.source_text()?).ok()
}

/// Check what the core leaves to the window: the source and the language parse.
///
/// # Errors
/// What is wrong, naming the key.
pub fn check_window_keys(f: &SettingsFile) -> Result<(), String> {
    if let Some(s) = f.source_text() {
        parse_source(s).map_err(|e| format!("kiosk.source: {e}"))?;
    }
    if let Some(l) = f.lang_code()
        && Lang::parse(l).is_none()
    {
        return Err(format!("kiosk.lang: unknown language {l:?} (en or fr)"));
    }
    Ok(())
}

/// Parse settings TOML with every check, the window's included.
///
/// # Errors
/// What is wrong, naming the key.
pub fn from_toml(text: &str) -> Result<SettingsFile, String> {
    let f = SettingsFile::from_toml(text).map_err(|e| e.to_string())?;
    check_window_keys(&f)?;
    Ok(f)
}

/// Read the settings file (`Ok(None)` when there is none), with the window's checks.
///
/// # Errors
/// A file that exists but cannot be read or is invalid (the message names the file).
pub fn load(path: &Path) -> Result<Option<SettingsFile>, String> {
    let f = kyc_core::settings::load(path).map_err(|e| e.to_string())?;
    if let Some(f) = &f {
        check_window_keys(f).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(f)
}

/// Write the settings whole and atomically (see `kyc_core::settings::save`).
///
/// # Errors
/// The core's message (the old file is then unchanged).
pub fn save(path: &Path, settings: &KioskSettings) -> Result<(), String> {
    kyc_core::settings::save(path, &settings.to_file()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> KioskSettings {
        let mut s = KioskSettings::from_parts(
            &Config::default(),
            Some(&SourceSpec::Camera {
                index: 1,
                resolution: Some((1280, 720)),
            }),
            Lang::Fr,
            90,
        );
        s.decision.approve_at = 82.5;
        s.minimum_level = 3;
        s
    }

    #[test]
    fn saved_settings_read_back_with_the_window_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(FILE_NAME);
        assert_eq!(load(&path).unwrap(), None);
        save(&path, &sample()).unwrap();
        let f = load(&path).unwrap().unwrap();
        assert_eq!(saved_lang(&f), Some(Lang::Fr));
        assert_eq!(f.idle_timeout_secs(), Some(90));
        assert_eq!(
            saved_source(&f),
            Some(Some(SourceSpec::Camera {
                index: 1,
                resolution: Some((1280, 720))
            }))
        );
        let c = f.overlay(&Config::default()).unwrap();
        assert_eq!(c.decision.approve_at, 82.5);
        assert_eq!(c.matching.minimum_level, 3);
    }

    #[test]
    fn no_source_and_other_sources_round_trip() {
        for s in [
            None,
            Some(SourceSpec::Camera {
                index: 0,
                resolution: None,
            }),
            Some(SourceSpec::Frames {
                dir: "/tmp/clip".into(),
                fps: 5.0,
            }),
            Some(SourceSpec::Image("/tmp/a.png".into())),
        ] {
            assert_eq!(parse_source(&source_arg(s.as_ref())).unwrap(), s);
        }
    }

    #[test]
    fn invalid_files_are_refused_with_the_key() {
        let bad = [
            ("[decision]\napproveAt = 150.0\n", "decision.approveAt"),
            ("[matching]\nminimumLevel = 9\n", "minimum match level"),
            ("[kiosk]\nlang = \"de\"\n", "kiosk.lang"),
            ("[kiosk]\nidleTimeoutSecs = 1\n", "kiosk.idleTimeoutSecs"),
            ("[kiosk]\nsource = \"webcam\"\n", "kiosk.source"),
            ("[kiosk]\ncolour = 1\n", "unknown field"),
        ];
        for (text, want) in bad {
            let e = from_toml(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn changed_keys_list_what_differs() {
        let a = sample();
        let mut b = a.clone();
        assert!(b.changed_keys(&a).is_empty());
        b.decision.approve_at = 90.0;
        b.lang = Lang::En;
        assert_eq!(b.changed_keys(&a), ["kiosk.lang", "decision.approveAt"]);
        assert!(b.admin_part_differs(&a));
        let mut c = a.clone();
        c.source = None;
        assert!(!c.admin_part_differs(&a));
    }
}
