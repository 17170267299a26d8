//! The kiosk's own settings file: what the settings screen changed (frame source, language,
//! idle timeout, decision thresholds, minimum match level), kept across restarts.
//!
//! It is separate from the configuration TOML (`Config::load`), which stays the operator's
//! hand-written file and which the command line alone reads: only the kiosk window lays this
//! file over it. It is written whole, to a temporary file that is synced and then renamed over
//! the old one, so a crash or a full disk leaves the previous file intact.

use kyc_core::logs::WarnOnErr;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::capture::SourceSpec;
use super::strings::Lang;
use kyc_core::config::{Config, DecisionPolicy};

/// Environment variable naming the settings file.
pub const SETTINGS_ENV: &str = "KYC_KIOSK_SETTINGS";

/// File name inside `<config dir>/kyc-kiosk/`.
pub const FILE_NAME: &str = "kiosk-settings.toml";

/// Where the settings file is: `$KYC_KIOSK_SETTINGS`, else `<config dir>/kyc-kiosk/kiosk-settings.toml`
/// (beside the default `config.toml`).
#[must_use]
pub fn default_path() -> Option<PathBuf> {
    std::env::var_os(SETTINGS_ENV)
        .map(PathBuf::from)
        .or_else(|| dirs::config_dir().map(|d| d.join("kyc-kiosk").join(FILE_NAME)))
}

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
        }
    }

    /// As written to the file (and into `settings_changed` events).
    #[must_use]
    pub fn to_file(&self) -> SettingsFile {
        SettingsFile {
            kiosk: Some(KioskSection {
                source: Some(source_arg(self.source.as_ref())),
                lang: Some(lang_code(self.lang).into()),
                idle_timeout_secs: Some(self.idle_timeout_secs),
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
        self.decision != other.decision
            || self.minimum_level != other.minimum_level
            || self.idle_timeout_secs != other.idle_timeout_secs
    }

    /// The keys whose values differ from `before`, in a fixed order.
    #[must_use]
    pub fn changed_keys(&self, before: &KioskSettings) -> Vec<&'static str> {
        let (a, b) = (&before.decision, &self.decision);
        [
            ("kiosk.source", before.source != self.source),
            ("kiosk.lang", before.lang != self.lang),
            (
                "kiosk.idleTimeoutSecs",
                before.idle_timeout_secs != self.idle_timeout_secs,
            ),
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
                "matching.minimumLevel",
                before.minimum_level != self.minimum_level,
            ),
        ]
        .into_iter()
        .filter_map(|(k, changed)| changed.then_some(k))
        .collect()
    }
}

/// The settings file as read: every key optional (a hand-edited file may leave some out).
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
}

/// `[matching]` of the settings file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchingSection {
    /// Minimum match level 1–5.
    pub minimum_level: u8,
}

/// Shortest and longest idle timeout the kiosk accepts, in seconds.
pub const IDLE_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 5..=3600;

impl SettingsFile {
    /// Parse TOML text and check every value (the thresholds with `Config`'s validation).
    ///
    /// # Errors
    /// What is wrong, naming the key.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let f: SettingsFile = toml::from_str(text).map_err(|e| e.to_string())?;
        if let Some(k) = &f.kiosk {
            if let Some(s) = &k.source {
                parse_source(s).map_err(|e| format!("kiosk.source: {e}"))?;
            }
            if let Some(l) = &k.lang
                && Lang::parse(l).is_none()
            {
                return Err(format!("kiosk.lang: unknown language {l:?} (en or fr)"));
            }
            if let Some(t) = k.idle_timeout_secs
                && !IDLE_TIMEOUT_RANGE.contains(&t)
            {
                return Err(format!(
                    "kiosk.idleTimeoutSecs: {t} is not {}–{} seconds",
                    IDLE_TIMEOUT_RANGE.start(),
                    IDLE_TIMEOUT_RANGE.end()
                ));
            }
        }
        f.overlay(&Config::default())?;
        Ok(f)
    }

    /// `config` with this file's thresholds laid over it, validated.
    ///
    /// # Errors
    /// `Config`'s validation message.
    pub fn overlay(&self, config: &Config) -> Result<Config, String> {
        let mut c = config.clone();
        if let Some(d) = self.decision {
            c.decision = d;
        }
        if let Some(m) = &self.matching {
            c.matching.minimum_level = m.minimum_level;
        }
        c.validate()?;
        Ok(c)
    }

    /// The saved language, if any.
    #[must_use]
    pub fn lang(&self) -> Option<Lang> {
        self.kiosk.as_ref()?.lang.as_deref().and_then(Lang::parse)
    }

    /// The saved idle timeout, if any.
    #[must_use]
    pub fn idle_timeout_secs(&self) -> Option<u64> {
        self.kiosk.as_ref()?.idle_timeout_secs
    }

    /// The saved frame source: `None` when not saved, `Some(None)` for "no live source".
    #[must_use]
    pub fn source(&self) -> Option<Option<SourceSpec>> {
        let text = self.kiosk.as_ref()?.source.as_deref()?;
        parse_source(text).ok()
    }
}

/// Read the settings file; `Ok(None)` when there is none.
///
/// # Errors
/// A file that exists but cannot be read or is invalid (the message names the file).
pub fn load(path: &Path) -> Result<Option<SettingsFile>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
    };
    SettingsFile::from_toml(&text)
        .map(Some)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Write the settings whole and atomically: a temporary file beside it, synced, then renamed
/// over the old one (and the folder synced), so the file is either the old or the new one.
///
/// # Errors
/// The folder cannot be created, or the write, sync or rename fails (full disk, read-only
/// file system); the old file is then unchanged.
pub fn save(path: &Path, settings: &KioskSettings) -> Result<(), String> {
    let body = toml::to_string(&settings.to_file())
        .map_err(|e| format!("cannot encode the settings: {e}"))?;
    let text = format!(
        "# Written by the kyc-kiosk settings screen; every change is also in the audit chain\n\
         # (event settings_changed). Laid over the configuration file by the kiosk window only.\n\n{body}"
    );
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
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
        format!("{}: {e}", path.display())
    })
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
    fn saved_settings_read_back_and_overlay_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(FILE_NAME);
        assert_eq!(load(&path).unwrap(), None);
        save(&path, &sample()).unwrap();
        let f = load(&path).unwrap().unwrap();
        assert_eq!(f.lang(), Some(Lang::Fr));
        assert_eq!(f.idle_timeout_secs(), Some(90));
        assert_eq!(
            f.source(),
            Some(Some(SourceSpec::Camera {
                index: 1,
                resolution: Some((1280, 720))
            }))
        );
        let c = f.overlay(&Config::default()).unwrap();
        assert_eq!(c.decision.approve_at, 82.5);
        assert_eq!(c.matching.minimum_level, 3);
        assert_eq!(c.weights, Config::default().weights);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("approveAt = 82.5"), "{text}");
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from(FILE_NAME)]);
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
            let e = SettingsFile::from_toml(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        save(&path, &sample()).unwrap();
        let before = std::fs::read_to_string(&path).unwrap();
        // A path whose folder is a file cannot be written.
        let blocked = path.join("inner.toml");
        let e = save(&blocked, &sample()).unwrap_err();
        assert!(e.contains("inner.toml") || e.contains(FILE_NAME), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
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
