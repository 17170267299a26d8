//! `kyc-kiosk audit …` subcommands. Hook into `main.rs` with one line, e.g.
//! `Command::Audit(cmd) => std::process::exit(crate::cli::audit::run(cmd)?)`.
//!
//! Exit codes from [`run`]: 0 success, 7 ([`exit::AUDIT_BROKEN`]) when `verify` finds the
//! trail broken (distinct from 2, a usage error); errors are returned as `Err` for the caller
//! to print and map (6 storage, 8 credentials or permission).
//!
//! `export`, `stats`, `purge` and `erase` log a user in first ([`super::auth::authenticate`]):
//! on a terminal by prompt, else `--operator NAME` with the password in `KYC_KIOSK_PASSWORD`.
//! `verify` needs no user (it reads no record's content and writes nothing): it opens the
//! database read-only and checks it against the chain-head anchor beside the key.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use kyc_core::audit::AuditError;
use kyc_core::audit::ExportFormat;
use kyc_core::audit::{AuditConfig, AuditStore};
use kyc_core::audit::{Decision, RecordFilter};
use kyc_core::error::exit;

use super::auth::AuthArgs;

/// Where the database and key file are.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StoreArgs {
    /// Audit database (default: the platform data folder, `kyc-kiosk/audit.sqlite3`).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Key file (default: `<db>.key` when --db is given, else the platform config folder).
    #[arg(long, value_name = "PATH")]
    pub key: Option<PathBuf>,
}

/// Record filters shared by `export` and `stats`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FilterArgs {
    /// Created on or after this day (YYYY-MM-DD, UTC) or ms since epoch.
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Created before this day (YYYY-MM-DD, UTC, exclusive) or ms since epoch.
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Only the records of this operator (`--operator` is who runs the command).
    #[arg(id = "by_operator", long = "by-operator", value_name = "NAME")]
    pub operator: Option<String>,
    /// Only this current decision (approve, refer, reject).
    #[arg(long)]
    pub decision: Option<Decision>,
}

/// Export file format on the command line (the store's [`ExportFormat`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// One JSON object per line (summary plus the full result JSON).
    Jsonl,
    /// Comma-separated summary columns with a header row (RFC 4180 quoting).
    Csv,
}

impl From<FormatArg> for ExportFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Jsonl => ExportFormat::Jsonl,
            FormatArg::Csv => ExportFormat::Csv,
        }
    }
}

