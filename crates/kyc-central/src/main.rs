//! `kyc-central`: the fleet's central service and its administration commands.

mod cli_hooks;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use kyc_central::{Central, CentralError, CentralRole, CentralUser, keyfile};

/// The kiosk fleet's central service over PostgreSQL.
#[derive(Parser)]
#[command(name = "kyc-central", version)]
struct Cli {
    /// PostgreSQL connection string (e.g. "host=/run/postgresql user=kyc dbname=kyc");
    /// default: the KYC_CENTRAL_DATABASE variable.
    #[arg(long)]
    database: Option<String>,
    /// The central service's X25519 secret (made on first use, mode 0600); default: the
    /// KYC_CENTRAL_KEY variable, else kyc-central.key.
    #[arg(long)]
    key_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (prints "kyc-central listening on http://ADDR" once ready).
    Serve {
        /// Address to listen on (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:8440")]
        listen: String,
        /// Online duplicate searches allowed per kiosk per minute, sustained (1 to 60).
        #[arg(long, default_value_t = kyc_central::ratelimit::SearchLimits::default().per_minute)]
        search_per_minute: u32,
        /// Online duplicate searches allowed per kiosk at once (1 to 100).
        #[arg(long, default_value_t = kyc_central::ratelimit::SearchLimits::default().burst)]
        search_burst: u32,
    },
    /// Apply pending migrations and print the schema version.
    Migrate,
    /// Create the first administrator (password in KYC_CENTRAL_PASSWORD).
    CreateAdmin {
        /// User name.
        #[arg(long)]
        username: String,
    },
    /// An administrator (password in KYC_CENTRAL_PASSWORD) creates a user whose password is
    /// in KYC_CENTRAL_NEW_PASSWORD.
    CreateUser {
        /// The administrator.
        #[arg(long)]
        admin: String,
        /// New user name.
        #[arg(long)]
        username: String,
        /// supervisor or administrator.
        #[arg(long)]
        role: String,
    },
    /// An administrator makes a one-time enrolment token for a kiosk (printed on stdout).
    EnrollKiosk {
        /// The administrator (password in KYC_CENTRAL_PASSWORD).
        #[arg(long)]
        admin: String,
        /// Kiosk id.
        #[arg(long)]
        kiosk: String,
    },
    /// An administrator clears a kiosk's quarantine and its open alerts, keeping its chain as
    /// it is (a kiosk whose history diverged needs `readmit`). Logged with the reason.
    ClearQuarantine {
        /// The administrator (password in KYC_CENTRAL_PASSWORD).
        #[arg(long)]
        admin: String,
        /// Kiosk id.
        #[arg(long)]
        kiosk: String,
        /// Why (kept in the administrators' log).
        #[arg(long)]
        reason: String,
    },
    /// Webhooks to core banking: endpoints, dead letters, replay.
    #[command(subcommand)]
    Webhook(cli_hooks::WebhookCmd),
    /// Registry-check adapters and a case's check.
    #[command(subcommand)]
    Registry(cli_hooks::RegistryCmd),
    /// Re-admit a quarantined kiosk: see the evidence, accept its chain from a sequence, or
    /// re-enrol it with a new key.
    #[command(subcommand)]
    Readmit(cli_hooks::ReadmitCmd),
    /// The chained log of administrators' actions, as JSON.
    AdminLog {
        /// The administrator (password in KYC_CENTRAL_PASSWORD).
        #[arg(long)]
        admin: String,
        /// Only the newest N entries.
        #[arg(long)]
        limit: Option<i64>,
    },
    /// Alerts as JSON, newest first.
    Alerts {
        /// Only alerts not cleared.
        #[arg(long)]
        open: bool,
    },
    /// Every kiosk's sync state as JSON.
    Status,
    /// Re-check every stored chain; exit 7 when a problem is found.
    Verify,
    /// An administrator makes a one-time enrolment token for a supervisor workstation.
    EnrollWorkstation {
        /// The administrator (password in KYC_CENTRAL_PASSWORD).
        #[arg(long)]
        admin: String,
        /// Workstation id.
        #[arg(long)]
        workstation: String,
    },
    /// An administrator names a kiosk's branch (the queue's branch filter).
    SetBranch {
        /// The administrator (password in KYC_CENTRAL_PASSWORD).
        #[arg(long)]
        admin: String,
        /// Kiosk id.
        #[arg(long)]
        kiosk: String,
        /// Branch name.
        #[arg(long)]
        branch: String,
    },
    /// An administrator sets the fleet policy from a JSON file (sections decision, matching,
    /// liveness, duplicates, with the kiosk configuration's keys); kiosks pull it on sync.
    SetPolicy {
        /// The administrator (password in KYC_CENTRAL_PASSWORD).
        #[arg(long)]
        admin: String,
        /// The policy file (JSON).
        #[arg(long)]
        file: PathBuf,
        /// Confirm values laxer than shipped: the policy's sha256, as the refusal prints it.
        #[arg(long)]
        confirm: Option<String>,
    },
    /// The fleet policy log, the versions kiosks report in force, and the log's check (exit
    /// 7 on a problem).
    Policy,
    /// The central decision log and its check (exit 7 on a problem).
    Decisions,
    /// Measure the supervisor queue's queries over N synthetic records. Without --database
    /// (or KYC_CENTRAL_DATABASE) it starts a throwaway PostgreSQL cluster.
    BenchQueue {
        /// Records to add.
        #[arg(long, default_value_t = 100_000)]
        records: i64,
        /// Runs per query.
        #[arg(long, default_value_t = 30)]
        runs: usize,
    },
}

