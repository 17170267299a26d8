//! The one seam to ONNX Runtime: loading the library (verified), loading models (verified), and
//! running them. Everything above this module sees [`InferenceModel`], so pre- and
//! post-processing can be tested with fakes and without models.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use ort::environment::Environment;
use ort::logging::LogLevel;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::models::{self, FETCH_COMMAND, Manifest};

/// A dense f32 tensor: shape and row-major data.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Row-major values; `data.len()` is the product of `shape`.
    pub data: Vec<f32>,
}

impl Tensor {
    /// A tensor from its shape and data.
    #[must_use]
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Self {
        Self { shape, data }
    }
}

/// A model with one f32 input and f32 outputs (every model this kiosk uses).
pub trait InferenceModel: Send {
    /// The manifest id, for errors and audit records.
    fn id(&self) -> &str;
    /// Run on one input; outputs come back in the model's declared output order.
    ///
    /// # Errors
    /// When the runtime rejects the input or fails.
    fn run(&mut self, input: &Tensor) -> Result<Vec<Tensor>>;
}

/// Identity of a loaded model, kept in results and audit records.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    /// Manifest id.
    pub id: String,
    /// sha256 of the file that was loaded.
    pub sha256: String,
}

static ENVIRONMENT: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();

/// The sealed in-memory copy of the verified library that ONNX Runtime was loaded from.
static RUNTIME_IMAGE: OnceLock<std::fs::File> = OnceLock::new();

/// Name the sealed copy shows in `/proc/self/maps` (as `/memfd:kyc-onnxruntime (deleted)`).
pub const RUNTIME_MEMFD_NAME: &str = "kyc-onnxruntime";

/// Copy `bytes` into an anonymous in-memory file sealed against writing, growing, shrinking
/// and further seal changes: nothing, not even this process, can alter it after this returns.
fn sealed_copy(bytes: &[u8]) -> std::io::Result<std::fs::File> {
    use rustix::fs::{MemfdFlags, SealFlags};
    use std::io::Write;
    let fd = rustix::fs::memfd_create(
        RUNTIME_MEMFD_NAME,
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )?;
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes)?;
    rustix::fs::fcntl_add_seals(
        &file,
        SealFlags::WRITE | SealFlags::GROW | SealFlags::SHRINK | SealFlags::SEAL,
    )?;
    Ok(file)
}

/// sha256 of a file's whole content, read through its open handle (never by path).
fn sha256_of_open(file: &std::fs::File) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::FileExt;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut offset = 0u64;
    loop {
        let n = file.read_at(&mut buf, offset)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        offset += n as u64;
    }
    Ok(hex::encode(hasher.finalize()))
}

/// What this process runs as ONNX Runtime: the files mapped into it and the hash of the bytes
/// it was loaded from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadedRuntime {
    /// The path `dlopen` was given (`/proc/self/fd/N`, the sealed copy).
    pub loaded_from: String,
    /// sha256 of the sealed copy's content, read now.
    pub sha256: String,
    /// Distinct file names of this process's executable mappings that hold ONNX Runtime.
    pub mappings: Vec<String>,
}

/// The runtime this process loaded, if it loaded one: the sealed copy's hash (read again now)
/// and the mappings `/proc/self/maps` shows for it.
///
/// # Errors
/// The sealed copy or `/proc/self/maps` cannot be read.
pub fn loaded_runtime() -> std::io::Result<Option<LoadedRuntime>> {
    use std::os::fd::AsRawFd;
    let Some(file) = RUNTIME_IMAGE.get() else {
        return Ok(None);
    };
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    // Executable mappings only: ONNX Runtime's code (it also maps data files of its own).
    let mut mappings: Vec<String> = maps
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|perms| perms.contains('x'))
        })
        .filter_map(|l| l.find('/').map(|i| l[i..].to_string()))
        .filter(|p| p.contains("onnxruntime"))
        .collect();
    mappings.sort();
    mappings.dedup();
    Ok(Some(LoadedRuntime {
        loaded_from: format!("/proc/self/fd/{}", file.as_raw_fd()),
        sha256: sha256_of_open(file)?,
        mappings,
    }))
}

