//! In-memory 1:N face search over 128-d L2-normalised templates.
//!
//! Templates live in one contiguous `Vec<f32>` (row-major, 128 floats per row) so the scan is a
//! straight stream through memory the compiler vectorises; above a size threshold the rows are
//! split between two scoped threads (the kiosk has two cores).

use std::collections::HashMap;

use super::error::AuditError;
use super::types::{DuplicateReport, FaceMatch};

/// Length of a face template.
pub const TEMPLATE_DIM: usize = 128;
/// Default cosine-similarity threshold above which two templates are the same face.
pub const DEFAULT_DUPLICATE_THRESHOLD: f32 = 0.363;
/// Rows below which a second thread is not worth starting.
const PARALLEL_MIN_ROWS: usize = 16_384;

/// A searchable set of face templates keyed by verification id.
#[derive(Debug, Default, Clone)]
pub struct FaceIndex {
    data: Vec<f32>,
    ids: Vec<i64>,
    id_keys: Vec<Option<String>>,
    pos: HashMap<i64, usize>,
    by_id_key: HashMap<String, Vec<i64>>,
    threads: usize,
}

impl FaceIndex {
    /// An empty index that uses up to two threads.
    pub fn new() -> Self {
        FaceIndex {
            threads: 2,
            ..Default::default()
        }
    }

    /// An empty index with room for `n` templates.
    pub fn with_capacity(n: usize) -> Self {
        let mut ix = FaceIndex::new();
        ix.data.reserve(n * TEMPLATE_DIM);
        ix.ids.reserve(n);
        ix.id_keys.reserve(n);
        ix.pos.reserve(n);
        ix
    }

    /// Set how many threads a search may use (1 or 2 make sense on the kiosk).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Number of templates.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when no template is stored.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Whether the record has a template in the index.
    pub fn contains(&self, id: i64) -> bool {
        self.pos.contains_key(&id)
    }

    /// Add (or replace) the template of record `id`; the template is re-normalised.
    pub fn insert(
        &mut self,
        id: i64,
        id_key: Option<String>,
        template: &[f32],
    ) -> Result<(), AuditError> {
        let t = normalized(template)?;
        self.remove(id);
        self.pos.insert(id, self.ids.len());
        self.ids.push(id);
        if let Some(k) = &id_key {
            self.by_id_key.entry(k.clone()).or_default().push(id);
        }
        self.id_keys.push(id_key);
        self.data.extend_from_slice(&t);
        Ok(())
    }

    /// Remove the template of record `id`; returns whether it was there.
    pub fn remove(&mut self, id: i64) -> bool {
        let Some(p) = self.pos.remove(&id) else {
            return false;
        };
        let last = self.ids.len() - 1;
        if p != last {
            let (head, tail) = self.data.split_at_mut(last * TEMPLATE_DIM);
            head[p * TEMPLATE_DIM..(p + 1) * TEMPLATE_DIM].copy_from_slice(&tail[..TEMPLATE_DIM]);
            let moved = self.ids[last];
            self.pos.insert(moved, p);
        }
        self.data.truncate(last * TEMPLATE_DIM);
        self.ids.swap_remove(p);
        if let Some(k) = self.id_keys.swap_remove(p)
            && let Some(v) = self.by_id_key.get_mut(&k)
        {
            v.retain(|x| *x != id);
            if v.is_empty() {
                self.by_id_key.remove(&k);
            }
        }
        true
    }

    /// The `max_results` most similar templates with cosine ≥ `threshold`, best first.
    pub fn search(
        &self,
        query: &[f32],
        threshold: f32,
        max_results: usize,
    ) -> Result<Vec<(i64, f32)>, AuditError> {
        let q = normalized(query)?;
        if max_results == 0 || self.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.len();
        let threads = if rows >= PARALLEL_MIN_ROWS {
            self.threads.min(2)
        } else {
            1
        };
        let mut hits: Vec<(usize, f32)> = if threads <= 1 {
            scan(&self.data, 0, &q, threshold, max_results)
        } else {
            let split = rows / 2;
            let (a, b) = self.data.split_at(split * TEMPLATE_DIM);
            std::thread::scope(|s| {
                let other = s.spawn(|| scan(b, split, &q, threshold, max_results));
                let mut mine = scan(a, 0, &q, threshold, max_results);
                // A panic in the helper thread cannot come from input data; treat it as no hits.
                mine.extend(other.join().unwrap_or_default());
                mine
            })
        };
        sort_best_first(&mut hits);
        hits.truncate(max_results);
        Ok(hits.into_iter().map(|(p, s)| (self.ids[p], s)).collect())
    }

