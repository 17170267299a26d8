//! Benchmarks of the central service (run in release; figures go to `docs/fleet.md`):
//!
//! - `index`: the in-memory duplicate index at each size (random unit templates with planted
//!   matches): build time, memory, and the 1:N search (int8 scan + candidates) per query.
//! - `sync`: a kiosk store of records with their images as the kiosk stores them (JPEG
//!   document, portrait and selfie from a real verification of fetched photos, template)
//!   pushed to a central service over a throwaway PostgreSQL cluster: records and MiB per
//!   second, the duplicate check on every record included.
//! - `search`: the online search end to end (signed HTTP request, sealed query, int8 scan,
//!   exact re-scoring of the candidates from their sealed templates in PostgreSQL).
//! - `nonces`: a head request with request nonces pruned on every request, against pruning
//!   at most once a minute, over a nonce table of the given size.
//!
//! `cargo run --release -p kyc-central --bin central_bench -- [--index-sizes 100000,1000000]
//! [--sync-records 400] [--search-records 20000] [--nonces 200000]
//! [--pg server|server-nofsync|test]` (0 skips a part).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use kyc_central::Central;
use kyc_central::dedup::{DedupIndex, dot, unit};
use kyc_central::testpg::TestCluster;
use kyc_core::audit::{
    AuditConfig, AuditStore, CustomerType, Decision, ImageKind, IndexedFields, NewVerification,
    TEMPLATE_DIM, now_ms,
};
use kyc_core::fleet::client::{self, SyncOptions};
use kyc_core::fleet::{CentralSecret, FleetConfig, dedup};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Central service benchmarks")]
struct Args {
    /// Template counts for the in-memory index.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    index_sizes: Vec<usize>,
    /// Records with images synced (0 to skip).
    #[arg(long, default_value_t = 400)]
    sync_records: usize,
    /// Records (template only) stored centrally before timing the online search (0 to skip).
    #[arg(long, default_value_t = 20_000)]
    search_records: usize,
    /// Request nonces in the table for the pruning comparison (0 to skip).
    #[arg(long, default_value_t = 200_000)]
    nonces: usize,
    /// Queries timed per measurement.
    #[arg(long, default_value_t = 50)]
    queries: usize,
    /// The PostgreSQL cluster: `server` (the recommended settings, durable), `server-nofsync`
    /// (the same with fsync and synchronous_commit off), `test` (the tests' cluster: defaults
    /// with fsync and synchronous_commit off).
    #[arg(long, value_enum, default_value_t = PgKind::Server)]
    pg: PgKind,
}

