//! `kyc-central webhook …`, `registry …`, `readmit …` and `admin-log`: the hand-off, registry
//! and re-admission commands (every one signs in an administrator whose password is in
//! KYC_CENTRAL_PASSWORD, except `registry status`, open to supervisors too).

use std::path::PathBuf;

use clap::Subcommand;
use kyc_central::{Central, CentralError, CentralUser};

/// Webhooks to core banking.
#[derive(Subcommand)]
pub enum WebhookCmd {
    /// Add an endpoint (https://host[:port]/path; http:// only on a trusted network); its HMAC
    /// secret is read from a file only its owner may read (at least 32 bytes).
    Add {
        /// The administrator.
        #[arg(long)]
        admin: String,
        /// Endpoint URL.
        #[arg(long)]
        url: String,
        /// File holding the shared secret.
        #[arg(long)]
        secret_file: PathBuf,
        /// Send the holder's name, numbers and date of birth too.
        #[arg(long)]
        include_personal: bool,
        /// PEM file of the CA(s) the https endpoint's certificate must chain to (the bank's
        /// private CA); without it, the system roots.
        #[arg(long)]
        ca_file: Option<PathBuf>,
    },
    /// Endpoints with their pending, delivered and dead counts.
    List {
        /// The administrator.
        #[arg(long)]
        admin: String,
    },
    /// Remove an endpoint (its pending deliveries become dead letters).
    Remove {
        /// The administrator.
        #[arg(long)]
        admin: String,
        /// Endpoint id.
        #[arg(long)]
        id: i64,
        /// Why (kept in the administrators' log).
        #[arg(long)]
        reason: String,
    },
    /// Deliveries that ran out of attempts.
    DeadLetters {
        /// The administrator.
        #[arg(long)]
        admin: String,
    },
    /// Re-queue a dead letter (or all of them) with its idempotency key.
    Replay {
        /// The administrator.
        #[arg(long)]
        admin: String,
        /// Delivery id.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Every dead letter.
        #[arg(long)]
        all: bool,
        /// Why (kept in the administrators' log).
        #[arg(long)]
        reason: String,
    },
}

/// Registry-check adapters.
#[derive(Subcommand)]
pub enum RegistryCmd {
    /// Configure an adapter for a country and ID type; its credential is read from a file
    /// only its owner may read.
    Add {
        /// The administrator.
        #[arg(long)]
        admin: String,
        /// Name attached to each outcome.
        #[arg(long)]
        name: String,
        /// Adapter kind.
        #[arg(long, default_value = "http-json")]
        kind: String,
        /// Country, as the kiosk records it (e.g. GH, CIV).
        #[arg(long)]
        country: String,
        /// ID type (e.g. passport, ghana_card).
        #[arg(long)]
        id_type: String,
        /// Endpoint URL (http://).
        #[arg(long)]
        url: String,
        /// File holding the credential (sent as a bearer token).
        #[arg(long)]
        credential_file: PathBuf,
        /// Time-out per request.
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: i64,
    },
    /// Adapters in use.
    List {
        /// The administrator.
        #[arg(long)]
        admin: String,
    },
    /// Remove an adapter.
    Remove {
        /// The administrator.
        #[arg(long)]
        admin: String,
        /// Adapter id.
        #[arg(long)]
        id: i64,
        /// Why (kept in the administrators' log).
        #[arg(long)]
        reason: String,
    },
    /// A case's registry check (`not_checked` when no adapter was configured for it).
    Status {
        /// A central user (supervisor or administrator).
        #[arg(long)]
        user: String,
        /// Kiosk.
        #[arg(long)]
        kiosk: String,
        /// Record id at that kiosk.
        #[arg(long)]
        record: i64,
    },
}

/// Re-admitting a quarantined kiosk.
#[derive(Subcommand)]
pub enum ReadmitCmd {
    /// The quarantine case: open alerts, the evidence (both heads, the refused events, where
    /// the chains diverge) and earlier re-admissions.
    Show {
        /// The administrator.
        #[arg(long)]
        admin: String,
        /// Kiosk.
        #[arg(long)]
        kiosk: String,
    },
    /// Accept the kiosk's chain from a sequence: the centre's events from there on are kept
    /// aside as the superseded branch.
    Accept {
        /// The administrator.
        #[arg(long)]
        admin: String,
        /// Kiosk.
        #[arg(long)]
        kiosk: String,
        /// First sequence the kiosk's chain replaces.
        #[arg(long)]
        from_seq: i64,
        /// Why (kept in the administrators' log).
        #[arg(long)]
        reason: String,
    },
    /// Retire the kiosk's key and print a new enrolment token (optionally rebasing its chain).
    ReEnrol {
        /// The administrator.
        #[arg(long)]
        admin: String,
        /// Kiosk.
        #[arg(long)]
        kiosk: String,
        /// First sequence the kiosk's chain replaces (1: its store starts again empty).
        #[arg(long)]
        from_seq: Option<i64>,
        /// Why (kept in the administrators' log).
        #[arg(long)]
        reason: String,
    },
}

