//! Fleet-wide duplicate enrolment: a 1:N face index kept in the service.
//!
//! Debian 12 packages no pgvector for PostgreSQL 15, so the search runs here. Templates arrive
//! sealed to the central key; the service opens each once and keeps it in memory as 128 signed
//! bytes with one scale per template (int8, 132 bytes a face). A search scans every code with
//! integer dot products (two threads above [`PARALLEL_MIN_ROWS`]), keeps the best
//! [`MAX_CANDIDATES`] whose approximate cosine is within [`MARGIN`] of the threshold, and
//! re-scores them exactly in float from their sealed templates in PostgreSQL (or from memory
//! while their push is still in its transaction). Only exact scores at or above the threshold
//! count. The index is rebuilt from PostgreSQL at start and updated by every push.
//!
//! A synced record whose face matches a record of another kiosk, or the same kiosk's record
//! under another claimed ID number, gets a flag (`dedup_flags`, its matches in
//! `dedup_matches`). The kiosk receives its undelivered flags in the head answer and chains
//! them; the chained event, pushed back, marks the flag delivered. Enrolled kiosks can also
//! search online (`POST /v1/dedup/search`), right after a verification.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use kyc_core::audit::{TEMPLATE_DIM, VerificationCanon, now_ms};
use kyc_core::fleet::crypto::record_aad;
use kyc_core::fleet::dedup::{
    DuplicateCandidate, DuplicateFlag, SearchQuery, SearchRequest, SearchResponse, search_aad,
    template_from_bytes,
};
use kyc_core::fleet::open_sealed;
use kyc_core::fleet::wire::WireEvent;
use sha2::{Digest, Sha256};
use tokio_postgres::GenericClient;

use crate::ratelimit::{self, Verdict};
use crate::server::ApiError;
use crate::{Central, CentralError};

/// Approximate scores this far below the threshold are re-scored exactly.
pub const MARGIN: f32 = 0.03;
/// Most candidates re-scored per search.
pub const MAX_CANDIDATES: usize = 32;
/// Rows below which the scan stays on one thread.
pub const PARALLEL_MIN_ROWS: usize = 32_768;
/// Most undelivered flags offered in one head answer.
pub const MAX_FLAGS_OFFERED: i64 = 100;

type Unit = [f32; TEMPLATE_DIM];

/// One indexed template's identity.
#[derive(Debug, Clone, Copy)]
struct Entry {
    kiosk: u32,
    record_id: i64,
    /// Keyed 64-bit tag of the claimed ID number; 0 = none.
    id_tag: i64,
}

#[derive(Default)]
struct Inner {
    codes: Vec<i8>,
    scales: Vec<f32>,
    entries: Vec<Entry>,
    kiosks: Vec<String>,
    kiosk_ix: HashMap<String, u32>,
    pos: HashMap<(u32, i64), usize>,
    /// Per kiosk, the templates of its push in progress (exact, until it commits or fails).
    pending: HashMap<u32, Vec<(i64, Box<Unit>)>>,
}

/// A prefiltered hit: position data copied out of the index.
#[derive(Debug, Clone)]
pub struct Prelim {
    /// Kiosk.
    pub kiosk_id: String,
    /// Record.
    pub record_id: i64,
    /// Approximate cosine from the int8 codes.
    pub approx: f32,
    /// Whether the claimed ID tags are equal (both present).
    pub same_id: bool,
    /// Whether the claimed ID tags differ (both present).
    pub other_id: bool,
    /// Exact cosine when the template is still pending in memory.
    pub exact: Option<f32>,
}

/// The in-memory index (see the module documentation).
pub struct DedupIndex {
    threshold_bits: AtomicU32,
    inner: RwLock<Inner>,
}

impl std::fmt::Debug for DedupIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DedupIndex")
            .field("len", &self.len())
            .field("threshold", &self.threshold())
            .finish()
    }
}