/// ONNX Runtime, loaded from the verified library in the models folder.
pub struct Runtime {
    dir: PathBuf,
    manifest: Manifest,
    environment: &'static Environment,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Verify and load `libonnxruntime` from `dir` (once per process).
    ///
    /// # Errors
    /// [`Error::Runtime`] naming the file when it is missing, altered or fails to load.
    pub fn open(dir: &Path) -> Result<Self> {
        let manifest = Manifest::embedded()?;
        let lib = dir.join(&manifest.runtime.file);
        let runtime_error = |reason: String| Error::Runtime {
            path: lib.clone(),
            reason,
            fetch: FETCH_COMMAND,
        };
        // A folder others can write to, or one holding libraries besides the runtime, is
        // refused before anything in it is read.
        models::check_folder(dir, &manifest).map_err(&runtime_error)?;
        let environment = ENVIRONMENT.get_or_init(|| {
            let started = Instant::now();
            // The library's bytes are read once, copied into a sealed in-memory file, hashed
            // there, and that file is what the dynamic loader maps: a swap of the file on disk
            // after this read changes nothing, and `$ORIGIN` no longer names the models folder.
            let bytes = std::fs::read(&lib).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => "file is missing".to_string(),
                _ => format!("cannot read: {e}"),
            })?;
            let sealed =
                sealed_copy(&bytes).map_err(|e| format!("cannot make a sealed copy: {e}"))?;
            drop(bytes);
            let actual = sha256_of_open(&sealed)
                .map_err(|e| format!("cannot read the sealed copy back: {e}"))?;
            if actual != manifest.runtime.sha256 {
                return Err(format!(
                    "sha256 is {actual}, the manifest expects {}: the file is altered or incomplete",
                    manifest.runtime.sha256
                ));
            }
            let image = RUNTIME_IMAGE.get_or_init(|| sealed);
            let fd_path = {
                use std::os::fd::AsRawFd;
                format!("/proc/self/fd/{}", image.as_raw_fd())
            };
            let builder = ort::init_from(&fd_path).map_err(|e| format!("cannot load: {e}"))?;
            // With ort's `tracing` feature the runtime's own messages arrive as `tracing`
            // events (target `ort::logging`); the runtime is told to send only what the
            // subscriber in place would keep, so verbose messages are not even formatted.
            let environment = builder
                .with_name("kyc-kiosk")
                .build()
                .map_err(|e| format!("cannot initialise: {e}"))?;
            environment.set_log_level(runtime_log_level());
            tracing::info!(
                file = %manifest.runtime.file,
                ms = started.elapsed().as_secs_f64() * 1000.0,
                "ONNX Runtime loaded"
            );
            Ok(environment)
        });
        match environment {
            Ok(environment) => Ok(Self {
                dir: dir.to_path_buf(),
                manifest,
                environment,
            }),
            Err(reason) => {
                tracing::error!(file = %manifest.runtime.file, reason = %reason, "ONNX Runtime unusable");
                Err(runtime_error(reason.clone()))
            }
        }
    }

    /// The models folder in use.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The embedded manifest.
    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Verify and load model `id` with `threads` intra-op threads.
    ///
    /// Thread spinning is off: on a 2-core kiosk, idle ONNX Runtime workers spinning on one
    /// session steal the cores another session or the UI needs.
    ///
    /// # Errors
    /// [`Error::Model`] when the file is missing or altered, or ONNX Runtime rejects it.
    pub fn load(&self, id: &str, threads: usize) -> Result<OrtModel> {
        let started = Instant::now();
        let loaded = self.load_inner(id, threads);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        match &loaded {
            Ok(_) => tracing::info!(model = id, threads, ms, "model loaded"),
            Err(e) => tracing::error!(model = id, error = %e, "model not loaded"),
        }
        loaded
    }

    fn load_inner(&self, id: &str, threads: usize) -> Result<OrtModel> {
        let entry = self.manifest.entry(id)?;
        let bytes = models::read_verified(&self.dir, entry)?;
        let path = self.dir.join(&entry.file);
        let model_error = |reason: String| Error::Model {
            id: id.to_string(),
            path: path.clone(),
            reason,
            fetch: FETCH_COMMAND,
        };
        // Each step returns the builder inside its error; keep only the message.
        let builder = Session::builder(self.environment)
            .map_err(|e| model_error(e.to_string()))?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| model_error(e.to_string()))?
            .with_intra_threads(threads.max(1))
            .map_err(|e| model_error(e.to_string()))?
            .with_inter_threads(1)
            .map_err(|e| model_error(e.to_string()))?
            .with_intra_op_spinning(false)
            .map_err(|e| model_error(e.to_string()))?;
        let mut builder = builder
            .with_inter_op_spinning(false)
            .map_err(|e| model_error(e.to_string()))?;
        let session = builder
            .commit_from_memory(&bytes)
            .map_err(|e| model_error(format!("ONNX Runtime rejected it: {e}")))?;
        let input_name = session
            .inputs()
            .first()
            .map(|i| i.name().to_string())
            .ok_or_else(|| model_error("model has no input".to_string()))?;
        let output_names = session
            .outputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        Ok(OrtModel {
            info: ModelInfo {
                id: id.to_string(),
                sha256: entry.sha256.clone(),
            },
            session,
            input_name,
            output_names,
        })
    }
}

