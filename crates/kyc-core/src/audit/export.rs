//! Supervisor exports (JSON Lines, CSV) and statistics.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::error::AuditError;
use super::store::{AuditStore, SUMMARY_COLUMNS, summary_from_row, where_clause};
use super::types::{RecordFilter, RecordSummary};
use super::users::{Permission, UserSession};

/// Export file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per line (summary plus the full result JSON).
    Jsonl,
    /// Comma-separated summary columns with a header row (RFC 4180 quoting).
    Csv,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "jsonl" => Ok(Self::Jsonl),
            "csv" => Ok(Self::Csv),
            other => Err(format!("unknown export format {other:?}: use jsonl or csv")),
        }
    }
}

/// Summary of processing times (finished − started), in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TimeSummary {
    /// Fastest.
    pub min_ms: i64,
    /// Median.
    pub median_ms: i64,
    /// 95th percentile.
    pub p95_ms: i64,
    /// Slowest.
    pub max_ms: i64,
    /// Mean.
    pub mean_ms: f64,
}

/// Upper bounds (ms, inclusive) of the processing-time histogram's buckets; one more bucket
/// holds everything slower.
pub const TIME_BUCKETS_MS: [i64; 7] = [15_000, 30_000, 45_000, 60_000, 90_000, 120_000, 180_000];

/// One bar of the processing-time histogram.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TimeBucket {
    /// Upper bound in ms, inclusive (`None`: slower than the last bound).
    pub up_to_ms: Option<i64>,
    /// Records in the bucket.
    pub count: u64,
}

/// Counts for the supervisor dashboard.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Records matching the filter.
    pub total: u64,
    /// Count per current decision.
    pub per_decision: BTreeMap<String, u64>,
    /// Count per operator.
    pub per_operator: BTreeMap<String, u64>,
    /// Records waiting for review.
    pub pending_review: u64,
    /// Processing-time summary (absent when no record matched).
    pub processing: Option<TimeSummary>,
    /// Processing times by [`TIME_BUCKETS_MS`] (empty when no record matched).
    pub processing_histogram: Vec<TimeBucket>,
}

const CSV_HEADER: &[&str] = &[
    "id",
    "created_ms",
    "kiosk_id",
    "operator",
    "customer_type",
    "claimed_id_type",
    "claimed_id_number",
    "document_number",
    "full_name",
    "country",
    "overall_confidence",
    "decision",
    "current_decision",
    "review_status",
    "decision_reason",
    "processing_ms",
    "images_purged_ms",
    "erased_ms",
];

impl AuditStore {
    /// Write every record matching `filter` to `out` (needs `Export`); returns the row count.
    /// The export itself is chained as an `export` event.
    pub fn export(
        &mut self,
        by: &UserSession,
        filter: &RecordFilter,
        format: ExportFormat,
        out: &mut dyn Write,
    ) -> Result<u64, AuditError> {
        by.require(Permission::Export)?;
        let (where_sql, args) = where_clause(filter);
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, result_json FROM verifications {where_sql}
             ORDER BY created_ms, id"
        );
        let io = |e| AuditError::io("export output", e);
        let mut n = 0u64;
        {
            let mut stmt = self.conn.prepare(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
            if format == ExportFormat::Csv {
                write_csv_row(out, CSV_HEADER.iter().map(|s| s.to_string())).map_err(io)?;
            }
            while let Some(row) = rows.next()? {
                let s = summary_from_row(row)??;
                match format {
                    ExportFormat::Jsonl => {
                        let result: serde_json::Value =
                            serde_json::from_str(&row.get::<_, String>(19)?)?;
                        let line = serde_json::json!({ "record": s, "result": result });
                        serde_json::to_writer(&mut *out, &line)?;
                        out.write_all(b"\n").map_err(io)?;
                    }
                    ExportFormat::Csv => write_csv_row(out, csv_fields(&s)).map_err(io)?,
                }
                n += 1;
            }
        }
        out.flush().map_err(io)?;
        self.append(
            "export",
            by.username(),
            None,
            serde_json::json!({ "filter": filter, "format": format!("{format:?}"), "rows": n }),
        )?;
        Ok(n)
    }

