//! Stage timings, reported as `timingsMs` in every result.

use std::collections::BTreeMap;
use std::time::Instant;

/// Milliseconds per named stage.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Timings(pub BTreeMap<String, f64>);

impl Timings {
    /// Record the time since `start` under `stage` (added to any earlier time of that stage).
    pub fn record(&mut self, stage: &str, start: Instant) {
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        tracing::debug!(stage, ms, "stage done");
        *self.0.entry(stage.to_string()).or_insert(0.0) += ms;
    }

    /// Set a stage's time directly.
    pub fn set(&mut self, stage: &str, ms: f64) {
        self.0.insert(stage.to_string(), ms);
    }

    /// Merge another set of timings in.
    pub fn extend(&mut self, other: Timings) {
        for (k, v) in other.0 {
            *self.0.entry(k).or_insert(0.0) += v;
        }
    }

    /// The stages and their times as one line (`decode=12.3 detect=40.1 …`), for the log.
    #[must_use]
    pub fn summary(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Round every figure to 0.01 ms for output.
    #[must_use]
    pub fn rounded(mut self) -> Self {
        self.0
            .values_mut()
            .for_each(|v| *v = (*v * 100.0).round() / 100.0);
        self
    }
}
