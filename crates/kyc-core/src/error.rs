//! Error types: one public `Error` for the core, with specific kinds a caller can act on.

use std::path::PathBuf;

/// Why an input image was refused. Each kind maps to a stable `code` used in JSON output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The file does not exist.
    #[error("{path}: no such file")]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("{path}: cannot read: {source}")]
    Unreadable {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than the configured byte limit.
    #[error("{path}: file is {bytes} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// The path given.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// The limit in force.
        limit: u64,
    },
    /// The file is an image, but not JPEG, PNG, BMP, TIFF or WebP.
    #[error("{path}: {format} images are not supported; use JPEG, PNG, BMP, TIFF or WebP")]
    UnsupportedFormat {
        /// The path given.
        path: PathBuf,
        /// The format recognised from its first bytes.
        format: String,
    },
    /// The file is not an image at all.
    #[error("{path}: not an image (neither JPEG nor PNG)")]
    NotAnImage {
        /// The path given.
        path: PathBuf,
    },
    /// The image data ends before the image does.
    #[error("{path}: truncated {format} ({detail})")]
    Truncated {
        /// The path given.
        path: PathBuf,
        /// JPEG or PNG.
        format: String,
        /// What was missing.
        detail: String,
    },
    /// The declared image size exceeds the pixel limit (a decompression bomb, or simply too big).
    #[error("{path}: declared size {width}x{height} is over the {limit_mp} megapixel limit")]
    TooManyPixels {
        /// The path given.
        path: PathBuf,
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The limit in force, in megapixels.
        limit_mp: u32,
    },
    /// Decoding the image would take more memory than the allocation limit allows (a small
    /// file that decodes huge, e.g. a 16-bit RGBA PNG near the pixel limit).
    #[error(
        "{path}: decoding this {format} image needs about {needed_mib} MiB, over the {limit_mib} MiB \
         allocation limit (limits.maxAllocMib)"
    )]
    TooMuchMemory {
        /// The path given.
        path: PathBuf,
        /// The format.
        format: String,
        /// Memory the decode would need, in MiB.
        needed_mib: u64,
        /// The limit in force, in MiB.
        limit_mib: u32,
    },
    /// The image data is damaged.
    #[error("{path}: damaged {format} data: {detail}")]
    Corrupt {
        /// The path given.
        path: PathBuf,
        /// JPEG or PNG.
        format: String,
        /// The decoder's message.
        detail: String,
    },
}

impl InputError {
    /// A stable machine-readable code for this kind of bad input.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "file_not_found",
            Self::Unreadable { .. } => "file_unreadable",
            Self::TooLarge { .. } => "image_too_large",
            Self::UnsupportedFormat { .. } => "unsupported_format",
            Self::NotAnImage { .. } => "not_an_image",
            Self::Truncated { .. } => "truncated_image",
            Self::TooManyPixels { .. } => "too_many_pixels",
            Self::TooMuchMemory { .. } => "image_too_large_to_decode",
            Self::Corrupt { .. } => "corrupt_image",
        }
    }
}

/// The core's error type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input image was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A model file is missing, altered or unusable.
    #[error("model `{id}` ({path}): {reason}; run `{fetch}` to fetch the models")]
    Model {
        /// The model id from the manifest.
        id: String,
        /// Where it was looked for.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// The command that fetches the models.
        fetch: &'static str,
    },
    /// The ONNX Runtime library could not be loaded.
    #[error("ONNX Runtime library {path}: {reason}; run `{fetch}` to fetch it")]
    Runtime {
        /// Where it was looked for.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// The command that fetches it.
        fetch: &'static str,
    },
    /// Running a model failed.
    #[error("inference in `{model}` failed: {message}")]
    Inference {
        /// The model id.
        model: String,
        /// ONNX Runtime's or our message.
        message: String,
    },
    /// The configuration file is invalid.
    #[error("configuration {path}: {reason}")]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The configuration holds values outside the safe range that no administrator confirmed.
    #[error("unsafe configuration refused: {reason}")]
    UnsafeConfig {
        /// Each unsafe key with its range, the configuration's hash and how to confirm it.
        reason: String,
    },
    /// The audit store refused or failed (disk full, corrupt database, wrong key, …).
    #[error("audit store: {0}")]
    Audit(#[from] crate::audit::AuditError),
    /// Fleet enrolment or sync failed (central service unreachable, refusal, quarantine).
    #[error("fleet sync: {0}")]
    Fleet(#[from] crate::fleet::FleetError),
    /// Another I/O failure (writing output, reading a folder).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Error {
    /// A stable machine-readable code for this error.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Input(e) => e.code(),
            Self::Model { .. } => "model_unavailable",
            Self::Runtime { .. } => "runtime_unavailable",
            Self::Inference { .. } => "inference_failed",
            Self::Config { .. } => "invalid_config",
            Self::UnsafeConfig { .. } => "unsafe_config",
            Self::Io { .. } => "io_error",
            Self::Audit(_) => "audit_store",
            Self::Fleet(e) => e.code(),
        }
    }

    /// The process exit code the CLI uses for this error (see README: exit codes).
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Input(_) => exit::BAD_INPUT,
            Self::Model { .. }
            | Self::Runtime { .. }
            | Self::Config { .. }
            | Self::UnsafeConfig { .. } => exit::SETUP,
            Self::Inference { .. } | Self::Io { .. } => exit::INTERNAL,
            Self::Audit(
                crate::audit::AuditError::InvalidCredentials
                | crate::audit::AuditError::CredentialsRequired
                | crate::audit::AuditError::AccountLocked { .. }
                | crate::audit::AuditError::AccountDisabled(_)
                | crate::audit::AuditError::PermissionDenied { .. },
            ) => exit::AUTH,
            Self::Audit(_) => exit::STORAGE,
            Self::Fleet(
                crate::fleet::FleetError::Audit(_) | crate::fleet::FleetError::Io { .. },
            ) => exit::STORAGE,
            Self::Fleet(crate::fleet::FleetError::InvalidInput(_)) => exit::BAD_INPUT,
            Self::Fleet(crate::fleet::FleetError::Quarantined(_)) => exit::AUDIT_BROKEN,
            Self::Fleet(_) => exit::FLEET,
        }
    }
}

/// Process exit codes of the `kyc-kiosk` binary.
pub mod exit {
    /// The command ran; the JSON holds the outcome (match or not, verified or not).
    pub const OK: i32 = 0;
    /// Command-line usage error.
    pub const USAGE: i32 = 2;
    /// An input image was refused (missing, unreadable, too large, unsupported, truncated, bomb).
    pub const BAD_INPUT: i32 = 3;
    /// Models, ONNX Runtime or configuration missing or invalid.
    pub const SETUP: i32 = 4;
    /// Inference or I/O failure inside the program.
    pub const INTERNAL: i32 = 5;
    /// The audit store refused or failed; nothing was half-written.
    pub const STORAGE: i32 = 6;
    /// `audit verify`: the trail is broken (edited, cut, rolled back, emptied, or its anchor
    /// disagrees); the report says what.
    pub const AUDIT_BROKEN: i32 = 7;
    /// No credentials, wrong credentials, a locked or disabled account, or a role that may not
    /// run the command.
    pub const AUTH: i32 = 8;
    /// Fleet sync: the central service is unreachable, refused the request, or answered
    /// something unexpected (a quarantined kiosk exits 7).
    pub const FLEET: i32 = 9;
}

/// Result type of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
