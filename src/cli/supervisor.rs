//! `kyc-kiosk supervisor`: a supervisor workstation working the central queue across kiosks and
//! branches. `enroll` joins the central service with a one-time token (from `kyc-central
//! enroll-workstation`); `queue`, `show KIOSK:RECORD` and `decide KIOSK:RECORD --approve|--reject
//! --reason R` sign the supervisor in (password from `KYC_KIOSK_PASSWORD` or asked), then act.
//! Everything personal comes back sealed to the workstation's key; the password goes sealed to
//! the central key.

use std::io::IsTerminal;
use std::io::Write;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use kyc_core::Error;
use kyc_core::error::exit;
use kyc_core::fleet::FleetError;
use kyc_core::fleet::http::ServerUrl;
use kyc_core::fleet::supervisor::{QueueFilter, SupervisorSession, Workstation, parse_case};
use zeroize::Zeroizing;

use super::auth::PASSWORD_ENV;

/// `supervisor` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct SupervisorArgs {
    /// Central service URL (needed to enrol; afterwards it overrides the enrolled one).
    #[arg(long)]
    pub server: Option<String>,
    /// The workstation file (default: <config dir>/kyc-kiosk/workstation).
    #[arg(long)]
    pub workstation_file: Option<PathBuf>,
    /// Central user name (asked when missing).
    #[arg(long)]
    pub username: Option<String>,
    /// Open the central review window instead of running a command.
    #[arg(long, conflicts_with = "command")]
    pub window: bool,
    /// The window's language: en or fr.
    #[arg(long, requires = "window")]
    pub lang: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Option<SupervisorCommand>,
}

/// `supervisor` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum SupervisorCommand {
    /// Enrol this workstation with a one-time token (default: $KYC_FLEET_TOKEN).
    Enroll {
        /// The workstation id the token was made for.
        #[arg(long)]
        workstation_id: String,
        /// The token (prefer KYC_FLEET_TOKEN: it keeps it out of `ps`).
        #[arg(long)]
        token: Option<String>,
    },
    /// A page of the central queue as JSON, newest first.
    Queue {
        /// One kiosk.
        #[arg(long)]
        kiosk: Option<String>,
        /// One branch.
        #[arg(long)]
        branch: Option<String>,
        /// pending (default), closed, none or all.
        #[arg(long)]
        status: Option<String>,
        /// Recorded at or after (ms since epoch).
        #[arg(long)]
        from_ms: Option<i64>,
        /// Recorded before (ms since epoch).
        #[arg(long)]
        to_ms: Option<i64>,
        /// Decision reason contains this text.
        #[arg(long)]
        reason: Option<String>,
        /// Cases to skip.
        #[arg(long, default_value_t = 0)]
        offset: i64,
        /// Page size (1–200).
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// One case as JSON: the kiosk's whole record, its events, the central decision; images
    /// are listed by size and written to --images when given.
    Show {
        /// KIOSK:RECORD.
        case: String,
        /// Folder to write the case's images into.
        #[arg(long)]
        images: Option<PathBuf>,
    },
    /// Decide a case; the decision goes back to its kiosk at its next sync.
    Decide {
        /// KIOSK:RECORD.
        case: String,
        /// Approve.
        #[arg(long, conflicts_with = "reject")]
        approve: bool,
        /// Reject.
        #[arg(long)]
        reject: bool,
        /// Why (required).
        #[arg(long)]
        reason: String,
    },
}

fn workstation_path(args: &SupervisorArgs) -> Result<PathBuf, FleetError> {
    args.workstation_file
        .clone()
        .or_else(kyc_core::fleet::supervisor::default_workstation_path)
        .ok_or_else(|| {
            FleetError::InvalidInput("no configuration folder: give --workstation-file".into())
        })
}

fn ask(prompt: &str) -> Result<String, FleetError> {
    let io = |e| FleetError::Io {
        path: PathBuf::from("terminal"),
        source: e,
    };
    let mut err = std::io::stderr().lock();
    write!(err, "{prompt}")
        .and_then(|_| err.flush())
        .map_err(io)?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(io)?;
    Ok(line.trim().to_string())
}

fn sign_in(ws: &Workstation, username: Option<&str>) -> Result<SupervisorSession, FleetError> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let needs = || {
        FleetError::InvalidInput(format!(
            "give --username and the password in {PASSWORD_ENV} (no terminal to ask on)"
        ))
    };
    let name = match username.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None if interactive => ask("central user name: ")?,
        None => return Err(needs()),
    };
    let password = match std::env::var(PASSWORD_ENV) {
        Ok(p) => Zeroizing::new(p),
        Err(_) if interactive => Zeroizing::new(
            rpassword::prompt_password(format!("central password for {name}: ")).map_err(|e| {
                FleetError::Io {
                    path: PathBuf::from("terminal"),
                    source: e,
                }
            })?,
        ),
        Err(_) => return Err(needs()),
    };
    ws.login(&name, &password)
}

