//! Match policy: cosine → confidence 0–100, match levels 1–5 with their false-match rates, and
//! the 1:1 decision.

use serde::{Deserialize, Serialize};

/// One match level: the cosine a pair must reach and the false-match rate that stands for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LevelDef {
    /// 1 (most lenient) to 5 (strictest).
    pub level: u8,
    /// Minimum SFace cosine similarity.
    pub cosine: f32,
    /// False-match rate this threshold stands for (share of impostor pairs that reach it).
    pub false_match_rate: f64,
}

/// The cosine where confidence is 50: OpenCV's published SFace same-person threshold.
pub const CONFIDENCE_ANCHOR: f32 = 0.363;
/// Width of the logistic: confidence 27 → 73 spans ±1 width around the anchor.
pub const CONFIDENCE_WIDTH: f32 = 0.06;

/// How 1:1 matches are decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MatchPolicy {
    /// The level a pair must reach to match (the reference services' "minimum match level").
    pub minimum_level: u8,
    /// The five levels, ascending. See docs/evaluation.md ("Match levels") for how they were set.
    pub levels: Vec<LevelDef>,
}

impl Default for MatchPolicy {
    /// Levels set on 5 306 impostor pairs of 66 identities and 365 genuine pairs, re-checked on
    /// 7 379 impostor pairs of 81 identities and 371 genuine pairs
    /// (`kyc-kiosk eval-faces`, docs/evaluation.md "Match levels"): levels 1 and 2 are the
    /// lowest cosines whose one-sided 95 % upper bound of the false-match rate is within the
    /// level's rate; levels 3–5 extrapolate the measured impostor tail (one decade per 0.091
    /// cosine; 0.094 on the larger set). The default requires level 3, a false-match rate of 1e-4.
    fn default() -> Self {
        Self {
            minimum_level: 3,
            levels: vec![
                LevelDef {
                    level: 1,
                    cosine: 0.34,
                    false_match_rate: 1e-2,
                },
                LevelDef {
                    level: 2,
                    cosine: 0.45,
                    false_match_rate: 1e-3,
                },
                LevelDef {
                    level: 3,
                    cosine: 0.51,
                    false_match_rate: 1e-4,
                },
                LevelDef {
                    level: 4,
                    cosine: 0.60,
                    false_match_rate: 1e-5,
                },
                LevelDef {
                    level: 5,
                    cosine: 0.69,
                    false_match_rate: 1e-6,
                },
            ],
        }
    }
}

/// The 1:1 outcome, with the reference services' field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchOutcome {
    /// Whether the pair reached the minimum match level.
    pub is_match: bool,
    /// 0–100, a fixed monotonic mapping of the cosine (see [`confidence`]).
    pub confidence: f32,
    /// The confidence the pair had to reach: [`confidence`] of the minimum level's cosine.
    pub threshold: f32,
    /// Highest level reached, 0 when below level 1.
    pub match_level: u8,
    /// The level required.
    pub minimum_match_level: u8,
    /// Cosine similarity of the two templates.
    pub cosine: f32,
    /// Cosine of the minimum level.
    pub cosine_threshold: f32,
    /// False-match rate of the minimum level.
    pub false_match_rate: f64,
}

/// Confidence 0–100 of a cosine: `100 / (1 + e^(−(cos − 0.363)/0.06))`.
///
/// Monotonic, 50 at OpenCV's same-person threshold, ≈ 90 at 0.5 and ≈ 1 at 0.1, so typical
/// genuine pairs (cosine 0.5–0.9) read 90–100 and impostors (−0.2–0.3) read under 30.
#[must_use]
pub fn confidence(cosine: f32) -> f32 {
    100.0 / (1.0 + (-(cosine - CONFIDENCE_ANCHOR) / CONFIDENCE_WIDTH).exp())
}

impl MatchPolicy {
    /// The highest level whose cosine `cosine` reaches (0 if none).
    #[must_use]
    pub fn level_of(&self, cosine: f32) -> u8 {
        self.levels
            .iter()
            .filter(|l| cosine >= l.cosine)
            .map(|l| l.level)
            .max()
            .unwrap_or(0)
    }