/// Which cluster the benchmarks run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PgKind {
    Server,
    ServerNofsync,
    Test,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args = Args::parse();
    println!(
        "machine: {} cores, load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for &n in &args.index_sizes {
        bench_index(n, args.queries, &mut rng);
    }
    if args.sync_records + args.search_records + args.nonces == 0 {
        return Ok(());
    }
    let owned;
    let cluster = match args.pg {
        PgKind::Test => TestCluster::shared()?,
        PgKind::Server | PgKind::ServerNofsync => {
            owned = TestCluster::start_server_like(args.pg == PgKind::Server)?;
            &owned
        }
    };
    println!(
        "PostgreSQL cluster: {:?} ({})",
        args.pg,
        match args.pg {
            PgKind::Server => "recommended settings, fsync on",
            PgKind::ServerNofsync => "recommended settings with fsync and synchronous_commit off",
            PgKind::Test => "defaults with fsync and synchronous_commit off",
        }
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(CENTRE_THREAD)
        // The centre's blocking threads (opening pushes' sealed parts) live through the run:
        // a thread that ended would take its CPU time out of the centre's tally.
        .thread_keep_alive(Duration::from_secs(24 * 3600))
        .enable_all()
        .build()?;
    if args.sync_records > 0 {
        bench_sync(cluster, &rt, args.sync_records, &mut rng)?;
    }
    if args.search_records > 0 {
        bench_search(cluster, &rt, args.search_records, args.queries, &mut rng)?;
    }
    if args.nonces > 0 {
        bench_nonces(cluster, &rt, args.nonces, args.queries.max(20))?;
    }
    Ok(())
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn bench_index(n: usize, queries: usize, rng: &mut Rng) {
    let rss0 = rss_kib();
    let ix = DedupIndex::new(0.69);
    ix.reserve(n);
    let t0 = Instant::now();
    let mut t = [0f32; TEMPLATE_DIM];
    for i in 0..n {
        rng.template(&mut t);
        if let Some(u) = unit(&t) {
            ix.insert(&format!("k{}", i % 1000), i as i64, 0, &u);
        }
    }
    let build = t0.elapsed();
    // Probes: half near a stored template (cosine ~0.75, planted by replacing it), half new.
    let mut probes = Vec::new();
    for q in 0..queries {
        rng.template(&mut t);
        let Some(p) = unit(&t) else { continue };
        if q % 2 == 0 {
            let target = (rng.next() as usize) % n;
            let near = rng.near(&p, 0.75);
            ix.insert(&format!("k{}", target % 1000), target as i64, 0, &near);
            probes.push((p, Some(target as i64)));
        } else {
            probes.push((p, None));
        }
    }
    let mut times = Vec::new();
    let mut found = 0;
    let mut planted = 0;
    for (p, want) in &probes {
        let t0 = Instant::now();
        let hits = ix.prefilter(p, 0);
        times.push(t0.elapsed());
        if let Some(w) = want {
            planted += 1;
            found += usize::from(hits.iter().any(|h| h.record_id == *w));
        }
    }
    times.sort();
    println!(
        "index n={n}: built in {:.1?}; arrays {:.1} MiB, RSS +{:.1} MiB; search median {:.1} ms, p95 {:.1} ms, max {:.1} ms (n={}); planted matches found {found}/{planted}",
        build,
        ix.memory_bytes() as f64 / 1048576.0,
        rss_kib().saturating_sub(rss0) as f64 / 1024.0,
        ms(median(&times)),
        ms(times[times.len() * 95 / 100]),
        ms(times[times.len() - 1]),
        times.len()
    );
}

struct Served {
    central: Central,
    url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn serve(cluster: &TestCluster, rt: &tokio::runtime::Runtime, db: &str) -> Res<Served> {
    let conn = rt.block_on(cluster.create_database(db))?;
    let central = rt
        .block_on(Central::open(&conn, CentralSecret::generate()))?
        .with_fast_hashing();
    rt.block_on(central.create_first_admin("bench-root", "bench-central-pass-7"))?;
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let c = Arc::new(central.clone());
    rt.spawn(async move {
        if let Err(e) = kyc_central::serve(c, listener, async {
            let _ = rx.await;
        })
        .await
        {
            eprintln!("serve: {e}");
        }
    });
    Ok(Served {
        central,
        url,
        _stop: tx,
    })
}

fn enrolled(s: &Served, rt: &tokio::runtime::Runtime, db: &Path, kiosk: &str) -> Res<FleetConfig> {
    let admin = rt.block_on(s.central.sign_in("bench-root", "bench-central-pass-7"))?;
    let token = rt.block_on(s.central.create_enrol_token(&admin, kiosk))?;
    Ok(client::enroll(
        &s.url,
        kiosk,
        &token,
        &FleetConfig::path_for(db),
    )?)
}

/// The images one real verification leaves in a record, as the kiosk stores them: a fetched
/// photo as the document and another as the selfie, both taken as camera captures (pixels,
/// kept through `Capture::kept_bytes`, i.e. JPEG at the evidence quality), verified by the
/// real pipeline, and the portrait it cropped from the document (`record::evidence_jpeg`).
fn kiosk_images() -> Res<Vec<(ImageKind, Vec<u8>)>> {
    use kyc_core::pipeline::Input;
    use kyc_core::service::Capture;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/fetched");
    let config = kyc_core::config::Config::default();
    let doc = kyc_core::imaging::decode_file(&dir.join("obama.jpg"), &config.limits)?;
    let selfie = kyc_core::imaging::decode_file(&dir.join("obama2.jpg"), &config.limits)?;
    let mut pipeline = kyc_core::Pipeline::load(config)?;
    let v = pipeline.verify_detailed(
        Input::Image(doc.clone(), "document".into()),
        Input::Image(selfie.clone(), "selfie".into()),
    )?;
    println!(
        "verification for the bench's records: match computed {}, decision {:?}",
        v.result.face_match.computed, v.result.decision
    );
    let portrait = v
        .portrait
        .as_ref()
        .and_then(kyc_core::record::evidence_jpeg)
        .ok_or("the verification cropped no portrait")?;
    let doc = Capture::pixels("document", doc.rgb).kept_bytes()?;
    let selfie = Capture::pixels("selfie", selfie.rgb).kept_bytes()?;
    Ok(vec![
        (ImageKind::DocumentFront, doc.to_vec()),
        (ImageKind::Portrait, portrait),
        (ImageKind::Selfie, selfie.to_vec()),
    ])
}

fn fill_store(
    db: &Path,
    n: usize,
    images: &[(ImageKind, &[u8])],
    rng: &mut Rng,
) -> Res<AuditStore> {
    let mut cfg = AuditConfig::at(db);
    cfg.checkpoint_every = 10_000;
    cfg.load_index_at_open = false;
    let mut store = AuditStore::open(cfg)?;
    let result = serde_json::json!({ "documentType": "national_id", "fullName": "AMA MENSAH",
        "confidence": { "overall": 88.0 }, "verified": true });
    let models = serde_json::json!({ "face": "sface" });
    let numbers: Vec<String> = (0..n).map(|i| format!("GHA-{i:09}-0")).collect();
    let mut templates = vec![[0f32; TEMPLATE_DIM]; n];
    for t in templates.iter_mut() {
        rng.template(t);
    }
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let now = now_ms();
        let recs: Vec<NewVerification<'_>> = chunk
            .iter()
            .map(|&i| NewVerification {
                operator: "agent1",
                customer_type: CustomerType::Individual,
                claimed_id_type: Some("ghana_card"),
                claimed_id_number: Some(&numbers[i]),
                started_ms: now - 45_000,
                finished_ms: now,
                indexed: IndexedFields {
                    decision: Decision::Approve,
                    decision_reason: "bench".into(),
                    document_number: Some(numbers[i].clone()),
                    full_name: Some("AMA MENSAH".into()),
                    country: Some("GH".into()),
                    overall_confidence: Some(88.5),
                },
                result: &result,
                models: &models,
                images,
                template: Some(&templates[i]),
                corrections: &[],
            })
            .collect();
        store.record_verifications(&recs)?;
    }
    Ok(store)
}

fn bench_sync(
    cluster: &TestCluster,
    rt: &tokio::runtime::Runtime,
    n: usize,
    rng: &mut Rng,
) -> Res<()> {
    let dir = tempfile::tempdir()?;
    let s = serve(cluster, rt, "bench_sync")?;
    let kept = kiosk_images()?;
    let images: Vec<(ImageKind, &[u8])> = kept.iter().map(|(k, b)| (*k, b.as_slice())).collect();
    let size_of = |kind: ImageKind| {
        kept.iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, b)| b.len())
    };
    let per_record: usize = kept.iter().map(|(_, b)| b.len()).sum();
    let db = dir.path().join("kiosk.sqlite3");
    let t0 = Instant::now();
    drop(fill_store(&db, n, &images, rng)?);
    let filled = t0.elapsed();
    let cfg = enrolled(&s, rt, &db, "bench-k1")?;
    // As `kyc-kiosk sync` does: the store opened read-only, its index not loaded.
    let mut audit = AuditConfig::at(&db);
    audit.load_index_at_open = false;
    let store = AuditStore::open_read_only(audit)?;
    let pg = postgres_pids(cluster);
    let (cpu0, pg0) = (cpu_split(), pg_cpu(&pg));
    let t0 = Instant::now();
    let rep = client::sync_once(&store, &cfg, &SyncOptions::default())?;
    let took = t0.elapsed();
    let (cpu1, pg1) = (cpu_split(), pg_cpu(&pg));
    let mib = (per_record * n) as f64 / 1048576.0;
    println!(
        "sync: {} records with images ({:.0} KiB a record: JPEG document {} KiB, portrait {} KiB, selfie {} KiB; template), {} events, {} pushes: {:.1?} = {:.0} records/s, {:.1} MiB/s of images (store filled in {:.1?}); index now {}",
        rep.records,
        per_record as f64 / 1024.0,
        size_of(ImageKind::DocumentFront) / 1024,
        size_of(ImageKind::Portrait) / 1024,
        size_of(ImageKind::Selfie) / 1024,
        rep.accepted,
        rep.pushes,
        took,
        rep.records as f64 / took.as_secs_f64(),
        mib / took.as_secs_f64(),
        filled,
        s.central.dedup_index().len()
    );
    let per = |a: f64, b: f64| (b - a) * 1000.0 / rep.records.max(1) as f64;
    println!(
        "sync CPU per record: kiosk {:.2} ms, centre {:.2} ms, PostgreSQL {:.2} ms (wall {:.2} ms; {} PostgreSQL processes seen)",
        per(cpu0.0, cpu1.0),
        per(cpu0.1, cpu1.1),
        per(pg0, pg1),
        took.as_secs_f64() * 1000.0 / rep.records.max(1) as f64,
        pg.len()
    );
    sync_stages(&store, &cfg, n)?;
    drop(store);
    bench_ingest(cluster, rt, &db)?;
    Ok(())
}