fn print_json<T: serde::Serialize>(v: &T) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Run `supervisor …`.
///
/// # Errors
/// Fleet errors (refusals carry the centre's code: `own_case`, `not_pending`, `no_session`, …).
pub fn run(args: SupervisorArgs) -> Result<i32, Error> {
    run_with_config(args, &kyc_core::Config::default())
}

/// [`run`] with the configuration in force (the window decodes case images with its limits).
///
/// # Errors
/// As [`run`]; the window's own errors when it cannot open.
pub fn run_with_config(args: SupervisorArgs, config: &kyc_core::Config) -> Result<i32, Error> {
    let path = workstation_path(&args)?;
    if args.window {
        let lang = match &args.lang {
            Some(l) => crate::gui::strings::Lang::parse(l)
                .ok_or_else(|| FleetError::InvalidInput(format!("unknown language {l:?}")))?,
            None => crate::gui::strings::Lang::En,
        };
        return crate::gui::central::run(crate::gui::central::CentralOptions {
            workstation_file: path,
            server: args.server.clone(),
            username: args.username.clone(),
            lang,
            limits: config.limits,
        });
    }
    let Some(command) = args.command.clone() else {
        return Err(FleetError::InvalidInput(
            "give a command (enroll, queue, show, decide) or --window".into(),
        )
        .into());
    };
    if let SupervisorCommand::Enroll {
        workstation_id,
        token,
    } = &command
    {
        let server = args.server.as_deref().ok_or_else(|| {
            FleetError::InvalidInput("give --server to enrol this workstation".into())
        })?;
        let token = token
            .clone()
            .or_else(|| std::env::var("KYC_FLEET_TOKEN").ok())
            .ok_or_else(|| {
                FleetError::InvalidInput(
                    "give the enrolment token in KYC_FLEET_TOKEN (or --token)".into(),
                )
            })?;
        let ws = Workstation::enroll(server, workstation_id, &token, &path)?;
        println!(
            "workstation {} enrolled with {} (kept in {})",
            ws.id,
            ws.server.to_url(),
            path.display()
        );
        return Ok(exit::OK);
    }
    let mut ws = Workstation::load(&path)?;
    if let Some(s) = &args.server {
        ws.server = ServerUrl::parse(s)?;
    }
    let session = sign_in(&ws, args.username.as_deref())?;
    match command {
        SupervisorCommand::Enroll { .. } => {}
        SupervisorCommand::Queue {
            kiosk,
            branch,
            status,
            from_ms,
            to_ms,
            reason,
            offset,
            limit,
        } => {
            let filter = QueueFilter {
                kiosk,
                branch,
                status,
                from_ms,
                to_ms,
                reason,
            };
            print_json(&ws.queue(&session, &filter, offset, limit)?);
        }
        SupervisorCommand::Show { case, images } => {
            let (kiosk, record) = parse_case(&case)?;
            let detail = ws.case(&session, &kiosk, record)?;
            let mut listed = Vec::new();
            for img in &detail.images {
                let bytes = Zeroizing::new(B64.decode(&img.data).map_err(|_| {
                    FleetError::Protocol(format!("image {} is not base64", img.kind))
                })?);
                let mut entry = serde_json::json!({ "kind": img.kind, "bytes": bytes.len() });
                if let Some(dir) = &images {
                    std::fs::create_dir_all(dir).map_err(|e| FleetError::Io {
                        path: dir.clone(),
                        source: e,
                    })?;
                    let file = dir.join(format!("{kiosk}-{record}-{}.jpg", img.kind));
                    std::fs::write(&file, bytes.as_slice()).map_err(|e| FleetError::Io {
                        path: file.clone(),
                        source: e,
                    })?;
                    entry["file"] = serde_json::json!(file.display().to_string());
                }
                listed.push(entry);
            }
            print_json(&serde_json::json!({
                "summary": detail.summary,
                "record": detail.record,
                "result": detail.result,
                "duplicates": detail.duplicates,
                "images": listed,
                "events": detail.events,
                "centralDecision": detail.central_decision,
            }));
        }
        SupervisorCommand::Decide {
            case,
            approve,
            reject,
            reason,
        } => {
            let (kiosk, record) = parse_case(&case)?;
            let decision = match (approve, reject) {
                (true, false) => "approve",
                (false, true) => "reject",
                _ => {
                    return Err(
                        FleetError::InvalidInput("give --approve or --reject".into()).into(),
                    );
                }
            };
            print_json(&ws.decide(&session, &kiosk, record, decision, &reason)?);
        }
    }
    Ok(exit::OK)
}