/// Scale a template to unit length; `None` for a wrong length, zero or non-finite values.
pub fn unit(t: &[f32]) -> Option<Box<Unit>> {
    if t.len() != TEMPLATE_DIM || t.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let n = t.iter().map(|v| v * v).sum::<f32>().sqrt();
    if !n.is_finite() || n <= 1e-6 {
        return None;
    }
    let mut out = Box::new([0f32; TEMPLATE_DIM]);
    for (o, v) in out.iter_mut().zip(t) {
        *o = v / n;
    }
    Some(out)
}

/// int8 code of a unit vector and its scale (value = code × scale).
pub fn quantize(u: &Unit) -> ([i8; TEMPLATE_DIM], f32) {
    let max = u.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    let scale = max / 127.0;
    let mut code = [0i8; TEMPLATE_DIM];
    for (c, v) in code.iter_mut().zip(u) {
        *c = (v / scale).round().clamp(-127.0, 127.0) as i8;
    }
    (code, scale)
}

/// Integer dot product of two codes, written so it vectorises (16 lanes of i16 products).
#[inline]
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = [0i32; 16];
    for (ca, cb) in a.chunks_exact(16).zip(b.chunks_exact(16)) {
        for k in 0..16 {
            acc[k] += i32::from(i16::from(ca[k]) * i16::from(cb[k]));
        }
    }
    acc.iter().sum()
}

/// Float dot product of two unit vectors.
pub fn dot(a: &Unit, b: &Unit) -> f32 {
    let mut acc = [0f32; 8];
    for (ca, cb) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for k in 0..8 {
            acc[k] += ca[k] * cb[k];
        }
    }
    acc.iter().sum()
}

fn scan(
    codes: &[i8],
    scales: &[f32],
    base: usize,
    q: &[i8],
    qs: f32,
    floor: f32,
) -> Vec<(usize, f32)> {
    let mut out = Vec::new();
    for (i, (row, s)) in codes.chunks_exact(TEMPLATE_DIM).zip(scales).enumerate() {
        let approx = dot_i8(row, q) as f32 * s * qs;
        if approx >= floor {
            out.push((base + i, approx));
            if out.len() >= 8 * MAX_CANDIDATES {
                keep_best(&mut out);
            }
        }
    }
    out
}

fn keep_best(v: &mut Vec<(usize, f32)>) {
    v.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(MAX_CANDIDATES);
}