/// The centre's side alone: the same records' pushes built first, as the kiosk cuts them
/// (at most `PUSH_EVENTS` events, closed once their sealed parts reach `PUSH_BYTES`), then
/// sent one after another to a second service over its own database. The wall time is then
/// the centre's and PostgreSQL's (authenticate, decode, open every sealed part, insert,
/// commit) with the kiosk idle between pushes.
fn bench_ingest(cluster: &TestCluster, rt: &tokio::runtime::Runtime, db: &Path) -> Res<()> {
    let s = serve(cluster, rt, "bench_ingest")?;
    // The store now syncs to this service: enrolled there afresh.
    std::fs::remove_file(FleetConfig::path_for(db))?;
    let cfg = enrolled(&s, rt, db, "bench-k1")?;
    let mut audit = AuditConfig::at(db);
    audit.load_index_at_open = false;
    let store = AuditStore::open_read_only(audit)?;
    let (seq, hash) = store.head()?;
    let head = kyc_core::fleet::wire::WireHead {
        seq,
        hash: hex::encode(hash),
    };
    let mut bodies = Vec::new();
    let (mut items, mut bytes, mut records) = (Vec::new(), 0usize, 0usize);
    let events = store.events_after(0, usize::MAX)?;
    for (i, ev) in events.iter().enumerate() {
        let (item, size) = client::push_item(&store, &cfg, ev)?;
        records += usize::from(item.record.is_some());
        items.push(item);
        bytes += size;
        if items.len() >= client::PUSH_EVENTS
            || bytes >= client::PUSH_BYTES
            || i + 1 == events.len()
        {
            bodies.push(kyc_core::fleet::wire::encode_push(
                &kyc_core::fleet::wire::PushRequest {
                    kiosk_id: cfg.kiosk_id.clone(),
                    head: head.clone(),
                    items: std::mem::take(&mut items),
                },
            )?);
            bytes = 0;
        }
    }
    let pg = postgres_pids(cluster);
    let (cpu0, pg0) = (cpu_split(), pg_cpu(&pg));
    let t0 = Instant::now();
    for body in &bodies {
        let r = client::send_push_body(&cfg, body, Duration::from_secs(300))?;
        if r.status != 200 {
            return Err(format!(
                "ingest: push refused ({}): {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            )
            .into());
        }
    }
    let took = t0.elapsed();
    let (cpu1, pg1) = (cpu_split(), pg_cpu(&pg));
    let per = |a: f64, b: f64| (b - a) * 1000.0 / records.max(1) as f64;
    println!(
        "ingest (the centre alone: {} pushes built beforehand, sent one after another): {records} records in {:.1?} = {:.0} records/s; per record: wall {:.2} ms, CPU centre {:.2} ms, PostgreSQL {:.2} ms, sender {:.2} ms",
        bodies.len(),
        took,
        records as f64 / took.as_secs_f64(),
        took.as_secs_f64() * 1000.0 / records.max(1) as f64,
        per(cpu0.1, cpu1.1),
        per(pg0, pg1),
        per(cpu0.0, cpu1.0),
    );
    Ok(())
}

/// Name of the central service's runtime threads (to tell its CPU time from the kiosk's).
const CENTRE_THREAD: &str = "bench-centre";

/// CPU seconds of a `/proc/.../stat` line (user + system).
fn stat_cpu(stat: &str) -> f64 {
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat; here 11 and 12 after the state field.
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds of this process so far: (kiosk side, centre side). The centre's are its
/// runtime's threads, by name (kept alive through the run); the kiosk's are the rest of the
/// process, counted from the process's total so that threads that ended (the kiosk's sender)
/// still count.
fn cpu_split() -> (f64, f64) {
    let total = stat_cpu(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default());
    let mut centre = 0.0;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (total, 0.0);
    };
    for t in tasks.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim_end().starts_with(CENTRE_THREAD) {
            centre += stat_cpu(&std::fs::read_to_string(t.path().join("stat")).unwrap_or_default());
        }
    }
    (total - centre, centre)
}

