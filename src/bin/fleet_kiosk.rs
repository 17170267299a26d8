//! A headless kiosk for the fleet simulation (`packaging/fleet-sim.sh`): records real
//! verifications of image pairs through the same `VerificationService` path as
//! `kyc-kiosk verify --record` (models loaded once), while the background sync thread
//! runs the fleet cycle (push the trail, pull central decisions and the fleet policy, which
//! governs the verifications that follow). After each record it asks the central service's
//! duplicate search online (chained on the record; "not checked" when the centre is away).
//! Prints `ack <record id>` once each record is committed.
//!
//! Usage: `fleet_kiosk <db> <records> <sync-every-seconds> <document> <selfie> [<document>
//! <selfie> …]`, signing in as `$KYC_KIOSK_OPERATOR` with `$KYC_KIOSK_PASSWORD`. `<records>`
//! is the total the store should hold: a kiosk restarted after a crash continues from there.
//! With a sync interval of 0 there is no background sync.
//!
//! `fleet_kiosk --ids <db>` prints the store's record ids, one per line, and
//! `fleet_kiosk --head <db>` its newest chained sequence: the simulation's accounting reads
//! the encrypted store through the store's own key, as the kiosk does.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use kyc_core::Config;
use kyc_core::fleet::FleetConfig;
use kyc_core::fleet::client::{BackgroundSync, SyncOptions};
use kyc_core::service::{Capture, Claim, VerificationService};
use kyc_core::settings::SettingsInForce;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, db] = args.as_slice()
        && (mode == "--ids" || mode == "--head")
    {
        return match inspect(mode, db) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("fleet_kiosk: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.len() < 5 || args.len().is_multiple_of(2) {
        eprintln!(
            "usage: fleet_kiosk <db> <records> <sync-every-seconds> <document> <selfie> [...]"
        );
        return ExitCode::from(2);
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleet_kiosk: {e}");
            ExitCode::FAILURE
        }
    }
}

fn inspect(mode: &str, db: &str) -> Result<(), Box<dyn std::error::Error>> {
    use kyc_core::audit::{AuditConfig, AuditStore};
    let mut out = std::io::stdout().lock();
    if mode == "--head" {
        let mut cfg = AuditConfig::at(db);
        cfg.load_index_at_open = false;
        let (seq, _) = AuditStore::open_read_only(cfg)?.head()?;
        writeln!(out, "{seq}")?;
    } else {
        let conn = AuditStore::raw_connection(&AuditConfig::at(db))?;
        let mut st = conn.prepare("SELECT id FROM verifications ORDER BY id")?;
        for id in st.query_map([], |r| r.get::<_, i64>(0))? {
            writeln!(out, "{}", id?)?;
        }
    }
    Ok(())
}

fn run(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let db = PathBuf::from(&args[0]);
    let total: i64 = args[1].parse()?;
    let every: u64 = args[2].parse()?;
    let pairs: Vec<(PathBuf, PathBuf)> = args[3..]
        .chunks(2)
        .map(|c| (PathBuf::from(&c[0]), PathBuf::from(&c[1])))
        .collect();
    let settings = SettingsInForce::load(Config::load(None)?, None)?;
    let audit = VerificationService::store_config(&settings, Some(&db));
    let fleet = FleetConfig::path_for(&db);
    // The online central duplicate search after each record (not checked when offline).
    let fleet_cfg = FleetConfig::load(&fleet).ok();
    let _sync = if every > 0 {
        let opts = SyncOptions {
            timeout: Duration::from_secs(5),
            ..SyncOptions::default()
        };
        Some(BackgroundSync::spawn(
            audit.clone(),
            fleet,
            Duration::from_secs(every),
            opts,
            |r| match r {
                Ok(rep) => eprintln!(
                    "sync ack {} of {}; central decisions applied {}, fleet policy {}",
                    rep.sync.ack_seq,
                    rep.sync.local_seq,
                    rep.inbox.applied,
                    rep.inbox
                        .policy_version
                        .map_or_else(|| "none".to_string(), |v| format!("version {v}")),
                ),
                Err(e) => eprintln!("sync failed: {e}"),
            },
        )?)
    } else {
        None
    };
    let mut svc = VerificationService::open(settings, audit)?;
    let operator = std::env::var("KYC_KIOSK_OPERATOR").unwrap_or_else(|_| "ama".into());
    let password = std::env::var("KYC_KIOSK_PASSWORD")?;
    svc.login(&operator, &password)?;
    svc.load_pipeline()?;
    let mut made = svc.store().record_count()?;
    let mut out = std::io::stdout().lock();
    while made < total {
        let (doc, selfie) = &pairs[made as usize % pairs.len()];
        // A fleet policy the background sync pulled governs the next verification.
        if svc.refresh_fleet_policy()? {
            eprintln!(
                "fleet policy version {} in force",
                svc.fleet_policy_version().unwrap_or_default()
            );
        }
        svc.begin(Claim::individual_now())?;
        svc.capture_document(Capture::file(doc)?)?;
        svc.capture_document_back(None)?;
        svc.capture_selfie(Capture::file(selfie)?, None)?;
        svc.verify(|_| {})?;
        let result = svc.decide(None)?;
        let id = result.record.as_ref().map(|r| r.id).unwrap_or(-1);
        if let Some(cfg) = fleet_cfg.as_ref().filter(|_| id > 0) {
            kyc_core::fleet::dedup::check_record(svc.store_mut(), cfg, id, Duration::from_secs(2))?;
        }
        writeln!(out, "ack {id}")?;
        out.flush()?;
        made = svc.store().record_count()?;
    }
    svc.logout()?;
    // Let the background sync push the last records before leaving.
    if every > 0 {
        std::thread::sleep(Duration::from_secs(every + 1));
    }
    Ok(())
}