fn password(var: &str) -> Result<String, CentralError> {
    std::env::var(var).map_err(|_| {
        CentralError::InvalidInput(format!(
            "set {var} to the password (it is never an argument)"
        ))
    })
}

async fn admin(central: &Central, name: &str) -> Result<CentralUser, CentralError> {
    let user = central
        .sign_in(name, &password("KYC_CENTRAL_PASSWORD")?)
        .await?;
    user.require_admin()?;
    Ok(user)
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<(), CentralError> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| CentralError::Setup(e.to_string()))?
    );
    Ok(())
}

async fn run(cli: Cli) -> Result<ExitCode, CentralError> {
    let mut _throwaway = None;
    let database = match cli
        .database
        .or_else(|| std::env::var("KYC_CENTRAL_DATABASE").ok())
    {
        Some(d) => d,
        None if matches!(cli.command, Command::BenchQueue { .. }) => {
            let cluster = kyc_central::testpg::TestCluster::start()?;
            let conn = cluster.create_database("bench_queue").await?;
            _throwaway = Some(cluster);
            conn
        }
        None => {
            return Err(CentralError::InvalidInput(
                "give --database or set KYC_CENTRAL_DATABASE (a PostgreSQL connection string)"
                    .into(),
            ));
        }
    };
    let key_file = cli
        .key_file
        .or_else(|| std::env::var_os("KYC_CENTRAL_KEY").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("kyc-central.key"));
    let secret = keyfile::load_or_create(&key_file)?;
    let central = Central::open(&database, secret).await?;
    match cli.command {
        Command::Serve {
            listen,
            search_per_minute,
            search_burst,
        } => {
            let limits = kyc_central::ratelimit::SearchLimits {
                per_minute: search_per_minute,
                burst: search_burst,
                ..Default::default()
            };
            limits.validate()?;
            let central = central.with_search_limits(limits);
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .map_err(|e| CentralError::Setup(format!("listen on {listen}: {e}")))?;
            let addr = listener
                .local_addr()
                .map_err(|e| CentralError::Setup(e.to_string()))?;
            println!("kyc-central listening on http://{addr}");
            use std::io::Write;
            let _ = std::io::stdout().flush();
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            kyc_central::serve(Arc::new(central), listener, shutdown).await?;
        }
        Command::Migrate => println!("schema version {}", central.schema_version().await?),
        Command::CreateAdmin { username } => {
            central
                .create_first_admin(&username, &password("KYC_CENTRAL_PASSWORD")?)
                .await?;
            println!("administrator {username} created");
        }
        Command::CreateUser {
            admin: a,
            username,
            role,
        } => {
            let by = admin(&central, &a).await?;
            let role = CentralRole::parse(&role)?;
            central
                .create_user(&by, &username, role, &password("KYC_CENTRAL_NEW_PASSWORD")?)
                .await?;
            println!("{} {username} created", role.as_str());
        }
        Command::EnrollKiosk { admin: a, kiosk } => {
            let by = admin(&central, &a).await?;
            println!("{}", central.create_enrol_token(&by, &kiosk).await?);
        }
        Command::ClearQuarantine {
            admin: a,
            kiosk,
            reason,
        } => {
            let by = admin(&central, &a).await?;
            let n = central
                .clear_quarantine_logged(&by, &kiosk, &reason)
                .await?;
            println!("kiosk {kiosk} cleared ({n} alert(s) closed)");
        }
        Command::Webhook(cmd) => cli_hooks::webhook(&central, cmd).await?,
        Command::Registry(cmd) => cli_hooks::registry(&central, cmd).await?,
        Command::Readmit(cmd) => cli_hooks::readmit(&central, cmd).await?,
        Command::AdminLog { admin: a, limit } => cli_hooks::admin_log(&central, &a, limit).await?,
        Command::Alerts { open } => print_json(&central.alerts(open).await?)?,
        Command::Status => print_json(&central.kiosks().await?)?,
        Command::EnrollWorkstation {
            admin: a,
            workstation,
        } => {
            let by = admin(&central, &a).await?;
            println!(
                "{}",
                central.create_workstation_token(&by, &workstation).await?
            );
        }
        Command::SetBranch {
            admin: a,
            kiosk,
            branch,
        } => {
            let by = admin(&central, &a).await?;
            let n = central.set_branch(&by, &kiosk, &branch).await?;
            println!("kiosk {kiosk} is in branch {branch} ({n} record(s))");
        }
        Command::SetPolicy {
            admin: a,
            file,
            confirm,
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| CentralError::InvalidInput(format!("{}: {e}", file.display())))?;
            let policy: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                CentralError::InvalidInput(format!("{}: not JSON: {e}", file.display()))
            })?;
            let by = admin(&central, &a).await?;
            print_json(&central.set_policy(&by, &policy, confirm.as_deref()).await?)?;
        }
        Command::Policy => {
            let problems = central.verify_policies().await?;
            let kiosks: Vec<serde_json::Value> = central
                .kiosk_policies()
                .await?
                .into_iter()
                .map(|(k, v, t)| serde_json::json!({"kioskId": k, "version": v, "appliedMs": t}))
                .collect();
            print_json(&serde_json::json!({
                "log": central.policy_log().await?,
                "kiosks": kiosks,
                "intact": problems.is_empty(),
                "problems": problems,
            }))?;
            if !problems.is_empty() {
                return Ok(ExitCode::from(7));
            }
        }
        Command::Decisions => {
            let problems = central.verify_decisions().await?;
            print_json(&serde_json::json!({
                "log": central.decisions().await?,
                "intact": problems.is_empty(),
                "problems": problems,
            }))?;
            if !problems.is_empty() {
                return Ok(ExitCode::from(7));
            }
        }
        Command::BenchQueue { records, runs } => {
            if !(1..=10_000_000).contains(&records) {
                return Err(CentralError::InvalidInput(
                    "--records: 1 to 10000000".into(),
                ));
            }
            print_json(&central.bench_queue(records, runs).await?)?;
        }
        Command::Verify => {
            let mut problems = central.verify_stored().await?;
            problems.extend(central.verify_admin_log().await?);
            print_json(
                &serde_json::json!({ "intact": problems.is_empty(), "problems": problems }),
            )?;
            if !problems.is_empty() {
                return Ok(ExitCode::from(7));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kyc-central: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kyc-central: {e}");
            ExitCode::from(match e {
                CentralError::InvalidInput(_) | CentralError::WeakPassword(_) => 2,
                CentralError::Unauthorized(_) | CentralError::Forbidden(_) => 8,
                CentralError::NotFound(_) => 3,
                CentralError::Conflict(_) => 4,
                _ => 1,
            })
        }
    }
}
