//! Files holding private keys (the kiosk's fleet file, a supervisor workstation's file): read
//! only when no one but the owner may read them, written with mode 0600.

use std::io::Write;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::FleetError;

fn io(path: &Path) -> impl Fn(std::io::Error) -> FleetError + '_ {
    move |e| FleetError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

/// Read a key file as text; refuses one that group or others may read. `holds` says what the
/// file holds, for the refusal ("the kiosk's signing key").
///
/// # Errors
/// `Io` (missing or unreadable), `InvalidInput` for loose permissions.
pub(crate) fn read_private(path: &Path, holds: &str) -> Result<Zeroizing<String>, FleetError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(io(path))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(FleetError::InvalidInput(format!(
                "{}: mode {:o} lets other users read {holds}; chmod 600 it",
                path.display(),
                mode & 0o777
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = holds;
    Ok(Zeroizing::new(
        std::fs::read_to_string(path).map_err(io(path))?,
    ))
}

/// How [`write_private`] treats a file already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Existing {
    /// Replace it atomically (written beside it, synced, renamed over it).
    Replace,
    /// Refuse (`Io` with `AlreadyExists`); the folder is created when missing.
    Refuse,
}

/// Write `text` to `path` with mode 0600.
///
/// # Errors
/// `Io`.
pub(crate) fn write_private(path: &Path, text: &str, existing: Existing) -> Result<(), FleetError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let target = match existing {
        Existing::Replace => {
            opts.create(true).truncate(true);
            let mut tmp = path.as_os_str().to_owned();
            tmp.push(".tmp");
            PathBuf::from(tmp)
        }
        Existing::Refuse => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(io(path))?;
            }
            opts.create_new(true);
            path.to_path_buf()
        }
    };
    let mut file = opts.open(&target).map_err(io(path))?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(io(path))?;
    if existing == Existing::Replace {
        std::fs::rename(&target, path).map_err(io(path))?;
    }
    Ok(())
}
