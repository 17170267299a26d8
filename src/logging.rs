//! The kiosk's logging: where the core's `tracing` events go, and what a panic leaves behind.
//!
//! [`init`] installs one subscriber for the process: a daily log file in the kiosk's state folder
//! (`[logging] dir`, at most `keepFiles` files kept) at `[logging] level`, and standard error at
//! `[logging] stderr`; `$KYC_KIOSK_LOG` (else `$RUST_LOG`) replaces both filters. ONNX Runtime's
//! own messages arrive as events of target `ort::logging`. [`install_panic_hook`] logs every
//! panic with its thread and location and keeps the first one as the fatal message the window
//! shows ([`fatal_message`]) instead of waiting forever on a thread that is gone.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;

use kyc_core::config::LoggingConfig;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{Layer, Registry, fmt};

/// Environment variable whose filter replaces the configured ones (`RUST_LOG` when it is unset).
pub const LOG_ENV: &str = "KYC_KIOSK_LOG";

/// Log files are `kyc-kiosk.YYYY-MM-DD.log`.
pub const FILE_PREFIX: &str = "kyc-kiosk";

/// Suffix of the log files.
pub const FILE_SUFFIX: &str = "log";

/// The first panic of the process, as the window shows it.
static FATAL: Mutex<Option<String>> = Mutex::new(None);

/// What [`init`] set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSetup {
    /// The folder of the log file; `None` when no file could be opened (`file_error` says why).
    pub dir: Option<PathBuf>,
    /// Why there is no log file.
    pub file_error: Option<String>,
    /// The filter override from the environment that was refused, with the reason.
    pub env_error: Option<String>,
}

/// Parse a filter (`info`, `warn,kyc_core=debug,ort=error`).
///
/// # Errors
/// A message naming the filter when it does not parse.
pub fn parse_filter(filter: &str) -> Result<Targets, String> {
    kyc_core::config::check_filter(filter)?;
    Targets::from_str(filter).map_err(|e| format!("log filter {filter:?}: {e}"))
}

/// The environment's filter override, if any: `$KYC_KIOSK_LOG`, else `$RUST_LOG`.
#[must_use]
pub fn env_filter() -> Option<String> {
    [LOG_ENV, "RUST_LOG"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
}

/// A daily-rotating appender in `dir` keeping at most `keep_files` files (today's included);
/// older files are deleted when it opens and at each rotation.
///
/// # Errors
/// When the folder cannot be created or the file opened.
pub fn rolling_file(dir: &Path, keep_files: usize) -> Result<RollingFileAppender, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(FILE_PREFIX)
        .filename_suffix(FILE_SUFFIX)
        .max_log_files(keep_files.max(1))
        .build(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))
}

/// The file layer and stderr layer for `cfg`, with `env` replacing both filters when it parses.
fn layers(
    cfg: &LoggingConfig,
    env: Option<&str>,
) -> (Vec<Box<dyn Layer<Registry> + Send + Sync>>, LogSetup) {
    let mut setup = LogSetup {
        dir: None,
        file_error: None,
        env_error: None,
    };
    let overridden = env.and_then(|f| match parse_filter(f) {
        Ok(t) => Some(t),
        Err(e) => {
            setup.env_error = Some(e);
            None
        }
    });
    let pick = |configured: &str| {
        overridden
            .clone()
            .or_else(|| parse_filter(configured).ok())
            .unwrap_or_else(|| Targets::new().with_default(tracing::Level::WARN))
    };
    let mut out: Vec<Box<dyn Layer<Registry> + Send + Sync>> = Vec::new();
    out.push(
        fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(pick(&cfg.stderr))
            .boxed(),
    );
    let dir = cfg.log_dir();
    match rolling_file(&dir, cfg.keep_files) {
        Ok(file) => {
            out.push(
                fmt::layer()
                    .with_writer(file)
                    .with_ansi(false)
                    .with_thread_names(true)
                    .with_filter(pick(&cfg.level))
                    .boxed(),
            );
            setup.dir = Some(dir);
        }
        Err(e) => setup.file_error = Some(e),
    }
    (out, setup)
}

/// Install the process's subscriber (log file and stderr) and the panic hook. A second call,
/// or a subscriber already in place, leaves the first one.
pub fn init(cfg: &LoggingConfig) -> LogSetup {
    let env = env_filter();
    let (layers, setup) = layers(cfg, env.as_deref());
    let subscriber = Registry::default().with(layers);
    let installed = tracing::subscriber::set_global_default(subscriber).is_ok();
    install_panic_hook();
    if installed {
        if let Some(e) = &setup.env_error {
            tracing::warn!(error = %e, "log filter from the environment refused; the configured one applies");
        }
        if let Some(e) = &setup.file_error {
            tracing::warn!(error = %e, "no log file");
        }
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            dir = ?setup.dir,
            "logging started"
        );
    }
    setup
}

