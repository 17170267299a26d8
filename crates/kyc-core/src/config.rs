//! Configuration: one typed struct, loaded from TOML, with defaults that work out of the box.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::document::reader::ReaderOptions;
use crate::error::{Error, Result};
use crate::face::FaceConfig;
use crate::face::matching::MatchPolicy;
use crate::imaging::ImageLimits;

/// Environment variable naming a config file.
pub const CONFIG_ENV: &str = "KYC_KIOSK_CONFIG";

/// The installed package's configuration file (a conffile), last in the lookup order.
pub const SYSTEM_CONFIG: &str = "/etc/kyc-kiosk/config.toml";

/// Weights of the overall confidence (the reference services use 0.4 / 0.2 / 0.4).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Weights {
    /// Weight of the document confidence.
    pub document: f32,
    /// Weight of the selfie face-detection confidence.
    pub selfie_detection: f32,
    /// Weight of the face-match confidence.
    pub face_match: f32,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            document: 0.4,
            selfie_detection: 0.2,
            face_match: 0.4,
        }
    }
}

/// Thresholds of the suggested decision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DecisionPolicy {
    /// Overall confidence at or above which a fully passing case is approved.
    pub approve_at: f32,
    /// Face-match confidence below which a case is rejected as a different person.
    pub reject_match_below: f32,
    /// Minimum face sharpness (0–100) before the capture is flagged as blurry.
    pub min_sharpness: f32,
    /// Acceptable face brightness range (0–100).
    pub brightness_range: (f32, f32),
    /// A document image that looks generated (`document_synthetic`) is a warning in the
    /// reasons instead of a referral. For test benches fed generated documents only: a kiosk
    /// serving customers keeps it off.
    pub synthetic_document_warns: bool,
}

impl Default for DecisionPolicy {
    fn default() -> Self {
        Self {
            approve_at: 70.0,
            reject_match_below: 10.0,
            min_sharpness: 20.0,
            brightness_range: (20.0, 85.0),
            synthetic_document_warns: false,
        }
    }
}

impl DecisionPolicy {
    /// Every value out of range, keyed by its configuration key (`decision.approveAt`, …), so a
    /// form can show each message next to its field.
    #[must_use]
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let in_0_100 = |v: f32| v.is_finite() && (0.0..=100.0).contains(&v);
        for (key, v) in [
            ("decision.approveAt", self.approve_at),
            ("decision.rejectMatchBelow", self.reject_match_below),
            ("decision.minSharpness", self.min_sharpness),
        ] {
            if !in_0_100(v) {
                out.push((key, format!("{key} must be between 0 and 100 (got {v})")));
            }
        }
        if in_0_100(self.approve_at)
            && in_0_100(self.reject_match_below)
            && self.reject_match_below >= self.approve_at
        {
            out.push((
                "decision.rejectMatchBelow",
                format!(
                    "decision.rejectMatchBelow ({}) must be below decision.approveAt ({})",
                    self.reject_match_below, self.approve_at
                ),
            ));
        }
        let (lo, hi) = self.brightness_range;
        if !in_0_100(lo) || !in_0_100(hi) || lo >= hi {
            out.push((
                "decision.brightnessRange",
                format!(
                    "decision.brightnessRange must be two values from 0 to 100, lowest first (got {lo}–{hi})"
                ),
            ));
        }
        out
    }
}

/// Retention of the audit store's images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RetentionConfig {
    /// Days the document, portrait and selfie images of a recorded verification are kept. The
    /// kiosk purges older ones by itself when it starts and once a day (chained as
    /// `images_purged` by `system:retention`); decisions, results and face templates stay.
    /// 0 keeps images until an administrator purges or erases them.
    pub image_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self { image_days: 90 }
    }
}

/// The 1:N duplicate-enrolment search run before a verification is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DuplicateSearch {
    /// Search the enrolled templates and ID numbers for this customer (off: nothing is flagged).
    pub search: bool,
    /// Cosine at or above which an enrolled face counts as the same person. One search compares
    /// against every enrolled template, so the default is the strictest match level's cosine
    /// (false-match rate 1e-6 per pair), which keeps false flags rare at 100k customers.
    pub cosine: f32,
}