/// The cluster's postmaster (from its socket lock file) and its children.
fn postgres_pids(cluster: &TestCluster) -> Vec<u32> {
    let Some(lock) = std::fs::read_dir(cluster.socket_dir())
        .into_iter()
        .flatten()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".lock"))
    else {
        return Vec::new();
    };
    let Some(master) = std::fs::read_to_string(lock.path())
        .ok()
        .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
    else {
        return Vec::new();
    };
    let mut pids = vec![master];
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        if rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok())
            == Some(master)
        {
            pids.push(pid);
        }
    }
    pids
}

/// CPU seconds used so far by the given PostgreSQL processes (a backend started later is not
/// counted: the bench's connections are opened before the run).
fn pg_cpu(pids: &[u32]) -> f64 {
    pids.iter()
        .map(|p| stat_cpu(&std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default()))
        .sum()
}

/// The kiosk side's stages timed one after another on every record: reading a record back
/// from the store (`outbox_record`: SQLCipher pages, the store's own seal opened), sealing it
/// for the centre, and framing the pushes.
fn sync_stages(store: &AuditStore, cfg: &FleetConfig, n: usize) -> Res<()> {
    let events = store.events_after(0, usize::MAX)?;
    let (mut read, mut seal, mut frame) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut items = Vec::new();
    let mut records = 0usize;
    for ev in events.iter().filter(|e| e.kind == "verification_recorded") {
        let Some(id) = ev.verification_id else {
            continue;
        };
        let t = Instant::now();
        let rec = store.outbox_record(id)?;
        read += t.elapsed();
        drop(rec);
        let t = Instant::now();
        let (item, _) = client::push_item(store, cfg, ev)?;
        seal += t.elapsed();
        items.push(item);
        records += 1;
        if items.len() == 100 {
            let t = Instant::now();
            let _ = kyc_core::fleet::wire::encode_push(&kyc_core::fleet::wire::PushRequest {
                kiosk_id: cfg.kiosk_id.clone(),
                head: kyc_core::fleet::wire::WireHead {
                    seq: 0,
                    hash: String::new(),
                },
                items: std::mem::take(&mut items),
            })?;
            frame += t.elapsed();
        }
    }
    // `push_item` reads the record again: its sealing is the difference.
    let seal = seal.saturating_sub(read);
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / records.max(1) as f64;
    println!(
        "sync stages per record ({records} of {n} records, one thread): read back {:.2} ms, sealed for the centre {:.2} ms, framed {:.2} ms",
        per(read),
        per(seal),
        per(frame)
    );
    Ok(())
}

