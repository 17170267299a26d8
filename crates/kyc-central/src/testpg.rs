//! A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` and `pg_ctl` from the
//! Debian PostgreSQL 15 binaries on a temporary directory, listening only on a unix socket in
//! that directory. Run as the `postgres` user (through `runuser`) when the caller is root,
//! since PostgreSQL refuses to run as root. Stopped and removed on drop.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::CentralError;

/// Where Debian puts PostgreSQL 15's server programs.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
/// The port number naming the socket file (`.s.PGSQL.<port>`); nothing listens on TCP.
const SOCKET_PORT: u16 = 5432;

/// The settings recommended for the centre's PostgreSQL (docs/fleet.md, "Sync"), sized for a
/// host like the benchmark machine (2 cores, 24 GiB of memory): pushes write ≈ 0.5 MiB of
/// sealed, incompressible bytes a record, so WAL volume is what the defaults are short of.
/// Durable: `fsync`, `full_page_writes` and `synchronous_commit` stay on.
pub const SERVER_SETTINGS: &[(&str, &str)] = &[
    // A few GiB; a quarter of the memory on a dedicated host.
    ("shared_buffers", "2GB"),
    // The WAL of a whole chunk of sealed blobs fits before a backend must write it out itself
    // (the default is 1/32 of shared_buffers, at most 16 MB).
    ("wal_buffers", "64MB"),
    // ≈ 45 MiB/s of WAL at 95 records/s: the default 1 GB would checkpoint every ~20 s, each
    // checkpoint followed by full-page images of every page touched again.
    ("max_wal_size", "16GB"),
    ("min_wal_size", "2GB"),
    ("checkpoint_timeout", "15min"),
    ("checkpoint_completion_target", "0.9"),
    // Sealed bytes do not compress: compressing their page images would cost CPU for nothing.
    ("wal_compression", "off"),
    ("fsync", "on"),
    ("full_page_writes", "on"),
    ("synchronous_commit", "on"),
];

/// A running throwaway cluster.
#[derive(Debug)]
pub struct TestCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
    stopped: bool,
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

impl TestCluster {
    /// Make and start a cluster (`fsync` off: for tests and throwaway runs only).
    ///
    /// # Errors
    /// `Setup` when the PostgreSQL programs are missing (install `postgresql`), the
    /// `postgres` user is missing while running as root, or `initdb`/`pg_ctl` fail (their
    /// output is included).
    pub fn start() -> Result<Self, CentralError> {
        Self::start_with(&["-c", "fsync=off", "-c", "synchronous_commit=off"])
    }

    /// Make and start a cluster with durable settings (for benchmarks).
    ///
    /// # Errors
    /// As [`TestCluster::start`].
    pub fn start_durable() -> Result<Self, CentralError> {
        Self::start_with(&[])
    }

    /// Make and start a cluster with [`SERVER_SETTINGS`]; `fsync` off turns `fsync` and
    /// `synchronous_commit` off on top of them (to tell the cost of flushing apart, never for
    /// a deployment).
    ///
    /// # Errors
    /// As [`TestCluster::start`].
    pub fn start_server_like(fsync: bool) -> Result<Self, CentralError> {
        let mut pairs: Vec<String> = SERVER_SETTINGS
            .iter()
            .filter(|(k, _)| fsync || !matches!(*k, "fsync" | "synchronous_commit"))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !fsync {
            pairs.extend(["fsync=off".into(), "synchronous_commit=off".into()]);
        }
        let extra: Vec<&str> = pairs.iter().flat_map(|p| ["-c", p.as_str()]).collect();
        Self::start_with(&extra)
    }