/// The `audit` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and report every edited, deleted, reordered or truncated record.
    Verify {
        /// Store location.
        #[command(flatten)]
        store: StoreArgs,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete images older than N days (decisions and templates stay).
    Purge {
        /// Store location.
        #[command(flatten)]
        store: StoreArgs,
        /// Who runs it.
        #[command(flatten)]
        auth: AuthArgs,
        /// Retention in days.
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
    /// Erase a customer's biometric data (images and face templates), leaving a tombstone.
    Erase {
        /// Store location.
        #[command(flatten)]
        store: StoreArgs,
        /// Who runs it.
        #[command(flatten)]
        auth: AuthArgs,
        /// The customer's ID number (every record with it is erased).
        #[arg(long, required_unless_present = "record")]
        customer: Option<String>,
        /// Erase one record by id instead (repeatable).
        #[arg(long)]
        record: Vec<i64>,
        /// Reason written into the tombstone.
        #[arg(long, default_value = "customer request")]
        reason: String,
    },
    /// Export records as JSON Lines or CSV.
    Export {
        /// Store location.
        #[command(flatten)]
        store: StoreArgs,
        /// Who runs it.
        #[command(flatten)]
        auth: AuthArgs,
        /// Output format.
        #[arg(long, value_enum)]
        format: FormatArg,
        /// Filters.
        #[command(flatten)]
        filter: FilterArgs,
        /// Output file (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Counts per decision and operator, and processing times.
    Stats {
        /// Store location.
        #[command(flatten)]
        store: StoreArgs,
        /// Who runs it.
        #[command(flatten)]
        auth: AuthArgs,
        /// Filters.
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Confirm, as an administrator, the configuration in force (configuration file with the
    /// kiosk settings file laid over it) when it holds values outside the safe range: what is
    /// unsafe is shown, and the confirmation of exactly this configuration's hash is chained.
    /// Any later edit changes the hash and needs a new confirmation.
    ConfirmConfig {
        /// Store location.
        #[command(flatten)]
        store: StoreArgs,
        /// Who confirms (an administrator).
        #[command(flatten)]
        auth: AuthArgs,
        /// Kiosk settings file laid over the configuration (default: $KYC_KIOSK_SETTINGS or
        /// <config dir>/kyc-kiosk/kiosk-settings.toml), as the window and `verify --record`
        /// read it.
        #[arg(long, value_name = "PATH")]
        settings: Option<PathBuf>,
        /// Confirm only if the configuration's sha256 is this one (the hash that was reviewed).
        #[arg(long, value_name = "SHA256")]
        hash: Option<String>,
        /// The configuration file (the global `--config`).
        #[arg(skip)]
        config: Option<PathBuf>,
    },
    /// One-time install step: create the first administrator. The password is read from
    /// --password-file, else `KYC_KIOSK_ADMIN_PASSWORD`, else the first line of standard input.
    CreateAdmin {
        /// Store location.
        #[command(flatten)]
        store: StoreArgs,
        /// Administrator username.
        #[arg(long)]
        username: String,
        /// File whose first line is the password.
        #[arg(long, value_name = "PATH")]
        password_file: Option<PathBuf>,
    },
}

/// Run one audit subcommand; returns the process exit code.
pub fn run(cmd: AuditCommand) -> Result<i32, AuditError> {
    let mut stdout = std::io::stdout().lock();
    run_to(cmd, &mut stdout)
}

/// Like [`run`] but writing to `out` (used by tests).
pub fn run_to(cmd: AuditCommand, out: &mut dyn Write) -> Result<i32, AuditError> {
    let io = |e| AuditError::io("standard output", e);
    match cmd {
        AuditCommand::Verify { store, json } => {
            // Read-only: never creates, migrates or repairs anything.
            let mut cfg = config(&store);
            cfg.create_key = false;
            let s = AuditStore::open_read_only(cfg)?;
            let integrity = s.integrity_check()?;
            let report = s.verify()?;
            let sound = integrity == ["ok"];
            if json {
                let v = serde_json::json!({
                    "integrity_check": integrity,
                    "encrypted": s.is_encrypted(),
                    "chain": report,
                });
                serde_json::to_writer_pretty(&mut *out, &v)?;
                writeln!(out).map_err(io)?;
            } else {
                writeln!(out, "integrity_check: {}", integrity.join("; ")).map_err(io)?;
                if !s.is_encrypted() {
                    writeln!(
                        out,
                        "NOTE: the database file is not encrypted yet (an earlier version's \
                         store); the kiosk encrypts it when it next opens it"
                    )
                    .map_err(io)?;
                }
                writeln!(
                    out,
                    "events: {}  records: {}  checkpoints: {}  head: {}",
                    report.events, report.records, report.checkpoints, report.head_seq
                )
                .map_err(io)?;
                for p in &report.problems {
                    writeln!(out, "PROBLEM {}", serde_json::to_string(p)?).map_err(io)?;
                }
                writeln!(
                    out,
                    "{}",
                    if report.is_intact() && sound {
                        "chain OK"
                    } else {
                        "chain BROKEN"
                    }
                )
                .map_err(io)?;
            }
            Ok(if report.is_intact() && sound {
                exit::OK
            } else {
                exit::AUDIT_BROKEN
            })
        }
        AuditCommand::Purge { store, auth, days } => {
            let mut s = open_existing(&store)?;
            let by = auth.login(&mut s)?;
            let r = s.purge_images(&by, days);
            s.logout(by)?;
            let r = r?;
            writeln!(
                out,
                "purged {} images of {} records older than {days} days",
                r.blobs, r.records
            )
            .map_err(io)?;
            Ok(0)
        }
        AuditCommand::Erase {
            store,
            auth,
            customer,
            record,
            reason,
        } => {
            let mut s = open_existing(&store)?;
            let by = auth.login(&mut s)?;
            let r = match customer {
                Some(c) => s.erase_customer(&by, &c, &reason),
                None => s.erase_records(&by, &record, &reason),
            };
            s.logout(by)?;
            let r = r?;
            writeln!(
                out,
                "erased {} images and {} templates of records {:?}",
                r.blobs, r.templates, r.verification_ids
            )
            .map_err(io)?;
            Ok(0)
        }
        AuditCommand::Export {
            store,
            auth,
            format,
            filter,
            out: path,
        } => {
            let f = filter.to_filter()?;
            let mut s = open_existing(&store)?;
            let by = auth.login(&mut s)?;
            let n = match path {
                Some(p) => std::fs::File::create(&p)
                    .map_err(|e| AuditError::io(&p, e))
                    .and_then(|file| {
                        let mut w = std::io::BufWriter::new(file);
                        s.export(&by, &f, format.into(), &mut w)
                    }),
                None => s.export(&by, &f, format.into(), out),
            };
            s.logout(by)?;
            let n = n?;
            eprintln!("exported {n} records");
            Ok(0)
        }
        AuditCommand::Stats {
            store,
            auth,
            filter,
        } => {
            let f = filter.to_filter()?;
            let mut s = open_existing(&store)?;
            let by = auth.login(&mut s)?;
            let st = s.stats(&by, &f);
            s.logout(by)?;
            let st = st?;
            serde_json::to_writer_pretty(&mut *out, &st)?;
            writeln!(out).map_err(io)?;
            Ok(0)
        }
        AuditCommand::ConfirmConfig {
            store,
            auth,
            settings,
            hash,
            config,
        } => confirm_config(&store, &auth, config, settings, hash.as_deref(), out),
        AuditCommand::CreateAdmin {
            store,
            username,
            password_file,
        } => {
            let from_file = match &password_file {
                Some(p) => Some(
                    std::fs::read_to_string(p)
                        .map_err(|e| AuditError::io(p, e))?
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                ),
                None => None,
            };
            let password =
                match from_file.map_or_else(|| std::env::var("KYC_KIOSK_ADMIN_PASSWORD"), Ok) {
                    Ok(p) => p,
                    Err(_) => {
                        let mut line = String::new();
                        std::io::stdin()
                            .lock()
                            .read_line(&mut line)
                            .map_err(|e| AuditError::io("standard input", e))?;
                        line.trim_end_matches(['\r', '\n']).to_string()
                    }
                };
            let mut s = AuditStore::open(config(&store))?;
            let id = s.create_first_admin(&username, &password)?;
            writeln!(out, "created administrator {username} (user id {id})").map_err(io)?;
            Ok(0)
        }
    }
}

impl AuditCommand {
    /// The command with the global `--config` file (used by `confirm-config`).
    #[must_use]
    pub fn with_config_file(self, file: Option<PathBuf>) -> Self {
        match self {
            AuditCommand::ConfirmConfig {
                store,
                auth,
                settings,
                hash,
                config,
            } => AuditCommand::ConfirmConfig {
                store,
                auth,
                settings,
                hash,
                config: config.or(file),
            },
            other => other,
        }
    }
}

/// `audit confirm-config`: show what is outside the safe range, sign the administrator in and
/// chain `config_override_confirmed` with the configuration's hash.
fn confirm_config(
    store: &StoreArgs,
    auth: &AuthArgs,
    config_file: Option<PathBuf>,
    settings: Option<PathBuf>,
    pinned: Option<&str>,
    out: &mut dyn Write,
) -> Result<i32, AuditError> {
    use kyc_core::config_guard;
    let io = |e| AuditError::io("standard output", e);
    let invalid = |e: &dyn std::fmt::Display| AuditError::InvalidInput(e.to_string());
    let config = kyc_core::Config::load(config_file.as_deref()).map_err(|e| invalid(&e))?;
    let settings_path = settings.or_else(kyc_core::settings::default_path);
    let in_force = kyc_core::settings::SettingsInForce::load(config, settings_path.as_deref())
        .map_err(|e| invalid(&e))?;
    let hash = config_guard::config_hash(&in_force.config);
    let problems = config_guard::unsafe_values(&in_force.config);
    writeln!(out, "configuration sha256 {hash}").map_err(io)?;
    if problems.is_empty() {
        writeln!(
            out,
            "every value is inside its safe range: there is nothing to confirm"
        )
        .map_err(io)?;
        return Ok(exit::OK);
    }
    writeln!(out, "values outside the safe range:").map_err(io)?;
    for p in &problems {
        writeln!(out, "  {p}").map_err(io)?;
    }
    if let Some(pin) = pinned
        && !pin.eq_ignore_ascii_case(&hash)
    {
        return Err(AuditError::InvalidInput(format!(
            "--hash {pin} is not the configuration in force (sha256 {hash}): it changed since it \
             was reviewed"
        )));
    }
    let mut s = open_existing(store)?;
    let by = auth.login(&mut s)?;
    let confirmed = s.confirm_config(&by, &hash, config_guard::describe(&in_force.config));
    let username = by.username().to_string();
    s.logout(by)?;
    let seq = confirmed?;
    writeln!(
        out,
        "confirmed by {username} (event {seq}, config_override_confirmed): this configuration \
         now runs; any change to it needs a new confirmation"
    )
    .map_err(io)?;
    Ok(exit::OK)
}

/// The store configuration the CLI arguments describe.
pub fn config(store: &StoreArgs) -> AuditConfig {
    let mut cfg = match &store.db {
        Some(db) => AuditConfig::at(db),
        None => AuditConfig::default(),
    };
    if let Some(k) = &store.key {
        cfg.key_path = k.clone();
    }
    cfg
}

/// Open an existing store without creating a database or a key.
fn open_existing(store: &StoreArgs) -> Result<AuditStore, AuditError> {
    let mut cfg = config(store);
    if !cfg.db_path.exists() {
        return Err(AuditError::NotFound(format!(
            "audit database {}",
            cfg.db_path.display()
        )));
    }
    cfg.create_key = false;
    AuditStore::open(cfg)
}

impl FilterArgs {
    /// Turn the text arguments into a [`RecordFilter`].
    pub fn to_filter(&self) -> Result<RecordFilter, AuditError> {
        Ok(RecordFilter {
            from_ms: self.from.as_deref().map(parse_time).transpose()?,
            to_ms: self.to.as_deref().map(parse_time).transpose()?,
            operator: self.operator.clone(),
            decision: self.decision,
            review_status: None,
            text: None,
        })
    }
}

/// Fewest digits a millisecond timestamp is given with (10¹⁰ ms is 1970-04-26): shorter
/// numbers (`2026`) are refused rather than read as moments of 1970.
pub const MIN_MS_DIGITS: usize = 11;

/// Parse a calendar date `YYYY-MM-DD` (UTC midnight; the date must exist) or milliseconds since
/// the epoch written with at least [`MIN_MS_DIGITS`] digits.
///
/// # Errors
/// [`AuditError::InvalidInput`] saying what is wrong: not a date, a date that does not exist
/// (`2026-02-31`), or a number too short to be a millisecond timestamp.
pub fn parse_time(s: &str) -> Result<i64, AuditError> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        if s.len() < MIN_MS_DIGITS {
            return Err(AuditError::InvalidInput(format!(
                "{s:?} is neither a date (YYYY-MM-DD) nor a millisecond timestamp \
                 ({MIN_MS_DIGITS} digits or more)"
            )));
        }
        return s.parse::<i64>().map_err(|_| {
            AuditError::InvalidInput(format!("{s:?}: millisecond timestamp out of range"))
        });
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(s, &format)
        .map_err(|e| AuditError::InvalidInput(format!("bad date {s:?}: {e} (use YYYY-MM-DD)")))?;
    let seconds = date.midnight().assume_utc().unix_timestamp();
    Ok(seconds * 1000)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use clap::Parser;

    /// How `main.rs` is expected to nest the commands.
    #[derive(Debug, Parser)]
    struct Top {
        #[command(subcommand)]
        cmd: TopCmd,
    }

    #[derive(Debug, clap::Subcommand)]
    enum TopCmd {
        #[command(subcommand)]
        Audit(AuditCommand),
    }

    fn parse(args: &[&str]) -> AuditCommand {
        let mut v = vec!["kyc-kiosk", "audit"];
        v.extend_from_slice(args);
        match Top::try_parse_from(v).unwrap().cmd {
            TopCmd::Audit(c) => c,
        }
    }

    #[test]
    fn command_line_shapes() {
        use clap::CommandFactory;
        Top::command().debug_assert();
        match parse(&["verify", "--db", "/x/a.db", "--json"]) {
            AuditCommand::Verify { store, json } => {
                assert_eq!(store.db.unwrap(), PathBuf::from("/x/a.db"));
                assert!(json);
            }
            other => panic!("{other:?}"),
        }
        match parse(&[
            "export",
            "--format",
            "csv",
            "--from",
            "2024-03-01",
            "--decision",
            "refer",
            "--by-operator",
            "ama",
            "--operator",
            "kofi",
        ]) {
            AuditCommand::Export {
                format,
                filter,
                auth,
                ..
            } => {
                assert_eq!(format, FormatArg::Csv);
                assert_eq!(auth.operator.as_deref(), Some("kofi"));
                let f = filter.to_filter().unwrap();
                assert_eq!(f.from_ms, Some(1_709_251_200_000));
                assert_eq!(f.decision, Some(Decision::Refer));
                assert_eq!(f.operator.as_deref(), Some("ama"));
            }
            other => panic!("{other:?}"),
        }
        match parse(&["purge"]) {
            AuditCommand::Purge { days, .. } => assert_eq!(days, 30),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&["erase", "--customer", "GHA-1"]),
            AuditCommand::Erase {
                customer: Some(_),
                ..
            }
        ));
        let mut v = vec!["kyc-kiosk", "audit", "erase"];
        assert!(Top::try_parse_from(v.clone()).is_err());
        v.extend(["--record", "7"]);
        assert!(Top::try_parse_from(v).is_ok());
    }

    #[test]
    fn parses_dates() {
        assert_eq!(parse_time("1970-01-01").unwrap(), 0);
        assert_eq!(parse_time("2024-03-01").unwrap(), 1_709_251_200_000);
        assert_eq!(parse_time("1709251200000").unwrap(), 1_709_251_200_000);
        // Too short to be a millisecond timestamp: refused, not read as 12 s after 1970.
        assert!(parse_time("12345").is_err());
        assert!(parse_time("2024-13-01").is_err());
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn impossible_dates_and_bare_years_are_refused_with_a_reason() {
        let msg = |s: &str| parse_time(s).unwrap_err().to_string();
        let feb31 = msg("2026-02-31");
        assert!(
            feb31.contains("2026-02-31") && feb31.contains("YYYY-MM-DD"),
            "{feb31}"
        );
        assert!(parse_time("2025-02-29").is_err(), "2025 is not a leap year");
        assert_eq!(parse_time("2024-02-29").unwrap(), 1_709_164_800_000);
        assert_eq!(parse_time("2024-12-31").unwrap(), 1_735_603_200_000);
        let year = msg("2026");
        assert!(
            year.contains("millisecond") && year.contains("YYYY-MM-DD"),
            "{year}"
        );
        assert!(parse_time("2024-3-1").is_err(), "two-digit month and day");
        assert!(parse_time("").is_err());
        assert_eq!(parse_time(" 2024-03-01 ").unwrap(), 1_709_251_200_000);
    }
}
