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
    let database = match cli.database {
        Some(d) => d,
        None => std::env::var("KYC_CENTRAL_DATABASE").map_err(|_| {
            CentralError::InvalidInput(
                "give --database or set KYC_CENTRAL_DATABASE (a PostgreSQL connection string)"
                    .into(),
            )
        })?,
    };
    let key_file = cli
        .key_file
        .or_else(|| std::env::var_os("KYC_CENTRAL_KEY").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("kyc-central.key"));
    let secret = keyfile::load_or_create(&key_file)?;
    let central = Central::open(&database, secret).await?;
    match cli.command {
        Command::Serve { listen } => {
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