    fn start_with(extra: &[&str]) -> Result<Self, CentralError> {
        let bin = std::env::var_os("KYC_PG_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(PG_BIN));
        for p in ["initdb", "pg_ctl", "postgres"] {
            if !bin.join(p).is_file() {
                return Err(CentralError::Setup(format!(
                    "{} is missing: install PostgreSQL 15 (apt-get install postgresql, done by \
                     packaging/setup.sh) or set KYC_PG_BIN to its bin folder",
                    bin.join(p).display()
                )));
            }
        }
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("kyc-pg-")
            .tempdir()
            .map_err(|e| CentralError::Setup(format!("temporary folder: {e}")))?;
        if as_postgres {
            let ok = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .map_err(|e| CentralError::Setup(format!("chown: {e}")))?;
            if !ok.success() {
                return Err(CentralError::Setup(
                    "running as root needs the `postgres` user (created by the postgresql \
                     package) to own the cluster"
                        .into(),
                ));
            }
        }
        let mut me = TestCluster {
            dir,
            bin,
            as_postgres,
            stopped: true,
        };
        let data = me.data_dir();
        me.run(
            "initdb",
            &[
                "-D",
                path_str(&data)?,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        let sock = me.socket_dir().to_string_lossy().into_owned();
        let mut opts = format!("-c listen_addresses='' -k {sock} -p {SOCKET_PORT}");
        for pair in extra.chunks(2) {
            if let [flag, value] = pair {
                opts.push_str(&format!(" {flag} {value}"));
            }
        }
        let log = me.dir.path().join("server.log");
        me.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&data)?,
                "-l",
                path_str(&log)?,
                "-o",
                &opts,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )?;
        me.stopped = false;
        Ok(me)
    }

    /// One cluster shared by every test of a test binary, started on first use. Statics are
    /// never dropped, so a watcher process stops the cluster and removes its folder once this
    /// process has exited.
    ///
    /// # Errors
    /// As [`TestCluster::start`] (the error is kept: later calls get it again).
    pub fn shared() -> Result<&'static TestCluster, CentralError> {
        static SHARED: std::sync::OnceLock<Result<TestCluster, String>> =
            std::sync::OnceLock::new();
        let r = SHARED.get_or_init(|| {
            let c = TestCluster::start().map_err(|e| e.to_string())?;
            c.watch_parent().map_err(|e| e.to_string())?;
            Ok(c)
        });
        r.as_ref().map_err(|e| CentralError::Setup(e.clone()))
    }

    /// Start a `sh` watcher that waits for this process to end, then stops the cluster and
    /// removes its folder.
    fn watch_parent(&self) -> Result<(), CentralError> {
        let pid = std::process::id();
        let ctl = self.bin.join("pg_ctl");
        let run = if self.as_postgres {
            "runuser -u postgres -- "
        } else {
            ""
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.3; done; \
             {run}'{}' -D '{}' -m immediate -w stop >/dev/null 2>&1; rm -rf '{}'",
            ctl.display(),
            self.data_dir().display(),
            self.dir.path().display()
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| CentralError::Setup(format!("cluster watcher: {e}")))?;
        Ok(())
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The folder holding the unix socket.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A `tokio-postgres` connection string for database `dbname`.
    pub fn conn_string(&self, dbname: &str) -> String {
        format!(
            "host={} port={SOCKET_PORT} user=postgres dbname={dbname}",
            self.socket_dir().display()
        )
    }

    /// Create a new empty database and return its connection string.
    ///
    /// # Errors
    /// `Setup` when the name is not a plain identifier; database errors.
    pub async fn create_database(&self, name: &str) -> Result<String, CentralError> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(CentralError::Setup(format!(
                "database name {name:?}: use a-z, 0-9, _"
            )));
        }
        let (client, conn) =
            tokio_postgres::connect(&self.conn_string("postgres"), tokio_postgres::NoTls).await?;
        let task = tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        drop(client);
        let _ = task.await;
        Ok(self.conn_string(name))
    }

    fn run(&self, prog: &str, args: &[&str]) -> Result<(), CentralError> {
        let exe = self.bin.join(prog);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| CentralError::Setup(format!("{}: {e}", exe.display())))?;
        if !out.status.success() {
            return Err(CentralError::Setup(format!(
                "{prog} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(())
    }

    /// Stop the server now (also done on drop).
    ///
    /// # Errors
    /// `Setup` when `pg_ctl stop` fails.
    pub fn stop(&mut self) -> Result<(), CentralError> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        let data = self.data_dir();
        self.run(
            "pg_ctl",
            &["-D", path_str(&data)?, "-m", "immediate", "-w", "stop"],
        )
    }
}

fn path_str(p: &Path) -> Result<&str, CentralError> {
    p.to_str()
        .ok_or_else(|| CentralError::Setup(format!("{} is not UTF-8", p.display())))
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!(error = %e, "test cluster did not stop");
        }
    }
}