    /// Run the duplicate-enrolment check for a new template and its normalised ID number.
    pub fn check_duplicates(
        &self,
        template: &[f32],
        id_key: Option<&str>,
        threshold: f32,
        max_results: usize,
    ) -> Result<DuplicateReport, AuditError> {
        let q = normalized(template)?;
        let hits = self.search(&q, threshold, max_results)?;
        let mut report = DuplicateReport::default();
        for (vid, score) in hits {
            let same = match (
                id_key,
                self.pos.get(&vid).and_then(|p| self.id_keys[*p].as_deref()),
            ) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            };
            if !same && id_key.is_some() {
                report.same_face_different_id.push(vid);
            }
            report.matches.push(FaceMatch {
                verification_id: vid,
                score,
                same_id_number: same,
            });
        }
        if let Some(k) = id_key
            && let Some(ids) = self.by_id_key.get(k)
        {
            for vid in ids {
                if let Some(p) = self.pos.get(vid) {
                    let row = &self.data[p * TEMPLATE_DIM..(p + 1) * TEMPLATE_DIM];
                    if dot(row, &q) < threshold {
                        report.same_id_different_face.push(*vid);
                    }
                }
            }
            report.same_id_different_face.sort_unstable();
        }
        Ok(report)
    }
}

/// Check length and finiteness and scale to unit length.
pub fn normalized(t: &[f32]) -> Result<[f32; TEMPLATE_DIM], AuditError> {
    if t.len() != TEMPLATE_DIM {
        return Err(AuditError::InvalidInput(format!(
            "face template has {} values, expected {TEMPLATE_DIM}",
            t.len()
        )));
    }
    let mut out = [0f32; TEMPLATE_DIM];
    out.copy_from_slice(t);
    let norm = dot(&out, &out).sqrt();
    if !norm.is_finite() || norm < 1e-6 {
        return Err(AuditError::InvalidInput(
            "face template is zero or not finite".into(),
        ));
    }
    for v in &mut out {
        *v /= norm;
    }
    Ok(out)
}

/// Dot product written with eight independent accumulators so it vectorises.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    for (ca, cb) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += ca[i] * cb[i];
        }
    }
    let mut s = 0f32;
    for (x, y) in a
        .chunks_exact(8)
        .remainder()
        .iter()
        .zip(b.chunks_exact(8).remainder())
    {
        s += x * y;
    }
    (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]) + s
}

/// Scan rows of `block` (starting at row `base`), keeping the best `k` above `threshold`.
fn scan(block: &[f32], base: usize, q: &[f32], threshold: f32, k: usize) -> Vec<(usize, f32)> {
    let mut best: Vec<(usize, f32)> = Vec::new();
    let mut floor = threshold;
    for (i, row) in block.chunks_exact(TEMPLATE_DIM).enumerate() {
        let s = dot(row, q);
        if s >= floor {
            best.push((base + i, s));
            if best.len() >= 4 * k {
                sort_best_first(&mut best);
                best.truncate(k);
                floor = floor.max(best[k - 1].1);
            }
        }
    }
    best
}

fn sort_best_first(v: &mut [(usize, f32)]) {
    v.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn unit(seed: u32) -> Vec<f32> {
        let mut x = seed.wrapping_mul(2654435761).max(1);
        (0..TEMPLATE_DIM)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x as f32 / u32::MAX as f32) - 0.5
            })
            .collect()
    }

    #[test]
    fn finds_itself_and_remove_keeps_positions_right() {
        let mut ix = FaceIndex::new();
        for i in 0..100 {
            ix.insert(i, Some(format!("ID{i}")), &unit(i as u32 + 1))
                .unwrap();
        }
        let hits = ix.search(&unit(43), 0.9, 3).unwrap();
        assert_eq!(hits[0].0, 42);
        assert!((hits[0].1 - 1.0).abs() < 1e-4);
        assert!(ix.remove(0));
        assert!(!ix.remove(0));
        // Row 99 moved into slot 0: it must still be found under its own id.
        let hits = ix.search(&unit(100), 0.9, 3).unwrap();
        assert_eq!(hits[0].0, 99);
        assert_eq!(ix.len(), 99);
    }

    #[test]
    fn parallel_and_serial_agree() {
        let mut ix = FaceIndex::with_capacity(20_000);
        for i in 0..20_000 {
            ix.insert(i, None, &unit(i as u32 + 7)).unwrap();
        }
        let q = unit(12_345 + 7);
        let par = ix.search(&q, 0.2, 5).unwrap();
        ix.set_threads(1);
        let ser = ix.search(&q, 0.2, 5).unwrap();
        assert_eq!(par, ser);
        assert_eq!(par[0].0, 12_345);
    }

    #[test]
    fn rejects_bad_templates() {
        let mut ix = FaceIndex::new();
        assert!(ix.insert(1, None, &[1.0; 12]).is_err());
        assert!(ix.insert(1, None, &[0.0; TEMPLATE_DIM]).is_err());
        assert!(ix.insert(1, None, &[f32::NAN; TEMPLATE_DIM]).is_err());
    }
}
