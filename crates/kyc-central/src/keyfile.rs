//! The central service's key file: its X25519 secret, hex, in a file only its owner may read.

use std::io::Write;
use std::path::Path;

use kyc_core::fleet::CentralSecret;
use zeroize::Zeroizing;

use crate::CentralError;

const HEADER: &str = "kyc-central-key v1";

/// Load the secret at `path`, or make a new one there when the file does not exist.
///
/// # Errors
/// `Setup` for a file others can read, a malformed file, or an I/O failure.
pub fn load_or_create(path: &Path) -> Result<CentralSecret, CentralError> {
    let setup = |why: String| CentralError::Setup(format!("{}: {why}", path.display()));
    if !path.exists() {
        let s = CentralSecret::generate();
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| setup(e.to_string()))?;
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(|e| setup(e.to_string()))?;
        let body = Zeroizing::new(format!(
            "{HEADER}\n{}\n",
            hex::encode(s.to_bytes().as_ref())
        ));
        f.write_all(body.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| setup(e.to_string()))?;
        return Ok(s);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| setup(e.to_string()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(setup(format!(
                "mode {:o} lets other users read the central secret; chmod 600 it",
                mode & 0o777
            )));
        }
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| setup(e.to_string()))?);
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(setup("not a kyc-central key file".into()));
    }
    let bytes = Zeroizing::new(
        hex::decode(lines.next().unwrap_or("").trim())
            .map_err(|_| setup("the key line is not hex".into()))?,
    );
    CentralSecret::from_bytes(&bytes).map_err(|e| setup(e.to_string()))
}
