//! How well match levels hold on labelled pairs: observed false-match rate with its one-sided
//! 95 % Clopper–Pearson upper bound, false non-match rate, and empirical thresholds.
//!
//! Pure arithmetic over cosine scores; `kyc-kiosk eval-faces` feeds it real pairs.

use serde::Serialize;

use super::matching::LevelDef;

/// One level measured on a set of pairs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LevelCheck {
    /// 1–5.
    pub level: u8,
    /// The level's cosine.
    pub cosine: f32,
    /// The false-match rate the level stands for.
    pub target_fmr: f64,
    /// Impostor pairs at or above the cosine.
    pub impostor_hits: usize,
    /// `impostor_hits / impostor pairs`.
    pub observed_fmr: f64,
    /// One-sided 95 % upper confidence bound of the false-match rate (Clopper–Pearson; with
    /// no hit it is 1 − 0.05^(1/n) ≈ 3/n, the rule of three).
    pub fmr_upper95: f64,
    /// The data can show the target: the upper bound is at or below it. When false, the
    /// level's rate is an extrapolation, not a measurement.
    pub measured: bool,
    /// Genuine pairs below the cosine.
    pub genuine_misses: usize,
    /// `genuine_misses / genuine pairs` (0 when there are none).
    pub fnmr: f64,
}

/// Natural log of the binomial probability mass `P(X = k)` for `X ~ Bin(n, p)`, 0 < p < 1.
fn ln_binomial_pmf(k: usize, n: usize, p: f64) -> f64 {
    let ln_choose = ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k);
    ln_choose + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln()
}

fn ln_factorial(n: usize) -> f64 {
    (2..=n).map(|i| (i as f64).ln()).sum()
}

/// `P(X ≤ k)` for `X ~ Bin(n, p)`.
fn binomial_cdf(k: usize, n: usize, p: f64) -> f64 {
    if p <= 0.0 {
        return 1.0;
    }
    if p >= 1.0 {
        return if k >= n { 1.0 } else { 0.0 };
    }
    (0..=k.min(n))
        .map(|i| ln_binomial_pmf(i, n, p).exp())
        .sum::<f64>()
        .min(1.0)
}

/// One-sided upper confidence bound at `confidence` (e.g. 0.95) of a rate seen `k` times in
/// `n` trials: the `p` where `P(X ≤ k) = 1 − confidence` (Clopper–Pearson).
#[must_use]
pub fn clopper_pearson_upper(k: usize, n: usize, confidence: f64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    if k >= n {
        return 1.0;
    }
    let alpha = 1.0 - confidence;
    if k == 0 {
        return 1.0 - alpha.powf(1.0 / n as f64);
    }
    // The CDF falls as p rises: bisect.
    let (mut lo, mut hi) = (k as f64 / n as f64, 1.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if binomial_cdf(k, n, mid) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// Measure each level on impostor and genuine cosines.
#[must_use]
pub fn check_levels(levels: &[LevelDef], impostors: &[f64], genuine: &[f64]) -> Vec<LevelCheck> {
    let n = impostors.len();
    levels
        .iter()
        .map(|l| {
            let t = f64::from(l.cosine);
            let hits = impostors.iter().filter(|&&s| s >= t).count();
            let upper = clopper_pearson_upper(hits, n, 0.95);
            let misses = genuine.iter().filter(|&&s| s < t).count();
            LevelCheck {
                level: l.level,
                cosine: l.cosine,
                target_fmr: l.false_match_rate,
                impostor_hits: hits,
                observed_fmr: if n == 0 { 0.0 } else { hits as f64 / n as f64 },
                fmr_upper95: upper,
                measured: n > 0 && upper <= l.false_match_rate,
                genuine_misses: misses,
                fnmr: if genuine.is_empty() {
                    0.0
                } else {
                    misses as f64 / genuine.len() as f64
                },
            }
        })
        .collect()
}

/// The lowest cosine at which at most `rate` of the impostor scores reach it (scores at or
/// above the threshold count as matches), or `None` when the data is too small to tell
/// (`rate × n < 1`: even the highest score would exceed the rate).
#[must_use]
pub fn empirical_threshold(impostors: &[f64], rate: f64) -> Option<f64> {
    let n = impostors.len();
    let allowed = (rate * n as f64).floor() as usize;
    if n == 0 || allowed == 0 {
        return None;
    }
    let mut sorted = impostors.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    // Scores strictly above the allowed-th highest may match; the threshold sits just above
    // the first score that must not.
    Some(next_up(sorted[allowed]))
}

fn next_up(v: f64) -> f64 {
    v + 1e-6
}

/// Mean and standard deviation (population).
#[must_use]
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n).sqrt();
    (mean, sd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::matching::MatchPolicy;

    #[test]
    fn rule_of_three_with_no_hit() {
        let u = clopper_pearson_upper(0, 3000, 0.95);
        assert!((u - 3.0 / 3000.0).abs() < 2e-6, "{u}");
        assert_eq!(clopper_pearson_upper(0, 0, 0.95), 1.0);
    }

    #[test]
    fn clopper_pearson_matches_known_values() {
        // One-sided 95 % upper bounds (Clopper–Pearson): k = 1, n = 100 → 0.0466;
        // k = 5, n = 1000 → 0.0105.
        assert!((clopper_pearson_upper(1, 100, 0.95) - 0.0466).abs() < 2e-4);
        assert!((clopper_pearson_upper(5, 1000, 0.95) - 0.01051).abs() < 2e-4);
        // Never below the observed rate.
        assert!(clopper_pearson_upper(40, 100, 0.95) > 0.4);
    }

    #[test]
    fn levels_are_checked_against_scores() {
        let levels = MatchPolicy::default().levels;
        let impostors: Vec<f64> = (0..1000).map(|i| f64::from(i) / 4000.0).collect(); // 0–0.25
        let mut with_one_high = impostors.clone();
        with_one_high[0] = 0.99;
        let genuine = vec![0.2, 0.5, 0.9];
        let rows = check_levels(&levels, &with_one_high, &genuine);
        assert_eq!(rows.len(), 5);
        assert!(rows.iter().all(|r| r.impostor_hits == 1));
        assert!((rows[0].observed_fmr - 1e-3).abs() < 1e-12);
        // 1 hit in 1000 cannot show 1e-2? It can: the upper bound is ≈ 4.7e-3.
        assert!(rows[0].measured && !rows[1].measured);
        assert_eq!(rows[0].genuine_misses, 1);
        let r5 = &rows[4];
        assert_eq!(r5.genuine_misses, 2);
        assert!((r5.fnmr - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn empirical_threshold_leaves_at_most_the_rate_above() {
        let scores: Vec<f64> = (0..1000).map(|i| f64::from(i) / 1000.0).collect();
        let t = empirical_threshold(&scores, 1e-2).unwrap();
        let above = scores.iter().filter(|&&s| s >= t).count();
        assert_eq!(above, 10);
        assert!(empirical_threshold(&scores, 1e-4).is_none());
    }
}
