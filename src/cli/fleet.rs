//! `kyc-kiosk fleet enroll` and `kyc-kiosk sync`: joining the fleet and pushing this kiosk's
//! chained trail to the central service.
//!
//! Enrolment: an administrator runs `kyc-central enroll-kiosk --kiosk ID` centrally, which
//! prints a one-time token; on the kiosk, `kyc-kiosk fleet enroll --server URL --kiosk-id ID`
//! with the token in `KYC_FLEET_TOKEN` (or `--token`) makes the kiosk's key pair and keeps the
//! enrolment in `<db>.fleet` (mode 0600). `sync` then needs no sign-in: it reveals nothing to
//! whoever runs it (records leave sealed to the central key), like `audit verify`.

use std::path::PathBuf;
use std::time::Duration;

use kyc_core::Error;
use kyc_core::error::exit;
use kyc_core::fleet::{FleetConfig, FleetError, SyncOptions, client};

use super::audit::{StoreArgs, config};

/// `fleet` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum FleetCommand {
    /// Enrol this kiosk with the central service using a one-time token.
    Enroll {
        /// Store location (the enrolment is kept beside it as `<db>.fleet`).
        #[command(flatten)]
        store: StoreArgs,
        /// Central service URL, e.g. http://10.0.0.5:8440.
        #[arg(long)]
        server: String,
        /// The kiosk id the token was made for.
        #[arg(long)]
        kiosk_id: String,
        /// The one-time token (default: $KYC_FLEET_TOKEN, which keeps it out of `ps`).
        #[arg(long)]
        token: Option<String>,
    },
}

/// `sync` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct SyncArgs {
    /// Store location.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Central service URL (default: the one given at enrolment).
    #[arg(long)]
    pub server: Option<String>,
    /// Keep running: sync again every this many seconds (a headless kiosk's background sync).
    #[arg(long, value_name = "SECONDS")]
    pub every: Option<u64>,
    /// Most events per push.
    #[arg(long, default_value_t = 200)]
    pub batch: usize,
    /// Stop after this many pushes (to cut a run on purpose).
    #[arg(long)]
    pub max_pushes: Option<usize>,
}

fn fleet_path(store: &StoreArgs) -> PathBuf {
    FleetConfig::path_for(&config(store).db_path)
}

/// Run `fleet …`.
///
/// # Errors
/// Fleet and store errors.
pub fn run_fleet(cmd: FleetCommand) -> Result<i32, Error> {
    match cmd {
        FleetCommand::Enroll {
            store,
            server,
            kiosk_id,
            token,
        } => {
            let token = token
                .or_else(|| std::env::var("KYC_FLEET_TOKEN").ok())
                .ok_or_else(|| {
                    FleetError::InvalidInput(
                        "give the enrolment token in KYC_FLEET_TOKEN (or --token)".into(),
                    )
                })?;
            let path = fleet_path(&store);
            let cfg = client::enroll(&server, &kiosk_id, &token, &path)?;
            println!(
                "enrolled as {} with {} (kept in {})",
                cfg.kiosk_id,
                cfg.server.to_url(),
                path.display()
            );
            Ok(exit::OK)
        }
    }
}

/// One sync run ([`kyc_core::fleet::sync_and_pull`]) and its report as one JSON object
/// (`inbox`: what the pull did).
fn sync_and_pull(
    audit: &kyc_core::audit::AuditConfig,
    path: &std::path::Path,
    server: Option<&str>,
    opts: &SyncOptions,
) -> Result<String, FleetError> {
    let report = kyc_core::fleet::sync_and_pull(audit, path, server, opts)?;
    Ok(serde_json::to_value(&report)
        .unwrap_or_default()
        .to_string())
}

/// Run `sync`: one run, or one every `--every` seconds until interrupted (a failed run is
/// reported and retried). Prints each run's report as one JSON line.
///
/// # Errors
/// Fleet and store errors of a one-off run.
pub fn run_sync(args: SyncArgs) -> Result<i32, Error> {
    let audit = config(&args.store);
    let path = FleetConfig::path_for(&audit.db_path);
    let opts = SyncOptions {
        batch_events: args.batch.max(1),
        max_pushes: args.max_pushes,
        ..SyncOptions::default()
    };
    let Some(every) = args.every else {
        let report = sync_and_pull(&audit, &path, args.server.as_deref(), &opts)?;
        println!("{report}");
        return Ok(exit::OK);
    };
    loop {
        match sync_and_pull(&audit, &path, args.server.as_deref(), &opts) {
            Ok(report) => println!("{report}"),
            Err(e) => eprintln!("kyc-kiosk: sync: {e}"),
        }
        std::thread::sleep(Duration::from_secs(every.max(1)));
    }
}

/// The online central duplicate search right after a verification was recorded, when this
/// store is enrolled in a fleet: the outcome is chained on the record and told on stderr.
/// Offline (or refused) is "not checked centrally", never an error; a store that is not
/// enrolled is left alone.
pub fn check_centrally(store: &mut kyc_core::audit::AuditStore, record_id: i64) {
    use kyc_core::fleet::dedup::{self, CentralCheck};
    let path = FleetConfig::path_for(store.db_path());
    if !path.exists() {
        return;
    }
    let cfg = match FleetConfig::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kyc-kiosk: not checked centrally: {e}");
            return;
        }
    };
    match dedup::check_record(store, &cfg, record_id, dedup::ONLINE_TIMEOUT) {
        Ok(CentralCheck::Checked { candidates, .. }) if candidates.is_empty() => {
            eprintln!("kyc-kiosk: central duplicate search: no match in the fleet");
        }
        Ok(CentralCheck::Checked { candidates, .. }) => {
            for c in &candidates {
                eprintln!(
                    "kyc-kiosk: central duplicate search: same face as record {} of kiosk {} (cosine {:.3}{})",
                    c.record_id,
                    c.kiosk_id,
                    c.score,
                    if c.same_id_number {
                        ", same ID number"
                    } else {
                        ""
                    }
                );
            }
        }
        Ok(CentralCheck::NotChecked { reason }) => eprintln!("kyc-kiosk: {reason}"),
        Err(e) => eprintln!("kyc-kiosk: central duplicate search not recorded: {e}"),
    }
}