    fn minimum(&self) -> LevelDef {
        self.levels
            .iter()
            .copied()
            .find(|l| l.level == self.minimum_level)
            .unwrap_or(LevelDef {
                level: 3,
                cosine: CONFIDENCE_ANCHOR,
                false_match_rate: 1e-4,
            })
    }

    /// Decide a pair from its cosine.
    #[must_use]
    pub fn decide(&self, cosine: f32) -> MatchOutcome {
        let min = self.minimum();
        MatchOutcome {
            is_match: cosine >= min.cosine,
            confidence: round2(confidence(cosine)),
            threshold: round2(confidence(min.cosine)),
            match_level: self.level_of(cosine),
            minimum_match_level: min.level,
            cosine: round4(cosine),
            cosine_threshold: min.cosine,
            false_match_rate: min.false_match_rate,
        }
    }

    /// Check the levels are usable: five, ascending in cosine and strictness.
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.levels.len() != 5 {
            return Err(format!(
                "expected 5 match levels, found {}",
                self.levels.len()
            ));
        }
        for (i, l) in self.levels.iter().enumerate() {
            if usize::from(l.level) != i + 1 {
                return Err(format!("match level {} is out of order", l.level));
            }
            if i > 0
                && (l.cosine <= self.levels[i - 1].cosine
                    || l.false_match_rate >= self.levels[i - 1].false_match_rate)
            {
                return Err(format!(
                    "match level {} must be stricter than level {}",
                    l.level, i
                ));
            }
        }
        if !(1..=5).contains(&self.minimum_level) {
            return Err(format!(
                "minimum match level {} is not 1–5",
                self.minimum_level
            ));
        }
        Ok(())
    }
}

fn round2(v: f32) -> f32 {
    (v * 100.0).round() / 100.0
}

fn round4(v: f32) -> f32 {
    (v * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_is_monotonic_and_anchored() {
        assert!((confidence(CONFIDENCE_ANCHOR) - 50.0).abs() < 1e-3);
        let mut last = -1.0;
        for i in -100..=100 {
            let c = confidence(i as f32 / 100.0);
            assert!(c >= last && (0.0..=100.0).contains(&c));
            last = c;
        }
        assert!(confidence(0.5) > 88.0 && confidence(0.1) < 2.0);
    }

    #[test]
    fn levels_and_decision() {
        let p = MatchPolicy::default();
        p.validate().unwrap();
        assert_eq!(p.level_of(0.1), 0);
        assert_eq!(p.level_of(0.9), 5);
        let yes = p.decide(0.52);
        assert!(yes.is_match && yes.match_level == 3 && yes.confidence >= yes.threshold);
        let no = p.decide(0.40);
        assert!(!no.is_match && no.match_level == 1 && no.confidence < no.threshold);
        // Level 2 (1e-3) is no longer enough by default: the minimum is level 3.
        let level2 = p.decide(0.47);
        assert!(!level2.is_match && level2.match_level == 2);
        assert_eq!(
            (level2.minimum_match_level, level2.cosine_threshold),
            (3, 0.51)
        );
        assert_eq!(level2.false_match_rate, 1e-4);
        let strict = MatchPolicy {
            minimum_level: 5,
            ..MatchPolicy::default()
        };
        assert!(!strict.decide(0.68).is_match && strict.decide(0.69).is_match);
        let lenient = MatchPolicy {
            minimum_level: 1,
            ..MatchPolicy::default()
        };
        assert!(lenient.decide(0.40).is_match);
    }

    #[test]
    fn invalid_levels_are_refused() {
        let mut p = MatchPolicy::default();
        p.levels[3].cosine = 0.1;
        assert!(p.validate().is_err());
        assert!(
            MatchPolicy {
                minimum_level: 9,
                ..MatchPolicy::default()
            }
            .validate()
            .is_err()
        );
    }
}