/// The runtime's own log level matching the most verbose level any subscriber keeps.
fn runtime_log_level() -> LogLevel {
    use tracing::level_filters::LevelFilter;
    match LevelFilter::current() {
        LevelFilter::TRACE => LogLevel::Verbose,
        LevelFilter::DEBUG | LevelFilter::INFO => LogLevel::Info,
        LevelFilter::WARN => LogLevel::Warning,
        _ => LogLevel::Error,
    }
}

/// A verified model running in ONNX Runtime.
pub struct OrtModel {
    info: ModelInfo,
    session: Session,
    input_name: String,
    output_names: Vec<String>,
}

impl std::fmt::Debug for OrtModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrtModel")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl OrtModel {
    /// Id and sha256 of the loaded file.
    #[must_use]
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Names of the outputs, in order.
    #[must_use]
    pub fn output_names(&self) -> &[String] {
        &self.output_names
    }

    /// A custom metadata value stored in the model (e.g. an OCR character list).
    ///
    /// # Errors
    /// When ONNX Runtime cannot read the metadata.
    pub fn metadata(&self, key: &str) -> Result<Option<String>> {
        let meta = self
            .session
            .metadata()
            .map_err(|e| self.fail(e.to_string()))?;
        Ok(meta.custom(key))
    }

    fn fail(&self, message: String) -> Error {
        Error::Inference {
            model: self.info.id.clone(),
            message,
        }
    }
}

impl InferenceModel for OrtModel {
    fn id(&self) -> &str {
        &self.info.id
    }

    fn run(&mut self, input: &Tensor) -> Result<Vec<Tensor>> {
        let _span = tracing::trace_span!("run", model = %self.info.id).entered();
        let view = TensorRef::from_array_view((input.shape.clone(), input.data.as_slice()))
            .map_err(|e| self.fail(e.to_string()))?;
        let id = self.info.id.clone();
        let fail = |message: String| Error::Inference {
            model: id.clone(),
            message,
        };
        let outputs = self
            .session
            .run(ort::inputs![self.input_name.as_str() => view])
            .map_err(|e| fail(e.to_string()))?;
        let mut result = Vec::with_capacity(self.output_names.len());
        for name in &self.output_names {
            let (shape, data) = outputs[name.as_str()]
                .try_extract_tensor::<f32>()
                .map_err(|e| fail(format!("output {name}: {e}")))?;
            let shape = shape
                .iter()
                .map(|&d| usize::try_from(d).unwrap_or(0))
                .collect();
            result.push(Tensor::new(shape, data.to_vec()));
        }
        Ok(result)
    }
}