    /// Counts per decision and operator and a processing-time summary (needs `Export`).
    pub fn stats(&self, by: &UserSession, filter: &RecordFilter) -> Result<Stats, AuditError> {
        by.require(Permission::Export)?;
        let (where_sql, args) = where_clause(filter);
        let sql = format!(
            "SELECT current_decision, operator, review_status, finished_ms - started_ms
             FROM verifications {where_sql}"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
        let mut st = Stats::default();
        let mut times = Vec::new();
        while let Some(r) = rows.next()? {
            st.total += 1;
            *st.per_decision.entry(r.get(0)?).or_default() += 1;
            *st.per_operator.entry(r.get(1)?).or_default() += 1;
            if r.get::<_, String>(2)? == "pending" {
                st.pending_review += 1;
            }
            times.push(r.get::<_, i64>(3)?);
        }
        if !times.is_empty() {
            let mut bars: Vec<TimeBucket> = TIME_BUCKETS_MS
                .iter()
                .map(|&b| TimeBucket {
                    up_to_ms: Some(b),
                    count: 0,
                })
                .chain(std::iter::once(TimeBucket::default()))
                .collect();
            for &t in &times {
                let i = TIME_BUCKETS_MS
                    .iter()
                    .position(|&b| t <= b)
                    .unwrap_or(TIME_BUCKETS_MS.len());
                bars[i].count += 1;
            }
            st.processing_histogram = bars;
            times.sort_unstable();
            let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
            st.processing = Some(TimeSummary {
                min_ms: times[0],
                median_ms: pick(0.5),
                p95_ms: pick(0.95),
                max_ms: times[times.len() - 1],
                mean_ms: times.iter().map(|t| *t as f64).sum::<f64>() / times.len() as f64,
            });
        }
        Ok(st)
    }
}

fn csv_fields(s: &RecordSummary) -> Vec<String> {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let oi = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    vec![
        s.id.to_string(),
        s.created_ms.to_string(),
        s.kiosk_id.clone(),
        s.operator.clone(),
        s.customer_type.as_str().into(),
        o(&s.claimed_id_type),
        o(&s.claimed_id_number),
        o(&s.document_number),
        o(&s.full_name),
        o(&s.country),
        s.overall_confidence
            .map(|c| c.to_string())
            .unwrap_or_default(),
        s.decision.as_str().into(),
        s.current_decision.as_str().into(),
        s.review_status.as_str().into(),
        s.decision_reason.clone(),
        s.processing_ms().to_string(),
        oi(s.images_purged_ms),
        oi(s.erased_ms),
    ]
}

/// Quote a CSV field when needed; neutralise spreadsheet formulas (a leading = + - @, or a
/// leading tab or carriage return, which spreadsheets skip before reading a formula).
fn csv_escape(f: &str) -> String {
    let formula = f.starts_with(['\t', '\r'])
        || (f.starts_with(['=', '+', '-', '@']) && f.parse::<f64>().is_err());
    let f = if formula {
        format!("'{f}")
    } else {
        f.to_string()
    };
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f
    }
}

fn write_csv_row(
    out: &mut dyn Write,
    fields: impl IntoIterator<Item = String>,
) -> std::io::Result<()> {
    let line: Vec<String> = fields.into_iter().map(|f| csv_escape(&f)).collect();
    out.write_all(line.join(",").as_bytes())?;
    out.write_all(b"\r\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::csv_escape;

    #[test]
    fn csv_quoting_and_formula_guard() {
        assert_eq!(csv_escape("plain"), "plain");
        assert_eq!(csv_escape("a,b"), "\"a,b\"");
        assert_eq!(csv_escape("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_escape("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_escape("-12.5"), "-12.5");
        assert_eq!(csv_escape("\t=1+2"), "'\t=1+2");
        assert_eq!(csv_escape("\r=HYPERLINK(1)"), "\"'\r=HYPERLINK(1)\"");
    }
}
