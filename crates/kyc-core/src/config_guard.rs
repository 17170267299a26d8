//! Protected configuration: the effective configuration in canonical form and its hash, the
//! safe range of every value that lets more cases through, and the rule that command-line
//! flags may only tighten the configured policy.
//!
//! The shipped values (`Config::default()`, measured in docs/evaluation.md) are the edge of the
//! safe range: a value on the lax side of its shipped one — a match threshold whose false-match
//! rate is above 1e-3, a lower approval threshold, the duplicate search off or blunter, a
//! liveness check made blind, image limits past what bounded memory allows — makes the whole
//! configuration unsafe. An unsafe configuration runs only when an administrator has confirmed
//! exactly its hash (a chained `config_override_confirmed` event); any later edit changes the
//! hash and needs a new confirmation.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Config;

/// Chained event kind of an administrator's confirmation of one unsafe configuration.
pub const CONFIRM_EVENT: &str = "config_override_confirmed";

/// One value outside its safe range (or looser than the configured one, for a flag).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnsafeValue {
    /// The configuration key (`decision.approveAt`, `duplicates.search`, …).
    pub key: String,
    /// The value in force, as text.
    pub value: String,
    /// The safe range, as text (`≥ 70`, `true`, …).
    pub safe: String,
}

impl std::fmt::Display for UnsafeValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = {} (safe: {})", self.key, self.value, self.safe)
    }
}

/// Which way a value is stricter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strict {
    /// Higher is stricter (a threshold a case must reach).
    Higher,
    /// Lower is stricter (a ceiling a case must stay under).
    Lower,
}

/// Every ordered value that decides how much gets through: key, value, which way is stricter.
fn ordered_values(c: &Config) -> Vec<(String, f64, Strict)> {
    use Strict::{Higher, Lower};
    let l = &c.liveness;
    let mut out = vec![
        (
            "matching.minimumLevel".to_string(),
            f64::from(c.matching.minimum_level),
            Higher,
        ),
        (
            "matching.thresholdCosine".to_string(),
            f64::from(c.matching.decide(0.0).cosine_threshold),
            Higher,
        ),
        (
            "decision.approveAt".into(),
            f64::from(c.decision.approve_at),
            Higher,
        ),
        (
            "decision.rejectMatchBelow".into(),
            f64::from(c.decision.reject_match_below),
            Higher,
        ),
        (
            "decision.minSharpness".into(),
            f64::from(c.decision.min_sharpness),
            Higher,
        ),
        (
            "decision.brightnessRange[0]".into(),
            f64::from(c.decision.brightness_range.0),
            Higher,
        ),
        (
            "decision.brightnessRange[1]".into(),
            f64::from(c.decision.brightness_range.1),
            Lower,
        ),
        (
            "duplicates.cosine".into(),
            f64::from(c.duplicates.cosine),
            Lower,
        ),
        (
            "liveness.passive.threshold".into(),
            f64::from(l.passive.threshold),
            Higher,
        ),
        (
            "liveness.passive.minFrames".into(),
            l.passive.min_frames as f64,
            Higher,
        ),
        (
            "liveness.maxDocumentCosine".into(),
            f64::from(l.max_document_cosine),
            Lower,
        ),
        (
            "liveness.maxDocumentPixelSimilarity".into(),
            f64::from(l.max_document_pixel_similarity),
            Lower,
        ),
        (
            "liveness.challenge.minSimilarity".into(),
            f64::from(l.challenge.min_similarity),
            Higher,
        ),
        (
            "liveness.checks.identicalDiff".into(),
            f64::from(l.checks.identical_diff),
            Higher,
        ),
        (
            "liveness.checks.maxIdenticalShare".into(),
            f64::from(l.checks.max_identical_share),
            Lower,
        ),
        (
            "liveness.checks.minFps".into(),
            f64::from(l.checks.min_fps),
            Higher,
        ),
        (
            "liveness.checks.minParallax".into(),
            f64::from(l.checks.min_parallax),
            Higher,
        ),
        (
            "liveness.checks.minOutlineMotion".into(),
            f64::from(l.checks.min_outline_motion),
            Higher,
        ),
        (
            "liveness.checks.maxBackgroundChange".into(),
            f64::from(l.checks.max_background_change),
            Lower,
        ),
        ("limits.maxBytes".into(), c.limits.max_bytes as f64, Lower),
        (
            "limits.maxMegapixels".into(),
            f64::from(c.limits.max_megapixels),
            Lower,
        ),
        (
            "limits.maxAllocMib".into(),
            f64::from(c.limits.max_alloc_mib),
            Lower,
        ),
    ];
    // Each level's cosine: a level relabelled to a lower cosine claims a false-match rate it
    // does not have.
    for level in &c.matching.levels {
        out.push((
            format!("matching.levels[{}].cosine", level.level),
            f64::from(level.cosine),
            Higher,
        ));
    }
    out
}