fn bench_search(
    cluster: &TestCluster,
    rt: &tokio::runtime::Runtime,
    n: usize,
    queries: usize,
    rng: &mut Rng,
) -> Res<()> {
    let dir = tempfile::tempdir()?;
    let s = serve(cluster, rt, "bench_search")?;
    let db = dir.path().join("kiosk.sqlite3");
    let store = fill_store(&db, n, &[], rng)?;
    let cfg = enrolled(&s, rt, &db, "bench-k2")?;
    let t0 = Instant::now();
    let rep = client::sync_once(&store, &cfg, &SyncOptions::default())?;
    let took = t0.elapsed();
    println!(
        "search db: {} records (template only) synced in {:.1?} = {:.0} records/s",
        rep.records,
        took,
        rep.records as f64 / took.as_secs_f64()
    );
    // A second kiosk asks about faces near stored ones (found) and new ones (not found).
    let other = dir.path().join("other.sqlite3");
    drop(AuditStore::open(AuditConfig::at(&other))?);
    let ocfg = enrolled(&s, rt, &other, "bench-k3")?;
    let mut times = Vec::new();
    let (mut found, mut planted) = (0, 0);
    for q in 0..queries {
        let probe = if q % 2 == 0 {
            let id = 1 + (rng.next() as i64).rem_euclid(n as i64);
            let rec = store.outbox_record(id)?;
            let t = dedup::template_from_bytes(
                rec.template.as_ref().map_or(&[][..], |t| t.as_slice()),
            )?;
            let u = unit(&t).ok_or("bad template")?;
            planted += 1;
            (rng.near(&u, 0.8), Some(id))
        } else {
            let mut t = [0f32; TEMPLATE_DIM];
            rng.template(&mut t);
            (unit(&t).ok_or("bad template")?, None)
        };
        let t0 = Instant::now();
        let ans = dedup::search(&ocfg, &probe.0[..], None, None, Duration::from_secs(30))?;
        times.push(t0.elapsed());
        if let Some(id) = probe.1 {
            found += usize::from(ans.candidates.iter().any(|c| c.record_id == id));
        }
    }
    times.sort();
    println!(
        "online search over {} stored templates (signed HTTP, sealed query, exact re-score in PostgreSQL): median {:.1} ms, p95 {:.1} ms (n={}); planted matches found {found}/{planted}",
        s.central.dedup_index().len(),
        ms(median(&times)),
        ms(times[times.len() * 95 / 100]),
        times.len()
    );
    // The index as a restarted service rebuilds it.
    let t0 = Instant::now();
    let k = rt.block_on(s.central.rebuild_dedup_index())?;
    println!(
        "index rebuilt from PostgreSQL: {k} templates opened in {:.1?}",
        t0.elapsed()
    );
    Ok(())
}