/// Keyed 64-bit tag of a normalised claimed ID number (so the index holds no ID numbers).
pub fn id_tag(secret_key: &[u8], id_key: Option<&str>) -> i64 {
    let Some(k) = id_key.filter(|k| !k.is_empty()) else {
        return 0;
    };
    let mut h = Sha256::new();
    h.update(b"kyc-central-dedup-id-tag-v1");
    h.update(secret_key);
    h.update(k.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    match i64::from_le_bytes(b) {
        0 => 1,
        v => v,
    }
}

impl DedupIndex {
    /// An empty index with the cosine `threshold`.
    pub fn new(threshold: f32) -> Self {
        DedupIndex {
            threshold_bits: AtomicU32::new(threshold.to_bits()),
            inner: RwLock::new(Inner::default()),
        }
    }

    /// The cosine threshold (the kiosk's duplicate level; `[duplicates] cosine`).
    pub fn threshold(&self) -> f32 {
        f32::from_bits(self.threshold_bits.load(Ordering::Relaxed))
    }

    /// Change the threshold.
    pub fn set_threshold(&self, t: f32) {
        self.threshold_bits.store(t.to_bits(), Ordering::Relaxed);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Templates indexed.
    pub fn len(&self) -> usize {
        self.read().entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by the index's arrays (codes, scales, entries, position map), by capacity.
    pub fn memory_bytes(&self) -> usize {
        let g = self.read();
        g.codes.capacity()
            + g.scales.capacity() * 4
            + g.entries.capacity() * std::mem::size_of::<Entry>()
            + g.pos.capacity() * (std::mem::size_of::<((u32, i64), usize)>() + 1)
    }

    /// Room for `n` more templates.
    pub fn reserve(&self, n: usize) {
        let mut g = self.write();
        g.codes.reserve(n * TEMPLATE_DIM);
        g.scales.reserve(n);
        g.entries.reserve(n);
        g.pos.reserve(n);
    }

    /// Add (or replace) a committed template.
    pub fn insert(&self, kiosk_id: &str, record_id: i64, id_tag: i64, u: &Unit) {
        let mut g = self.write();
        g.insert(kiosk_id, record_id, id_tag, u);
    }

    /// Search without holding anything: candidates within [`MARGIN`] of the threshold, best
    /// first (at most [`MAX_CANDIDATES`]), with `id_tag` compared.
    pub fn prefilter(&self, u: &Unit, id_tag: i64) -> Vec<Prelim> {
        let g = self.read();
        g.prefilter(u, id_tag, self.threshold() - MARGIN)
    }

    /// Search, then add the template as pending for `kiosk_id`'s push in progress, in one
    /// step (so two kiosks pushing the same face at once see each other).
    pub fn prefilter_and_hold(
        &self,
        kiosk_id: &str,
        record_id: i64,
        id_tag: i64,
        u: &Unit,
    ) -> Vec<Prelim> {
        let floor = self.threshold() - MARGIN;
        let mut g = self.write();
        let hits = g.prefilter(u, id_tag, floor);
        let k = g.insert(kiosk_id, record_id, id_tag, u);
        g.pending
            .entry(k)
            .or_default()
            .push((record_id, Box::new(*u)));
        hits
    }

    /// The push of `kiosk_id` ended: committed (its templates stay) or not (they go).
    pub fn settle(&self, kiosk_id: &str, committed: bool) {
        let mut g = self.write();
        let Some(&k) = g.kiosk_ix.get(kiosk_id) else {
            return;
        };
        let Some(held) = g.pending.remove(&k) else {
            return;
        };
        if !committed {
            for (rid, _) in held {
                g.remove(k, rid);
            }
        }
    }
}

impl Inner {
    fn kiosk(&mut self, kiosk_id: &str) -> u32 {
        if let Some(&k) = self.kiosk_ix.get(kiosk_id) {
            return k;
        }
        let k = self.kiosks.len() as u32;
        self.kiosks.push(kiosk_id.to_string());
        self.kiosk_ix.insert(kiosk_id.to_string(), k);
        k
    }

    fn insert(&mut self, kiosk_id: &str, record_id: i64, id_tag: i64, u: &Unit) -> u32 {
        let k = self.kiosk(kiosk_id);
        self.remove(k, record_id);
        let (code, scale) = quantize(u);
        self.pos.insert((k, record_id), self.entries.len());
        self.entries.push(Entry {
            kiosk: k,
            record_id,
            id_tag,
        });
        self.codes.extend_from_slice(&code);
        self.scales.push(scale);
        k
    }

    fn remove(&mut self, k: u32, record_id: i64) {
        let Some(p) = self.pos.remove(&(k, record_id)) else {
            return;
        };
        let last = self.entries.len() - 1;
        if p != last {
            let (head, tail) = self.codes.split_at_mut(last * TEMPLATE_DIM);
            head[p * TEMPLATE_DIM..(p + 1) * TEMPLATE_DIM].copy_from_slice(&tail[..TEMPLATE_DIM]);
            let moved = self.entries[last];
            self.pos.insert((moved.kiosk, moved.record_id), p);
        }
        self.codes.truncate(last * TEMPLATE_DIM);
        self.entries.swap_remove(p);
        self.scales.swap_remove(p);
    }

    fn prefilter(&self, u: &Unit, id_tag: i64, floor: f32) -> Vec<Prelim> {
        let (q, qs) = quantize(u);
        let rows = self.entries.len();
        let mut hits = if rows < PARALLEL_MIN_ROWS {
            scan(&self.codes, &self.scales, 0, &q, qs, floor)
        } else {
            let split = rows / 2;
            let (a, b) = self.codes.split_at(split * TEMPLATE_DIM);
            let (sa, sb) = self.scales.split_at(split);
            std::thread::scope(|s| {
                let other = s.spawn(|| scan(b, sb, split, &q, qs, floor));
                let mut mine = scan(a, sa, 0, &q, qs, floor);
                // A panic there cannot come from data; it would only lose candidates.
                mine.extend(other.join().unwrap_or_default());
                mine
            })
        };
        keep_best(&mut hits);
        hits.into_iter()
            .map(|(p, approx)| {
                let e = self.entries[p];
                let exact = self.pending.get(&e.kiosk).and_then(|v| {
                    v.iter()
                        .find(|(r, _)| *r == e.record_id)
                        .map(|(_, t)| dot(u, t))
                });
                Prelim {
                    kiosk_id: self.kiosks[e.kiosk as usize].clone(),
                    record_id: e.record_id,
                    approx,
                    same_id: id_tag != 0 && e.id_tag == id_tag,
                    other_id: id_tag != 0 && e.id_tag != 0 && e.id_tag != id_tag,
                    exact,
                }
            })
            .collect()
    }
}

/// The exact template of a stored record, opened from its sealed blob.
async fn stored_template(
    c: &impl GenericClient,
    central: &Central,
    kiosk_id: &str,
    record_id: i64,
) -> Result<Option<Box<Unit>>, tokio_postgres::Error> {
    let row = c
        .query_opt(
            "SELECT sealed FROM record_blobs WHERE kiosk_id = $1 AND record_id = $2
             AND kind = 'template'",
            &[&kiosk_id, &record_id],
        )
        .await?;
    Ok(row.and_then(|r| {
        let sealed: Vec<u8> = r.get(0);
        let plain = open_sealed(
            &central.secret,
            &record_aad(kiosk_id, record_id, "template"),
            &sealed,
        )
        .ok()?;
        unit(&template_from_bytes(&plain).ok()?)
    }))
}

impl Central {
    /// The duplicate index.
    pub fn dedup_index(&self) -> &DedupIndex {
        &self.dedup
    }

    fn id_tag_of(&self, id_key: Option<&str>) -> i64 {
        id_tag(self.secret.to_bytes().as_ref(), id_key)
    }

    /// Re-score prefiltered hits exactly and keep those at or above the threshold that count
    /// as duplicates for a record of `kiosk_id` (another kiosk, or another claimed ID number),
    /// `skip` (the record itself) excluded. Best first.
    async fn confirm(
        &self,
        c: &impl GenericClient,
        u: &Unit,
        kiosk_id: &str,
        skip: Option<i64>,
        hits: Vec<Prelim>,
    ) -> Result<Vec<DuplicateCandidate>, tokio_postgres::Error> {
        let threshold = self.dedup.threshold();
        let mut out = Vec::new();
        for h in hits {
            let own = h.kiosk_id == kiosk_id;
            if own && (Some(h.record_id) == skip || !h.other_id) {
                continue;
            }
            let exact = match h.exact {
                Some(s) => Some(s),
                None => stored_template(c, self, &h.kiosk_id, h.record_id)
                    .await?
                    .map(|t| dot(u, &t)),
            };
            if let Some(score) = exact.filter(|s| *s >= threshold) {
                out.push(DuplicateCandidate {
                    kiosk_id: h.kiosk_id,
                    record_id: h.record_id,
                    score,
                    same_id_number: h.same_id,
                });
            }
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(out)
    }

    /// Check a record arriving in a push (inside its transaction): search the fleet, hold its
    /// template as pending, store a flag with its matches. A template that does not parse is
    /// skipped with a warning (the record itself was authenticated).
    ///
    /// # Errors
    /// Database errors.
    pub(crate) async fn dedup_on_push(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        kiosk_id: &str,
        row: &VerificationCanon,
        template: &[u8],
    ) -> Result<(), tokio_postgres::Error> {
        let Some(u) = template_from_bytes(template).ok().and_then(|t| unit(&t)) else {
            tracing::warn!(
                kiosk_id,
                record_id = row.id,
                "central: unusable template skipped"
            );
            return Ok(());
        };
        let tag = self.id_tag_of(row.id_key.as_deref());
        tx.execute(
            "INSERT INTO dedup_templates (kiosk_id, record_id, id_tag) VALUES ($1, $2, $3)
             ON CONFLICT (kiosk_id, record_id) DO UPDATE SET id_tag = EXCLUDED.id_tag",
            &[&kiosk_id, &row.id, &tag],
        )
        .await?;
        let hits = self.dedup.prefilter_and_hold(kiosk_id, row.id, tag, &u);
        if hits.is_empty() {
            return Ok(());
        }
        let found = self.confirm(tx, &u, kiosk_id, Some(row.id), hits).await?;
        if found.is_empty() {
            return Ok(());
        }
        let flag: i64 = tx
            .query_one(
                "INSERT INTO dedup_flags (kiosk_id, record_id, raised_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (kiosk_id, record_id) DO UPDATE SET raised_ms = EXCLUDED.raised_ms
                 RETURNING id",
                &[&kiosk_id, &row.id, &now_ms()],
            )
            .await?
            .get(0);
        for m in &found {
            tx.execute(
                "INSERT INTO dedup_matches (flag_id, other_kiosk, other_record, score,
                     same_id_number) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (flag_id, other_kiosk, other_record) DO NOTHING",
                &[
                    &flag,
                    &m.kiosk_id,
                    &m.record_id,
                    &m.score,
                    &m.same_id_number,
                ],
            )
            .await?;
        }
        tracing::warn!(
            kiosk_id,
            record_id = row.id,
            matches = found.len(),
            "central: duplicate enrolment flagged"
        );
        Ok(())
    }

    /// A kiosk's chained `central_duplicate_flag` event arrived: the flag was delivered.
    ///
    /// # Errors
    /// Database errors.
    pub(crate) async fn dedup_flag_chained(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        kiosk_id: &str,
        ev: &WireEvent,
    ) -> Result<(), tokio_postgres::Error> {
        let p: serde_json::Value =
            serde_json::from_str(&ev.payload).unwrap_or(serde_json::Value::Null);
        if let Some(id) = p.get("flagId").and_then(|v| v.as_i64()) {
            tx.execute(
                "UPDATE dedup_flags SET delivered_seq = $3, delivered_ms = $4
                 WHERE id = $1 AND kiosk_id = $2 AND delivered_seq IS NULL",
                &[&id, &kiosk_id, &ev.seq, &now_ms()],
            )
            .await?;
        }
        Ok(())
    }

    /// Flags on `kiosk_id`'s records, with their matches (`undelivered_only`: those the kiosk
    /// has not chained yet, at most [`MAX_FLAGS_OFFERED`]).
    ///
    /// # Errors
    /// Database errors.
    pub async fn duplicate_flags(
        &self,
        kiosk_id: &str,
        undelivered_only: bool,
    ) -> Result<Vec<DuplicateFlag>, CentralError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT f.id, f.record_id, f.raised_ms, m.other_kiosk, m.other_record, m.score,
                        m.same_id_number
                 FROM (SELECT * FROM dedup_flags WHERE kiosk_id = $1
                         AND (NOT $2 OR delivered_seq IS NULL) ORDER BY id LIMIT $3) f
                 JOIN dedup_matches m ON m.flag_id = f.id
                 ORDER BY f.id, m.score DESC",
                &[
                    &kiosk_id,
                    &undelivered_only,
                    &(if undelivered_only {
                        MAX_FLAGS_OFFERED
                    } else {
                        i64::MAX
                    }),
                ],
            )
            .await?;
        let mut out: Vec<DuplicateFlag> = Vec::new();
        for r in rows {
            let id: i64 = r.get(0);
            let cand = DuplicateCandidate {
                kiosk_id: r.get(3),
                record_id: r.get(4),
                score: r.get(5),
                same_id_number: r.get(6),
            };
            match out.last_mut() {
                Some(f) if f.flag_id == id => f.candidates.push(cand),
                _ => out.push(DuplicateFlag {
                    flag_id: id,
                    record_id: r.get(1),
                    raised_ms: r.get(2),
                    candidates: vec![cand],
                }),
            }
        }
        Ok(out)
    }

    /// Whether the flag with `flag_id` was chained by its kiosk (the sequence of its event).
    ///
    /// # Errors
    /// Database errors.
    pub async fn flag_delivered_seq(&self, flag_id: i64) -> Result<Option<i64>, CentralError> {
        let c = self.pool.get().await?;
        Ok(c.query_opt(
            "SELECT delivered_seq FROM dedup_flags WHERE id = $1",
            &[&flag_id],
        )
        .await?
        .and_then(|r| r.get(0)))
    }

    /// Take a token of `kiosk_id`'s search limit: 429 `rate_limited` when none is left; a
    /// kiosk refused repeatedly raises a `search_rate_limited` alert (one open at a time).
    ///
    /// # Errors
    /// The 429 answer.
    pub(crate) async fn limit_search(&self, kiosk_id: &str) -> Result<(), ApiError> {
        let limits = &self.search_limits;
        let Verdict::Refused {
            retry_after_ms,
            recent_refusals,
            alert,
        } = self.search_limiter.take(limits, kiosk_id, now_ms())
        else {
            return Ok(());
        };
        tracing::warn!(
            kiosk_id,
            recent_refusals,
            "central: duplicate search refused (rate limit)"
        );
        if alert {
            let detail = format!(
                "{recent_refusals} duplicate searches refused within {} minutes (limit {} a                  minute, {} at once): a kiosk searching faster than verifications are made                  may be probing the fleet's faces with a stolen key",
                limits.alert_window_ms / 60_000,
                limits.per_minute,
                limits.burst
            );
            if let Err(e) = self.raise_search_alert(kiosk_id, &detail).await {
                tracing::warn!(kiosk_id, error = %e, "central: search alert not recorded");
            }
        }
        Err(ApiError::too_many_requests(
            "rate_limited",
            &format!(
                "too many duplicate searches from this kiosk (at most {} a minute, {} at once);                  the next is allowed in {} s; this verification is not checked centrally",
                limits.per_minute,
                limits.burst,
                (retry_after_ms.max(0) as u64).div_ceil(1000)
            ),
        ))
    }

    /// Record a `search_rate_limited` alert for `kiosk_id` unless one is open.
    async fn raise_search_alert(&self, kiosk_id: &str, detail: &str) -> Result<(), CentralError> {
        let c = self.pool.get().await?;
        let n = c
            .execute(
                "INSERT INTO alerts (kiosk_id, kind, detail, raised_ms)
                 SELECT $1, $2, $3, $4 WHERE NOT EXISTS (
                     SELECT 1 FROM alerts WHERE kiosk_id = $1 AND kind = $2
                         AND cleared_ms IS NULL)",
                &[&kiosk_id, &ratelimit::ALERT_KIND, &detail, &now_ms()],
            )
            .await?;
        if n > 0 {
            tracing::warn!(kiosk_id, "central: alert raised: {detail}");
        }
        Ok(())
    }

    /// The online search of an authenticated kiosk.
    ///
    /// # Errors
    /// 409 `quarantined`; 400 for a query that does not open or parse; database errors.
    pub async fn dedup_search(
        &self,
        kiosk_id: &str,
        req: &SearchRequest,
    ) -> Result<SearchResponse, ApiError> {
        if req.kiosk_id != kiosk_id {
            return Err(ApiError::bad_request(
                "kiosk_mismatch",
                "the search names another kiosk than the one that signed it",
            ));
        }
        let c = self.pool.get().await?;
        let row = c
            .query_one(
                "SELECT quarantined, quarantine_reason FROM kiosks WHERE kiosk_id = $1",
                &[&kiosk_id],
            )
            .await
            .map_err(CentralError::from)?;
        if row.get::<_, bool>(0) {
            return Err(ApiError::quarantined(
                &row.get::<_, Option<String>>(1).unwrap_or_default(),
            ));
        }
        let bad = |m: &str| ApiError::bad_request("bad_query", m);
        let sealed = B64
            .decode(&req.sealed)
            .map_err(|_| bad("sealed is not base64"))?;
        let plain = zeroize::Zeroizing::new(
            open_sealed(&self.secret, &search_aad(kiosk_id), &sealed)
                .map_err(|_| bad("the query does not open with the central key"))?,
        );
        let q: SearchQuery =
            serde_json::from_slice(&plain).map_err(|_| bad("the query is not a search query"))?;
        let bytes = zeroize::Zeroizing::new(
            B64.decode(&q.template)
                .map_err(|_| bad("template is not base64"))?,
        );
        let u = template_from_bytes(&bytes)
            .ok()
            .and_then(|t| unit(&t))
            .ok_or_else(|| bad("template is not 128 finite values of non-zero length"))?;
        let tag = self.id_tag_of(q.id_key.as_deref());
        let hits = self.dedup.prefilter(&u, tag);
        let candidates = self
            .confirm(&*c, &u, kiosk_id, q.record_id, hits)
            .await
            .map_err(CentralError::from)?;
        Ok(SearchResponse {
            indexed: self.dedup.len() as u64,
            threshold: self.dedup.threshold(),
            candidates,
        })
    }

    /// Rebuild the index from PostgreSQL: every stored template opened once. Templates stored
    /// before the duplicate search existed get their ID tag from their sealed row. Returns the
    /// number indexed.
    ///
    /// # Errors
    /// Database errors.
    pub async fn rebuild_dedup_index(&self) -> Result<usize, CentralError> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT b.kiosk_id, b.record_id, b.sealed, t.id_tag, r.sealed_row
                 FROM record_blobs b
                 LEFT JOIN dedup_templates t USING (kiosk_id, record_id)
                 LEFT JOIN records r ON r.kiosk_id = b.kiosk_id AND r.record_id = b.record_id
                     AND t.id_tag IS NULL
                 WHERE b.kind = 'template'",
                &[],
            )
            .await?;
        let fresh = DedupIndex::new(self.dedup.threshold());
        fresh.reserve(rows.len());
        let mut backfill = Vec::new();
        for r in &rows {
            let (kiosk, rid, sealed): (String, i64, Vec<u8>) = (r.get(0), r.get(1), r.get(2));
            let Some(u) = open_sealed(&self.secret, &record_aad(&kiosk, rid, "template"), &sealed)
                .ok()
                .and_then(|p| template_from_bytes(&p).ok())
                .and_then(|t| unit(&t))
            else {
                tracing::warn!(kiosk_id = %kiosk, record_id = rid, "central: template not indexed");
                continue;
            };
            let tag = match r.get::<_, Option<i64>>(3) {
                Some(t) => t,
                None => {
                    let sealed_row: Option<Vec<u8>> = r.get(4);
                    let key = sealed_row
                        .and_then(|s| {
                            open_sealed(&self.secret, &record_aad(&kiosk, rid, "row"), &s).ok()
                        })
                        .and_then(|p| serde_json::from_slice::<VerificationCanon>(&p).ok())
                        .and_then(|row| row.id_key);
                    let t = self.id_tag_of(key.as_deref());
                    backfill.push((kiosk.clone(), rid, t));
                    t
                }
            };
            fresh.insert(&kiosk, rid, tag, &u);
        }
        for (k, rid, t) in &backfill {
            c.execute(
                "INSERT INTO dedup_templates (kiosk_id, record_id, id_tag) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[k, rid, t],
            )
            .await?;
        }
        let n = fresh.len();
        let fresh_inner = std::mem::take(&mut *fresh.write());
        *self.dedup.write() = fresh_inner;
        tracing::info!(indexed = n, "central: duplicate index built");
        Ok(n)
    }
}