impl Default for DuplicateSearch {
    fn default() -> Self {
        Self {
            search: true,
            cosine: 0.69,
        }
    }
}

/// Level words a log filter may use.
const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// Logging: where the kiosk's log file goes, how many are kept, and how much is written.
///
/// A filter is a level (`info`) or comma-separated `target=level` directives after an optional
/// default level (`info,kyc_core=debug,ort=warn`), as `RUST_LOG` spells them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LoggingConfig {
    /// Filter of the log file.
    pub level: String,
    /// Filter of standard error (command-line commands and the window alike).
    pub stderr: String,
    /// Folder of the log files; empty means `<state dir>/kyc-kiosk/logs`.
    pub dir: Option<PathBuf>,
    /// Daily files kept, today's included; older ones are deleted at start and at rotation.
    pub keep_files: usize,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            level: "info,ort=warn".into(),
            stderr: "warn".into(),
            dir: None,
            keep_files: 14,
        }
    }
}

impl LoggingConfig {
    /// The log folder: `dir`, else `<state dir>/kyc-kiosk/logs` (the data folder where the
    /// platform has no state folder).
    #[must_use]
    pub fn log_dir(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| {
            dirs::state_dir()
                .or_else(dirs::data_dir)
                .unwrap_or_else(|| PathBuf::from("."))
                .join("kyc-kiosk")
                .join("logs")
        })
    }

    /// Every value out of range, keyed by its configuration key.
    #[must_use]
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (key, filter) in [
            ("logging.level", &self.level),
            ("logging.stderr", &self.stderr),
        ] {
            if let Err(e) = check_filter(filter) {
                out.push((key, format!("{key}: {e}")));
            }
        }
        if self.keep_files == 0 || self.keep_files > 366 {
            out.push((
                "logging.keepFiles",
                format!("logging.keepFiles must be 1–366 (got {})", self.keep_files),
            ));
        }
        out
    }
}

/// Check a log filter's syntax (see [`LoggingConfig`]).
///
/// # Errors
/// A message naming the first directive that is not `level` or `target=level`.
pub fn check_filter(filter: &str) -> std::result::Result<(), String> {
    for directive in filter.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let (target, level) = match directive.split_once('=') {
            Some((t, l)) => (Some(t.trim()), l.trim()),
            None => (None, directive),
        };
        let target_ok = target.is_none_or(|t| {
            !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '-')
        });
        if !target_ok || !LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "{directive:?} is not a level ({}) or target=level",
                LEVELS.join(", ")
            ));
        }
    }
    Ok(())
}

/// All settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    /// Input image limits.
    pub limits: ImageLimits,
    /// Face detection and subject rules.
    pub face: FaceConfig,
    /// 1:1 match policy.
    pub matching: MatchPolicy,
    /// Overall-confidence weights.
    pub weights: Weights,
    /// Decision thresholds.
    pub decision: DecisionPolicy,
    /// The 1:N duplicate-enrolment search.
    pub duplicates: DuplicateSearch,
    /// Liveness: challenge rules and the passive-check threshold.
    pub liveness: crate::liveness::LivenessConfig,
    /// ONNX Runtime intra-op threads per model (the kiosk has 2 cores).
    pub threads: usize,
    /// Models folder; empty means the default search (see `models::models_dir`).
    pub models_dir: Option<PathBuf>,
    /// Log file, its rotation and levels.
    pub logging: LoggingConfig,
    /// How long the audit store keeps images.
    pub retention: RetentionConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            limits: ImageLimits::default(),
            face: FaceConfig::default(),
            matching: MatchPolicy::default(),
            weights: Weights::default(),
            decision: DecisionPolicy::default(),
            duplicates: DuplicateSearch::default(),
            liveness: crate::liveness::LivenessConfig::default(),
            threads: 2,
            models_dir: None,
            logging: LoggingConfig::default(),
            retention: RetentionConfig::default(),
        }
    }
}