fn bench_nonces(
    cluster: &TestCluster,
    rt: &tokio::runtime::Runtime,
    n: usize,
    runs: usize,
) -> Res<()> {
    let conn_str = rt.block_on(cluster.create_database("bench_nonces"))?;
    let central = rt.block_on(Central::open(&conn_str, CentralSecret::generate()))?;
    let c = rt.block_on(kyc_central::db::connect(&conn_str))?;
    // The last 10 minutes of requests of a large fleet, spread evenly.
    let now = now_ms();
    rt.block_on(c.execute(
        "INSERT INTO kiosks (kiosk_id, public_key, enrolled_ms) VALUES ('bench-n', NULL, 0)",
        &[],
    ))?;
    rt.block_on(c.execute(
        "INSERT INTO request_nonces (kiosk_id, nonce, seen_ms)
         SELECT 'k' || (g % 10000), md5(g::text), $2 - (g::bigint * 600000 / $1)
         FROM generate_series(1, $1::bigint) g",
        &[&(n as i64), &now],
    ))?;
    rt.block_on(c.batch_execute("ANALYZE request_nonces"))?;
    let mut each = Vec::new();
    let mut due = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        rt.block_on(central.prune_nonces())?;
        rt.block_on(central.head("bench-n"))
            .map_err(|e| e.message)?;
        each.push(t0.elapsed());
        let t0 = Instant::now();
        rt.block_on(central.prune_nonces_if_due())?;
        rt.block_on(central.head("bench-n"))
            .map_err(|e| e.message)?;
        due.push(t0.elapsed());
        // Requests keep arriving: as many new nonces as a busy minute brings, per request.
        rt.block_on(c.execute(
            "INSERT INTO request_nonces (kiosk_id, nonce, seen_ms)
             SELECT 'k' || (g % 10000), md5(random()::text), $1 FROM generate_series(1, 300) g",
            &[&now_ms()],
        ))?;
    }
    each.sort();
    due.sort();
    println!(
        "head request with {n} nonces: pruned on every request median {:.2} ms (p95 {:.2}); pruned at most once a minute median {:.2} ms (p95 {:.2}) (n={runs})",
        ms(median(&each)),
        ms(each[each.len() * 95 / 100]),
        ms(median(&due)),
        ms(due[due.len() * 95 / 100])
    );
    Ok(())
}

fn median(v: &[Duration]) -> Duration {
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// xorshift64: reproducible benchmark data.
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
    }

    /// A unit vector at cosine `c` from `a`.
    fn near(&mut self, a: &[f32; TEMPLATE_DIM], c: f32) -> Box<[f32; TEMPLATE_DIM]> {
        let mut r = [0f32; TEMPLATE_DIM];
        self.template(&mut r);
        let r = unit(&r).unwrap_or_else(|| Box::new(*a));
        let d = dot(a, &r);
        let mut o = [0f32; TEMPLATE_DIM];
        for i in 0..TEMPLATE_DIM {
            o[i] = r[i] - d * a[i];
        }
        let o = unit(&o).unwrap_or_else(|| Box::new(*a));
        let s = (1.0 - c * c).sqrt();
        let mut v = [0f32; TEMPLATE_DIM];
        for i in 0..TEMPLATE_DIM {
            v[i] = c * a[i] + s * o[i];
        }
        unit(&v).unwrap_or_else(|| Box::new(*a))
    }
}