/// Values of `asked` on the lax side of `reference`'s (`NaN` counts as lax), with `reference`'s
/// value as the edge of the range.
fn laxer(asked: &Config, reference: &Config, why: &str) -> Vec<UnsafeValue> {
    let reference_values = ordered_values(reference);
    let mut out = Vec::new();
    for (key, v, strict) in ordered_values(asked) {
        let Some((_, edge, _)) = reference_values.iter().find(|(k, _, _)| *k == key) else {
            continue;
        };
        let lax = v.is_nan()
            || match strict {
                Strict::Higher => v < *edge,
                Strict::Lower => v > *edge,
            };
        if lax {
            let sign = match strict {
                Strict::Higher => "≥",
                Strict::Lower => "≤",
            };
            out.push(UnsafeValue {
                key,
                value: short(v),
                safe: format!("{sign} {}{why}", short(*edge)),
            });
        }
    }
    if reference.duplicates.search && !asked.duplicates.search {
        out.push(UnsafeValue {
            key: "duplicates.search".into(),
            value: "false".into(),
            safe: format!("true{why}"),
        });
    }
    out
}

/// A number as short text (`0.43`, not `0.4300000071525879`).
fn short(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Every value of `config` outside its safe range, with the range; empty when safe.
#[must_use]
pub fn unsafe_values(config: &Config) -> Vec<UnsafeValue> {
    let mut out = laxer(config, &Config::default(), ", the shipped value");
    // The match threshold in false-match terms, with the measured levels (1e-3 at level 2).
    let measured = crate::face::matching::MatchPolicy::default();
    let threshold = config.matching.decide(0.0).cosine_threshold;
    let fmr = measured
        .levels
        .iter()
        .rev()
        .find(|l| threshold >= l.cosine)
        .map_or(1.0, |l| l.false_match_rate);
    if fmr > 1e-3
        && let Some(v) = out.iter_mut().find(|v| v.key == "matching.thresholdCosine")
    {
        v.safe = format!(
            "{}: a false-match rate of at most 1e-3 (measured {fmr:.0e} at this cosine)",
            v.safe
        );
    }
    out
}

/// Values of `asked` (the configuration with command-line flags applied) looser than
/// `configured`'s: flags may only tighten.
#[must_use]
pub fn loosened_by_flags(configured: &Config, asked: &Config) -> Vec<UnsafeValue> {
    laxer(asked, configured, ", the configured value")
}

/// The configuration as canonical JSON: every key, object keys sorted, no whitespace. The same
/// configuration always gives the same text, whatever file or order it came from.
#[must_use]
pub fn canonical_json(config: &Config) -> String {
    // serde_json's map is ordered by key (no `preserve_order`), so a round trip through
    // `Value` sorts every object; through text, so `f32` values stay shortest (0.43, not the
    // widened 0.4300000071525879).
    serde_json::to_string(config)
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text))
        .and_then(|v| serde_json::to_string(&v))
        .unwrap_or_default()
}

/// Hex sha256 of [`canonical_json`].
#[must_use]
pub fn config_hash(config: &Config) -> String {
    hex::encode(Sha256::digest(canonical_json(config).as_bytes()))
}

/// The configuration, its hash and what is unsafe in it, as chained at every start and change.
#[must_use]
pub fn describe(config: &Config) -> serde_json::Value {
    serde_json::json!({
        "configHash": config_hash(config),
        "config": serde_json::from_str::<serde_json::Value>(&canonical_json(config))
            .unwrap_or(serde_json::Value::Null),
        "unsafe": unsafe_values(config),
    })
}

