//! Stage timings, reported as `timingsMs` in every result.

use std::collections::BTreeMap;
use std::time::Instant;

/// CPU time (user + system) this process has used so far, in ms, threads that have ended
/// included: `utime` + `stime` of `/proc/self/stat`, what `getrusage(RUSAGE_SELF)` reports,
/// in clock ticks of 10 ms (Linux's fixed user-visible tick rate). On a machine shared with
/// other work the wall clock measures the queue; the CPU time a read adds is what it costs, and
/// on a quiet machine its wall time is at most that. `None` where `/proc` does not exist.
#[must_use]
pub fn process_cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state is field 3, so utime (14) and stime (15) are the 12th and 13th.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 * 10.0)
}

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

#[cfg(test)]
mod cpu_tests {
    use super::process_cpu_ms;

    #[test]
    fn process_cpu_time_grows_with_work_done() {
        let start = process_cpu_ms().expect("/proc/self/stat is readable on Linux");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut x = 1u64;
        let mut now = start;
        // Work until the counter moved by three ticks (however loaded the machine is).
        while now < start + 30.0 && std::time::Instant::now() < deadline {
            for i in 0..1_000_000u64 {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i);
            }
            now = process_cpu_ms().expect("still readable");
        }
        std::hint::black_box(x);
        assert!(now >= start + 30.0, "CPU time {start} -> {now} ms");
        // Ticks of 10 ms.
        assert_eq!(now % 10.0, 0.0);
    }
}