/// Log every panic (thread, location, message) at error and keep the first as the fatal message;
/// the previous hook (the standard message on stderr) still runs after. Installed once.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let thread = thread.name().unwrap_or("unnamed");
            let location = info
                .location()
                .map_or_else(|| "unknown place".to_string(), ToString::to_string);
            let message = kyc_core::logs::panic_text(info.payload());
            tracing::error!(thread, location = %location, message, "panic");
            record_fatal(thread, &location, message);
            previous(info);
        }));
    });
}

/// Keep the first fatal message.
fn record_fatal(thread: &str, location: &str, message: &str) {
    if let Ok(mut slot) = FATAL.lock()
        && slot.is_none()
    {
        *slot = Some(format!("thread {thread} stopped at {location}: {message}"));
    }
}

/// The first panic of the process, if one happened since the hook was installed.
#[must_use]
pub fn fatal_message() -> Option<String> {
    FATAL.lock().ok().and_then(|slot| slot.clone())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_bad_ones_are_named() {
        assert!(parse_filter("info").is_ok());
        assert!(parse_filter("warn,kyc_core=debug,ort=error").is_ok());
        let e = parse_filter("chatty").unwrap_err();
        assert!(e.contains("chatty"), "{e}");
    }

    #[test]
    fn environment_override_replaces_the_configured_filter_or_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = LoggingConfig {
            dir: Some(tmp.path().join("logs")),
            ..LoggingConfig::default()
        };
        let (layers, setup) = layers(&cfg, Some("debug"));
        assert_eq!(layers.len(), 2);
        assert!(setup.env_error.is_none() && setup.file_error.is_none());
        assert_eq!(setup.dir, cfg.dir);
        let (_, setup) = super::layers(&cfg, Some("very loud"));
        assert!(setup.env_error.unwrap().contains("very loud"));
    }

    #[test]
    fn unwritable_log_folder_is_reported_not_fatal() {
        let tmp = tempfile::tempdir().unwrap();
        let blocker = tmp.path().join("a-file");
        std::fs::write(&blocker, b"x").unwrap();
        let cfg = LoggingConfig {
            dir: Some(blocker.join("logs")),
            ..LoggingConfig::default()
        };
        let (layers, setup) = layers(&cfg, None);
        assert_eq!(layers.len(), 1, "stderr only");
        assert!(setup.dir.is_none());
        assert!(setup.file_error.unwrap().contains("a-file"));
    }

    /// The appender keeps `keep_files` files: older dated files are deleted when it opens.
    #[test]
    fn rotation_keeps_at_most_the_configured_number_of_files() {
        let tmp = tempfile::tempdir().unwrap();
        let old = [
            "2026-01-01",
            "2026-01-02",
            "2026-01-03",
            "2026-01-04",
            "2026-01-05",
        ];
        for day in old {
            std::fs::write(
                tmp.path()
                    .join(format!("{FILE_PREFIX}.{day}.{FILE_SUFFIX}")),
                day,
            )
            .unwrap();
            // Creation times must differ for the appender to order them.
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::fs::write(tmp.path().join("notes.txt"), b"not a log").unwrap();
        let file = rolling_file(tmp.path(), 3).unwrap();
        let subscriber = Registry::default().with(
            fmt::layer()
                .with_writer(file)
                .with_ansi(false)
                .with_filter(Targets::new().with_default(tracing::Level::INFO)),
        );
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(stage = "decode", "written after rotation");
        });
        let mut names: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 4, "{names:?}");
        assert!(names.contains(&"notes.txt".to_string()), "{names:?}");
        assert!(names.contains(&format!("{FILE_PREFIX}.2026-01-04.{FILE_SUFFIX}")));
        assert!(names.contains(&format!("{FILE_PREFIX}.2026-01-05.{FILE_SUFFIX}")));
        let today = names
            .iter()
            .find(|n| n.starts_with(FILE_PREFIX) && !n.contains("2026-01-0"))
            .expect("today's file");
        let text = std::fs::read_to_string(tmp.path().join(today)).unwrap();
        assert!(text.contains("written after rotation") && text.contains("stage=\"decode\""));
    }

    #[test]
    fn a_panicking_thread_is_logged_and_becomes_the_fatal_message() {
        install_panic_hook();
        let h = std::thread::Builder::new()
            .name("kyc-test-dies".into())
            .spawn(|| panic!("worker gave up"))
            .unwrap();
        assert!(h.join().is_err());
        let msg = fatal_message().expect("fatal message");
        assert!(msg.contains("kyc-test-dies"), "{msg}");
        assert!(msg.contains("worker gave up"), "{msg}");
        assert!(msg.contains("logging.rs"), "{msg}");
    }
}