async fn sign_in(central: &Central, name: &str) -> Result<CentralUser, CentralError> {
    let pw = std::env::var("KYC_CENTRAL_PASSWORD").map_err(|_| {
        CentralError::InvalidInput(
            "set KYC_CENTRAL_PASSWORD to the password (it is never an argument)".into(),
        )
    })?;
    central.sign_in(name, &pw).await
}

async fn admin(central: &Central, name: &str) -> Result<CentralUser, CentralError> {
    let u = sign_in(central, name).await?;
    u.require_admin()?;
    Ok(u)
}

fn print<T: serde::Serialize>(v: &T) -> Result<(), CentralError> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| CentralError::Setup(e.to_string()))?
    );
    Ok(())
}

/// Run a `webhook` command.
pub async fn webhook(central: &Central, cmd: WebhookCmd) -> Result<(), CentralError> {
    match cmd {
        WebhookCmd::Add {
            admin: a,
            url,
            secret_file,
            include_personal,
            ca_file,
        } => {
            let by = admin(central, &a).await?;
            let secret = kyc_central::hooks::read_secret_file(
                &secret_file,
                kyc_central::hooks::MIN_SECRET_BYTES,
            )?;
            let ca = ca_file
                .map(|p| {
                    std::fs::read_to_string(&p).map_err(|e| {
                        CentralError::InvalidInput(format!("CA file {}: {e}", p.display()))
                    })
                })
                .transpose()?;
            let id = central
                .add_webhook_with_ca(&by, &url, &secret, include_personal, ca.as_deref())
                .await?;
            println!("webhook endpoint {id} added");
        }
        WebhookCmd::List { admin: a } => {
            let by = admin(central, &a).await?;
            print(&central.webhooks(&by).await?)?;
        }
        WebhookCmd::Remove {
            admin: a,
            id,
            reason,
        } => {
            let by = admin(central, &a).await?;
            let n = central.remove_webhook(&by, id, &reason).await?;
            println!("webhook endpoint {id} removed ({n} pending delivery(ies) made dead letters)");
        }
        WebhookCmd::DeadLetters { admin: a } => {
            let by = admin(central, &a).await?;
            print(&central.deliveries(&by, "dead").await?)?;
        }
        WebhookCmd::Replay {
            admin: a,
            id,
            all: _,
            reason,
        } => {
            let by = admin(central, &a).await?;
            let n = central.replay_dead_letters(&by, id, &reason).await?;
            println!("{n} dead letter(s) queued again");
        }
    }
    Ok(())
}

/// Run a `registry` command.
pub async fn registry(central: &Central, cmd: RegistryCmd) -> Result<(), CentralError> {
    match cmd {
        RegistryCmd::Add {
            admin: a,
            name,
            kind,
            country,
            id_type,
            url,
            credential_file,
            timeout_ms,
        } => {
            let by = admin(central, &a).await?;
            let cred = kyc_central::hooks::read_secret_file(
                &credential_file,
                kyc_central::registry::MIN_CREDENTIAL_BYTES,
            )?;
            let cred = std::str::from_utf8(&cred).map_err(|_| {
                CentralError::InvalidInput("the credential file is not UTF-8 text".into())
            })?;
            let id = central
                .add_registry_adapter(
                    &by, &name, &kind, &country, &id_type, &url, cred, timeout_ms,
                )
                .await?;
            println!("registry adapter {id} added");
        }
        RegistryCmd::List { admin: a } => {
            let by = admin(central, &a).await?;
            print(&central.registry_adapters(&by).await?)?;
        }
        RegistryCmd::Remove {
            admin: a,
            id,
            reason,
        } => {
            let by = admin(central, &a).await?;
            central.remove_registry_adapter(&by, id, &reason).await?;
            println!("registry adapter {id} removed");
        }
        RegistryCmd::Status {
            user,
            kiosk,
            record,
        } => {
            sign_in(central, &user).await?;
            print(&central.registry_check(&kiosk, record).await?)?;
        }
    }
    Ok(())
}

/// Run a `readmit` command.
pub async fn readmit(central: &Central, cmd: ReadmitCmd) -> Result<(), CentralError> {
    match cmd {
        ReadmitCmd::Show { admin: a, kiosk } => {
            let by = admin(central, &a).await?;
            print(&central.quarantine_case(&by, &kiosk).await?)?;
        }
        ReadmitCmd::Accept {
            admin: a,
            kiosk,
            from_seq,
            reason,
        } => {
            let by = admin(central, &a).await?;
            print(
                &central
                    .readmit_accept_chain(&by, &kiosk, from_seq, &reason)
                    .await?,
            )?;
        }
        ReadmitCmd::ReEnrol {
            admin: a,
            kiosk,
            from_seq,
            reason,
        } => {
            let by = admin(central, &a).await?;
            let (r, token) = central
                .readmit_re_enrol(&by, &kiosk, from_seq, &reason)
                .await?;
            print(&serde_json::json!({ "readmission": r, "enrolmentToken": token }))?;
        }
    }
    Ok(())
}

/// `admin-log`.
pub async fn admin_log(central: &Central, a: &str, limit: Option<i64>) -> Result<(), CentralError> {
    let by = admin(central, a).await?;
    print(&central.admin_log(&by, limit).await?)
}