/// `POST /v1/dedup/search` (signed).
pub(crate) async fn search_handler(
    State(c): State<Arc<Central>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kiosk = crate::server::signed_kiosk(&c, &method, &uri, &headers, &body).await?;
    c.limit_search(&kiosk).await?;
    let req: SearchRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request("bad_json", &format!("body is not the expected JSON: {e}"))
    })?;
    Ok(axum::Json(c.dedup_search(&kiosk, &req).await?).into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn rnd(seed: u64) -> Box<Unit> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let v: Vec<f32> = (0..TEMPLATE_DIM)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        unit(&v).unwrap()
    }

    /// A unit vector at cosine `c` from `a`.
    fn at_cosine(a: &Unit, c: f32, seed: u64) -> Box<Unit> {
        let r = rnd(seed);
        let d = dot(a, &r);
        let mut o = [0f32; TEMPLATE_DIM];
        for i in 0..TEMPLATE_DIM {
            o[i] = r[i] - d * a[i];
        }
        let o = unit(&o).unwrap();
        let s = (1.0 - c * c).sqrt();
        let v: Vec<f32> = (0..TEMPLATE_DIM).map(|i| c * a[i] + s * o[i]).collect();
        unit(&v).unwrap()
    }

    #[test]
    fn int8_scores_stay_within_the_margin_of_exact_ones() {
        let mut worst = 0f32;
        for i in 0..2000 {
            let a = rnd(i);
            let b = if i % 2 == 0 {
                at_cosine(&a, 0.7, i + 9999)
            } else {
                rnd(i + 5000)
            };
            let (ca, sa) = quantize(&a);
            let (cb, sb) = quantize(&b);
            let approx = dot_i8(&ca, &cb) as f32 * sa * sb;
            worst = worst.max((approx - dot(&a, &b)).abs());
        }
        assert!(worst < MARGIN / 3.0, "worst int8 error {worst}");
    }

    #[test]
    fn finds_a_planted_match_among_many_and_not_a_face_below_the_threshold() {
        let ix = DedupIndex::new(0.69);
        for i in 0..40_000 {
            ix.insert("k1", i, 0, &rnd(i as u64 + 1));
        }
        let probe = rnd(777_777);
        ix.insert("k2", 5, 42, &at_cosine(&probe, 0.72, 3));
        ix.insert("k3", 6, 0, &at_cosine(&probe, 0.55, 4));
        let hits = ix.prefilter(&probe, 42);
        let found: Vec<_> = hits
            .iter()
            .map(|h| (h.kiosk_id.as_str(), h.record_id))
            .collect();
        assert_eq!(found, vec![("k2", 5)], "{hits:?}");
        assert!(hits[0].same_id && !hits[0].other_id);
        assert!((hits[0].approx - 0.72).abs() < 0.01, "{}", hits[0].approx);
    }

    #[test]
    fn a_failed_push_takes_its_pending_templates_out_and_a_committed_one_keeps_them() {
        let ix = DedupIndex::new(0.69);
        let a = rnd(1);
        ix.insert("k1", 1, 0, &rnd(2));
        // k2's push holds a template; k3 pushing the same face at once sees it, exactly.
        assert!(ix.prefilter_and_hold("k2", 10, 0, &a).is_empty());
        let seen = ix.prefilter_and_hold("k3", 20, 0, &a);
        assert_eq!(seen.len(), 1);
        assert_eq!((seen[0].kiosk_id.as_str(), seen[0].record_id), ("k2", 10));
        assert!((seen[0].exact.unwrap() - 1.0).abs() < 1e-5);
        ix.settle("k2", false);
        ix.settle("k3", true);
        assert_eq!(ix.len(), 2);
        let left: Vec<_> = ix.prefilter(&a, 0).iter().map(|h| h.record_id).collect();
        assert_eq!(left, vec![20]);
        // Once committed, the exact score comes from storage, not memory.
        assert!(ix.prefilter(&a, 0)[0].exact.is_none());
    }

    #[test]
    fn bad_templates_are_refused_and_id_tags_are_keyed() {
        assert!(unit(&[0.0; TEMPLATE_DIM]).is_none());
        assert!(unit(&[f32::NAN; TEMPLATE_DIM]).is_none());
        assert!(unit(&[1.0; 12]).is_none());
        assert_eq!(id_tag(b"k", None), 0);
        assert_eq!(id_tag(b"k", Some("")), 0);
        assert_eq!(id_tag(b"k", Some("GHA1")), id_tag(b"k", Some("GHA1")));
        assert_ne!(id_tag(b"k", Some("GHA1")), id_tag(b"j", Some("GHA1")));
        assert_ne!(id_tag(b"k", Some("GHA1")), id_tag(b"k", Some("GHA2")));
    }
}