/// The refusal message for an unsafe configuration nobody confirmed.
#[must_use]
pub fn refusal(config: &Config, problems: &[UnsafeValue]) -> String {
    let list = problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    format!(
        "values outside the safe range: {list}. This configuration (sha256 {}) runs only once an \
         administrator confirms it: kyc-kiosk audit confirm-config --operator ADMIN (password \
         in KYC_KIOSK_PASSWORD)",
        config_hash(config)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &[UnsafeValue]) -> Vec<&str> {
        v.iter().map(|u| u.key.as_str()).collect()
    }

    #[test]
    fn the_shipped_configuration_is_safe() {
        assert!(unsafe_values(&Config::default()).is_empty());
    }

    #[test]
    fn lax_values_are_named_with_their_range() {
        let mut c = Config::default();
        c.matching.minimum_level = 1;
        c.duplicates.search = false;
        c.decision.approve_at = 40.0;
        c.liveness.checks.min_fps = 0.0;
        c.liveness.max_document_cosine = 1.0;
        c.limits.max_megapixels = 100;
        let u = unsafe_values(&c);
        assert_eq!(
            keys(&u),
            [
                "matching.minimumLevel",
                "matching.thresholdCosine",
                "decision.approveAt",
                "liveness.maxDocumentCosine",
                "liveness.checks.minFps",
                "limits.maxMegapixels",
                "duplicates.search"
            ]
        );
        let fmr = &u[1];
        assert_eq!(fmr.value, "0.34");
        assert!(
            fmr.safe.contains("≥ 0.51") && fmr.safe.contains("1e-2"),
            "{fmr}"
        );
        assert_eq!(
            u[2].to_string(),
            "decision.approveAt = 40 (safe: ≥ 70, the shipped value)"
        );
        let text = refusal(&c, &u);
        assert!(text.contains(&config_hash(&c)) && text.contains("confirm-config"));
    }

    #[test]
    fn relabelled_levels_and_nan_are_unsafe_and_stricter_values_are_not() {
        let mut c = Config::default();
        // Level 3 is the default minimum: lowering its cosine lowers the threshold in force.
        c.matching.levels[2].cosine = 0.2;
        c.decision.min_sharpness = f32::NAN;
        assert_eq!(
            keys(&unsafe_values(&c)),
            [
                "matching.thresholdCosine",
                "decision.minSharpness",
                "matching.levels[3].cosine"
            ]
        );
        let mut strict = Config::default();
        strict.matching.minimum_level = 4;
        strict.decision.approve_at = 90.0;
        strict.duplicates.cosine = 0.5;
        strict.limits.max_megapixels = 12;
        assert!(unsafe_values(&strict).is_empty());
    }

    #[test]
    fn the_hash_covers_every_key_and_ignores_nothing() {
        let base = config_hash(&Config::default());
        assert_eq!(base, config_hash(&Config::default()));
        assert_eq!(base.len(), 64);
        let mut c = Config::default();
        c.liveness.challenge.turn_enter_deg += 1.0;
        assert_ne!(config_hash(&c), base);
        let c = Config {
            threads: 1,
            ..Config::default()
        };
        assert_ne!(config_hash(&c), base);
        let mut c = Config::default();
        c.weights.document = 0.5;
        c.weights.face_match = 0.3;
        assert_ne!(config_hash(&c), base);
        let text = canonical_json(&Config::default());
        assert!(text.starts_with("{\"decision\":"), "{text}");
        let d = describe(&Config::default());
        assert_eq!(d["configHash"], base);
        assert_eq!(d["config"]["duplicates"]["search"], true);
    }

    #[test]
    fn flags_may_only_tighten() {
        let mut configured = Config::default();
        configured.matching.minimum_level = 3;
        let mut asked = configured.clone();
        asked.matching.minimum_level = 4;
        assert!(loosened_by_flags(&configured, &asked).is_empty());
        asked.matching.minimum_level = 2;
        let u = loosened_by_flags(&configured, &asked);
        assert_eq!(
            keys(&u),
            ["matching.minimumLevel", "matching.thresholdCosine"]
        );
        assert!(u[0].safe.contains("≥ 3, the configured value"), "{}", u[0]);
    }
}