impl Config {
    /// Load the file [`Config::source`] picks; the defaults when it picks none.
    ///
    /// # Errors
    /// When the file exists but cannot be read or is invalid.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let Some(file) = Self::source(path) else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(&file).map_err(|e| Error::Config {
            path: file.clone(),
            reason: format!("cannot read: {e}"),
        })?;
        Self::from_toml(&text).map_err(|reason| Error::Config { path: file, reason })
    }

    /// The configuration file in force: `path`, or `$KYC_KIOSK_CONFIG`, or
    /// `<config dir>/kyc-kiosk/config.toml` when it exists, or the installed package's
    /// [`SYSTEM_CONFIG`] when it exists; `None` means the defaults.
    #[must_use]
    pub fn source(path: Option<&Path>) -> Option<PathBuf> {
        path.map(Path::to_path_buf)
            .or_else(|| std::env::var_os(CONFIG_ENV).map(PathBuf::from))
            .or_else(|| {
                dirs::config_dir()
                    .map(|d| d.join("kyc-kiosk").join("config.toml"))
                    .filter(|p| p.exists())
            })
            .or_else(|| Some(PathBuf::from(SYSTEM_CONFIG)).filter(|p| p.exists()))
    }

    /// Parse and validate TOML text.
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn from_toml(text: &str) -> std::result::Result<Self, String> {
        let config: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        config.validate()?;
        Ok(config)
    }

    /// `options` with this configuration's models folder, threads and face rules: what the
    /// document reader takes from the configuration.
    #[must_use]
    pub fn reader_options(&self, options: ReaderOptions) -> ReaderOptions {
        ReaderOptions {
            models_dir: self.models_dir.clone(),
            threads: self.threads,
            face: self.face,
            ..options
        }
    }

    /// Check values that would make results meaningless.
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn validate(&self) -> std::result::Result<(), String> {
        match self.problems().into_iter().next() {
            Some((_, message)) => Err(message),
            None => Ok(()),
        }
    }

    /// Every problem [`Config::validate`] would report, keyed by configuration key
    /// (`matching.minimumLevel`, `decision.approveAt`, …; `config` for weights, threads and limits);
    /// empty when valid.
    #[must_use]
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Err(e) = self.matching.validate() {
            let key = if (1..=5).contains(&self.matching.minimum_level) {
                "matching.levels"
            } else {
                "matching.minimumLevel"
            };
            out.push((key, e));
        }
        out.extend(self.decision.problems());
        out.extend(self.logging.problems());
        if let Err(e) = self.other_checks() {
            out.push(("config", e));
        }
        out
    }

    fn other_checks(&self) -> std::result::Result<(), String> {
        let w = self.weights;
        if [w.document, w.selfie_detection, w.face_match]
            .iter()
            .any(|v| !(0.0..=1.0).contains(v))
        {
            return Err("weights must each be between 0 and 1".into());
        }
        if ((w.document + w.selfie_detection + w.face_match) - 1.0).abs() > 1e-3 {
            return Err("weights must add up to 1".into());
        }
        if self.threads == 0 || self.threads > 16 {
            return Err("threads must be 1–16".into());
        }
        if self.limits.max_bytes == 0
            || self.limits.max_megapixels == 0
            || self.limits.max_alloc_mib == 0
        {
            return Err("image limits must be positive".into());
        }
        let d = self.duplicates.cosine;
        if !(d.is_finite() && d > 0.0 && d <= 1.0) {
            return Err(format!(
                "duplicates.cosine must be above 0 and at most 1 (got {d})"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_partial_toml_overrides() {
        Config::default().validate().unwrap();
        let c = Config::from_toml(
            "threads = 1\n[weights]\ndocument = 0.5\nselfieDetection = 0.1\nfaceMatch = 0.4\n",
        )
        .unwrap();
        assert_eq!(c.threads, 1);
        assert_eq!(c.weights.document, 0.5);
        assert_eq!(c.matching, MatchPolicy::default());
    }

    #[test]
    fn invalid_values_are_refused() {
        assert!(
            Config::from_toml("[weights]\ndocument = 0.9\n")
                .unwrap_err()
                .contains("add up")
        );
        assert!(Config::from_toml("threads = 0").is_err());
        assert!(Config::from_toml("[matching]\nminimumLevel = 7").is_err());
        assert!(Config::from_toml("not toml at all [").is_err());
    }

    #[test]
    fn decision_thresholds_are_checked_and_keyed() {
        let keys = |c: &Config| c.problems().into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        let mut c = Config::default();
        assert!(keys(&c).is_empty());
        c.decision.approve_at = 120.0;
        assert_eq!(keys(&c), ["decision.approveAt"]);
        assert!(c.validate().unwrap_err().contains("between 0 and 100"));
        c.decision.approve_at = 50.0;
        c.decision.reject_match_below = 60.0;
        assert_eq!(keys(&c), ["decision.rejectMatchBelow"]);
        c.decision.reject_match_below = 10.0;
        c.decision.brightness_range = (80.0, 30.0);
        c.decision.min_sharpness = f32::NAN;
        assert_eq!(
            keys(&c),
            ["decision.minSharpness", "decision.brightnessRange"]
        );
        c = Config::default();
        c.matching.minimum_level = 0;
        assert_eq!(keys(&c), ["matching.minimumLevel"]);
        assert!(Config::from_toml("[decision]\napproveAt = -1").is_err());
    }

    /// Every key path of a TOML value (`decision.approveAt`, …); arrays of tables by their
    /// first element.
    fn key_paths(v: &toml::Value, prefix: &str, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    key_paths(v, &path, out);
                }
            }
            toml::Value::Array(a) if a.first().is_some_and(toml::Value::is_table) => {
                key_paths(&a[0], prefix, out);
            }
            _ => out.push(prefix.to_string()),
        }
    }

    #[test]
    fn the_shipped_default_file_has_every_key_at_its_default() {
        let text = include_str!("../../../assets/config.default.toml");
        let shipped = Config::from_toml(text).unwrap();
        assert_eq!(shipped, Config::default());
        let mut in_file = Vec::new();
        key_paths(&toml::from_str(text).unwrap(), "", &mut in_file);
        let mut expected = Vec::new();
        key_paths(
            &toml::Value::try_from(Config::default()).unwrap(),
            "",
            &mut expected,
        );
        in_file.sort();
        expected.sort();
        if in_file != expected {
            panic!(
                "assets/config.default.toml keys differ; the defaults serialise as:\n{}",
                toml::to_string(&Config::default()).unwrap()
            );
        }
    }

    #[test]
    fn logging_filters_and_file_cap_are_checked() {
        let c = Config::from_toml(
            "[logging]\nlevel = \"debug,ort=warn\"\nstderr = \"off\"\nkeepFiles = 3\ndir = \"/tmp/l\"\n",
        )
        .unwrap();
        assert_eq!(c.logging.level, "debug,ort=warn");
        assert_eq!(c.logging.keep_files, 3);
        assert_eq!(c.logging.log_dir(), PathBuf::from("/tmp/l"));
        assert_eq!(Config::default().logging.level, "info,ort=warn");
        assert!(
            Config::default()
                .logging
                .log_dir()
                .ends_with("kyc-kiosk/logs")
        );
        let keys = |text: &str| {
            let c: Config = toml::from_str(text).unwrap();
            c.problems().into_iter().map(|(k, _)| k).collect::<Vec<_>>()
        };
        assert_eq!(keys("[logging]\nlevel = \"loud\""), ["logging.level"]);
        assert_eq!(
            keys("[logging]\nstderr = \"kyc_core=\""),
            ["logging.stderr"]
        );
        assert_eq!(keys("[logging]\nkeepFiles = 0"), ["logging.keepFiles"]);
        assert!(keys("[logging]\nlevel = \"warn,kyc_core::inference=trace\"").is_empty());
        assert!(check_filter("info,=debug").is_err());
    }
}
