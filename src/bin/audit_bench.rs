//! Benchmarks of the audit store (run in release): 1:N search at 100k and 1M templates,
//! writing one record with three ~100 KB images, supervisor queries over many records, and
//! the start-up cost of loading the template index. Prints medians.
//!
//! `cargo run --release --bin audit_bench -- [--query-records N] [--search-sizes 100000,1000000]`

use std::time::{Duration, Instant};

use clap::Parser;
use kyc_core::audit::*;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Audit store benchmarks")]
struct Args {
    /// Template counts for the 1:N search benchmark.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    search_sizes: Vec<usize>,
    /// Records in the supervisor-query database (0 to skip).
    #[arg(long, default_value_t = 1_000_000)]
    query_records: usize,
    /// Records written one by one (each with three ~100 KB images).
    #[arg(long, default_value_t = 60)]
    writes: usize,
    /// Templates stored for the index-load benchmark (0 to skip).
    #[arg(long, default_value_t = 100_000)]
    index_load: usize,
    /// Folder for the benchmark databases (default: a temporary folder).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
    /// Only time `verify` (and opening) on an existing database, then exit.
    #[arg(long, value_name = "DB")]
    verify_existing: Option<std::path::PathBuf>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if let Some(db) = &args.verify_existing {
        let t0 = Instant::now();
        let store = AuditStore::open(AuditConfig::at(db))?;
        println!("open {}: {:.1?}", db.display(), t0.elapsed());
        let t0 = Instant::now();
        let r = store.verify()?;
        println!(
            "verify: {} events, {} records, {} checkpoints, {} problems in {:.1?}",
            r.events,
            r.records,
            r.checkpoints,
            r.problems.len(),
            t0.elapsed()
        );
        return Ok(());
    }
    let tmp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = std::env::temp_dir().join(format!("audit-bench-{}", std::process::id()));
            std::fs::create_dir_all(&tmp)?;
            tmp
        }
    };
    println!(
        "audit_bench: {} logical CPUs",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let mut rng = Rng(0x5EED_1234_ABCD_0001);

    for &n in &args.search_sizes {
        bench_search(n, &mut rng)?;
    }
    if args.writes > 0 {
        bench_writes(&dir, args.writes, &mut rng)?;
    }
    if args.query_records > 0 {
        bench_queries(&dir, args.query_records, &mut rng)?;
    }
    if args.index_load > 0 {
        bench_index_load(&dir, args.index_load, &mut rng)?;
    }
    if args.dir.is_none()
        && let Err(e) = std::fs::remove_dir_all(&dir)
    {
        eprintln!("warning: {}: not removed: {e}", dir.display());
    }
    Ok(())
}

fn bench_search(n: usize, rng: &mut Rng) -> Result<(), AuditError> {
    let t0 = Instant::now();
    let mut ix = FaceIndex::with_capacity(n);
    let mut t = vec![0f32; TEMPLATE_DIM];
    for i in 0..n {
        rng.template(&mut t);
        ix.insert(i as i64, Some(format!("ID{}", i % (n / 2).max(1))), &t)?;
    }
    println!("search n={n}: built index in {:.1?}", t0.elapsed());
    let queries: Vec<Vec<f32>> = (0..31)
        .map(|_| {
            let mut q = vec![0f32; TEMPLATE_DIM];
            rng.template(&mut q);
            q
        })
        .collect();
    for threads in [1usize, 2] {
        ix.set_threads(threads);
        let times = time_each(&queries, |q| {
            ix.search(q, DEFAULT_DUPLICATE_THRESHOLD, 10).map(|_| ())
        })?;
        println!(
            "search n={n} threads={threads}: median {:.2} ms (min {:.2}, max {:.2})",
            ms(median(&times)),
            ms(times[0]),
            ms(times[times.len() - 1])
        );
    }
    ix.set_threads(2);
    let times = time_each(&queries, |q| {
        ix.check_duplicates(q, Some("ID7"), DEFAULT_DUPLICATE_THRESHOLD, 10)
            .map(|_| ())
    })?;
    println!(
        "duplicate check (search + same-ID scan) n={n}: median {:.2} ms",
        ms(median(&times))
    );
    Ok(())
}

fn bench_writes(dir: &std::path::Path, writes: usize, rng: &mut Rng) -> Result<(), AuditError> {
    let db = dir.join("writes.sqlite3");
    let mut store = AuditStore::open(AuditConfig::at(&db))?;
    let result = sample_result();
    let models = serde_json::json!({ "face": { "id": "arcface", "sha256": "00" }, "thresholds": { "match": 0.363 } });
    let mut times = Vec::with_capacity(writes);
    for i in 0..writes {
        let doc = rng.bytes(100 * 1024);
        let portrait = rng.bytes(100 * 1024);
        let selfie = rng.bytes(100 * 1024);
        let images = [
            (ImageKind::DocumentFront, doc.as_slice()),
            (ImageKind::Portrait, portrait.as_slice()),
            (ImageKind::Selfie, selfie.as_slice()),
        ];
        let mut t = vec![0f32; TEMPLATE_DIM];
        rng.template(&mut t);
        let number = format!("GHA-{i:09}-0");
        let rec = new_record(
            "agent1",
            &number,
            Decision::Approve,
            &result,
            &models,
            &images,
            Some(&t),
        );
        let t0 = Instant::now();
        store.record_verification(&rec)?;
        times.push(t0.elapsed());
    }
    times.sort();
    println!(
        "write 1 record + 3 x 100 KB images + template (synchronous=FULL): median {:.2} ms (min {:.2}, max {:.2}, n={writes})",
        ms(median(&times)),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
    // Login cost with the production argon2id parameters.
    store.create_first_admin("bench-admin", "bench-password-1")?;
    let runs: Vec<()> = vec![(); 5];
    let times = time_each(&runs, |_| {
        let s = store.login("bench-admin", "bench-password-1")?;
        store.logout(s)
    })?;
    println!(
        "login + logout (argon2id m={} KiB, t={}): median {:.1} ms",
        store.config().argon2_m_kib,
        store.config().argon2_t,
        ms(median(&times))
    );
    Ok(())
}

fn bench_queries(dir: &std::path::Path, n: usize, rng: &mut Rng) -> Result<(), AuditError> {
    let db = dir.join("queries.sqlite3");
    let mut cfg = AuditConfig::at(&db);
    cfg.checkpoint_every = 10_000;
    let mut store = AuditStore::open(cfg)?;
    let result = sample_result();
    let models = serde_json::json!({ "face": "arcface" });
    let t0 = Instant::now();
    let operators: Vec<String> = (0..20).map(|i| format!("agent{i}")).collect();
    let batch = 10_000;
    let mut done = 0;
    let mut mid_ms = 0;
    while done < n {
        let m = batch.min(n - done);
        let numbers: Vec<String> = (0..m).map(|i| format!("ID{}", done + i)).collect();
        let recs: Vec<NewVerification<'_>> = (0..m)
            .map(|i| {
                let r = rng.next() % 10;
                let d = match r {
                    0..=6 => Decision::Approve,
                    7..=8 => Decision::Refer,
                    _ => Decision::Reject,
                };
                let op = &operators[(rng.next() % 20) as usize];
                new_record(op, &numbers[i], d, &result, &models, &[], None)
            })
            .collect();
        store.record_verifications(&recs)?;
        done += m;
        if done >= n / 2 && mid_ms == 0 {
            mid_ms = now_ms();
        }
    }
    println!(
        "query db: inserted {n} records (no images) in {:.1?}",
        t0.elapsed()
    );
    let sup = store.system_session("bench");
    let filters = [
        ("newest page, no filter", RecordFilter::default(), 0u64),
        (
            "decision=refer",
            RecordFilter {
                decision: Some(Decision::Refer),
                ..Default::default()
            },
            0,
        ),
        (
            "operator=agent7",
            RecordFilter {
                operator: Some("agent7".into()),
                ..Default::default()
            },
            0,
        ),
        (
            "operator=agent7 + decision=reject + date range",
            RecordFilter {
                operator: Some("agent7".into()),
                decision: Some(Decision::Reject),
                from_ms: Some(mid_ms - 3_600_000),
                to_ms: Some(mid_ms),
                ..Default::default()
            },
            0,
        ),
        (
            "decision=approve, page 100 (offset 5000)",
            RecordFilter {
                decision: Some(Decision::Approve),
                ..Default::default()
            },
            5000,
        ),
    ];
    for (name, f, offset) in filters {
        let runs: Vec<()> = vec![(); 21];
        let mut rows = 0;
        let times = time_each(&runs, |_| {
            let r = store.query(&sup, &f, Page { offset, limit: 50 })?;
            rows = r.len();
            Ok(())
        })?;
        println!(
            "supervisor query over {n} [{name}] page of {rows}: median {:.2} ms",
            ms(median(&times))
        );
    }
    let runs: Vec<()> = vec![(); 21];
    let times = time_each(&runs, |_| {
        store.review_queue(&sup, Page::default()).map(|_| ())
    })?;
    println!(
        "review queue over {n} (pending, oldest first, 50): median {:.2} ms",
        ms(median(&times))
    );
    let t0 = Instant::now();
    let st = store.stats(&sup, &RecordFilter::default())?;
    println!(
        "stats over {n} ({} records): {:.1?}",
        st.total,
        t0.elapsed()
    );
    let t0 = Instant::now();
    let report = store.verify()?;
    println!(
        "verify chain over {n} records ({} events, {} problems): {:.1?}",
        report.events,
        report.problems.len(),
        t0.elapsed()
    );
    Ok(())
}

fn bench_index_load(dir: &std::path::Path, n: usize, rng: &mut Rng) -> Result<(), AuditError> {
    let db = dir.join("index.sqlite3");
    let cfg = AuditConfig::at(&db);
    let mut store = AuditStore::open(cfg.clone())?;
    let result = serde_json::json!({});
    let models = serde_json::json!({});
    let mut done = 0;
    let mut t = vec![0f32; TEMPLATE_DIM * 5_000];
    while done < n {
        let m = 5_000.min(n - done);
        for row in t.chunks_exact_mut(TEMPLATE_DIM) {
            rng.template(row);
        }
        let numbers: Vec<String> = (0..m).map(|i| format!("ID{}", done + i)).collect();
        let recs: Vec<NewVerification<'_>> = (0..m)
            .map(|i| {
                new_record(
                    "agent1",
                    &numbers[i],
                    Decision::Approve,
                    &result,
                    &models,
                    &[],
                    Some(&t[i * TEMPLATE_DIM..(i + 1) * TEMPLATE_DIM]),
                )
            })
            .collect();
        store.record_verifications(&recs)?;
        done += m;
    }
    drop(store);
    let t0 = Instant::now();
    let store = AuditStore::open(cfg)?;
    println!(
        "open store with {} encrypted templates (decrypt into index): {:.1?}",
        store.face_index().len(),
        t0.elapsed()
    );
    Ok(())
}

fn sample_result() -> serde_json::Value {
    serde_json::json!({
        "documentType": "national_id", "fullName": "AMA MENSAH", "firstName": "AMA",
        "lastName": "MENSAH", "dateOfBirth": "1990-01-01", "gender": "F", "nationality": "GHA",
        "documentNumber": "GHA-123456789-0", "expirationDate": "2030-01-01",
        "issuingCountry": "GHA", "confidence": { "overall": 88.0 },
        "face_match_percent": 91.2, "isMatch": true, "overallConfidence": 88.5,
        "reasons": ["all checks passed"], "verified": true,
    })
}

fn new_record<'a>(
    operator: &'a str,
    number: &'a str,
    d: Decision,
    result: &'a serde_json::Value,
    models: &'a serde_json::Value,
    images: &'a [(ImageKind, &'a [u8])],
    template: Option<&'a [f32]>,
) -> NewVerification<'a> {
    let now = now_ms();
    NewVerification {
        operator,
        customer_type: CustomerType::Individual,
        claimed_id_type: Some("ghana_card"),
        claimed_id_number: Some(number),
        started_ms: now - 45_000,
        finished_ms: now,
        indexed: IndexedFields {
            decision: d,
            decision_reason: "bench".into(),
            document_number: Some(number.to_string()),
            full_name: Some("AMA MENSAH".into()),
            country: Some("GH".into()),
            overall_confidence: Some(88.5),
        },
        result,
        models,
        images,
        template,
        corrections: &[],
    }
}

fn time_each<T>(
    items: &[T],
    mut f: impl FnMut(&T) -> Result<(), AuditError>,
) -> Result<Vec<Duration>, AuditError> {
    // One warm-up run, not timed.
    if let Some(first) = items.first() {
        f(first)?;
    }
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        let t0 = Instant::now();
        f(it)?;
        out.push(t0.elapsed());
    }
    out.sort();
    Ok(out)
}

fn median(v: &[Duration]) -> Duration {
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// xorshift64 generator: reproducible benchmark data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn template(&mut self, out: &mut [f32]) {
        for v in out.iter_mut() {
            *v = (self.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        }
        let n = out.iter().map(|a| a * a).sum::<f32>().sqrt();
        for v in out.iter_mut() {
            *v /= n;
        }
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(n);
        v
    }
}
